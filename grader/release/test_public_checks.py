"""The grader's checks, run here on your code: their public face (student release).

Every check of Q2, Q3.1 and Q5 that needs no long training on NIST36 runs in this process,
on the implementation under test, exactly as ``python -m grader`` judges it; the expected
values are those stored in this release (``grader/public_expected.npz``). A check whose
expected values are not stored is reported HIDDEN: your final grade runs it.
"""

import pytest
from grading import verdict

from grader.check import Hidden
from grader.checks import CHECKS
from grader.questions import QUESTIONS

PUBLIC_QUESTIONS = ("2.", "3.1", "5.")
LONG = 900.0  # the end-to-end bars (training on NIST36): python -m grader runs them

MARKERS = {q.id: q.marker for q in QUESTIONS}
PUBLIC = [c for c in CHECKS if c.question.startswith(PUBLIC_QUESTIONS) and c.budget < LONG]


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(
            c, id=f"Q{c.question} {c.name}", marks=getattr(pytest.mark, MARKERS[c.question])
        )
        for c in PUBLIC
    ],
)
def test_graded_check(check, request, tmp_path):
    outcome, message = verdict(check, request.config.nrk_impl, tmp_path)
    if outcome == "error" and message.startswith("Hidden: "):
        raise Hidden(message.removeprefix("Hidden: "))  # reported HIDDEN
    if outcome == "not implemented":
        raise NotImplementedError(message)
    if outcome == "not provided":
        pytest.skip(message)
    assert outcome == "passed", f"Q{check.question} {check.name}: {message}"
