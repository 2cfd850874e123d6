"""Assertion helpers whose messages teach: they say what was expected and what came back."""

import warnings

import numpy as np
import pytest

from grader.checks.arrays import IN_PLACE
from grader.checks.q2_3 import batch_hint  # noqa: F401 - the grader's hint, for the tests


def array_result(value, what, shape=None):
    """``value`` as an ndarray, failing with a clear message when it is None or misshapen."""
    if value is None:
        pytest.fail(
            f"{what} returned None: expected an array"
            + (f" of shape {shape}" if shape else "")
            + ". Did you forget to `return` it?",
            pytrace=False,
        )
    array = np.asarray(value)
    if shape is not None and array.shape != tuple(shape):
        pytest.fail(f"{what}: expected shape {tuple(shape)}, got {array.shape}", pytrace=False)
    return array


def assert_finite(array, what, hint=""):
    bad = ~np.isfinite(array)
    if bad.any():
        pytest.fail(
            f"{what} has {bad.sum()} NaN/inf value(s) out of {array.size}. {hint}".strip(),
            pytrace=False,
        )


def snapshot(*arrays):
    return [np.array(a, copy=True) for a in arrays]


def assert_unchanged(before, after, names, function):
    """Fail, naming the argument, when ``function`` changed an input in place."""
    for name, old, new in zip(names, before, after):
        if not np.array_equal(old, new, equal_nan=True):
            pytest.fail(
                IN_PLACE.format(function=function, name=name, fix="e.g. `x = x - m`, not `x -= m`"),
                pytrace=False,
            )


class AdvisoryNote(UserWarning):
    """Teaching advice about code that is correct on the handout's inputs: shown in pytest's
    warnings summary, never a failure."""


def advise(message: str) -> None:
    """Show ``message`` as an advisory note (a warning), not a failure."""
    warnings.warn(AdvisoryNote(message), stacklevel=2)
