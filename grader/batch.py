"""Grade a whole class: every submission folder or zip in a directory, in parallel.

Writes ``OUT/grades.csv`` (one row per student, one column per question) and
``OUT/<student>/results.json`` (Gradescope's format) for each one. A submission that cannot
be graded at all (an empty folder, a broken zip) gets its row with zeros and the reason.
"""

from __future__ import annotations

import csv
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.questions import Question
from grader.report import totals
from grader.sandbox import Limits


def entries(folder: Path) -> list[Path]:
    """The submissions in ``folder``: its sub-folders and ``.zip`` files, by name."""
    if not folder.is_dir():
        raise SystemExit(f"batch: {folder} is not a folder of submissions")
    found = [
        p
        for p in folder.iterdir()
        if not p.name.startswith((".", "__")) and (p.is_dir() or p.suffix.lower() == ".zip")
    ]
    return sorted(found, key=lambda p: p.name)


def student_name(path: Path) -> str:
    """The student's name: the entry's name without ``.zip``, safe as a folder name."""
    stem = path.name[:-4] if path.suffix.lower() == ".zip" else path.name
    return re.sub(r"[^\w.-]+", "_", stem) or "submission"


def grade_batch(
    submissions: Path,
    out: Path,
    questions: list[Question],
    limits: Limits | None = None,
    jobs: int = 2,
    figures: bool = False,
    library_penalty: bool = False,
    log=None,
    checks: list | None = None,
) -> Path:
    """Grade every entry of ``submissions``; return the path of ``grades.csv``.

    Parameters
    ----------
    submissions : Path
        A folder holding one folder or ``.zip`` per student.
    out : Path
        Where ``grades.csv`` and each student's folder go.
    questions : list of Question
        The questions graded.
    limits : Limits, optional
        Caps on each submission process.
    jobs : int
        Submissions graded at once (each runs its questions one after the other).
    figures : bool
        Also write each student's figures and ``report.html``.
    checks : list of Check, optional
        The checks to grade with (the Q4 ones on an instructor's photos); default all.
    """
    from grader.__main__ import grade_one

    out.mkdir(parents=True, exist_ok=True)
    todo = entries(submissions)
    names = _unique([student_name(p) for p in todo])

    def one(item):
        path, name = item
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        result, error = grade_one(
            str(path),
            questions,
            limits,
            out=folder if figures else None,
            results=folder / "results.json",
            library_penalty=library_penalty,
            checks=checks,
        )
        if log:
            core, core_max, extra, _ = totals(result.scores)
            log(f"{name}: {core:g}/{core_max:g} (+{extra:g})" + (f"  [{error}]" if error else ""))
        return name, result, error

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rows = list(pool.map(one, zip(todo, names)))
    csv_path = out / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["student", "total", "max", "extra_credit", *[f"Q{q.id}" for q in questions], "notes"]
        )
        for name, result, error in rows:
            core, core_max, extra, _ = totals(result.scores)
            # a question worth nothing here (written, or not gradable on this machine) is empty
            cells = ["" if not s.max_score else f"{s.score:g}" for s in result.scores]
            notes = error.splitlines()[0] if error else result.notes.replace("\n", " ")
            writer.writerow([name, f"{core:g}", f"{core_max:g}", f"{extra:g}", *cells, notes])
    return csv_path


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique
