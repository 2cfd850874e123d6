"""Student-style findLetters get the grade a careful TA gives (``tests/mutants/q4``).

Each fixture of ``tests/mutants/q4/catalog.py`` is written as a flat-layout submission and
graded by the grader (each question in its own process, as ``python -m grader`` does): a
global-Otsu findLetters, right on the four sample photos, gets 10/10 on Q4.2 (also written
for old scikit-image, through the shims); the same with ``bw`` inverted 9/10; a findLetters
that finds nothing, and the handout's unfilled starter, 0. The student's self-check of Q4.2
(``pytest -m q4_2``: the graded checks of ``tests/test_graded_checks.py``) agrees with the
grader on each: the tests that fail are the checks that lose points, and the feedback
checks never fail.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mutants.q4.catalog import CATALOG, Q4Fixture, materialise

from grader.grade import grade_question
from grader.questions import QUESTIONS
from grader.sandbox import Limits
from grader.scoring import PASSED
from grader.submission import open_submission

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BY_ID = {q.id: q for q in QUESTIONS}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    top = tmp_path_factory.mktemp("q4-fixtures")
    return {f.name: materialise(f, top / f.name) for f in CATALOG}


@functools.cache
def _grade(folder: Path, question: str):
    """One grade per fixture and question, shared by the tests that read it."""
    with open_submission(str(folder)) as submission:
        score, shims, _ = grade_question(submission, BY_ID[question], Limits())
    return score, shims


def _table(score) -> str:
    return "\n".join(
        f"  [{c.outcome}] {c.points:g}/{c.max_points:g} {c.name}: {c.message[:200]}"
        for c in score.checks
    )


@pytest.mark.parametrize("fixture", CATALOG, ids=lambda f: f.name)
def test_q42_grade_is_the_tas(fixture: Q4Fixture, folders):
    score, shims = _grade(folders[fixture.name], "4.2")
    assert score.max_score == BY_ID["4.2"].points == 10
    assert score.score == pytest.approx(fixture.q42, abs=0.01), (
        f"{fixture.name} ({fixture.description}): Q4.2 {score.score}/10, a TA gives "
        f"{fixture.q42}:\n{_table(score)}"
    )
    for fragment in fixture.shims:
        assert any(fragment in s for s in shims), f"{fixture.name}: no {fragment} shim in {shims}"


@pytest.mark.parametrize("fixture", [f for f in CATALOG if f.q44 is not None], ids=lambda f: f.name)
def test_q44_grade_is_the_tas(fixture: Q4Fixture, folders):
    score, _ = _grade(folders[fixture.name], "4.4")
    assert score.score == pytest.approx(fixture.q44, abs=0.01), (
        f"{fixture.name} with {fixture.run_q4}'s run_q4.py: Q4.4 {score.score}/8, a TA gives "
        f"{fixture.q44}:\n{_table(score)}"
    )


def _self_check(folder: Path, results: Path) -> dict:
    """The student's Q4.2 self-check on ``folder``: ``{test id: (outcome, message)}``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NRK_IMPL", "PYTEST_ADDOPTS")}
    command = [
        sys.executable, "-m", "pytest", str(ROOT / "tests"), f"--impl={folder}", "-m", "q4_2",
        "-q", "-p", "no:cacheprovider", "--results-json", str(results),
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert results.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    records = json.loads(results.read_text(encoding="utf-8"))["tests"]
    return {r["nodeid"].split("::")[-1]: (r["outcome"], r["message"]) for r in records}


@pytest.mark.parametrize("fixture", CATALOG, ids=lambda f: f.name)
def test_self_check_agrees_with_the_grader(fixture: Q4Fixture, folders, tmp_path):
    folder = folders[fixture.name]
    score, _ = _grade(folder, "4.2")
    records = _self_check(folder, tmp_path / "results.json")
    graded = {k: v for k, v in records.items() if k.startswith("test_graded_check[")}
    assert len(graded) == len(score.checks), (sorted(graded), [c.name for c in score.checks])
    lost = sorted(c.name for c in score.checks if not c.check.feedback and c.outcome != PASSED)
    # a feedback check that does not pass is a warning: only the checks that lose points fail
    failed = [k for k, (outcome, _) in records.items() if outcome != "passed"]
    assert len(failed) == len(lost), (
        f"{fixture.name}: the grader takes points for {lost}; the self-check fails {failed}"
    )
    for name in lost:
        assert any(name in message for _, message in graded.values()), (name, graded)
