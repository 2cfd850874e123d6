"""Every graded check, by handout question (one module per handout part).

Each module defines ``CHECKS``: a list of :class:`grader.check.Check`, tasks and judges side
by side. Modules here are imported by both processes: the grader's (inputs, judges,
figures) and the submission's (tasks). They never import submission code at import time.
"""

from grader.checks import q2, q3, q4, q5, q6

CHECKS = [*q2.CHECKS, *q3.CHECKS, *q4.CHECKS, *q5.CHECKS, *q6.CHECKS]


def all_checks(photos: q4.PhotoOptions | None = None) -> list:
    """Every check; the Q4 ones on ``photos`` (an instructor's photos, truth and classifier:
    ``python -m grader --photos --truth --q4-weights``), else on the samples (``CHECKS``)."""
    if photos is None or photos == q4.SAMPLES:
        return CHECKS
    return [*q2.CHECKS, *q3.CHECKS, *q4.checks(photos), *q5.CHECKS, *q6.CHECKS]
