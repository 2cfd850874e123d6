"""Reports: the terminal table and Gradescope's ``results.json``.

Gradescope's format: a top-level ``score`` and ``execution_time`` (seconds), ``output`` and
``visibility``, and ``tests[]`` with ``name``, ``number``, ``score``, ``max_score``,
``status`` (``passed``/``failed``), ``output`` and ``visibility``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from grader.scoring import NOT_GRADABLE, WRITTEN, QuestionScore


def _points(s: QuestionScore) -> str:
    return "n/a" if s.status in (NOT_GRADABLE, WRITTEN) else f"{s.score:g}/{s.max_score:g}"


def totals(scores: list[QuestionScore]) -> tuple[float, float, float, float]:
    """``(core, core_max, extra, extra_max)`` points."""
    core = [s for s in scores if not s.question.extra_credit]
    extra = [s for s in scores if s.question.extra_credit]
    return (
        sum(s.score for s in core),
        sum(s.max_score for s in core),
        sum(s.score for s in extra),
        sum(s.max_score for s in extra),
    )


def total_line(scores: list[QuestionScore]) -> str:
    core, core_max, extra, extra_max = totals(scores)
    line = f"Total: {core:g}/{core_max:g}"
    if extra_max or any(s.question.extra_credit for s in scores):
        line += f" (+ {extra:g}/{extra_max:g} extra credit, marked *)"
    return line


def table(scores: list[QuestionScore], label: str, sandbox: str = "") -> str:
    """The terminal table: question, points, status, one-line reason (and, when given, how
    the submission's processes were isolated)."""
    lines = [f"Grading {label}", *([sandbox] if sandbox else []), ""]
    lines.append(f"{'question':<9}{'points':>12}  {'status':<16}reason")
    for s in scores:
        title = f"Q{s.question.id}" + ("*" if s.question.extra_credit else "")
        lines.append(f"{title:<9}{_points(s):>12}  {s.status:<16}{s.summary}")
    lines += ["", total_line(scores)]
    return "\n".join(lines)


def gradescope_results(
    scores: list[QuestionScore], execution_time: float, notes: str = "", sandbox: str = ""
):
    """A dict in Gradescope's results.json format (``sandbox``: the isolation line, also in
    ``extra_data``)."""
    head = total_line(scores) + (f"\n{sandbox}" if sandbox else "")
    return {
        "score": round(sum(s.score for s in scores), 2),
        "execution_time": round(execution_time, 1),
        "output": (head + ("\n" + notes if notes else "")).strip(),
        "extra_data": {"sandbox": sandbox},
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": f"Q{s.question.id} {s.question.title}"
                + (" (extra credit)" if s.question.extra_credit else ""),
                "number": s.question.id,
                "score": s.score,
                "max_score": s.max_score,
                # failed exactly when points were lost (0/0 questions are not the student's)
                "status": "failed" if s.score < s.max_score else "passed",
                "output": s.feedback,
                "visibility": "visible",
            }
            for s in scores
        ],
    }


def write_results(path: str | Path, results: dict) -> None:
    """Write ``results`` as JSON atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    os.replace(tmp, path)
