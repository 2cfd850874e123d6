"""Turn check records into points per question.

A question's points are split evenly over its checks, so a mostly right answer earns most of
them. Checks the implementation cannot be asked (e.g. ``run_q2`` functions of a submission
whose ``run_q2.py`` is a script) are left out; a question with none left is *not gradable*
and scores nothing out of nothing, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.questions import Question

PASSED, FAILED, NOT_IMPLEMENTED, SKIPPED = "passed", "failed", "not implemented", "skipped"
# A check that needs data these machines do not have skips with this prefix and the reason;
# its whole question is then not gradable here (scoring only its offline checks would mislead).
OFFLINE = "not gradable offline:"


@dataclass
class QuestionScore:
    question: Question
    score: float
    max_score: float
    status: str  # passed | partial | failed | not implemented | not gradable
    checks: list[dict] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line for the table."""
        counts = {
            k: sum(c["outcome"] == k for c in self.checks)
            for k in (PASSED, FAILED, NOT_IMPLEMENTED, SKIPPED)
        }
        graded = counts[PASSED] + counts[FAILED] + counts[NOT_IMPLEMENTED]
        if self.status == "not gradable":
            if not self.checks:
                return "no checks for this question in this version of the suite"
            return _first_line(self.checks[0]["message"])
        if self.status == "passed":
            return f"all {graded} checks passed"
        first = next(c for c in self.checks if c["outcome"] in (FAILED, NOT_IMPLEMENTED))
        return f"{counts[PASSED]}/{graded} checks passed; {_first_line(first['message'])}"

    @property
    def feedback(self) -> str:
        """Every check that did not pass, with its message (for results.json)."""
        lines = [self.summary]
        for check in self.checks:
            if check["outcome"] != PASSED:
                name = check["nodeid"].split("::", 1)[-1]
                lines.append(f"- {name} [{check['outcome']}]: {check['message'].strip()}")
        return "\n".join(lines)


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        line = line.strip()
        if line:
            return line[:160]
    return ""


def score_question(question: Question, records: list[dict]) -> QuestionScore:
    checks = [r for r in records if r["question"] == question.id]
    offline = [c for c in checks if c["outcome"] == SKIPPED and OFFLINE in c["message"]]
    graded = [c for c in checks if c["outcome"] != SKIPPED]
    if offline or not graded:
        return QuestionScore(question, 0.0, 0.0, "not gradable", offline or checks)
    passed = sum(c["outcome"] == PASSED for c in graded)
    score = round(question.points * passed / len(graded), 2)
    if passed == len(graded):
        status = "passed"
    elif all(c["outcome"] == NOT_IMPLEMENTED for c in graded):
        status = "not implemented"
    else:
        status = "partial" if passed else "failed"
    return QuestionScore(question, score, float(question.points), status, checks)


def score_all(questions: list[Question], records: list[dict], error: str = ""):
    """Scores for every question; when the checks could not run, each gets 0 and ``error``."""
    if error:
        failed = {"nodeid": "grader", "outcome": FAILED, "message": error}
        return [QuestionScore(q, 0.0, float(q.points), "failed", [failed]) for q in questions]
    return [score_question(q, records) for q in questions]
