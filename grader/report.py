"""Reports: the terminal table and Gradescope's ``results.json``.

Gradescope's format: a top-level ``score`` and ``execution_time`` (seconds), ``output`` and
``visibility``, and ``tests[]`` with ``name``, ``number``, ``score``, ``max_score``,
``status`` (``passed``/``failed``), ``output`` and ``visibility``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

from grader.scoring import NOT_GRADABLE, QuestionScore

# The table's columns before the reason: question, points, status.
_LEFT = 9 + 12 + 2 + 16
CUT_NOTE = (
    "(… cut short: every check's full message is in report.html (--out DIR) and "
    "results.json (--results FILE))"
)


def _points(s: QuestionScore) -> str:
    if s.status == NOT_GRADABLE or s.question.written:
        return "n/a"
    return f"{s.score:g}/{s.max_score:g}"


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


def table(scores: list[QuestionScore], label: str, width: int | None = None) -> str:
    """The terminal table: question, points, status, and a reason wrapped at words to
    ``width`` columns (default: the terminal's, at least 80)."""
    width = max(80, width or shutil.get_terminal_size((100, 24)).columns)
    lines = [f"Grading {label}", "", f"{'question':<9}{'points':>12}  {'status':<16}reason"]
    for s in scores:
        title = f"Q{s.question.id}" + ("*" if s.question.extra_credit else "")
        reason = textwrap.wrap(s.summary, width - _LEFT, break_on_hyphens=False) or [""]
        lines.append(f"{title:<9}{_points(s):>12}  {s.status:<16}{reason[0]}")
        lines += [" " * _LEFT + more for more in reason[1:]]
    if any("…" in s.summary for s in scores):
        lines += ["", *textwrap.wrap(CUT_NOTE, width)]
    lines += ["", total_line(scores)]
    return "\n".join(lines)


def gradescope_results(scores: list[QuestionScore], execution_time: float, notes: str = ""):
    """A dict in Gradescope's results.json format."""
    return {
        "score": round(sum(s.score for s in scores), 2),
        "execution_time": round(execution_time, 1),
        "output": (total_line(scores) + ("\n" + notes if notes else "")).strip(),
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
