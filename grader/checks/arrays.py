"""Array helpers of the Q2 checks: what a task hands back about a dict, and what a judge
reads from it. Nothing here decides a verdict on its own: each question module says what it
expects."""

from __future__ import annotations

import numpy as np

from grader.check import Fail, array

IN_PLACE = "{function} changed its argument `{name}` in place; compute a new array instead ({fix})"


def keys_text(params) -> str:
    """The keys of a params dict, for the judge (one string: lists of str may be empty)."""
    return "\n".join(sorted(str(k) for k in params)) if isinstance(params, dict) else ""


def key_list(out: dict, key: str = "keys") -> list[str]:
    """The keys :func:`keys_text` stored under ``out[key]``, as a list."""
    value = out.get(key, "")
    return value.split("\n") if isinstance(value, str) and value else []


def value_of(out: dict, key: str, what: str, **kwargs) -> np.ndarray:
    """``array(out, key, ...)`` with a message for a stored ``None`` (not a forgotten return)."""
    if key in out.get("__none__", ()):
        raise Fail(f"{what} is None: expected an array")
    return array(out, key, what, **kwargs)


def one_hot(labels, n_classes: int) -> np.ndarray:
    """One-hot rows of ``labels``."""
    y = np.zeros((len(labels), n_classes))
    y[np.arange(len(labels)), labels] = 1.0
    return y


def unchanged(out: dict, key: str, original: np.ndarray, function: str, name: str, fix: str):
    """Fail when ``out[key]`` (an argument after the call) differs from ``original``."""
    after = out.get(key)
    if not (isinstance(after, np.ndarray) and np.array_equal(after, original, equal_nan=True)):
        raise Fail(IN_PLACE.format(function=function, name=name, fix=fix))
