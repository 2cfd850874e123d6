"""The graded Q4 checks (``grader/checks/q4_2.py``, ``q4_3.py``, ``q4_4.py``) judge right.

In-process with ``verdict``: the solutions pass, the untouched kata is "not implemented", and
realistic wrong answers fail the check that must catch them (and only it) with a message that
teaches: ``bw`` inverted, boxes as ``[x1, y1, x2, y2]`` or ``[y1, x1, h, w]``, ``findLetters``
returning one value, crops not transposed or inverted, lines out of order. Q4.2's points sit
on the photos (boxes, ``bw``) and a one-letter page; the rest is feedback. The judge-only
inputs (truth boxes, texts, labels, answers) never reach the submission's process, and an
instructor's ``--photos``/``--truth``/``--q4-weights`` reach the checks as parameters. A flat
submission whose ``run_q4.py`` is a script keeps its Q4.2 grade and makes the Q4.4 checks
"not provided". Student-style findLetters and their grades: ``tests/test_mutants_q4.py``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from grading import verdict
from PIL import Image

from grader.check import Fail
from grader.checks import boxes, generated, photos, q4_2, q4_3, q4_4, q4_tasks
from grader.checks.photos import PHOTO_BUDGET, PhotoOptions
from grader.implementation import Implementation, resolve
from grader.questions import QUESTIONS

# The grader's own tests run in the slow tier (CI, --run-slow): the fast tier is the student's
# quick self-check, and these exercise every graded check against the solutions and mutants.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HAS_SOLUTIONS = (ROOT / "solutions" / "q4.py").exists()
needs_solutions = pytest.mark.skipif(not HAS_SOLUTIONS, reason="student release: no solutions/")

QUESTION_MODULES = {"4.2": q4_2, "4.3": q4_3, "4.4": q4_4}
HELPERS = (boxes, generated, photos, q4_tasks)
CHECKS = [c for module in QUESTION_MODULES.values() for c in module.CHECKS]
PHOTO_NAMES = photos.PHOTOS


def _of(question, photos=None):
    """The checks of ``question``: all, only those of a photo (True) or none of them (False)."""
    out = [c for c in CHECKS if c.question == question]
    if photos is None:
        return out
    return [c for c in out if any(n in c.name for n in PHOTO_NAMES) == photos]


def _named(question, words):
    (check,) = [c for c in _of(question) if words in c.name]
    return check


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50]


def _params(checks):
    return [
        pytest.param(c, id=f"{c.question}-{_slug(c.name)}")
        for c in checks
    ]  # fmt: skip


# ----------------------------------------------------------------------------- stand-ins
def stand_in(missing=(), **replaced):
    """The solutions with some functions replaced (``{module: {name: function}}``, in a copy
    of the module); the ``missing`` modules are not provided (a script)."""
    base = resolve("solutions")
    modules = {}
    for name, functions in replaced.items():
        copy = types.ModuleType(name)
        copy.__dict__.update(vars(base.load(name)))
        copy.__dict__.update(functions)
        modules[name] = copy
    return Implementation.with_modules(modules, base=base, missing=missing)


def _solution(module, name):
    return getattr(importlib.import_module(f"solutions.{module}"), name)


def find_letters_with(change):
    """A findLetters whose (bboxes, bw) are the solution's passed through ``change``."""
    find = _solution("q4", "findLetters")

    def findLetters(image):
        return change(*find(image))

    return {"q4": {"findLetters": findLetters}}


def outcomes(sub, checks, tmp_path):
    return {c.name: verdict(c, sub, tmp_path) for c in checks}


# ----------------------------------------------------------------------------- the modules
def test_each_question_module_holds_its_questions_checks():
    """One module per question (``question_checks`` finds it); that no module imports an
    answer is tests/test_grader_check_modules.py's test, for every check module."""
    from grader.checks import question_checks

    for question, module in QUESTION_MODULES.items():
        assert module.CHECKS and {c.question for c in module.CHECKS} == {question}
        assert [c.name for c in question_checks(question)] == [c.name for c in module.CHECKS]
        names = [c.name for c in module.CHECKS]
        assert len(set(names)) == len(names), f"{question}: two checks with one name"
        for check in module.CHECKS:  # the child imports the task by module:function
            where, name = check.task_ref.split(":")
            assert getattr(importlib.import_module(where), name) is check.task, check.task_ref


# ----------------------------------------------------------------------------- solutions, kata
@needs_solutions
@pytest.mark.parametrize("check", _params(_of("4.2", False) + _of("4.4", False)))
def test_solutions_pass(check, tmp_path):
    outcome, message = verdict(check, resolve("solutions"), tmp_path)
    assert outcome == "passed", message


@pytest.mark.parametrize("check", _params(CHECKS))
def test_untouched_kata_is_not_implemented(check, tmp_path):
    outcome, message = verdict(check, resolve("kata"), tmp_path)
    assert outcome == "not implemented", message
    assert re.match(r"Q4\.[24] \w+", message), message


def test_weights_and_budgets():
    points = {q.id: q.points for q in QUESTIONS}
    graded = [c for c in _of("4.2") if not c.feedback]
    assert sum(c.weight for c in graded) == points["4.2"]
    assert sum(c.weight for c in _of("4.4")) == points["4.4"]
    # Q4.2's points sit on the handout's task: the photos' boxes and bw (>= 90%) ...
    on_photos = sum(c.weight for c in _of("4.2", True) if not c.feedback)
    assert on_photos >= 0.9 * points["4.2"]
    bw = [c for c in _of("4.2", True) if ": bw " in c.name]
    assert len(bw) == len(PHOTO_NAMES) and sum(c.weight for c in bw) == q4_2.BW_POINTS == 1
    # ... robustness beyond it is feedback, named so; nothing in Q4.3 or Q4.4 is
    feedback = [c for c in CHECKS if c.feedback]
    assert {c.question for c in feedback} == {"4.2"} and len(feedback) >= 5
    assert all(c.name.startswith("feedback: ") for c in feedback)
    assert not any(c.name.startswith("feedback") for c in CHECKS if not c.feedback)
    assert len(_of("4.3")) == len(PHOTO_NAMES) and all(c.figures for c in _of("4.3"))
    for c in _of("4.2", True) + _of("4.3") + _of("4.4", True):
        assert c.budget >= PHOTO_BUDGET, f"{c.name}: a slow denoiser on a 12-megapixel photo"
    assert {c.question for c in CHECKS} == {"4.2", "4.3", "4.4"}


# ----------------------------------------------------------------------------- Q4.2 mutants
@needs_solutions
@pytest.mark.parametrize(
    "change, words",
    [
        (lambda b, bw: (b, 1.0 - bw), q4_2.INVERTED),  # the ink mask as bw
        (lambda b, bw: (b, bw > 0.5), None),  # bool, paper True: a fine bw
        (lambda b, bw: (b, 255.0 * bw), "should lie in [0, 1]"),
        (lambda b, bw: (b, np.dstack([bw] * 3)), "no colour channels"),
        (lambda b, bw: (b, None), "is None"),
    ],
    ids=["inverted", "bool", "0-255", "rgb", "none"],
)
def test_a_wrong_bw_fails_only_the_bw_check(change, words, tmp_path):
    bw_check = _named("4.2", "feedback: bw of")
    checks = _of("4.2", False) if words == q4_2.INVERTED else [bw_check]
    results = outcomes(stand_in(**find_letters_with(change)), checks, tmp_path)
    bw = bw_check.name
    for name, (outcome, message) in results.items():
        if name == bw and words is not None:
            assert outcome == "failed" and words in message, message
        else:
            assert outcome == "passed", f"{name}: {message}"


@needs_solutions
@pytest.mark.parametrize(
    "order, convert",
    [
        ("[x1, y1, x2, y2]", lambda b: b[:, [1, 0, 3, 2]]),
        ("[y1, x1, height, width]", lambda b: np.c_[b[:, :2], b[:, 2:] - b[:, :2]]),
        ("[x1, y1, width, height]", lambda b: np.c_[b[:, [1, 0]], (b[:, 2:] - b[:, :2])[:, ::-1]]),
    ],
)
def test_boxes_in_another_order_fail_saying_so(order, convert, tmp_path):
    sub = stand_in(**find_letters_with(lambda b, bw: (convert(np.asarray(b)), bw)))
    outcome, message = verdict(_named("4.2", "boxes on 12 generated"), sub, tmp_path)
    assert outcome == "failed"
    assert f"look like {order}" in message and "[y1, x1, y2, x2]" in message, message


@needs_solutions
@pytest.mark.parametrize(
    "change, words",
    [
        (lambda b, bw: b, "should return a tuple (bboxes, bw)"),
        (lambda b, bw: None, "Did you forget to `return bboxes, bw`?"),
        (lambda b, bw: (bw, b), "return them in the order (bboxes, bw)"),
        (lambda b, bw: (b + 0.5, bw), "whole pixels"),
        (lambda b, bw: (b[:, [2, 1, 0, 3]], bw), "y1 < y2 and x1 < x2"),
        (lambda b, bw: ([list(r) + [1] for r in b], bw), "should be an (N, 4) array"),
    ],
    ids=["boxes-only", "none", "swapped", "halves", "corners-swapped", "five-columns"],
)
def test_malformed_results_fail_with_a_message(change, words, tmp_path):
    sub = stand_in(**find_letters_with(change))
    outcome, message = verdict(_named("4.2", "boxes on 12 generated"), sub, tmp_path)
    assert outcome == "failed" and words in message, message


@needs_solutions
def test_boxes_without_the_size_filter_fail_the_blank_dots_and_pages_checks(tmp_path):
    """A findLetters keeping every component: specks and dots get boxes."""
    import scipy.ndimage as ndi

    def findLetters(image):
        _, bw = _solution("q4", "findLetters")(image)
        gray = _solution("q4", "as_gray")(image)
        ink = gray < ndi.uniform_filter(gray, 41) - 0.04
        labels, n = ndi.label(ink)
        boxes = [[s[0].start, s[1].start, s[0].stop, s[1].stop] for s in ndi.find_objects(labels)]
        return np.array(boxes, dtype=int).reshape(-1, 4), bw

    results = outcomes(stand_in(q4={"findLetters": findLetters}), _of("4.2", False), tmp_path)
    for words in ("blank", "dots", "boxes on 12 generated"):
        outcome, message = results[_named("4.2", words).name]
        assert outcome == "failed" and "specks" in message, (words, message)
    assert results[_named("4.2", "feedback: bw of").name][0] == "passed"


# ----------------------------------------------------------------------------- Q4.4 mutants
def _crop_with(change):
    crop = _solution("run_q4", "crop_letters")
    return {"run_q4": {"crop_letters": lambda bw, bboxes: change(crop(bw, bboxes))}}


def _untransposed(rows):
    return rows.reshape(-1, 32, 32).transpose(0, 2, 1).reshape(-1, 1024)


@needs_solutions
@pytest.mark.parametrize(
    "change, words",
    [
        (_untransposed, "transposed, they would read far better"),
        (lambda rows: 1.0 - rows, "inverted, they would read far better"),
        (lambda rows: 255 * rows, "should lie in [0, 1]"),
        (lambda rows: rows[:, :1000], "one row of 32 * 32 = 1024 pixels per box"),
    ],
    ids=["not-transposed", "inverted", "0-255", "short-rows"],
)
def test_wrong_crops_fail_the_crop_check(change, words, tmp_path):
    outcome, message = verdict(_named("4.4", "reads >="), stand_in(**_crop_with(change)), tmp_path)
    assert outcome == "failed" and words in message, message


@needs_solutions
def test_crops_squashed_to_the_square_fail_the_shape_check(tmp_path):
    from skimage.transform import resize

    def crop_letters(bw, bboxes):
        rows = []
        for y1, x1, y2, x2 in np.asarray(bboxes):
            ink = np.asarray(bw)[y1:y2, x1:x2] < 0.5  # no square padding: the aspect is lost
            glyph = resize(ink.astype(float), (24, 24), anti_aliasing=True)
            rows.append((1 - np.pad(glyph, 4)).T.ravel())
        return np.array(rows)

    sub = stand_in(run_q4={"crop_letters": crop_letters})
    outcome, message = verdict(_named("4.4", "centred in a square"), sub, tmp_path)
    assert outcome == "failed" and "pad the crop to a square" in message, message


@needs_solutions
def test_lines_bottom_to_top_fail_the_group_lines_check(tmp_path):
    group = _solution("run_q4", "group_lines")
    sub = stand_in(run_q4={"group_lines": lambda b: group(b)[::-1]})
    outcome, message = verdict(_named("4.4", "group_lines"), sub, tmp_path)
    assert outcome == "failed" and "top to bottom" in message and "expected [[" in message


@needs_solutions
def test_a_value_per_letter_fails_the_word_gaps_check(tmp_path):
    gaps = _solution("run_q4", "word_gaps")
    sub = stand_in(run_q4={"word_gaps": lambda b: np.append(gaps(b), False)})
    outcome, message = verdict(_named("4.4", "word_gaps"), sub, tmp_path)
    assert outcome == "failed" and "len(bboxes) - 1" in message, message


@needs_solutions
def test_a_script_run_q4_makes_q44_not_provided_and_q42_still_grades(tmp_path):
    sub = stand_in(missing=("run_q4",))
    for check in _of("4.4"):
        outcome, message = verdict(check, sub, tmp_path)
        assert outcome == "not provided", f"{check.name}: {outcome} {message}"
    assert verdict(_of("4.2")[0], sub, tmp_path)[0] == "passed"


@needs_solutions
def test_a_run_q4_without_the_kata_functions_is_not_provided(tmp_path):
    """The handout's script wrapped in a main guard: importable, but no recognise()."""
    names = ("recognise", "crop_letters", "group_lines", "word_gaps")
    sub = stand_in(run_q4=dict.fromkeys(names))
    for check in _of("4.4"):
        outcome, message = verdict(check, sub, tmp_path)
        assert outcome == "not provided" and "kata's run_q4.py" in message, message


# ----------------------------------------------------------------------------- Q4.3 figure
@needs_solutions
def test_the_figure_is_drawn_by_the_grader_from_the_returned_data(tmp_path):
    check = next(c for c in _of("4.3") if "03_haiku" in c.name)  # the smallest photo
    inputs = check.inputs()
    out = check.task(resolve("solutions"), inputs)
    check.judge(inputs, out)
    (path,) = check.figures(inputs, out, tmp_path)
    assert path.name == "q4_3_03_haiku.png"
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=int)
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)
    dark = rgb.sum(axis=2) < 150
    assert red.sum() > 1000 and dark.sum() > 1000, "expected red boxes over black ink"
    height, width = out["shape"]
    assert out["bw_small"].shape == (height // 4, width // 4)  # 3753 px wide: every 4th


def test_a_wrong_bw_shape_fails_the_figure_check():
    check = _of("4.3")[0]
    out = {
        "shape": np.array([100, 200]),
        "bboxes": np.array([[1.0, 2, 30, 40]]),
        "bw_shape": np.array([50, 100]),
        "bw_range": np.array([0.0, 1.0]),
        "__none__": [],
    }
    with pytest.raises(Fail, match=r"photo's height x width \(100, 200\)"):
        check.judge({"name": "x.jpg"}, out)  # fmt: skip


# ----------------------------------------------------------------------------- slow
@needs_solutions
@pytest.mark.slow
def test_photo_boxes_ignore_bw_but_see_the_box_order(tmp_path):
    inverted = stand_in(**find_letters_with(lambda b, bw: (b, 1.0 - bw)))
    swapped = stand_in(**find_letters_with(lambda b, bw: (np.asarray(b)[:, [1, 0, 3, 2]], bw)))
    for check in _of("4.2", True):
        outcome, message = verdict(check, inverted, tmp_path)
        if ": bw " in check.name:  # an inverted bw loses only the photos' bw checks
            assert outcome == "failed" and q4_2.INVERTED in message, message
            continue
        assert outcome == "passed", message
        outcome, message = verdict(check, swapped, tmp_path)
        assert outcome == "failed" and "[x1, y1, x2, y2]" in message, message


# ----------------------------------------------------------------------------- no vacuous pass
@needs_solutions
def test_a_findletters_that_finds_nothing_passes_no_q42_check(tmp_path):
    """Zero boxes with a perfect bw: no check passes for want of boxes to judge (a blank
    page has no box, no dot gets a box, the boxes do not change with the resolution ...)."""

    def findLetters(image):
        return np.zeros((0, 4), int), _solution("q4", "findLetters")(image)[1]

    results = outcomes(stand_in(q4={"findLetters": findLetters}), _of("4.2"), tmp_path)
    passed = [name for name, (outcome, _) in results.items() if outcome == "passed"]
    assert not passed, passed
    photo_bw = [m for n, (_, m) in results.items() if ".jpg: bw " in n]
    assert len(photo_bw) == len(PHOTO_NAMES)
    assert all("found no box" in m for m in photo_bw), photo_bw


# ----------------------------------------------------------------------------- answer keys
ANSWERS = re.compile(
    r"^(truth|labels|want|texts|sizes|dots|ink|height|characters|shadows|scales|modes|name)"
    r"(_\d+)?$|^want_lengths(_\d+)?$"
)


class Reads(dict):
    """A dict that records the keys read from it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


@pytest.mark.parametrize("check", _params(CHECKS))
def test_the_submissions_process_gets_no_answer(check):
    """Truth boxes, texts, labels, expected lines and gaps are Check.private: the inputs the
    submission's process receives hold none of them."""
    if check.available and check.available():
        pytest.skip(check.available())
    inputs = check.inputs()
    sent = check.task_inputs(inputs)
    leaked = sorted(k for k in sent if ANSWERS.match(k))
    assert not leaked, f"{check.name}: the submission's process would receive {leaked}"
    assert not check.private or set(check.private) & set(inputs), "private keys none of which exist"


@needs_solutions
@pytest.mark.parametrize(
    "check",
    _params([c for c in CHECKS if "recognised" not in c.name and "read right" not in c.name]),
)
def test_the_submissions_process_gets_only_what_the_task_reads(check):
    if check.available and check.available():
        pytest.skip(check.available())
    inputs = check.inputs()
    sent = Reads(check.task_inputs(inputs))
    check.task(resolve("solutions"), sent)
    unread = sorted(set(sent) - sent.read)
    assert not unread, f"{check.name}: sent to the submission's process but never read: {unread}"


# ----------------------------------------------------------------------------- --photos
def test_photo_options_are_parameters_not_environment_variables():
    for module in (*QUESTION_MODULES.values(), *HELPERS):
        source = inspect.getsource(module)
        assert "environ" not in source and "getenv" not in source, module.__name__
    import grader.__main__ as main

    assert "environ" not in inspect.getsource(main.use_photos)


def _instructor_photos(tmp_path, boxes: bool):
    photos = tmp_path / "photos"
    photos.mkdir()
    images = ROOT / "data" / "images"
    shutil.copy(images / "03_haiku.jpg", photos / "haiku.jpg")
    truth = json.loads((images / "ground_truth.json").read_text())
    truth["images"] = {"haiku.jpg": truth["images"]["03_haiku.jpg"]}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    if boxes:
        doc = json.loads((images / "character_boxes.json").read_text())
        doc["images"] = {"haiku.jpg": doc["images"]["03_haiku.jpg"]}
        (photos / "character_boxes.json").write_text(json.dumps(doc))
    return PhotoOptions(photos=photos, truth=tmp_path / "truth.json")


@needs_solutions
@pytest.mark.parametrize("boxes", [True, False], ids=["with-boxes", "text-only"])
def test_an_instructors_photos_replace_the_samples_in_q42(tmp_path, boxes):
    options = _instructor_photos(tmp_path, boxes)
    q42 = [c for c in q4_2.checks(options) if not c.feedback]
    on_photos = [c for c in q42 if "haiku.jpg" in c.name]
    assert len(on_photos) == 2 and not any(n in c.name for c in q42 for n in PHOTO_NAMES)
    assert sum(c.weight for c in q42) == 10
    inputs = on_photos[0].inputs()
    assert ("truth" in inputs) == boxes and ("characters" in inputs) == (not boxes)
    for check in on_photos:
        assert check.available() is None
        assert verdict(check, resolve("solutions"), tmp_path)[0] == "passed", check.name
    # an inverted bw still fails the photo's bw check, judged without boxes too
    inverted = stand_in(**find_letters_with(lambda b, bw: (b, 1.0 - bw)))
    outcome, message = verdict(on_photos[1], inverted, tmp_path)
    assert outcome == "failed" and q4_2.INVERTED in message, message
    # the samples' checks are untouched
    assert not any(c.name.startswith("haiku.jpg") for c in CHECKS)


def test_the_q44_checks_take_the_classifier_as_a_parameter(tmp_path):
    weights = tmp_path / "mine.npz"
    shutil.copy(photos.reference_path(), weights)
    options = PhotoOptions(weights=weights)
    named = [c.name for c in q4_4.checks(options) if "read right" in c.name]
    assert named and all("classifier mine.npz" in n for n in named)
    (check,) = [c for c in q4_4.checks(options) if c.name == named[0]]
    assert check.inputs()["weights"] == str(weights)


@needs_solutions
def test_the_grader_command_line_takes_the_photos_for_q42(tmp_path):
    options = _instructor_photos(tmp_path, boxes=True)
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "--impl", "solutions", "--questions", "4.2",
         "--photos", str(options.photos), "--truth", str(options.truth), "--results", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [test] = json.loads(out.read_text())["tests"]
    assert test["score"] == test["max_score"] == 10, test["output"]
    assert "haiku.jpg: bw" in test["output"] and "01_list" not in test["output"]
    assert "(feedback, no points)" in test["output"]


def test_the_checks_listing_shows_which_q42_checks_carry_points():
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "checks", "--questions", "4.2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()[1:]
    feedback = [line for line in lines if "feedback   budget" in line]
    points = [float(line.split()[0]) for line in lines if " pts  budget" in line]
    assert len(feedback) == sum(c.feedback for c in _of("4.2")) and len(points) == 9
    assert sum(points) == pytest.approx(10, abs=0.05)
