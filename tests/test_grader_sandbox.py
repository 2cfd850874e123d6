"""The grader's sandbox: safe ingestion of submissions, bounded read-back, the progress
channel, private (judge-only) inputs, the bubblewrap file system and the reduced mode.

Fast tests need no subprocess; those marked slow start submission processes."""

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.check import Check, Fail
from grader.checks import CHECKS
from grader.sandbox import (
    Limits,
    bwrap_prefix,
    job_files,
    read_array,
    read_outcome,
    run_question,
    sandbox_mode,
    take_outcome,
)
from grader.submission import MAX_FILES, Submission, open_submission

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "tests" / "mutants" / "student" / "nn.py"
BWRAP = sandbox_mode(Limits()).bwrap is not None


def _student(folder: Path, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(STUDENT, folder / "nn.py")
    if extra:
        with open(folder / "nn.py", "a", encoding="utf-8") as f:
            f.write("\n\n" + extra)
    return folder


# ------------------------------------------------------------------------- ingestion
@pytest.mark.parametrize("via", ["direct child", "bubblewrap"])
@pytest.mark.parametrize(
    "number, words",
    [(11, "segmentation fault"), (9, "more memory than the 2048 MB cap"),
     (24, "more than its 30 s of CPU time"), (25, "larger than the 1024 MB cap"),
     (15, "killed by SIGTERM")],
)  # fmt: skip
def test_a_death_by_signal_is_named_the_same_with_or_without_bubblewrap(via, number, words):
    """The reduced mode's child dies with returncode -N; bubblewrap reports 128 + N."""
    from grader.sandbox import _death_reason

    returncode = -number if via == "direct child" else 128 + number
    reason = _death_reason(returncode, Limits(memory_mb=2048, file_mb=1024), cpu_cap=30)
    assert words in reason and "signal -" not in reason, reason


def test_a_submission_is_a_package_or_a_folder_and_nrk_impl_names_one(tmp_path, monkeypatch):
    """``Submission``: what run_question takes; without a spec, ``$NRK_IMPL`` names it (a
    folder is ingested like any other)."""
    assert Submission("kata", package="kata").folder is None
    assert Submission("sub", folder=str(tmp_path)).folder == tmp_path
    with pytest.raises(ValueError, match="not both"):
        Submission("x", package="kata", folder=tmp_path)
    with pytest.raises(ValueError, match="not neither"):
        Submission("x")
    monkeypatch.setenv("NRK_IMPL", str(_student(tmp_path / "sub")))
    with open_submission(None) as submission:
        assert submission.package is None and (submission.folder / "nn.py").is_file()
        assert submission.folder != (tmp_path / "sub").resolve()  # the private copy
    monkeypatch.delenv("NRK_IMPL")
    with open_submission(None) as submission:
        assert submission.package == "kata"


def test_a_folder_is_copied_once_with_regular_files_and_folders_only(tmp_path):
    sub = _student(tmp_path / "sub")
    os.mkfifo(sub / "x.py")  # would hang a reader
    (sub / "util.py").symlink_to("/dev/zero")  # would exhaust memory
    (sub / "loop").symlink_to(sub, target_is_directory=True)  # copied once per question
    (sub / "backup.py").mkdir()  # a folder named like a module
    (sub / "backup.py" / "notes.txt").write_text("old")
    (sub / "bad.py").write_bytes(b"\x00\xff not python")
    with open_submission(str(sub)) as submission:
        copy = submission.folder
        assert copy != sub.resolve() and (copy / "nn.py").is_file()
        assert not (copy / "x.py").exists() and not (copy / "util.py").exists()
        assert not (copy / "loop").exists()
        assert (copy / "backup.py" / "notes.txt").read_text() == "old"
        skipped = " ".join(submission.skipped)
        for name in ("x.py (not a regular file)", "util.py (a link)", "loop (a link)"):
            assert name in skipped, skipped
        # the library scan reads regular Python files only, whatever they hold
        assert {p.name for p in submission.sources} == {"nn.py", "bad.py"}
        from grader import libraries

        libraries.scan(submission.sources)
    assert not copy.exists(), "the copy lives as long as the grading"


def test_over_the_file_cap_the_python_files_are_kept_and_the_rest_listed(tmp_path):
    sub = _student(tmp_path / "sub")
    data = sub / "data"
    data.mkdir()
    for i in range(MAX_FILES + 50):
        (data / f"{i:05}.txt").write_text("")
    (sub / "q4.py").write_text("def findLetters(image):\n    return [], image\n")
    with open_submission(str(sub)) as submission:
        assert (submission.folder / "nn.py").is_file() and (submission.folder / "q4.py").is_file()
        assert len(list((submission.folder / "data").iterdir())) == MAX_FILES - 2
        assert any("over the caps" in s for s in submission.skipped), submission.skipped


def test_a_zip_with_links_lists_them(tmp_path):
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(STUDENT, "hw5/nn.py")
        link = zipfile.ZipInfo("hw5/util.py")
        link.external_attr = 0o120777 << 16  # a symlink entry
        zf.writestr(link, "/etc/passwd")
    with open_submission(str(archive)) as submission:
        assert isinstance(submission, Submission)
        assert not (submission.folder / "util.py").exists()
        assert any("util.py" in s for s in submission.skipped)


# ------------------------------------------------------------------------- read-back
def _npy(path: Path, header_shape, dtype="<f8", data=b""):
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(header_shape)}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(data)


def test_read_back_checks_each_npy_header_before_loading(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, np.arange(6.0).reshape(2, 3))
    assert read_array(good, 1 << 20).shape == (2, 3)
    # a header promising 8e12 bytes: refused from the header, nothing allocated
    _npy(tmp_path / "huge.npy", (10**6, 10**6))
    with pytest.raises(ValueError, match="over the"):
        read_array(tmp_path / "huge.npy", 1 << 20)
    _npy(tmp_path / "short.npy", (100,), data=b"\0" * 8)
    with pytest.raises(ValueError, match="header says"):
        read_array(tmp_path / "short.npy", 1 << 20)
    _npy(tmp_path / "objects.npy", (1,), dtype="|O")
    with pytest.raises(ValueError, match="not numbers"):
        read_array(tmp_path / "objects.npy", 1 << 20)
    (tmp_path / "link.npy").symlink_to(good)
    with pytest.raises(ValueError, match="could not be opened"):
        read_array(tmp_path / "link.npy", 1 << 20)
    os.mkfifo(tmp_path / "fifo.npy")
    with pytest.raises(ValueError, match="not a regular file"):
        read_array(tmp_path / "fifo.npy", 1 << 20)
    # another name for the file could still be written after it was taken
    os.link(good, tmp_path / "hard.npy")
    with pytest.raises(ValueError, match="hard links"):
        read_array(tmp_path / "hard.npy", 1 << 20)


def test_read_back_takes_a_checks_files_out_of_the_job_folder(tmp_path):
    """At a check's `done` line its files leave the job folder (which the child can write)
    for a folder the child cannot see: what the job folder gets later changes nothing."""
    job, taken = tmp_path / "job", tmp_path / "taken"
    job.mkdir()
    taken.mkdir()
    (job / "out_0.json").write_text(json.dumps({"status": "ok", "arrays": ["a", "b"]}))
    np.save(job / "out_0_0.npy", np.zeros(3))
    np.save(job / "out_0_1.npy", np.ones(2))
    (job / "out_1.json").write_text(json.dumps({"status": "ok"}))  # the next check's
    take_outcome(job, 0, taken)
    assert sorted(os.listdir(job)) == ["out_1.json"]
    np.save(job / "out_0_0.npy", np.full(3, 7.0))  # a late writer
    (job / "out_0.json").write_text(json.dumps({"status": "ok", "arrays": ["forged"]}))
    outcome = read_outcome(taken, 0)
    assert outcome.status == "ok" and sorted(outcome.out) == ["__none__", "a", "b"]
    assert np.array_equal(outcome.out["a"], np.zeros(3))
    # a link is moved as it is, and refused when it is read
    (job / "out_2.json").symlink_to(job / "out_1.json")
    take_outcome(job, 2, taken)
    assert (taken / "out_2.json").is_symlink()
    assert read_outcome(taken, 2).status == "error"


def test_a_record_over_the_caps_is_an_error_for_its_check_only(tmp_path):
    (tmp_path / "out_0.json").write_text(json.dumps({"status": "ok", "values": {}}))
    assert read_outcome(tmp_path, 0).status == "ok"
    (tmp_path / "out_1.json").write_text(json.dumps({"status": "ok", "arrays": ["a", "b"]}))
    np.save(tmp_path / "out_1_0.npy", np.zeros(1000))
    np.save(tmp_path / "out_1_1.npy", np.zeros(1000))
    outcome = read_outcome(tmp_path, 1, max_bytes=12000)
    assert outcome.status == "error" and "over the" in outcome.message
    (tmp_path / "out_2.json").write_text("{" * 10**6)
    assert read_outcome(tmp_path, 2).status == "error"
    assert read_outcome(tmp_path, 3) is None


# -------------------------------------------------------------- private inputs, all checks
def test_every_private_tag_names_inputs_of_its_check():
    """A private tag that names no input would hide nothing (a typo, a renamed key). A tag
    may list alternatives (a photo's truth boxes, or its character count where it has none):
    at least one is an input."""
    tagged = [c for c in CHECKS if c.private]
    assert tagged, "no check keeps judge-only inputs: answers would reach the submission"
    for check in tagged:
        if check.available and check.available():
            continue
        inputs = check.inputs() if check.inputs else {}
        found = set(check.private) & set(inputs)
        assert found, f"Q{check.question} '{check.name}': private {check.private}: no input"
        assert not set(check.private) & set(check.task_inputs(inputs))


def test_no_private_key_reaches_the_job_folder_of_any_check():
    """Every check with judge-only inputs, through run_question's real writer (job_files):
    the files the child could read hold none of its private keys (no child is started)."""
    tagged = [c for c in CHECKS if c.private and not (c.available and c.available())]
    assert tagged
    for check in tagged:
        inputs = check.inputs() if check.inputs else {}
        names = set()
        with job_files([check], [inputs]) as files:
            for path in sorted(files.jobdir.parent.rglob("*")):
                if path.suffix == ".json":
                    names |= set(json.loads(path.read_text()))
                elif path.suffix == ".npz":
                    with np.load(path) as data:
                        names |= set(data.files)
        assert names, "nothing was written: the test would show nothing"
        assert not names & set(check.private), f"Q{check.question} '{check.name}'"


def _echo_check(private=("answer",)):
    """Q2.2.2's task (softmax of inputs['x']); the judge wants the private 'answer'."""
    from grader.checks.q2_2_2 import softmax_task

    def judge(inputs, out):
        got = out.get("probs")
        if got is None or not np.array_equal(got, inputs["answer"]):
            raise Fail("not the answer")

    return Check("2.2.2", "echo", 1, softmax_task, judge, budget=30, private=private)


# the submission looks for the answer in every file its process can read
ANSWER_HUNTER = """
import os, zipfile, io
def softmax(x):
    for top in ("/tmp", "/work", os.getcwd(), "/"):
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "usr")]
            for name in files:
                if name.startswith("in_") and name.endswith(".npz"):
                    try:
                        with np.load(os.path.join(folder, name)) as data:
                            if "answer" in data.files:
                                return data["answer"]
                    except Exception:
                        pass
    return np.zeros(np.shape(x))
"""


@pytest.mark.slow
@pytest.mark.parametrize("private", [True, False])
def test_a_submission_reading_its_job_files_finds_no_private_answer(private, tmp_path):
    """With the key private the hunter scores nothing; the control (the same key not
    private) shows the hunt works, so the first result is not vacuous."""
    sub = _student(tmp_path / "hunter", ANSWER_HUNTER)
    check = _echo_check(("answer",) if private else ())
    x = np.arange(6.0).reshape(2, 3)
    inputs = {"x": x, "answer": np.full((2, 3), 0.125)}
    seen = {}
    run_question(Submission("hunter", folder=sub), [check], [inputs], Limits(),
                 on_outcome=lambda i, o: seen.update(o.out))  # fmt: skip
    found = np.array_equal(seen.get("probs"), inputs["answer"])
    assert found is (not private)


# ------------------------------------------------------------------------ the file system
PROBE = """
import os, sys, json
def softmax(x):
    seen = {}
    for what in ("solutions", "grader.oracle", "grader.q4_reference"):
        try:
            __import__(what)
            seen[what] = "imported"
        except Exception as exc:
            seen[what] = type(exc).__name__
    for path in %(paths)r:
        seen[path] = os.path.exists(path)
    try:
        open(%(grader_file)r, "a").close()
        seen["write grader"] = "written"
    except OSError:
        seen["write grader"] = "refused"
    for path in ("/tmp/f", "/dev/shm/f"):
        try:
            with open(path, "wb") as f:
                for _ in range(2048):
                    f.write(b"x" * (1 << 20))
            seen[path] = "2 GB written"
        except OSError:
            seen[path] = "capped"
    seen["uid"] = os.getuid()
    raise RuntimeError("PROBE" + json.dumps(seen))
"""


def _inside_tmp(path: Path) -> bool:
    return Path("/tmp") in path.resolve().parents


@pytest.mark.slow
@pytest.mark.skipif(not BWRAP, reason="bubblewrap cannot run here")
def test_inside_bubblewrap_the_answers_and_the_grader_are_out_of_reach(tmp_path):
    from grader.checks.q2_2_2 import softmax_task

    hidden = [
        str(ROOT / "solutions"),
        str(ROOT / "data" / "q4_reference_net.npz"),
        str(ROOT / "data" / "images" / "ground_truth.json"),
        str(ROOT / "tests"),
        str(tmp_path / "results.json"),
        str(tmp_path / "class" / "classmate" / "nn.py"),
    ]
    _student(tmp_path / "class" / "classmate")
    (tmp_path / "results.json").write_text("{}")
    report_before = (ROOT / "grader" / "report.py").read_bytes()
    code = PROBE % {"paths": hidden, "grader_file": str(ROOT / "grader" / "report.py")}
    sub = _student(tmp_path / "class" / "probe", code)
    check = Check("2.2.2", "probe", 1, softmax_task, lambda i, o: None, budget=60)
    (outcome,) = run_question(Submission("probe", folder=sub), [check],
                              [{"x": np.zeros((2, 3))}], Limits(memory_mb=4096))  # fmt: skip
    seen = json.loads(outcome.message.split("PROBE", 1)[1].split(" (at ")[0])
    assert seen["solutions"] == seen["grader.oracle"] == "ImportError", seen
    assert not [p for p in hidden if seen[p]], seen
    # the real file is untouched; under /tmp (a CI checkout) the write lands in the child's
    # private /tmp and is gone with it
    assert (ROOT / "grader" / "report.py").read_bytes() == report_before
    if not _inside_tmp(ROOT):
        assert seen["write grader"] == "refused"
    assert seen["/tmp/f"] == seen["/dev/shm/f"] == "capped"
    assert seen["uid"] != 0
    assert not Path("/dev/shm/f").exists()


@pytest.mark.skipif(not BWRAP, reason="bubblewrap cannot run here")
def test_python_and_the_project_under_tmp_stay_visible_inside_the_sandbox(tmp_path):
    """A CI checkout under /tmp (its virtualenv inside it): the sandbox's private /tmp must not
    hide the Python the child runs with (it did: 'bwrap: execvp ...: No such file')."""
    python_home = tmp_path / "venv"
    (python_home / "bin").mkdir(parents=True)
    marker = python_home / "bin" / "python-marker"
    marker.write_text("here")
    prefix = bwrap_prefix(Submission("probe", package="solutions"), Limits(), pythons=[python_home])
    proc = subprocess.run([*prefix, "--", "/bin/cat", str(marker)], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0 and proc.stdout == "here", proc.stderr


# ------------------------------------------------------------------------ reduced mode
def test_the_reduced_mode_says_so_and_require_refuses_it():
    from grader.sandbox import SandboxUnavailable

    mode = sandbox_mode(Limits(sandbox="reduced"))
    assert mode.bwrap is None and mode.line.startswith("sandbox: reduced (")
    assert "--no-sandbox" in mode.line
    if not BWRAP:
        with pytest.raises(SandboxUnavailable, match="bubblewrap"):
            sandbox_mode(Limits(sandbox="require"))
    else:
        assert sandbox_mode(Limits(sandbox="require")).line.startswith("sandbox: bubblewrap")


@pytest.mark.slow
def test_the_reduced_mode_is_in_the_table_results_and_report(tmp_path):
    from grader.__main__ import main

    results, out = tmp_path / "results.json", tmp_path / "out"
    sub = _student(tmp_path / "sub")
    code = main(["--impl", str(sub), "--questions", "2.2.2", "--no-sandbox",
                 "--results", str(results), "--out", str(out)])  # fmt: skip
    assert code == 0
    data = json.loads(results.read_text())
    assert data["extra_data"]["sandbox"].startswith("sandbox: reduced (")
    assert "sandbox: reduced (" in data["output"]
    assert "sandbox: reduced (" in (out / "report.html").read_text()
    assert data["score"] == 3


# ------------------------------------------------------------------------- load (issue 11)


# A common student pattern: each batch grown one row at a time with np.vstack. Correct, and
# slow: about 1.3 s of CPU for NIST36's 10,800 rows where a vectorised split takes 0.02 s.
VSTACK_BATCHES = """
def get_random_batches(x, y, batch_size):
    order = np.random.permutation(len(x))
    batches = []
    for start in range(0, len(x), batch_size):
        bx, by = x[order[start]][None, :], y[order[start]][None, :]
        for i in order[start + 1:start + batch_size]:
            bx = np.vstack([bx, x[i]])
            by = np.vstack([by, y[i]])
        batches.append((bx, by))
    return batches
"""


@pytest.mark.slow
def test_a_check_slowed_past_its_budget_by_cpu_hogs_still_passes(tmp_path):
    """Issue 11, at a scale every machine runs: the check of NIST36's 10,800 rows, its budget
    capped (``--timeout``) at twice what this student's loop needs here, graded next to three
    CPU hogs per core. The hogs stretch the loop's wall time past twice its CPU need; its CPU
    time stays within the budget, and the check passes."""
    from grader.__main__ import grade_one, select

    (large,) = [c for c in CHECKS if c.question == "2.4" and "10,800" in c.name]
    namespace = {"np": np}
    exec(VSTACK_BATCHES, namespace)
    rows = np.random.default_rng(0).random((10800, 1024))
    start = time.process_time()
    namespace["get_random_batches"](rows, rows[:, :36], 64)
    # twice what the check needs here: the loop, plus about a second of reading its 88 MB of
    # inputs and writing its batches back
    need = time.process_time() - start
    budget = round(2 * (need + 1.0), 1)
    limits = Limits(max_check_seconds=budget, machine_factor=1.0)
    sub = _student(tmp_path / "vstack", VSTACK_BATCHES)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(3 * (os.cpu_count() or 2))]  # fmt: skip
    try:
        result, error = grade_one(str(sub), select("2.4"), limits, checks=[large])
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert not error
    (score,) = result.scores
    (check,) = score.checks
    assert check.outcome == "passed", check.message
    # the premise: next to the hogs, the loop took over twice its CPU time in wall time (a
    # wall-clock budget of twice its need would have failed it)
    if check.seconds <= 2 * need:
        pytest.skip(f"the hogs did not stretch the loop ({need:.1f} s of CPU) past twice that "
                    f"in wall time ({check.seconds:.1f} s): nothing to show")  # fmt: skip


# ---------------------------------------------------------------- pytest --impl DIR
@pytest.mark.slow
def test_pytest_impl_dir_never_loads_the_submissions_conftest(tmp_path):
    """``pytest --impl DIR`` (a space, as tox passes it): DIR is the option's value, not a
    test path whose conftest.py pytest would run in the tester's process."""
    sub = _student(tmp_path / "sub")
    marker = tmp_path / "conftest-ran"
    (sub / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTEST_PLUGINS="grader.pytest_plugin")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--impl", str(sub), "-q", "-p", "no:cacheprovider",
         "tests/test_nn_softmax.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert str(sub) in proc.stdout  # the submission was tested
    assert not marker.exists(), "the submission's conftest.py ran"


@pytest.mark.slow
def test_the_grader_imports_what_it_uses_before_the_first_submission_runs(tmp_path):
    """After :func:`grader.run.preload`, grading (a figure drawn, the report written) imports
    nothing new of the grader or of what it draws with."""
    script = (
        "import sys\n"
        "from grader.run import grade_one, preload\n"
        "from grader.__main__ import select\n"
        "preload()\n"
        "before = set(sys.modules)\n"
        f"grade_one('solutions', select('2.2.2,4.3'), None, out={str(tmp_path / 'out')!r},\n"
        f"          results={str(tmp_path / 'r.json')!r})\n"
        "late = sorted(m for m in set(sys.modules) - before\n"
        "              if m.split('.')[0] in ('grader', 'coursedata', 'matplotlib', 'PIL'))\n"
        "print('LATE', late)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list((tmp_path / "out").glob("*.png")), "no figure was drawn: the test shows nothing"
    assert proc.stdout.split("LATE", 1)[1].strip() == "[]", proc.stdout


def test_an_error_inside_a_library_is_placed_at_the_submissions_line(tmp_path):
    """`np.split` raising inside numpy: the message names the student's line that called
    it (nn.py:4), not numpy's own file."""
    from grader.child import where

    (tmp_path / "qa_uneven_split.py").write_text(
        "import numpy as np\n\ndef get_random_batches(x):\n    return np.split(x, 3)\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import qa_uneven_split

        with pytest.raises(ValueError) as info:
            qa_uneven_split.get_random_batches(np.zeros(10))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("qa_uneven_split", None)
    assert where(info.value) == " (at qa_uneven_split.py:4, in get_random_batches)"
