"""The grader: scoring rules (fast) and whole runs on the solutions, the kata and a flat
submission (slow: each grades in a subprocess)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.questions import QUESTIONS
from grader.report import gradescope_results
from grader.scoring import score_all, score_question

ROOT = Path(__file__).resolve().parent.parent
Q23 = next(q for q in QUESTIONS if q.id == "2.3")


def _records(*outcomes, question="2.3"):
    return [
        {"nodeid": f"t::{i}", "question": question, "outcome": o, "message": f"msg {i}"}
        for i, o in enumerate(outcomes)
    ]


def test_points_split_evenly_over_checks():
    score = score_question(Q23, _records("passed", "passed", "failed", "passed"))
    assert (score.score, score.max_score, score.status) == (5.25, 7.0, "partial")
    assert "3/4 checks passed" in score.summary and "msg 2" in score.summary


def test_skipped_checks_are_left_out_and_all_skipped_is_not_gradable():
    assert score_question(Q23, _records("passed", "skipped")).score == 7.0
    ungradable = score_question(Q23, _records("skipped", "skipped"))
    assert (ungradable.score, ungradable.max_score, ungradable.status) == (0, 0, "not gradable")


def test_a_check_needing_data_absent_offline_makes_its_question_not_gradable():
    records = _records("passed", "skipped")
    records[1]["message"] = "not gradable offline: CIFAR-10 is not in data/cifar10"
    score = score_question(Q23, records)
    assert (score.score, score.max_score, score.status) == (0, 0, "not gradable")
    assert "CIFAR-10" in score.summary


def test_not_implemented_scores_zero_and_says_so():
    score = score_question(Q23, _records("not implemented", "not implemented"))
    assert (score.score, score.status) == (0, "not implemented")


def test_a_run_that_could_not_finish_scores_zero_everywhere_with_the_reason():
    scores = score_all(list(QUESTIONS), [], error="the checks did not finish within 5 s")
    results = gradescope_results(scores, 5.0)
    assert results["score"] == 0 and len(results["tests"]) == len(QUESTIONS)
    assert all("did not finish" in t["output"] for t in results["tests"])


def _grade(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def _validate_gradescope(results):
    assert set(results) >= {"score", "execution_time", "tests"}
    for test in results["tests"]:
        assert set(test) >= {"name", "number", "score", "max_score", "status", "output"}
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


@pytest.mark.slow
def test_solutions_score_full_marks(tmp_path):
    out = tmp_path / "results.json"
    proc = _grade("--impl", "solutions", "--results", str(out))
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    _validate_gradescope(results)
    assert {t["number"] for t in results["tests"]} == {q.id for q in QUESTIONS}
    short = [t for t in results["tests"] if t["score"] != t["max_score"]]
    assert not short, "the solutions lost points:\n" + "\n".join(t["output"] for t in short)
    gradable = {t["number"] for t in results["tests"] if t["max_score"]}
    assert {"2.1.2", "2.3", "2.5", "3.1", "4.2", "4.4", "5.3.2"} <= gradable, proc.stdout


@pytest.mark.slow
def test_untouched_kata_scores_zero_with_not_implemented_everywhere(tmp_path):
    out = tmp_path / "results.json"
    proc = _grade("--impl", "kata", "--results", str(out))
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    _validate_gradescope(results)
    assert results["score"] == 0
    graded = [t for t in results["tests"] if t["max_score"]]
    assert {t["number"] for t in graded} >= {"2.1.2", "2.2.2", "2.3", "2.4", "2.5"}
    assert all("not implemented yet: Q" in t["output"] for t in graded)


@pytest.mark.slow
def test_flat_submission_with_script_run_q2(tmp_path):
    """The handout's layout: run_q2.py is a script, so Q2.5 is not gradable (0 out of 0)."""
    sub = tmp_path / "submission"
    sub.mkdir()
    shutil.copy(ROOT / "tests" / "mutants" / "student" / "nn.py", sub / "nn.py")
    (sub / "run_q2.py").write_text("from nn import *\nraise SystemExit('trains at import')\n")
    out = tmp_path / "results.json"
    proc = _grade("--impl", "submission", "--results", str(out), cwd=tmp_path)  # relative
    assert proc.returncode == 0, proc.stderr
    tests = {t["number"]: t for t in json.loads(out.read_text())["tests"]}
    assert tests["2.5"]["max_score"] == 0 and "script" in tests["2.5"]["output"]
    assert tests["2.4"]["score"] == tests["2.4"]["max_score"] == 5  # batches still graded
    assert tests["3.1"]["score"] == tests["3.1"]["max_score"] == 5  # trained with its nn.py
    short = [t for t in tests.values() if t["score"] != t["max_score"]]
    assert not short, proc.stdout


def test_unknown_implementation_is_a_clear_error(tmp_path):
    proc = _grade("--impl", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "expected 'kata', 'solutions' or a folder" in proc.stderr
