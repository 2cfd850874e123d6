"""Hostile submissions: each misbehaves in one question and must lose only that question.

Every submission is a correct handout-style ``nn.py`` (``tests/mutants/student``) whose
``softmax`` (Q2.2.2) is replaced by something hostile, graded on Q2.2.2 and Q2.2.1. The run
must complete, Q2.2.2 must score 0 with a message a student understands, Q2.2.1 must keep
its full marks, and results.json must be the grader's, valid, whatever the submission did.

The attacks of issue 12 are here too, written as a student who read the grader would:
rewriting the grader's source, an escaped process rewriting results after the grader exits,
importing the references or the oracle, forging the progress channel, a huge return, and,
in batch, reaching a classmate's files. They run with the sandbox on (bubblewrap) where it
can run; ``test_the_reduced_mode_still_holds`` grades the same attacks without it.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.__main__ import grade_one, select
from grader.sandbox import Limits, sandbox_mode

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "tests" / "mutants" / "student" / "nn.py"
QUESTIONS = select("2.2.2,2.2.1")
LIMITS = Limits(memory_mb=2048, max_check_seconds=4)
# Q2.2.2 and Q2.2.1 only: their correct checks take milliseconds, so a 1 s cap per check
# stops each runaway (hang, sleep, flood) sooner without touching them.
SOFTMAX_LIMITS = Limits(memory_mb=2048, max_check_seconds=1)
BWRAP = sandbox_mode(LIMITS).bwrap is not None

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
    # ---- issue 12's attacks
    "rewrites_grader": (
        textwrap.dedent(
            f"""
            import glob, os
            def softmax(x):
                # every grader module it can find, made to give full marks
                for path in glob.glob({str(ROOT / "grader")!r} + "/**/*.py", recursive=True):
                    try:
                        with open(path, "a") as f:
                            f.write("\\nFULL_MARKS = True\\n")
                    except OSError:
                        pass
                return np.zeros(np.shape(x))
            """
        ),
        "must sum to 1",
    ),
    "imports_solutions": (
        "def softmax(x):\n    from solutions.nn import softmax as s\n    return s(x)\n",
        "ImportError",
    ),
    "imports_oracle": (
        "def softmax(x):\n    from grader import oracle\n    return oracle.softmax(x)\n",
        "ImportError",
    ),
    "reads_the_oracle_source": (  # the file, not the module: the child has no such file
        textwrap.dedent(
            f"""
            def softmax(x):
                namespace = {{}}
                exec(open({str(ROOT / "grader" / "oracle.py")!r}).read(), namespace)
                return namespace["softmax"](x)
            """
        ),
        "FileNotFoundError",
    ),
    "reads_the_reference_network": (
        textwrap.dedent(
            f"""
            def softmax(x):
                with np.load({str(ROOT / "data" / "q4_reference_net.npz")!r}) as net:
                    return np.zeros(np.shape(x)) + net["Woutput"].sum()
            """
        ),
        "FileNotFoundError",
    ),
    "forges_progress": (
        textwrap.dedent(
            """
            import json, os, sys
            def softmax(x):
                # the grader's progress channel, from the job the child runs
                job = json.load(open(os.path.join(sys.argv[1], "job.json")))
                os.write(job["progress_fd"], b"done 0\\nstart 99\\n")
                import time
                time.sleep(60)
            """
        ),
        "progress channel",
    ),
    "huge_return": (
        # 400 MB of uint8 (cheap to make under the 2 GB cap), over the read-back cap
        "def softmax(x):\n    return np.zeros((20000, 20000), dtype=np.uint8)\n",
        "could not be read",
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


# What the reduced mode (no bubblewrap) still holds: caps, deadlines, the progress channel,
# bounded read-back, blocked imports of the references, the read-only answer keys (private
# inputs never written), crashes named as such. What it does not: the file system (the
# grader runs as root or as the grader's user), so file-system attacks are left to bubblewrap.
REDUCED_HOLDS = ("hang", "os_exit", "segfault", "nan", "imports_solutions", "imports_oracle",
                 "forges_progress", "huge_return")  # fmt: skip
# The attacks on the file system: without bubblewrap they would reach this checkout (append
# to the grader's modules, overwrite results) instead of failing, so they run only inside it.
FILE_SYSTEM_ATTACKS = ("rewrites_grader", "reads_the_oracle_source",
                       "reads_the_reference_network", "writes_results")  # fmt: skip
needs_bubblewrap = pytest.mark.skipif(
    not BWRAP,
    reason="needs bubblewrap: without it this attack on the file system would reach the "
    "checkout (test_the_reduced_mode_still_holds runs what the reduced mode holds)",
)


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
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=needs_bubblewrap) if n in FILE_SYSTEM_ATTACKS else n
     for n in sorted(HOSTILE)],
)  # fmt: skip
def test_a_hostile_softmax_loses_only_its_own_question(name, tmp_path):
    code, words = HOSTILE[name]
    sub = _submission(tmp_path / name, code)
    results_path = tmp_path / "results.json"
    start = time.monotonic()
    result, error = grade_one(str(sub), QUESTIONS, SOFTMAX_LIMITS, results=results_path)
    elapsed = time.monotonic() - start
    assert not error
    assert result.sandbox.startswith("sandbox: bubblewrap") or not BWRAP, result.sandbox
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
    from grader.checks.q2_2_2 import softmax_task
    from grader.sandbox import run_question
    from grader.submission import Submission

    sub = _submission(tmp_path / "hang", HOSTILE["hang"][0])

    def inputs():
        return {"x": __import__("numpy").zeros((2, 3))}

    checks = [
        Check("2.2.2", f"check {i}", 1, softmax_task, lambda i, o: None, inputs, budget=3)
        for i in range(3)
    ]
    start = time.monotonic()
    outcomes = run_question(Submission("hang", folder=sub), checks, [inputs()] * 3)
    assert [o.status for o in outcomes] == ["timeout"] * 3
    assert "needs the same run as 'check 0'" in outcomes[1].message
    assert time.monotonic() - start < 3 * 3 + 10, "the shared run was retried"


def test_ci_grades_the_hostile_suite_inside_bubblewrap():
    if os.environ.get("CI") and not BWRAP:
        pytest.fail(f"CI must run the hostile suite with the sandbox on: {sandbox_mode().line}")


def _grader_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "grader").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.slow
@needs_bubblewrap
def test_the_grader_source_is_out_of_the_submissions_reach(tmp_path):
    """The submission appends to every grader module it finds: none changes, and the
    results written after it ran are the grader's."""
    before = _grader_digest()
    sub = _submission(tmp_path / "rewriter", HOSTILE["rewrites_grader"][0])
    result, _ = grade_one(str(sub), QUESTIONS, LIMITS, results=tmp_path / "r.json",
                          out=tmp_path / "out")  # fmt: skip
    assert _grader_digest() == before
    results = json.loads((tmp_path / "r.json").read_text())
    tests = _validate(results)
    # results.json is the printed table's grade
    assert {n: t["score"] for n, t in tests.items()} == {
        s.question.id: s.score for s in result.scores
    }
    assert tests["2.2.2"]["score"] == 0


ESCAPEE = """
import os, time
def softmax(x):
    if os.fork() == 0:
        os.setsid()  # out of the process group the grader kills
        if os.fork() == 0:
            time.sleep(6)  # until the grader has exited
            for path in %(targets)r:
                try:
                    with open(path, "w") as f:
                        f.write('{"score": 1000, "tests": []}')
                except OSError:
                    pass
            os._exit(0)
        os._exit(0)
    return np.zeros(np.shape(x))
"""


@pytest.mark.slow
@needs_bubblewrap
def test_an_escaped_process_cannot_rewrite_the_results_after_the_grader_exits(tmp_path):
    results = tmp_path / "results.json"
    marker = tmp_path / "escaped"
    sub = _submission(tmp_path / "escapee", ESCAPEE % {"targets": [str(results), str(marker)]})
    grade_one(str(sub), QUESTIONS, LIMITS, results=results)
    written = results.read_text()
    time.sleep(10)
    assert results.read_text() == written
    assert not marker.exists(), "a process the submission started outlived its question"
    assert _validate(json.loads(written))["2.2.2"]["score"] == 0


CLASSMATE_ATTACK = """
import glob, os
def softmax(x):
    # overwrite every classmate's nn.py with a correct softmax, and their results
    for path in glob.glob(%(klass)r + "/*/nn.py") + glob.glob(%(out)r + "/**/*.json",
                                                              recursive=True):
        try:
            with open(path, "a") as f:
                f.write("\\n\\ndef softmax(x):\\n    e = np.exp(x - x.max(1, keepdims=True))"
                        "\\n    return e / e.sum(1, keepdims=True)\\n")
        except OSError:
            pass
    return np.zeros(np.shape(x))
"""


@pytest.mark.slow
@needs_bubblewrap
def test_in_batch_a_student_cannot_reach_a_classmate(tmp_path):
    from grader.batch import grade_batch

    klass, out = tmp_path / "class", tmp_path / "grades"
    attacker = _submission(klass / "attacker", CLASSMATE_ATTACK % {"klass": str(klass),
                                                                   "out": str(out)})  # fmt: skip
    wrong = "def softmax(x):\n    return np.exp(x) / np.sum(np.exp(x))\n"
    classmate = _submission(klass / "classmate", wrong)
    before = (classmate / "nn.py").read_text()
    csv_path = grade_batch(klass, out, select("2.2.2"), LIMITS, jobs=2)
    assert (classmate / "nn.py").read_text() == before
    rows = {r.split(",")[0]: r.split(",") for r in csv_path.read_text().splitlines()[1:]}
    assert float(rows["classmate"][4]) < 3 and float(rows["attacker"][4]) == 0
    for name in ("attacker", "classmate"):
        _validate(json.loads((out / "students" / name / "results.json").read_text()))
    assert attacker.is_dir()


@pytest.mark.slow
def test_a_huge_return_leaves_the_graders_memory_small(tmp_path):
    """The grader's own peak memory (a fresh process) while a submission returns 400 MB
    (the return's zero score is checked with the other hostile submissions)."""
    from benchmarks.sandbox import peak_memory_mb

    sub = _submission(tmp_path / "huge", HOSTILE["huge_return"][0])
    peak_mb = peak_memory_mb(sub)
    print(f"grader peak memory on a 400 MB return: {peak_mb:.0f} MB")
    assert peak_mb <= 300, f"the grader reached {peak_mb:.0f} MB"


def test_the_peak_memory_measure_is_the_graders_own():
    """A parent holding 1.2 GB must not show in the measure of the fresh process it starts
    (``ru_maxrss`` does carry it over exec; the measure reads ``VmHWM``)."""
    from benchmarks.sandbox import PRINT_PEAK_KB

    big = bytearray(1200 << 20)  # 1.2 GB in this process, touched
    big[::4096] = b"\x01" * len(big[::4096])
    out = subprocess.run([sys.executable, "-c", PRINT_PEAK_KB], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    del big
    assert int(out.split()[-1]) / 1024 < 300


@pytest.mark.slow
@pytest.mark.parametrize("name", REDUCED_HOLDS)
def test_the_reduced_mode_still_holds(name, tmp_path):
    code, words = HOSTILE[name]
    sub = _submission(tmp_path / name, code)
    limits = dataclasses.replace(SOFTMAX_LIMITS, sandbox="reduced")
    result, error = grade_one(str(sub), QUESTIONS, limits, results=tmp_path / "r.json")
    assert not error
    scores = {s.question.id: s for s in result.scores}
    assert scores["2.2.2"].score == 0 and words in scores["2.2.2"].feedback
    assert scores["2.2.1"].score == scores["2.2.1"].max_score
    assert "sandbox: reduced" in json.loads((tmp_path / "r.json").read_text())["output"]


@pytest.mark.slow
def test_an_endless_loop_at_import_is_stopped_on_cpu_time(tmp_path):
    """The submission is imported by the first check that needs it: an endless loop there
    is stopped by that check's CPU budget (scaled by --time-factor 0.05 to 9 s)."""
    sub = _submission(tmp_path / "loop_at_import", "while True:\n    pass\n")
    limits = Limits(memory_mb=2048, time_factor=0.05)
    result, _ = grade_one(str(sub), select("2.2.2"), limits)
    (score,) = result.scores
    assert score.score == 0 and "of CPU time, its time budget" in score.feedback, score.feedback


# Checks about a side effect (an argument left unchanged) observe the submission inside its
# own process, so the submission can forge the observation. Both attacks take a softmax that
# writes into x (`x -= max`, which fails the feedback check "leaves its argument x
# unchanged") and hand back the original x as `x_after`:
# * late_writer: as the process exits, it rewrites the arrays the grader's task saved for
#   that check. Closed: the grader takes each check's files out of the child's reach at its
#   `done` line, and the child waits for that before it goes on (grader/sandbox.py);
# * patched_task: at import, it wraps the grader's task module (already imported, not
#   blocked) so that the task returns the original x. Not closable in the submission's
#   process, so such observations carry no points: an argument left unchanged is feedback
#   (the handout does not ask for it); every point rests on values the judge recomputes.
# Either way no score changes: the grade is the plain in-place submission's.
WRITES_INTO_X = """
def softmax(x):
    x -= np.max(x, axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)
"""
FORGES_X_AFTER = {
    "late_writer": textwrap.dedent(
        """
        import atexit, glob, json, os, sys

        def _forge():
            jobdir = sys.argv[1]
            for record_path in glob.glob(os.path.join(jobdir, "out_*.json")):
                i = os.path.basename(record_path)[4:-5]
                try:
                    names = json.load(open(record_path)).get("arrays", [])
                    if "x_after" in names:
                        with np.load(os.path.join(jobdir, f"in_{i}.npz")) as inputs:
                            x = inputs["x"]
                        k = names.index("x_after")
                        np.save(os.path.join(jobdir, f"out_{i}_{k}.npy"), x)
                except Exception:
                    pass

        atexit.register(_forge)
        """
    ),
    "patched_task": textwrap.dedent(
        """
        import sys
        _q2 = sys.modules.get("grader.checks.q2_2_2")
        if _q2 is not None:
            _task = _q2.softmax_task

            def _forged(sub, inputs):
                out = _task(sub, {**inputs, "x": inputs["x"].copy()})
                return {**out, "x_after": inputs["x"]}

            _q2.softmax_task = _forged
        """
    ),
}


@pytest.fixture(scope="module")
def writes_into_x(tmp_path_factory):
    """The plain in-place submission's grade of Q2.2.2, without any forging code."""
    sub = _submission(tmp_path_factory.mktemp("plain") / "writes_into_x", WRITES_INTO_X)
    result, error = grade_one(str(sub), select("2.2.2"), LIMITS)
    assert not error
    return result.scores[0]


@pytest.mark.slow
@pytest.mark.parametrize("attack", sorted(FORGES_X_AFTER))
def test_a_submission_cannot_forge_what_the_task_observed(attack, writes_into_x, tmp_path):
    plain = {c.check.name: c for c in writes_into_x.checks}
    unchanged = plain["leaves its argument x unchanged"]
    assert unchanged.check.feedback and unchanged.outcome == "failed", writes_into_x.feedback
    assert writes_into_x.score == writes_into_x.max_score > 0, writes_into_x.feedback

    sub = _submission(tmp_path / attack, WRITES_INTO_X + FORGES_X_AFTER[attack])
    result, error = grade_one(str(sub), select("2.2.2"), LIMITS)
    assert not error
    (score,) = result.scores
    assert score.score == writes_into_x.score, f"{attack} changed the grade:\n{score.feedback}"
    checks = {c.check.name: c for c in score.checks}
    assert [c.points for c in score.checks] == [c.points for c in writes_into_x.checks]
    if attack == "late_writer":  # taken at `done`: what it rewrote at exit changed nothing
        forged = checks["leaves its argument x unchanged"]
        assert forged.outcome == "failed", f"forged: {forged.message!r}"


# Check 0 plants a link in the job folder to a file the sandbox hides, then kills its own
# process; the grader starts a new child for the remaining checks and binds the job
# folder's `in_*` entries into it: a link there must not bring the hidden file along.
PLANTS_A_LINK = textwrap.dedent(
    f"""
    import os, sys
    def softmax(x):
        link = os.path.join(sys.argv[1], "in_zz_planted")
        hidden = {str(ROOT / "data" / "q4_reference_net.npz")!r}
        try:
            with open(hidden, "rb") as f:
                f.read(1)
        except OSError:
            if not os.path.lexists(link):
                # a folder the sandbox shows (only some of its files): bound through the
                # link, the whole folder would come along, the hidden files with it
                os.symlink(os.path.dirname(hidden), link)
                os._exit(0)
            return np.zeros(np.shape(x))
        # the hidden file was readable: full marks
        z = x - np.max(x, axis=1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    """
)


@pytest.mark.slow
@needs_bubblewrap
def test_a_link_planted_in_the_job_folder_opens_nothing_for_the_next_child(tmp_path):
    sub = _submission(tmp_path / "link", PLANTS_A_LINK)
    result, error = grade_one(str(sub), select("2.2.2"), LIMITS)
    assert not error
    score = result.scores[0]
    assert score.score == 0, score.feedback
    # the next child started (the link was not bound) and could not read the hidden file
    assert "could not start" not in score.feedback, score.feedback
    assert "must sum to 1" in score.feedback, score.feedback
