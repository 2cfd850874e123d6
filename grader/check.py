"""What a graded check is, and the tools its verdict is computed with.

A check has two halves that run in two processes:

* ``task(sub, inputs) -> dict`` runs in the *submission's* process (``grader/child.py``). It
  loads the submission's modules with ``sub.load("nn")``, calls them on ``inputs`` and returns
  plain data: a dict of arrays, numbers, strings and lists of them. It decides nothing.
* ``judge(inputs, out)`` runs in the *grader's* process, which never imports submission code.
  ``out`` holds what the task returned, read back from ``.npz``/``.json`` files (so every
  array is an exact ``numpy.ndarray``). The judge re-validates each value with
  :func:`array`, compares against its own computation, and raises :class:`Fail` with a message
  for the student; returning normally is a pass.

``inputs()`` (optional) makes the task's inputs in the grader's process: a dict of arrays
and JSON values. The same dict reaches the judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class Fail(AssertionError):
    """A check's verdict when it did not pass: the message is for the student.

    Parameters
    ----------
    message : str
        What is wrong: what was expected, what came back. Shown at every hint level.
    reread : str
        The handout question to reread (``"Q2.3"``): shown at the levels ``nudge`` and
        ``full``.
    formula : str
        The formula spelled out (``"grad_W = X.T @ delta_pre"``): shown at ``full`` only.

    ``str(fail)`` renders the parts the current hint level shows (:func:`render`).
    """

    def __init__(self, message: str = "", *, reread: str = "", formula: str = ""):
        super().__init__(message)
        self.message, self.reread, self.formula = str(message), reread, formula

    def __str__(self) -> str:
        return render(self.message, reread=self.reread, formula=self.formula)


def render(message: str, *, reread: str = "", formula: str = "", level: str | None = None) -> str:
    """``message`` with the parts of a hint that ``level`` (default: the grader's,
    :func:`grader.face.hint_level`) shows: ``none`` the message alone, ``nudge`` also which
    handout question to reread, ``full`` also the formula."""
    if level is None:
        from grader.face import hint_level

        level = hint_level()
    parts = [message.strip()]
    if formula and level == "full":
        parts.append(formula.strip())
    if reread and level in ("full", "nudge"):
        parts.append(f"(Reread {reread}.)")
    return " ".join(p for p in parts if p)


# A check whose budget is this many seconds or more trains end to end (NIST36 in Q3 and Q5,
# the Q6 networks): the self-check runs it in the slow tier, and the student release records
# no expected values for it (it judges the student's own trained network).
END_TO_END_BUDGET = 900.0


def unreadable(exc: BaseException) -> str:
    """A failed check's message when its judge could not even read what came back."""
    return f"what came back could not be checked ({type(exc).__name__}: {exc})"


class NotGradable(LookupError):
    """The check cannot be asked here (its data is absent offline); the message says why."""


class Hidden(LookupError):
    """The student release cannot judge this input: its expected values are not stored there
    (``grader/recorded.py``), so only the hidden checks of the final grade judge it."""


@dataclass(frozen=True)
class Check:
    """One graded sub-check of a handout question.

    Attributes
    ----------
    question : str
        The handout question, e.g. ``"2.2.2"``.
    name : str
        What is checked, as the student reads it in the report.
    weight : float
        Its share of the question's points, relative to the question's other checks.
    task : callable
        ``task(sub, inputs) -> dict``, run in the submission's process.
    judge : callable
        ``judge(inputs, out) -> None``, run in the grader's process; raises :class:`Fail`.
    inputs : callable, optional
        ``inputs() -> dict`` (arrays and JSON values), made in the grader's process.
    budget : float
        Seconds of wall time the task may take. Generous: correct but slow code (Python loops
        over samples) must still finish.
    modules : tuple of str
        The submission modules the task uses (for the report and the library rule).
    available : callable, optional
        ``available() -> str | None``: the reason the check cannot run here (data absent),
        or None. A question with such a check is *not gradable* here.
    provides : str, optional
        Name under which the arrays this check's task returns with keys ``shared_*`` are
        handed to later questions' checks (a trained network, trained once).
    uses : str, optional
        Name of shared arrays merged into this check's inputs when available; the task must
        do the work itself when they are absent.
    figures : callable, optional
        ``figures(inputs, out, out_dir) -> list[Path]``, run in the grader's process after the
        task returned (pass or fail): draws the write-up's figures from the returned data.
    private : tuple of str
        Keys of ``inputs()`` that only the judge sees (truth boxes, texts, labels, expected
        arrays): they never leave the grader's process, so the submission cannot read the
        answer key.
    feedback : bool
        Teaching feedback beyond what the handout asks (robustness to other inputs, an
        argument left unchanged: what only the submission's process observes, and could
        forge): reported with its message, but it carries none of the question's points.
    """

    question: str
    name: str
    weight: float
    task: Callable
    judge: Callable
    inputs: Callable | None = None
    budget: float = 60.0
    modules: tuple[str, ...] = ("nn",)
    available: Callable | None = None
    figures: Callable | None = None
    provides: str | None = None
    uses: str | None = None
    private: tuple[str, ...] = ()
    feedback: bool = False

    def task_inputs(self, inputs: dict) -> dict:
        """What the submission's process receives of ``inputs``: all but the private keys."""
        return {k: v for k, v in inputs.items() if k not in self.private}

    @property
    def task_ref(self) -> str:
        """``module:function`` of the task, for the child process to import."""
        return f"{self.task.__module__}:{self.task.__qualname__}"


# ------------------------------------------------------------------ judging helpers
def array(
    out: dict,
    key: str,
    what: str,
    *,
    shape: tuple | None = None,
    kind: str = "fiub",
    finite: bool = True,
    hint: str = "",
) -> np.ndarray:
    """``out[key]`` re-validated: an exact ndarray of a numeric dtype, of ``shape``, finite.

    Parameters
    ----------
    out : dict
        What the task returned, as read back by the grader.
    key : str
        The value's name in ``out``.
    what : str
        How the student would call it, e.g. ``"softmax(x)"``.
    shape : tuple, optional
        The expected shape; ``None`` in it matches any length.
    kind : str
        Allowed ``dtype.kind`` letters (default: float, int, unsigned, bool).
    finite : bool
        Whether NaN and inf are a failure.
    hint : str
        Added to the NaN/inf message.

    Raises
    ------
    Fail
        With a message naming ``what`` and what came back instead.
    """
    if key in out.get("__none__", ()):
        raise Fail(f"{what} returned None: expected an array. Did you forget to `return` it?")
    if key not in out:
        raise Fail(f"{what}: no value came back (expected an array)")
    value = out[key]
    if type(value) is not np.ndarray:
        raise Fail(f"{what}: expected a numpy array, got {type(value).__name__}")
    if value.dtype.kind not in kind:
        raise Fail(f"{what}: expected numbers, got an array of dtype {value.dtype}")
    if shape is not None:
        ok = value.ndim == len(shape) and all(
            want is None or want == got for want, got in zip(shape, value.shape)
        )
        if not ok:
            shown = tuple("any" if s is None else s for s in shape)
            raise Fail(f"{what}: expected shape {shown}, got {value.shape}")
    if finite and value.dtype.kind == "f":
        bad = ~np.isfinite(value)
        if bad.any():
            raise Fail(
                f"{what} has {int(bad.sum())} NaN/inf value(s) out of {value.size}. {hint}".strip()
            )
    return value


def close(
    actual,
    expected,
    what: str,
    *,
    rtol=1e-7,
    atol=1e-10,
    hint: str = "",
    formula: str = "",
    reread: str = "",
) -> None:
    """Fail unless ``actual`` matches ``expected`` elementwise, saying by how much it differs
    (``formula`` and ``reread``: see :class:`Fail`)."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        raise Fail(f"{what}: expected shape {expected.shape}, got {actual.shape}")
    if not np.allclose(actual, expected, rtol=rtol, atol=atol):
        err = np.abs(actual - expected)
        worst = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
        raise Fail(
            f"{what} differs from the expected values: at index {tuple(int(i) for i in worst)} "
            f"got {actual[worst]:.6g}, expected {expected[worst]:.6g}. {hint}".strip(),
            formula=formula,
            reread=reread,
        )


def number(out: dict, key: str, what: str) -> float:
    """``out[key]`` as a finite float (a scalar or a one-element array)."""
    value = array(out, key, what, kind="fiub")
    if value.size != 1:
        raise Fail(f"{what}: expected a single number, got an array of shape {value.shape}")
    return float(value.reshape(()))
