"""Reports: the terminal table and Gradescope's ``results.json``."""

from __future__ import annotations

import json
from pathlib import Path

from grader.scoring import QuestionScore


def table(scores: list[QuestionScore], label: str) -> str:
    lines = [f"Grading {label}", "", f"{'question':<9}{'points':>12}  {'status':<16}reason"]
    for s in scores:
        points = "n/a" if s.status == "not gradable" else f"{s.score:g}/{s.max_score:g}"
        title = f"Q{s.question.id}" + ("*" if s.question.extra_credit else "")
        lines.append(f"{title:<9}{points:>12}  {s.status:<16}{s.summary}")
    core = [s for s in scores if not s.question.extra_credit]
    extra = [s for s in scores if s.question.extra_credit]
    total = f"Total: {sum(s.score for s in core):g}/{sum(s.max_score for s in core):g}"
    if extra:
        total += (
            f" (+ {sum(s.score for s in extra):g}/{sum(s.max_score for s in extra):g}"
            " extra credit, marked *)"
        )
    lines += ["", total]
    return "\n".join(lines)


def gradescope_results(scores: list[QuestionScore], execution_time: float, notes: str = ""):
    """A dict in Gradescope's results.json format (score, execution_time, tests[])."""
    return {
        "score": round(sum(s.score for s in scores), 2),
        "execution_time": round(execution_time, 1),
        "output": notes,
        "visibility": "visible",
        "tests": [
            {
                "name": f"Q{s.question.id} {s.question.title}"
                + (" (extra credit)" if s.question.extra_credit else ""),
                "number": s.question.id,
                "score": s.score,
                "max_score": s.max_score,
                "status": "passed" if s.status == "passed" else "failed",
                "output": s.feedback,
                "visibility": "visible",
            }
            for s in scores
        ],
    }


def write_results(path: str | Path, results: dict) -> None:
    Path(path).write_text(json.dumps(results, indent=2), encoding="utf-8")
