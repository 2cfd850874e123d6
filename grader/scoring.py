"""Turn check results into points per question.

A question's points are split over its checks by their weights, so a mostly right answer
earns most of them. Checks the submission cannot be asked (``run_q2.py`` is the handout's
script, so its functions cannot be imported) are left out; a question with none left is *not
gradable* and scores nothing out of nothing, with the reason. So is a question whose data is
absent here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.check import Check
from grader.questions import Question

PASSED, FAILED, NOT_IMPLEMENTED = "passed", "failed", "not implemented"
NOT_PROVIDED, NOT_GRADABLE, WRITTEN = "not provided", "not gradable", "written"
HIDDEN = "hidden"  # the student release cannot judge it: the final grade's hidden checks do


@dataclass
class CheckResult:
    """One check's verdict, computed in the grader's process."""

    check: Check
    outcome: str  # passed | failed | not implemented | not provided | not gradable
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
    status: str  # passed | partial | failed | not implemented | not gradable | written
    checks: list[CheckResult] = field(default_factory=list)
    reason: str = ""  # why it is not gradable

    @property
    def summary(self) -> str:
        """One line for the table."""
        if self.status in (NOT_GRADABLE, WRITTEN):
            return self.reason
        graded = [
            c
            for c in self.checks
            if c.outcome in (PASSED, FAILED, NOT_IMPLEMENTED) and not c.check.feedback
        ]
        if not graded:
            return self.reason
        passed = sum(c.outcome == PASSED for c in graded)
        if self.status == "passed":
            return f"all {len(graded)} checks passed"
        if self.status == NOT_IMPLEMENTED:
            first = graded[0]
            return f"not implemented yet: {_first_line(first.message)}"
        first = next(c for c in graded if c.outcome != PASSED)
        return f"{passed}/{len(graded)} checks passed; {first.name}: {_first_line(first.message)}"

    @property
    def feedback(self) -> str:
        """Every check with its points and, when it did not pass, its message."""
        lines = [self.summary]
        for c in self.checks:
            if c.outcome == NOT_GRADABLE:
                continue
            if c.check.feedback:
                points = "feedback, no points"
            elif c.outcome in (NOT_PROVIDED, HIDDEN):
                points = "n/a"
            else:
                points = f"{c.points:g}/{c.max_points:g}"
            line = f"- [{c.outcome}] {c.name} ({points})"
            if c.outcome != PASSED and c.message:
                line += ": " + c.message.strip()
            lines.append(line)
        return "\n".join(lines)


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


def score_question(question: Question, results: list[CheckResult]) -> QuestionScore:
    """Points of ``question`` from its checks' results (weights split the points)."""
    unavailable = [r for r in results if r.outcome == NOT_GRADABLE]
    if unavailable:
        return QuestionScore(question, 0.0, 0.0, NOT_GRADABLE, results, unavailable[0].message)
    graded = [r for r in results if r.outcome != NOT_PROVIDED]
    if question.written:
        problems = [r for r in graded if r.outcome != PASSED]
        reason = "written question, not scored: " + (
            f"{problems[0].name}: {_first_line(problems[0].message)}"
            if problems
            else "its figures are in the report"
        )
        return QuestionScore(question, 0.0, 0.0, WRITTEN, results, reason)
    if not graded:
        reason = (
            _first_line(results[0].message)
            if results
            else "no checks for this question in this version of the grader"
        )
        return QuestionScore(question, 0.0, 0.0, NOT_GRADABLE, results, reason)
    for r in graded:  # teaching feedback: reported, no points
        r.max_points = r.points = 0.0
    graded = [r for r in graded if not r.check.feedback and r.outcome != HIDDEN]
    if not graded:
        reason = "no check of this question carries points in this version of the grader"
        if any(r.outcome == HIDDEN for r in results):
            reason = "hidden checks only: your final grade runs them"
        return QuestionScore(question, 0.0, 0.0, NOT_GRADABLE, results, reason)
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
    else:
        status = "partial" if earned else FAILED
    return QuestionScore(question, score, float(question.points), status, results)


def failed_everywhere(questions: list[Question], reason: str) -> list[QuestionScore]:
    """Scores when nothing could be graded at all (e.g. an unreadable zip)."""
    return [QuestionScore(q, 0.0, float(q.points), FAILED, [], reason) for q in questions]
