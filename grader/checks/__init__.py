"""Every graded check, one module per handout question.

``grader/checks/q2_2_2.py`` holds everything that decides Q2.2.2: its checks (task, judge,
weight, budget), its bars and tolerances and its teaching messages. Each question module
defines ``CHECKS``, a list of :class:`grader.check.Check`; a module whose checks run on the
instructor's photos also defines ``checks(photos)``. Shared helpers live in small modules
beside them.

Modules here are imported by both processes: the grader's (inputs, judges, figures) and the
submission's (tasks). They never import submission code at import time, and never import the
answers (:mod:`grader.oracle`, the Q4 reference builder) at module level: a judge imports
what it needs when it runs, in the grader's process only.

The modules load when first used (``grader.checks.CHECKS``, ``question_checks("2.2.2")``): a
test of Q2 does not load Q4's scikit-image.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from grader.questions import QUESTIONS


def module_name(question_id: str) -> str:
    """The module of a question's checks: ``"2.2.2"`` -> ``"grader.checks.q2_2_2"``."""
    return "grader.checks.q" + question_id.replace(".", "_")


def question_module(question_id: str) -> ModuleType | None:
    """The module holding ``question_id``'s checks (None: the question has none)."""
    name = module_name(question_id)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
    return None


def question_checks(question_id: str, photos=None) -> list:
    """``question_id``'s checks; those that run on photos on ``photos`` (a Q4
    ``PhotoOptions``) when given, else on the samples."""
    module = question_module(question_id)
    if module is None:
        return []
    if photos is not None and hasattr(module, "checks"):
        found = module.checks(photos)
    else:
        found = module.CHECKS
    return [c for c in found if c.question == question_id]


def __getattr__(name):
    if name == "CHECKS":  # built once
        if "CHECKS" not in globals():
            globals()["CHECKS"] = [c for q in QUESTIONS for c in question_checks(q.id)]
        return globals()["CHECKS"]
    raise AttributeError(f"module 'grader.checks' has no attribute {name!r}")


def all_checks(photos=None) -> list:
    """Every check; the Q4 ones on ``photos`` (an instructor's photos, truth and classifier:
    ``python -m grader --photos --truth --q4-weights``, a ``PhotoOptions``), else on the
    samples (``CHECKS``)."""
    if photos is None:
        return __getattr__("CHECKS")
    return [c for q in QUESTIONS for c in question_checks(q.id, photos)]
