"""The grader: scoring by weights, reports, submissions as folders and zips, the library rule,
shims, the command line and batch mode (fast), and whole runs on the solutions, the kata and a
flat submission (slow)."""

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from grader import libraries
from grader.check import Check, Fail
from grader.implementation import ImplementationError
from grader.questions import QUESTIONS, Question
from grader.report import gradescope_results, table
from grader.scoring import CheckResult, failed_everywhere, score_question
from grader.submission import open_submission

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "tests" / "mutants" / "student" / "nn.py"
Q23 = next(q for q in QUESTIONS if q.id == "2.3")


def _check(name, weight=1.0, question="2.3"):
    return Check(question, name, weight, task=lambda sub, i: {}, judge=lambda i, o: None)


def _results(*outcomes, weights=None):
    weights = weights or [1.0] * len(outcomes)
    return [
        CheckResult(_check(f"check {i}", w), o, f"msg {i}")
        for i, (o, w) in enumerate(zip(outcomes, weights))
    ]


# ------------------------------------------------------------------------------ scoring
def test_points_split_by_weight():
    score = score_question(Q23, _results("passed", "failed", weights=[3, 1]))
    assert (score.score, score.max_score, score.status) == (5.25, 7.0, "partial")
    assert "1/2 checks passed" in score.summary and "msg 1" in score.summary
    assert [c.max_points for c in score.checks] == [5.25, 1.75]


def test_left_out_checks_keep_the_questions_points_on_the_others():
    """A check asking for a kata-only function (run_q3.train) while another check grades
    the same work is left out: the others carry the question's points."""
    score = score_question(Q23, _results("passed", "not provided"))
    assert (score.score, score.max_score, score.status) == (7.0, 7.0, "passed")
    assert "left out" in score.feedback


def test_a_question_none_of_whose_checks_can_be_asked_scores_zero_of_its_points():
    """The handout's run_q2.py script has no numerical_gradients: Q2.5 is 0/5 with the
    reason, so every student's maximum is the same."""
    left_out = _results("not provided", "not provided")
    left_out[0].message = "run_q2.py is a script without a function numerical_gradients()"
    score = score_question(Q23, left_out)
    assert (score.score, score.max_score, score.status) == (0, 7, "not submitted")
    assert "numerical_gradients" in score.summary
    assert "0/7" in table([score], "x")
    # a feedback check that could be asked does not make the question worth nothing
    left_out.append(CheckResult(replace(_check("robust"), feedback=True), "passed"))
    score = score_question(Q23, left_out)
    assert (score.score, score.max_score, score.status) == (0, 7, "not submitted")


def test_a_missing_file_or_function_is_not_submitted_and_scores_zero():
    missing = _results("not provided", "not provided")
    for r in missing:
        r.message = "not submitted: q4.py"
    score = score_question(Q23, missing)
    assert (score.score, score.max_score, score.status) == (0, 7, "not submitted")
    assert score.summary == "not submitted: q4.py"
    assert [c.outcome for c in score.checks] == ["not submitted"] * 2
    # a missing function costs its own check's points, not the question's maximum
    results = _results("passed", "not provided", weights=[3, 1])
    results[1].message = "not submitted: nn.backwards (nn.py defines no backwards)"
    score = score_question(Q23, results)
    assert (score.score, score.max_score, score.status) == (5.25, 7, "partial")
    assert "not submitted: nn.backwards" in score.summary
    assert "- [not submitted] check 1 (0/1.75): not submitted: nn.backwards" in score.feedback


def test_without_pytorch_q6_is_not_gradable_here_not_failed():
    q611 = next(q for q in QUESTIONS if q.id == "6.1.1")
    no_torch = "ModuleNotFoundError: No module named 'torch' (at q6_train.py:21, in <module>)"
    results = [CheckResult(_check("fc", question="6.1.1"), "failed", no_torch)]
    score = score_question(q611, results)
    assert (score.score, score.max_score, score.status) == (0, 0, "not gradable")
    assert score.summary.startswith("not gradable here: needs PyTorch")
    # the handout allows PyTorch in Q6 only: elsewhere, importing it is the code's failure
    score = score_question(Q23, [CheckResult(_check("backwards"), "failed", no_torch)])
    assert (score.score, score.max_score, score.status) == (0, 7, "failed")


def test_feedback_checks_are_shown_apart_from_the_checks_that_carry_the_points():
    results = [
        CheckResult(_check("boxes on the photos", 3), "passed"),
        CheckResult(_check("bw on the photos", 1), "failed", "bw is inverted"),
        CheckResult(replace(_check("uneven light", 1), feedback=True), "failed", "missed 40%"),
    ]
    score = score_question(Q23, results)
    assert (score.score, score.max_score) == (5.25, 7)
    assert "(feedback, no points: 0/1 passed)" in score.summary
    assert "(feedback, no points: 0/1 passed)" in " ".join(table([score], "x").split())
    output = gradescope_results([score], 1.0)["tests"][0]["output"]
    points, feedback = output.split("Feedback only (no points):")
    assert "Checks that carry the points:" in points
    assert "boxes on the photos (5.25/5.25)" in points and "bw on the photos (0/1.75)" in points
    assert "uneven light (feedback, no points): missed 40%" in feedback
    assert "uneven light" not in points


def test_the_table_wraps_reasons_at_words_and_says_where_the_full_text_is():
    words = [f"word{i:03d}" for i in range(60)]  # 479 characters
    results = _results("passed", "failed")
    results[1].message = " ".join(words)
    score = score_question(Q23, results)
    text = table([score], "x", width=80)
    assert max(len(line) for line in text.splitlines()) <= 80, text
    shown = [w for w in text[: text.index("(… cut short")].split() if w.startswith("word")]
    assert shown and all(w in words for w in shown[:-1]), "a word was cut"
    assert shown[-1].endswith("…") and shown[-1].removesuffix("…") in words
    assert "report.html (--out DIR) and results.json (--results FILE)" in " ".join(text.split())
    assert " ".join(words) in gradescope_results([score], 1.0)["tests"][0]["output"]


def test_a_check_without_its_data_makes_the_question_not_gradable():
    results = _results("passed", "not gradable")
    results[1].message = "not gradable offline: CIFAR-10 is not in data/external/cifar10"
    score = score_question(Q23, results)
    assert (score.score, score.max_score, score.status) == (0, 0, "not gradable")
    assert "CIFAR-10" in score.summary


def test_not_implemented_scores_zero_and_says_so():
    score = score_question(Q23, _results("not implemented", "not implemented"))
    assert (score.score, score.status) == (0, "not implemented")
    assert score.summary.startswith("not implemented yet")


def test_written_questions_score_nothing_and_report_their_figures():
    written = Question("3.3", "weights (write-up)", 0, written=True)
    score = score_question(written, _results("passed"))
    assert (score.score, score.max_score, score.status) == (0, 0, "written")
    assert "not scored" in score.summary


def test_a_written_question_whose_code_is_missing_says_so():
    written = Question("4.3", "boxes (write-up)", 0, written=True)
    missing = _results("not provided")
    missing[0].message = "not submitted: run_q4.py"
    score = score_question(written, missing)
    assert (score.max_score, score.status) == (0, "not submitted")
    assert score.summary == "written question, not scored; not submitted: run_q4.py"
    untouched = score_question(written, _results("not implemented"))
    assert untouched.status == "not implemented" and "not implemented yet" in untouched.summary
    row = table([score], "x").splitlines()[3]
    assert row.split()[:3] == ["Q4.3", "n/a", "not"], row


def test_an_ungradable_submission_scores_zero_everywhere_with_the_reason():
    scores = failed_everywhere(list(QUESTIONS), "x.zip is not a readable zip file")
    results = gradescope_results(scores, 5.0)
    assert results["score"] == 0 and len(results["tests"]) == len(QUESTIONS)
    assert all("not a readable zip" in t["output"] for t in results["tests"])
    assert "Total: 0/" in table(scores, "x.zip")


def test_gradescope_status_is_failed_exactly_when_points_were_lost():
    passed = score_question(Q23, _results("passed"))
    partial = score_question(Q23, _results("passed", "failed"))
    ungradable = score_question(Q23, _results("not gradable"))
    tests = gradescope_results([passed, partial, ungradable], 1.0)["tests"]
    assert [t["status"] for t in tests] == ["passed", "failed", "passed"]


# ---------------------------------------------------------------------- judging helpers
def test_array_refuses_what_is_not_a_plain_finite_numeric_array():
    from grader.check import array

    class Sub(__import__("numpy").ndarray):
        pass

    import numpy as np

    good = np.ones((2, 3))
    assert array({"a": good}, "a", "f(x)", shape=(2, None)) is good
    cases = [
        ({"__none__": ["a"]}, "returned None"),
        ({"a": good.view(Sub)}, "expected a numpy array"),
        ({"a": np.array(["x"])}, "expected numbers"),
        ({"a": np.ones((3, 2))}, "expected shape (2, 'any')"),
        ({"a": np.array([[np.nan, 1, 1], [1, 1, 1]])}, "1 NaN/inf"),
    ]
    for out, words in cases:
        with pytest.raises(Fail, match=words.replace("(", r"\(").replace(")", r"\)")):
            array(out, "a", "f(x)", shape=(2, None))


# ---------------------------------------------------------------------- submissions
def _zip(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_a_zip_with_the_files_in_a_subfolder_is_found(tmp_path):
    archive = _zip(
        tmp_path / "alice.zip",
        {
            "__MACOSX/hw5/python/._nn.py": "garbage",
            "hw5/python/nn.py": "import numpy as np\n",
            "hw5/python/q4.py": "import skimage\n",
            "hw5/writeup.pdf": "%PDF",
        },
    )
    with open_submission(str(archive)) as sub:
        assert sub.folder.name == "python" and (sub.folder / "nn.py").is_file()
        assert [p.name for p in sub.sources] == ["nn.py", "q4.py"]
        folder = sub.folder
    assert not folder.exists(), "the unpacked copy is removed afterwards"


@pytest.mark.parametrize(
    "files, words",
    [
        ({"../evil.py": "x", "nn.py": ""}, "unsafe path"),
        ({"/etc/evil.py": "x", "nn.py": ""}, "unsafe path"),
        ({"writeup.pdf": "%PDF"}, "no nn.py"),
    ],
)
def test_a_zip_that_cannot_be_graded_says_why(tmp_path, files, words):
    archive = _zip(tmp_path / "bob.zip", files)
    with pytest.raises(ImplementationError, match=words):
        with open_submission(str(archive)):
            pass


def test_a_file_that_is_not_a_zip_says_so(tmp_path):
    bad = tmp_path / "carol.zip"
    bad.write_text("not a zip")
    with pytest.raises(ImplementationError, match="not a readable zip"):
        with open_submission(str(bad)):
            pass


def test_a_zip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("grader.submission.MAX_UNZIPPED_MB", 1)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("nn.py", "0" * (3 << 20))
    with pytest.raises(ImplementationError, match="unpacks to 3 MB"):
        with open_submission(str(archive)):
            pass


# ---------------------------------------------------------------------- library rule
def test_imports_outside_the_handout_libraries_are_reported(tmp_path):
    (tmp_path / "nn.py").write_text(
        "import numpy as np\nfrom util import *\nimport os, pickle\nimport scipy.ndimage\n"
    )
    (tmp_path / "q4.py").write_text(
        "import skimage.measure\nimport cv2\nfrom sklearn.cluster import KMeans\nimport nn\n"
        "def f():\n    import torch, torchvision\n    from PIL import Image\n"
    )
    found = [str(v) for v in libraries.scan(sorted(tmp_path.glob("*.py")))]
    assert found == [
        "q4.py:2 imports cv2",
        "q4.py:3 imports sklearn.cluster",
        "q4.py:7 imports PIL",
    ]
    assert "numpy, scipy, scikit-image and matplotlib" in libraries.RULE


# ---------------------------------------------------------------------- shims
def test_shims_translate_old_calls_and_record_them():
    """In a fresh process, as in a submission's: old NumPy aliases and scikit-image keywords
    work and each shim used is recorded."""
    code = """
import sys, json
sys.path.insert(0, sys.argv[1])
from grader import shims
shims.install()
import numpy as np
from skimage.morphology import binary_closing
import skimage.measure, skimage.color, skimage.restoration
img = np.random.default_rng(0).random((16, 16, 3))
skimage.restoration.denoise_bilateral(img, multichannel=True)
binary_closing(img[..., 0] > 0.5, selem=np.ones((3, 3), bool))
skimage.measure.label(img[..., 0] > 0.5, neighbors=8)
skimage.color.rgb2grey(img)
assert np.float is float and np.int is int
print(json.dumps(sorted(shims.USED)))
"""
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [
        "np.float",
        "np.int",
        "skimage multichannel= -> channel_axis=",
        "skimage neighbors= -> connectivity=",
        "skimage rgb2grey -> rgb2gray",
        "skimage selem= -> footprint=",
    ]


# ---------------------------------------------------------------------- command line
def _grade(*args, cwd=ROOT, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def _validate_gradescope(results):
    assert set(results) >= {"score", "execution_time", "tests"}
    for test in results["tests"]:
        assert set(test) >= {"name", "number", "score", "max_score", "status", "output"}
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    return {t["number"]: t for t in results["tests"]}


def test_unknown_implementation_is_a_clear_error(tmp_path):
    proc = _grade("--impl", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "expected 'kata', 'solutions', a folder or a .zip" in proc.stderr


def test_an_unreadable_zip_still_gets_a_valid_results_json(tmp_path):
    bad = tmp_path / "dave.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    out = tmp_path / "results.json"
    proc = _grade("--impl", str(bad), "--questions", "2.2.2", "--results", str(out))
    assert proc.returncode == 2 and "not a readable zip" in proc.stderr
    tests = _validate_gradescope(json.loads(out.read_text()))
    assert tests["2.2.2"]["score"] == 0 and "not a readable zip" in tests["2.2.2"]["output"]


def test_bad_arguments_are_refused_before_the_checks_are_imported(tmp_path):
    """A mistyped question or a submission that is not there is said at once: not after
    importing matplotlib and measuring the machine's speed (nor, for the question, after
    importing the check modules)."""
    code = (
        "import sys\nfrom grader.__main__ import main\n"
        "try:\n    rc = main(sys.argv[1:])\nexcept SystemExit as exc:\n    rc = exc.code\n"
        "heavy = sorted(m for m in ('grader.checks', 'matplotlib', 'grader.calibration')"
        " if m in sys.modules)\nprint(rc, heavy)"
    )
    cases = (
        (["--impl", str(tmp_path / "nowhere")], "['grader.checks']"),
        (["--questions", "9.9"], "[]"),
    )
    for args, imported in cases:
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert proc.stdout.split() == ["2", imported], (args, proc.stdout, proc.stderr[-2000:])


@pytest.mark.parametrize("command", [(), ("checks",), ("batch", ".")])
def test_an_unknown_question_is_an_error_naming_the_valid_ones(command):
    proc = _grade(*command, "--questions", "2.2.2,9.9", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "no question 9.9" in proc.stderr and "2.1.2, 2.2.1" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_checks_lists_every_question_with_weights_and_budgets():
    proc = _grade("checks")
    assert proc.returncode == 0, proc.stderr
    for q in QUESTIONS:
        assert f"Q{q.id} " in proc.stdout
    assert "budget" in proc.stdout


# ---------------------------------------------------------------------- batch mode
def _flat(folder, nn_text):
    folder.mkdir(parents=True)
    (folder / "nn.py").write_text(nn_text)
    return folder


@pytest.mark.slow
def test_batch_grades_a_class_into_a_csv(tmp_path):
    subs = tmp_path / "submissions"
    student = STUDENT.read_text()
    _flat(subs / "full", student)
    partial = student + "\n\ndef softmax(x):\n    return np.exp(x) / np.sum(np.exp(x))\n"
    partial_dir = _flat(tmp_path / "partial_src", partial)
    with zipfile.ZipFile(subs / "partial.zip", "w") as zf:
        zf.write(partial_dir / "nn.py", "hw5/python/nn.py")
    (subs / "broken.zip").write_text("this is not a zip")
    out = tmp_path / "grades"
    proc = _grade("batch", str(subs), "--jobs", "2", "--out", str(out), "--questions",
                  "2.2.2,2.2.3")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with open(out / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"full", "partial", "broken"}
    assert rows["full"]["Q2.2.2"] == "3" and rows["full"]["Q2.2.3"] == "3"
    assert rows["full"]["total"] == "6"
    assert float(rows["partial"]["Q2.2.2"]) < 3 and rows["partial"]["Q2.2.3"] == "3"
    assert rows["broken"]["total"] == "0" and "not a readable zip" in rows["broken"]["notes"]
    for name in rows:
        _validate_gradescope(json.loads((out / "students" / name / "results.json").read_text()))


# ---------------------------------------------------------------------- whole runs
@pytest.mark.slow
def test_solutions_score_full_marks(tmp_path):
    out = tmp_path / "results.json"
    figures = tmp_path / "figures"
    proc = _grade("--impl", "solutions", "--results", str(out), "--out", str(figures))
    assert proc.returncode == 0, proc.stderr
    tests = _validate_gradescope(json.loads(out.read_text()))
    assert set(tests) == {q.id for q in QUESTIONS}
    short = [t for t in tests.values() if t["score"] != t["max_score"]]
    assert not short, "the solutions lost points:\n" + "\n".join(t["output"] for t in short)
    gradable = {n for n, t in tests.items() if t["max_score"]}
    assert {"2.1.2", "2.3", "2.5", "3.1", "4.2", "4.4", "5.3.2", "6.1.2"} <= gradable, proc.stdout
    # the figures the write-up needs, drawn by the grader, and the report holding them
    drawn = {p.name for p in figures.glob("*.png")}
    photos = ("01_list", "02_letters", "03_haiku", "04_deep")
    wanted = {
        "q3_1_curves.png",
        "q3_2_learning_rates.png",
        "q3_3_weights.png",
        "q3_4_confusion.png",
        "q5_2_loss.png",
        "q5_3_1_reconstructions.png",
        "q6_1_1_curves.png",
        "q6_1_2_curves.png",
        *(f"q4_3_{p}.png" for p in photos),
    }
    assert wanted <= drawn, sorted(wanted - drawn)
    report = (figures / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= len(wanted)


@pytest.mark.slow
def test_untouched_kata_scores_zero_with_not_implemented_everywhere(tmp_path):
    out = tmp_path / "results.json"
    scored = ",".join(q.id for q in QUESTIONS if q.points)
    proc = _grade("--impl", "kata", "--questions", scored, "--results", str(out))
    assert proc.returncode == 0, proc.stderr
    tests = _validate_gradescope(json.loads(out.read_text()))
    assert json.loads(out.read_text())["score"] == 0
    graded = [t for t in tests.values() if t["max_score"]]
    assert {t["number"] for t in graded} >= {"2.1.2", "2.2.2", "2.3", "2.4", "2.5", "3.1"}
    assert all("not implemented yet: Q" in t["output"] for t in graded), [
        t["output"] for t in graded
    ]


@pytest.mark.slow
def test_flat_submission_with_script_run_q2(tmp_path):
    """The handout's layout: run_q2.py and run_q3.py are scripts without the kata's
    functions. The checks needing run_q2.train or run_q3.train are left out (the batches
    carry Q2.4, the grader's loop over its nn.py Q3.1); Q2.5, which only numerical_gradients
    answers, scores 0 of its 5 points with the reason: every student's maximum is the same."""
    sub = tmp_path / "submission"
    sub.mkdir()
    shutil.copy(STUDENT, sub / "nn.py")
    for script in ("run_q2.py", "run_q3.py"):
        (sub / script).write_text("from nn import *\nraise SystemExit('trains at import')\n")
    out = tmp_path / "results.json"
    proc = _grade("--impl", "submission", "--questions", "2.4,2.5,3.1", "--results", str(out),
                  cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    tests = _validate_gradescope(json.loads(out.read_text()))
    assert (tests["2.5"]["score"], tests["2.5"]["max_score"]) == (0, 5)
    assert "script without a function numerical_gradients()" in tests["2.5"]["output"]
    assert tests["2.4"]["score"] == tests["2.4"]["max_score"] == 5  # batches still graded
    assert tests["3.1"]["score"] == tests["3.1"]["max_score"] == 5  # trained with its nn.py


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="student release: no solutions/")
def test_a_scripts_functions_are_graded_without_running_the_script(tmp_path):
    """A run_q2.py that defines the kata's functions and then trains at import: Q2.5 is
    graded on the function the student wrote."""
    from grader.packaging import flatten_imports

    sub = tmp_path / "submission"
    sub.mkdir()
    shutil.copy(STUDENT, sub / "nn.py")
    script = flatten_imports((ROOT / "solutions" / "run_q2.py").read_text(), "solutions")
    (sub / "run_q2.py").write_text(script + "\nprint('training')\nraise SystemExit(1)\n")
    out = tmp_path / "results.json"
    proc = _grade("--impl", str(sub), "--questions", "2.5", "--results", str(out))
    assert proc.returncode == 0, proc.stderr
    tests = _validate_gradescope(json.loads(out.read_text()))
    assert tests["2.5"]["score"] == tests["2.5"]["max_score"] == 5, tests["2.5"]["output"]


@pytest.mark.slow
def test_a_student_without_q4_has_the_same_maximum_in_grades_csv(tmp_path):
    """Missing is missing: no q4.py scores 0 of Q4.2's points ("not submitted: q4.py"), the
    handout's run_q2.py script 0 of Q2.5's, so both students' maximum is the same."""
    subs = tmp_path / "submissions"
    started = _flat(subs / "started", STUDENT.read_text())
    (started / "q4.py").write_text(
        'def findLetters(image):\n    raise NotImplementedError("Q4.2 findLetters")\n'
    )
    without = _flat(subs / "without_q4", STUDENT.read_text())
    (without / "run_q2.py").write_text("from nn import *\nraise SystemExit('trains')\n")
    out = tmp_path / "grades"
    proc = _grade("batch", str(subs), "--jobs", "2", "--out", str(out), "--questions",
                  "2.2.2,2.5,4.2,4.3")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with open(out / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows["started"]["max"] == rows["without_q4"]["max"] == "18", rows
    assert rows["without_q4"]["Q4.2"] == "0" and rows["without_q4"]["Q2.5"] == "0"
    assert rows["without_q4"]["Q4.3"] == "", "a written question carries no points"
    results = json.loads((out / "students" / "without_q4" / "results.json").read_text())
    tests = _validate_gradescope(results)
    assert (tests["4.2"]["score"], tests["4.2"]["max_score"]) == (0, 10)
    assert tests["4.2"]["output"].startswith("not submitted: q4.py")
    assert tests["4.3"]["output"].startswith("written question, not scored; not submitted: q4.py")


def _exported_solutions(tmp_path):
    from grader.packaging import export_kata

    folder = tmp_path / "exported"
    with zipfile.ZipFile(export_kata(tmp_path / "hw5.zip", impl="solutions")) as zf:
        zf.extractall(folder)
    return folder


@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="student release: no solutions/")
def test_the_library_rule_leaves_out_the_code_the_kata_gives(tmp_path):
    """An export of a complete kata imports coursedata, PIL and imageio only in the code the
    kata gives: no note. What the student adds is still read."""
    from grader.packaging import export_kata

    for impl in ("kata", "solutions"):
        folder = tmp_path / impl
        with zipfile.ZipFile(export_kata(tmp_path / f"{impl}.zip", impl=impl)) as zf:
            zf.extractall(folder)
        files = sorted(folder.glob("*.py"))
        assert libraries.scan(files) == [], impl
        assert any("PIL" in str(v) for v in libraries.scan(files, kata=None)), "given code"
        with open(folder / "run_q4.py", "a") as f:
            f.write("\nimport cv2\n\ndef denoise(image):\n    from PIL import ImageFilter\n")
        found = [str(v) for v in libraries.scan(files)]
        assert len(found) == 2 and "imports cv2" in found[0] and "imports PIL" in found[1]
    # a given function the student changed is the student's code
    edited = tmp_path / "edited" / "run_q6_3.py"
    edited.parent.mkdir()
    text = (ROOT / "kata" / "run_q6_3.py").read_text()
    edited.write_text(text.replace("import imageio.v3 as iio", "import imageio.v3 as iio, cv2"))
    assert [v.module for v in libraries.scan([edited])] == ["cv2"]


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="student release: no solutions/")
def test_with_the_library_penalty_a_correct_export_scores_full_marks(tmp_path):
    folder = _exported_solutions(tmp_path)
    out = tmp_path / "results.json"
    args = ("--impl", str(folder), "--questions", "2.2.2,5.1.1", "--library-penalty")
    proc = _grade(*args, "--results", str(out))
    assert proc.returncode == 0, proc.stderr
    tests = _validate_gradescope(json.loads(out.read_text()))
    assert [t["score"] for t in tests.values()] == [3, 5], proc.stdout
    assert "Imports outside" not in proc.stdout
    with open(folder / "run_q5.py", "a") as f:
        f.write("\nfrom PIL import Image  # the student's own\n")
    proc = _grade(*args, "--results", str(out))
    tests = _validate_gradescope(json.loads(out.read_text()))
    assert (tests["2.2.2"]["score"], tests["5.1.1"]["score"]) == (3, 0), proc.stdout
    assert "run_q5.py imports PIL" in tests["5.1.1"]["output"]


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="student release: no solutions/")
def test_without_pytorch_in_the_submissions_process_q6_is_not_gradable_here(tmp_path):
    """PyTorch made unimportable in the submission's process (a package that raises as an
    absent one does, first on its path): Q6 is not gradable here, as in pytest, not failed."""
    folder = _exported_solutions(tmp_path)
    (folder / "torch").mkdir()
    (folder / "torch" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
    )
    out = tmp_path / "results.json"
    proc = _grade("--impl", str(folder), "--questions", "6.1.1", "--results", str(out))
    assert proc.returncode == 0, proc.stderr
    [test] = json.loads(out.read_text())["tests"]
    assert (test["score"], test["max_score"], test["status"]) == (0, 0, "passed"), test
    assert test["output"].startswith("not gradable here: needs PyTorch"), test["output"]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("Q6.1.1"))
    assert "not gradable" in row and "needs PyTorch" in row and "failed" not in row


@pytest.mark.slow
def test_an_instructors_own_photos_replace_the_samples_in_q4_4(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(ROOT / "data" / "images" / "02_letters.jpg", photos / "letters.jpg")
    truth = json.loads((ROOT / "data" / "images" / "ground_truth.json").read_text())
    truth["images"] = {"letters.jpg": truth["images"]["02_letters.jpg"]}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    out = tmp_path / "results.json"
    proc = _grade("--impl", "solutions", "--questions", "4.4", "--photos", str(photos),
                  "--truth", str(tmp_path / "truth.json"), "--results", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [test] = json.loads(out.read_text())["tests"]
    assert test["score"] == test["max_score"] == 8, test["output"]
    assert "letters.jpg" in test["output"] and "01_list" not in test["output"]


def test_questions_using_shared_work_start_after_their_provider():
    """The pool starts questions in this order; a user before its provider would wait on a
    thread its provider needs (with --jobs 1, forever)."""
    import random

    from grader.checks import CHECKS
    from grader.grade import schedule

    providers = {c.provides: c.question for c in CHECKS if c.provides}
    uses = {(c.question, providers[c.uses]) for c in CHECKS if c.uses}
    assert uses, "some questions share a trained network"
    rng = random.Random(0)
    for _ in range(50):
        picked = rng.sample(list(QUESTIONS), rng.randint(1, len(QUESTIONS)))
        ids = [q.id for q in schedule(picked)]
        assert sorted(ids) == sorted(q.id for q in picked)
        for user, provider in uses:
            if user in ids and provider in ids:
                assert ids.index(provider) < ids.index(user), ids
