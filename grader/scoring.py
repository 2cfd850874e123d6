"""Turn check results into points per question.

A question's points are split over its checks by their weights, so a mostly right answer
earns most of them. Feedback checks (``Check.feedback``) are reported but carry no points.

Missing is missing: a check whose file or function the submission lacks (*not submitted*)
scores 0 of its points, and so does a question none of whose checks could be asked (the
handout's ``run_q2.py`` script has no ``numerical_gradients``): every student's maximum is the
same. A check asking for a function only the kata's layout has, while another check of the
question grades the same work (``run_q3.train``), is left out. A question whose data or
library is absent here (CIFAR-10; PyTorch for Q6) is *not gradable* here: nothing out of
nothing, with the reason, for everyone graded on this machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.check import Check
from grader.implementation import NOT_SUBMITTED
from grader.questions import Question

PASSED, FAILED, NOT_IMPLEMENTED = "passed", "failed", "not implemented"
NOT_PROVIDED, NOT_GRADABLE, WRITTEN = "not provided", "not gradable", "written"
HIDDEN = "hidden"  # the student release cannot judge it: the final grade's hidden checks do
# The table's reason column is cut (at a word) past this many characters.
REASON_CHARS = 160
NEEDS_TORCH = "not gradable here: needs PyTorch (pip install -e '.[torch]')"
#: A task's error when PyTorch is absent from its process (Q6 is then "not gradable here").
MISSING_TORCH = re.compile(r"^ModuleNotFoundError: No module named '(torch|torchvision)[.']")


@dataclass
class CheckResult:
    """One check's verdict, computed in the grader's process."""

    check: Check
    outcome: str  # passed | failed | not implemented | not submitted | not provided | not gradable
    message: str = ""
    seconds: float = 0.0
    points: float = 0.0
    max_points: float = 0.0

    @property
    def name(self) -> str:
        return self.check.name


@dataclass
class QuestionScore:
    question: Question
    score: float
    max_score: float
    status: str  # passed | partial | failed | not implemented | not submitted | not gradable
    # | written (a written question whose code ran; not scored)
    checks: list[CheckResult] = field(default_factory=list)
    reason: str = ""  # why it is not gradable

    @property
    def point_checks(self) -> list[CheckResult]:
        """The checks that carry the question's points (left-out checks excepted)."""
        return [c for c in self.checks if c.outcome in _COUNTED and not c.check.feedback]

    @property
    def feedback_checks(self) -> list[CheckResult]:
        """The checks reported as teaching feedback only, carrying no points."""
        return [c for c in self.checks if c.outcome in _COUNTED and c.check.feedback]

    @property
    def summary(self) -> str:
        """One line for the table."""
        if self.status == NOT_GRADABLE or self.question.written:
            return self.reason
        graded = self.point_checks
        if not graded:
            return self.reason
        passed = sum(c.outcome == PASSED for c in graded)
        if self.status == "passed":
            text = f"all {len(graded)} checks passed"
        elif self.status in (NOT_IMPLEMENTED, NOT_SUBMITTED):
            text = _first_line(graded[0].message)
            if self.status == NOT_IMPLEMENTED:
                text = f"not implemented yet: {text}"
        else:
            first = next(c for c in graded if c.outcome != PASSED)
            why = _first_line(first.message)
            text = f"{passed}/{len(graded)} checks passed; {first.name}: {why}"
        extra = self.feedback_checks
        if extra:
            good = sum(c.outcome == PASSED for c in extra)
            text = f"{text} (feedback, no points: {good}/{len(extra)} passed)"
        return text

    @property
    def feedback(self) -> str:
        """Every check with its points and, when it did not pass, its message: first the
        checks that carry the points, then the feedback-only ones."""
        lines = [self.summary]
        groups = (
            ("Checks that carry the points:", [c for c in self.checks if not c.check.feedback]),
            ("Feedback only (no points):", [c for c in self.checks if c.check.feedback]),
        )
        for title, checks in groups:
            shown = [c for c in checks if c.outcome != NOT_GRADABLE]
            if not shown:
                continue
            if any(c.check.feedback for c in self.checks):
                lines.append(title)
            for c in shown:
                if c.check.feedback:
                    points = "feedback, no points"
                elif c.outcome == NOT_PROVIDED:
                    points = "left out"
                elif c.outcome == HIDDEN:
                    points = "hidden: your final grade runs it"
                elif self.question.written:
                    points = "not scored"
                else:
                    points = f"{c.points:g}/{c.max_points:g}"
                line = f"- [{c.outcome}] {c.name} ({points})"
                if c.outcome != PASSED and c.message:
                    line += ": " + c.message.strip()
                lines.append(line)
        return "\n".join(lines)


def _first_line(text: str, limit: int = REASON_CHARS) -> str:
    """The first non-empty line of ``text``, cut at a word (with "…") past ``limit``."""
    for line in text.strip().splitlines():
        if line.strip():
            return shorten(line.strip(), limit)
    return ""


def shorten(text: str, limit: int) -> str:
    """``text`` as is when it fits in ``limit`` characters, else cut at the last space that
    fits and ended with "…" (never in the middle of a word, unless one word is too long)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


# Outcomes that count towards a question's points (a left-out check, "not provided", does not).
_COUNTED = (PASSED, FAILED, NOT_IMPLEMENTED, NOT_SUBMITTED)


def _classified(question: Question, r: CheckResult) -> CheckResult:
    """``r`` with its outcome named: a missing file or function is *not submitted*; Q6's
    checks in a process without PyTorch are *not gradable here*."""
    if r.outcome == NOT_PROVIDED and r.message.startswith(NOT_SUBMITTED):
        r.outcome = NOT_SUBMITTED
    elif question.id.startswith("6.") and r.outcome == FAILED and MISSING_TORCH.match(r.message):
        r.outcome, r.message = NOT_GRADABLE, NEEDS_TORCH
    return r


def score_question(question: Question, results: list[CheckResult]) -> QuestionScore:
    """Points of ``question`` from its checks' results (weights split the points)."""
    results = [_classified(question, r) for r in results]
    unavailable = [r for r in results if r.outcome == NOT_GRADABLE]
    if unavailable:
        return QuestionScore(question, 0.0, 0.0, NOT_GRADABLE, results, unavailable[0].message)
    for r in results:  # only point-carrying checks get points, below
        r.max_points = r.points = 0.0
    counted = [r for r in results if r.outcome in _COUNTED]
    left_out = [r for r in results if r.outcome == NOT_PROVIDED]
    if not results:
        reason = "no checks for this question in this version of the grader"
        return QuestionScore(question, 0.0, 0.0, NOT_GRADABLE, results, reason)
    if question.written:
        return _written(question, results, counted, left_out)
    if all(r.check.feedback for r in results):
        reason = "no check of this question carries points in this version of the grader"
        return QuestionScore(question, 0.0, 0.0, NOT_GRADABLE, results, reason)
    graded = [r for r in counted if not r.check.feedback]
    if not graded and any(r.outcome == HIDDEN for r in results):  # a student release
        reason = "hidden checks only: your final grade runs them"
        return QuestionScore(question, 0.0, 0.0, NOT_GRADABLE, results, reason)
    if not graded:  # every check asks for what the submission lacks: nothing was submitted
        reason = _first_line(next(r for r in left_out if not r.check.feedback).message)
        return QuestionScore(question, 0.0, float(question.points), NOT_SUBMITTED, results, reason)
    total = sum(r.check.weight for r in graded)
    for r in graded:
        r.max_points = round(question.points * r.check.weight / total, 2)
        r.points = r.max_points if r.outcome == PASSED else 0.0
    earned = sum(r.check.weight for r in graded if r.outcome == PASSED)
    score = round(question.points * earned / total, 2)
    if earned == total:
        status = "passed"
    elif all(r.outcome == NOT_IMPLEMENTED for r in graded):
        status = NOT_IMPLEMENTED
    elif all(r.outcome == NOT_SUBMITTED for r in graded):
        status = NOT_SUBMITTED
    else:
        status = "partial" if earned else FAILED
    return QuestionScore(question, score, float(question.points), status, results)


def _written(question, results, counted, left_out) -> QuestionScore:
    """A written question: not scored, its figures drawn by its checks. It is *written* when
    they all ran; otherwise it says what is missing, like a scored question."""
    problems = [r for r in counted if r.outcome != PASSED]
    if counted and not problems:
        reason = "written question, not scored: its figures are in the report"
        return QuestionScore(question, 0.0, 0.0, WRITTEN, results, reason)
    if not counted or all(r.outcome == NOT_SUBMITTED for r in counted):
        first = (problems or left_out)[0]
        status = NOT_SUBMITTED
        what = "" if first.outcome == NOT_SUBMITTED else "its code is not submitted: "
    elif all(r.outcome == NOT_IMPLEMENTED for r in counted):
        first, status, what = problems[0], NOT_IMPLEMENTED, "its code is not implemented yet: "
    else:
        first = problems[0]
        status = "partial" if len(problems) < len(counted) else FAILED
        what = f"{first.name}: "
    reason = f"written question, not scored; {what}{_first_line(first.message)}"
    return QuestionScore(question, 0.0, 0.0, status, results, reason)


def failed_everywhere(questions: list[Question], reason: str) -> list[QuestionScore]:
    """Scores when nothing could be graded at all (e.g. an unreadable zip)."""
    return [QuestionScore(q, 0.0, float(q.points), FAILED, [], reason) for q in questions]
