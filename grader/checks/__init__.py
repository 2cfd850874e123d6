"""Every graded check, by handout question (one module per handout part).

Each module defines ``CHECKS``: a list of :class:`grader.check.Check`, tasks and judges side
by side. Modules here are imported by both processes: the grader's (inputs, judges,
figures) and the submission's (tasks). They never import submission code at import time.

The modules load when first used (``grader.checks.CHECKS``, ``from grader.checks import
q4``): a test of Q2 that imports ``grader.checks.q2`` does not load Q4's scikit-image.
"""

from __future__ import annotations

import importlib

PARTS = ("q2", "q3", "q4", "q5", "q6")


def __getattr__(name):
    if name in PARTS:
        return importlib.import_module(f"grader.checks.{name}")
    if name == "CHECKS":  # built once
        if "CHECKS" not in globals():
            globals()["CHECKS"] = [c for part in PARTS for c in __getattr__(part).CHECKS]
        return globals()["CHECKS"]
    raise AttributeError(f"module 'grader.checks' has no attribute {name!r}")


def all_checks(photos=None) -> list:
    """Every check; the Q4 ones on ``photos`` (an instructor's photos, truth and classifier:
    ``python -m grader --photos --truth --q4-weights``, a ``q4.PhotoOptions``), else on the
    samples (``CHECKS``)."""
    from grader.checks import q2, q3, q4, q5, q6

    if photos is None or photos == q4.SAMPLES:
        return __getattr__("CHECKS")
    return [*q2.CHECKS, *q3.CHECKS, *q4.checks(photos), *q5.CHECKS, *q6.CHECKS]
