"""Hostile submissions: each misbehaves in one question and must lose only that question.

Every submission is a correct handout-style ``nn.py`` (``tests/mutants/student``) whose
``softmax`` (Q2.2.2) is replaced by something hostile, graded on Q2.2.2 and Q2.2.1. The run
must complete, Q2.2.2 must score 0 with a message a student understands, Q2.2.1 must keep
its full marks, and results.json must be the grader's, valid, whatever the submission did.
"""

import json
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from grader.__main__ import grade_one, select
from grader.sandbox import Limits

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "tests" / "mutants" / "student" / "nn.py"
QUESTIONS = select("2.2.2,2.2.1")
LIMITS = Limits(memory_mb=2048, max_check_seconds=4)

# name -> (code replacing softmax, words the Q2.2.2 message must contain)
HOSTILE = {
    "hang": ("def softmax(x):\n    while True:\n        pass\n", "time budget"),
    "sleep_forever": (
        "import time\ndef softmax(x):\n    time.sleep(10**6)\n",
        "time budget",
    ),
    "memory_hog": (
        # an (N*N)-sized intermediate: 29 GB, far past the 2 GB cap
        "def softmax(x):\n    return np.ones((60000, 60000))\n",
        "memory",
    ),
    "sys_exit": ("import sys\ndef softmax(x):\n    sys.exit(3)\n", "sys.exit"),
    "os_exit": ("import os\ndef softmax(x):\n    os._exit(0)\n", "exited"),
    "segfault": (
        "import ctypes\ndef softmax(x):\n    return ctypes.string_at(0)\n",
        "segmentation fault",
    ),
    "raises": (
        "def softmax(x):\n    return x / undefined_name\n",
        "NameError",
    ),
    "nan": ("def softmax(x):\n    return np.full(np.shape(x), np.nan)\n", "NaN"),
    "lying_array": (
        textwrap.dedent(
            """
            class Liar(np.ndarray):
                def __eq__(self, other):
                    return np.ones(np.shape(self), dtype=bool)
                __ne__ = lambda self, other: np.zeros(np.shape(self), dtype=bool)
                def __array_finalize__(self, obj):
                    pass
                def allclose(self, *a, **k):
                    return True

            import numpy.testing
            numpy.testing.assert_allclose = lambda *a, **k: None
            np.allclose = lambda *a, **k: True
            np.array_equal = lambda *a, **k: True

            def softmax(x):
                return np.zeros(np.shape(x)).view(Liar)
            """
        ),
        "must sum to 1",
    ),
    "print_flood": (
        "def softmax(x):\n    while True:\n        print('x' * 10000)\n",
        "time budget",
    ),
    "writes_results": (
        textwrap.dedent(
            """
            import json, os
            def softmax(x):
                perfect = {"score": 1000, "tests": []}
                # find the grader's results file from its command line, and overwrite it
                cmd = open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\\0")
                for i, arg in enumerate(cmd):
                    if arg.endswith(b".json"):
                        open(arg, "w").write(json.dumps(perfect))
                for name in os.environ.get("NRK_RESULTS_TARGETS", "").split(":"):
                    if name:
                        open(name, "w").write(json.dumps(perfect))
                if os.fork() == 0:  # and again after the grader has written it
                    import time
                    time.sleep(8)
                    for name in os.environ.get("NRK_RESULTS_TARGETS", "").split(":"):
                        if name:
                            open(name, "w").write(json.dumps(perfect))
                    os._exit(0)
                return np.zeros(np.shape(x))
            """
        ),
        "",
    ),
}


def _submission(folder: Path, hostile_code: str) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(STUDENT, folder / "nn.py")
    with open(folder / "nn.py", "a", encoding="utf-8") as f:
        f.write("\n\n# ---- hostile replacement of softmax\n" + hostile_code)
    return folder


def _validate(results: dict) -> dict:
    assert set(results) >= {"score", "execution_time", "tests"}
    tests = {}
    for test in results["tests"]:
        assert set(test) >= {"name", "number", "score", "max_score", "status", "output"}
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        tests[test["number"]] = test
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    return tests


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_softmax_loses_only_its_own_question(name, tmp_path):
    code, words = HOSTILE[name]
    sub = _submission(tmp_path / name, code)
    results_path = tmp_path / "results.json"
    start = time.monotonic()
    result, error = grade_one(str(sub), QUESTIONS, LIMITS, results=results_path)
    elapsed = time.monotonic() - start
    assert not error
    scores = {s.question.id: s for s in result.scores}
    assert scores["2.2.2"].score == 0, scores["2.2.2"].feedback
    assert words in scores["2.2.2"].feedback, scores["2.2.2"].feedback
    assert len(scores["2.2.2"].feedback) < 20000, "the captured output must stay bounded"
    assert scores["2.2.1"].score == scores["2.2.1"].max_score > 0, scores["2.2.1"].feedback
    tests = _validate(json.loads(results_path.read_text()))
    assert tests["2.2.2"]["score"] == 0 and tests["2.2.1"]["score"] > 0
    assert elapsed < 120, f"grading a hostile submission took {elapsed:.0f} s"


@pytest.mark.slow
def test_a_late_writer_cannot_replace_results_json(tmp_path, monkeypatch):
    """The forked writer of ``writes_results`` is killed with its process group."""
    results_path = tmp_path / "results.json"
    monkeypatch.setenv("NRK_RESULTS_TARGETS", str(results_path))
    code, _ = HOSTILE["writes_results"]
    sub = _submission(tmp_path / "late", code)
    grade_one(str(sub), QUESTIONS, LIMITS, results=results_path)
    time.sleep(10)
    tests = _validate(json.loads(results_path.read_text()))
    assert tests["2.2.2"]["score"] == 0


@pytest.mark.slow
def test_an_import_error_in_one_module_costs_only_the_questions_using_it(tmp_path):
    sub = _submission(tmp_path / "import_error", "")
    (sub / "run_q2.py").write_text("import cv2\nfrom nn import *\n\ndef train():\n    pass\n")
    result, _ = grade_one(str(sub), select("2.2.2,2.4"), LIMITS)
    scores = {s.question.id: s for s in result.scores}
    assert scores["2.2.2"].score == scores["2.2.2"].max_score
    assert scores["2.4"].score < scores["2.4"].max_score
    assert "cv2" in scores["2.4"].feedback, scores["2.4"].feedback
    assert any("cv2" in v for v in result.violations), result.violations


@pytest.mark.slow
def test_an_import_time_crash_fails_every_question_of_the_module_with_the_reason(tmp_path):
    sub = tmp_path / "crash_at_import"
    sub.mkdir()
    (sub / "nn.py").write_text("import os\nos._exit(7)\n")
    result, _ = grade_one(str(sub), QUESTIONS, LIMITS)
    for score in result.scores:
        assert score.score == 0
        assert "exited with status 7" in score.feedback, score.feedback


@pytest.mark.slow
def test_checks_sharing_a_run_that_timed_out_are_not_run_again(tmp_path):
    """Q2.2.2's two checks with the same inputs share the work: after the first times out
    the second reports it at once instead of spending its own budget."""
    from grader.check import Check
    from grader.checks.q2 import softmax_task
    from grader.sandbox import run_question

    sub = _submission(tmp_path / "hang", HOSTILE["hang"][0])

    def inputs():
        return {"x": __import__("numpy").zeros((2, 3))}

    checks = [
        Check("2.2.2", f"check {i}", 1, softmax_task, lambda i, o: None, inputs, budget=3)
        for i in range(3)
    ]
    start = time.monotonic()
    outcomes = run_question({"spec": "hang", "folder": str(sub)}, checks, [inputs()] * 3)
    assert [o.status for o in outcomes] == ["timeout"] * 3
    assert "needs the same run as 'check 0'" in outcomes[1].message
    assert time.monotonic() - start < 3 * 3 + 10, "the shared run was retried"
