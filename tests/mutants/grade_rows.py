"""The table test's grader side: the grader's scores of a flat folder, question by question.

``score_rows`` scores verdicts already made (the self-check's graded checks record theirs in
``--results-json``: the table test scores those, the checks run once).
``python tests/mutants/grade_rows.py FOLDER OUT.json 2.2.2,2.4 [--skip NAME]...`` runs every
check of the questions with ``tests/grading.py``'s in-process ``verdict`` (the sandbox is not
what the table tests) and scores them with the grader's own ``score_question``. Checks bound
to data (``available`` set: NIST36 training) are left out, like the slow tier of the
self-check; so are the ``--skip`` ones. One process per folder: flat modules are imported
under their plain names (``nn``, ``util``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from grading import verdict  # noqa: E402

from grader.checks import CHECKS  # noqa: E402
from grader.implementation import resolve  # noqa: E402
from grader.questions import QUESTIONS  # noqa: E402
from grader.scoring import FAILED, CheckResult, score_question  # noqa: E402

OUTCOMES = ("passed", "failed", "not implemented", "not provided")


def score_rows(verdicts: dict, questions: list[str], skip=()) -> dict:
    """``{question id: {"score", "max", "checks": [{name, outcome, message, feedback}]}}``
    from ``verdicts`` (check name -> (outcome, message), as ``verdict`` returns them), scored
    with the grader's ``score_question``. Every check of the questions (less those bound to
    data and the ``skip`` ones) must have a verdict."""
    rows = {}
    for question in QUESTIONS:
        if question.id not in questions:
            continue
        results = []
        for check in CHECKS:
            if check.question != question.id or check.name in skip or check.available:
                continue
            if check.name not in verdicts:
                raise LookupError(f"Q{question.id} '{check.name}': no verdict")
            outcome, message = verdicts[check.name]
            results.append(CheckResult(check, outcome if outcome in OUTCOMES else FAILED,
                                       message))  # fmt: skip
        score = score_question(question, results)
        rows[question.id] = {
            "score": score.score,
            "max": score.max_score,
            "checks": [
                {"name": r.name, "outcome": r.outcome, "message": r.message,
                 "feedback": r.check.feedback}
                for r in results
            ],
        }  # fmt: skip
    return rows


def grade_rows(folder: str, questions: list[str], skip=()) -> dict:
    """:func:`score_rows` of the verdicts of ``folder``, run here (in-process)."""
    impl = resolve(folder)
    verdicts = {}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mutants overflow exp, divide by zero ...
        for check in CHECKS:
            if check.question in questions and check.name not in skip and not check.available:
                verdicts[check.name] = verdict(check, impl, Path(tmp))
    return score_rows(verdicts, questions, skip)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("out")
    parser.add_argument("questions")
    parser.add_argument("--skip", action="append", default=[])
    args = parser.parse_args(argv)
    rows = grade_rows(args.folder, args.questions.split(","), tuple(args.skip))
    Path(args.out).write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
