"""The grader's own checks, question by question, run here on your code (issue 13, item 2).

For every handout question, ``grader.checks.question_checks(id)`` gives the checks the grader
scores it with: their inputs, task, judge, bars and teaching messages. Each is one test here
carrying its question's marker, so ``pytest -m q2_2_2`` runs Q2.2.2's graded checks, then its
hypothesis properties (``conftest.py`` runs this module first). A check runs in this process
(``tests/grading.py``: its inputs, its task on the implementation under test, the grader's
file round trip, its judge): a self-check, not a grade, which runs each question in a sandbox.

Each outcome reads as the grader's:

* passed; failed with the check's own message (at the hint level, ``--hints``); a task that
  raised fails with what it raised and where in your code;
* a stub's ``NotImplementedError``: NOT IMPLEMENTED, with the question;
* a feedback check (robustness beyond the handout, no points) that does not pass: a warning
  with its message, never a failure;
* a check the implementation cannot be asked (a file or function it does not have): skipped
  with the reason; one the grader leaves out by design (Q2.5's inline-script checks on a
  run_q2.py that defines numerical_gradients): LEFT OUT, not counted in the progress;
* its data absent (CIFAR-10, SUN, Flowers-17 offline), or Q6 without PyTorch: skipped with
  the check's own reason (``grader.questions.NEEDS_PYTORCH``);
* in a student release, a check whose expected values are not stored there: HIDDEN.

Checks that train end to end (a budget of ``END_TO_END_BUDGET`` seconds or more: NIST36 in
Q3 and Q5, the Q6 networks) and those of Q4.3 and Q4.4 that read the photos again are in the
slow tier (``--run-slow``), like the tests of their questions. ``--photos``, ``--truth``
and ``--q4-weights`` reach the Q4 checks as the grader's.

Collection stays lazy: only the questions a ``-m`` expression can select have their checks
loaded (``pytest -m q2_2_2`` imports neither scikit-image nor PyTorch).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest
from grading import check_key, verdict

from grader.check import END_TO_END_BUDGET, Hidden
from grader.checks import question_checks, question_module
from grader.implementation import NOT_SUBMITTED, NotProvided
from grader.questions import NEEDS_PYTORCH, QUESTIONS
from grader.selection import selects

PYTORCH = ("torch", "torchvision")
HIDDEN_PREFIX = "Hidden: "  # a task that asked the release's oracle about an unseen input


class Feedback(UserWarning):
    """A feedback check (no points) that did not pass: teaching feedback, never a failure."""


# Questions whose checks read the photos again with findLetters: the fast tier reads them
# once, in Q4.2's checks; these run in the slow tier, as their tests always have.
PHOTOS_AGAIN = ("4.3", "4.4")


def slow(check) -> bool:
    """Whether the check belongs to the slow tier: it trains end to end, or it reads the
    photos again with findLetters for a later question."""
    if check.budget >= END_TO_END_BUDGET:
        return True
    return check.question in PHOTOS_AGAIN and "q4" in check.modules


def _photo_options(config):
    """The grader's ``PhotoOptions`` of ``--photos``/``--truth``/``--q4-weights``; None
    (the sample photos, the reference classifier) when none is given."""
    options = (("--photos", "photos"), ("--truth", "truth"), ("--q4-weights", "weights"))
    given = {field: config.getoption(option) for option, field in options}
    if not any(given.values()):
        return None
    if given["photos"] and not Path(given["photos"]).is_dir():
        raise pytest.UsageError(f"--photos {given['photos']}: not a folder of photos")
    options = question_module("4.2").PhotoOptions
    return options(**{k: Path(v) for k, v in given.items() if v})


def pytest_generate_tests(metafunc):
    """One test per graded check, with its question's marker (and ``slow``). A question the
    ``-m`` expression cannot select gets one placeholder, deselected unrun, and its checks
    are not loaded."""
    if "check" not in metafunc.fixturenames:
        return
    config = metafunc.config
    expression = config.option.markexpr
    photos = _photo_options(config)
    params = []
    for question in QUESTIONS:
        if question.id.split(".")[0] != metafunc.cls.PART:
            continue
        marker = getattr(pytest.mark, question.marker)
        if not any(selects(expression, {question.marker, *tier}) for tier in ((), ("slow",))):
            params.append(pytest.param(None, id=f"{question.marker}-not-selected", marks=marker))
            continue
        for check in question_checks(question.id, photos):
            marks = [marker]
            if slow(check):  # one worker per part (-n, --dist loadgroup): one training each
                marks += [pytest.mark.slow, pytest.mark.xdist_group(f"graded-q{question.id[0]}")]
            params.append(
                pytest.param(check, id=f"{question.marker}-{check_key(check.name)}", marks=marks)
            )
    metafunc.parametrize("check", params)


def _not_gradable_here(check) -> str | None:
    """Why the check cannot run in this environment (its data, PyTorch), or None."""
    if check.question.startswith("6.") and any(
        importlib.util.find_spec(name) is None for name in PYTORCH
    ):
        return NEEDS_PYTORCH
    reason = check.available() if check.available else None
    return reason or None


def run(check, request, tmp_path) -> None:
    """The check's verdict on the implementation under test, reported as the grader's."""
    reason = _not_gradable_here(check)
    if reason:
        pytest.skip(reason)
    impl = request.config.nrk_impl
    if impl.folder is not None:  # a flat submission: the grader's shims for old libraries
        from grader import shims

        shims.install()
    outcome, message = verdict(check, impl, tmp_path)
    # the raw verdict, for --results-json (the mutant table scores it as the grader does)
    request.node.user_properties.append(("verdict", [check.name, outcome, message]))
    if outcome == "error" and message.startswith(HIDDEN_PREFIX):
        raise Hidden(message.removeprefix(HIDDEN_PREFIX))  # reported HIDDEN
    if outcome == "not implemented":
        raise NotImplementedError(message)
    if outcome == "not provided":
        if message.startswith(NOT_SUBMITTED):
            pytest.skip(message)
        raise NotProvided(message)  # left out, as the grader leaves it out: not counted
    if outcome == "passed":
        return
    if check.feedback:
        note = f"Q{check.question} {check.name} (no points): {message}"
        warnings.warn(Feedback(note), stacklevel=1)
        return
    pytest.fail(f"Q{check.question} {check.name}: {message}", pytrace=False)


class _Part:
    """The graded checks of one part of the handout. The slow checks of a part share a
    pytest-xdist group (``--dist loadgroup``; a class per part for ``--dist loadscope``): they
    run in one process, where Q3.2-Q3.4 reuse Q3.1's training and Q5.3 Q5.2's."""

    PART = ""

    def test_graded_check(self, check, request, tmp_path):
        run(check, request, tmp_path)


class TestQ2(_Part):
    PART = "2"


class TestQ3(_Part):
    PART = "3"


class TestQ4(_Part):
    PART = "4"


class TestQ5(_Part):
    PART = "5"


class TestQ6(_Part):
    PART = "6"


def test_every_part_of_the_handout_has_its_class():
    """A question of a part without a class here would have no graded checks in the
    self-check (a test of this module itself: no question marker)."""
    parts = {q.id.split(".")[0] for q in QUESTIONS}
    assert parts == {part.PART for part in _Part.__subclasses__()}


def test_q6_without_pytorch_is_not_gradable_here(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in PYTORCH else real(name, *a)
    )
    assert _not_gradable_here(question_checks("6.1.1")[0]) == NEEDS_PYTORCH
    assert _not_gradable_here(question_checks("2.2.2")[0]) is None
