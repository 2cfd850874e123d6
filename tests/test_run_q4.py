"""Q4.3 the boxes drawn over each photo, Q4.4 the text extracted from the photos (run_q4.py).

Q4.4 classifies with the reference classifier ``data/q4_reference_net.npz`` (the handout's
1024-64-36 network, see ``data/README.md``) unless ``--q4-weights FILE`` names another (e.g.
your own ``out/q3_weights.pickle``), so that the checks measure the letters you extract
rather than your Q3 training. The photos are the four samples, or ``--photos DIR`` with
``--truth FILE`` (an instructor's own); they are scored by ``coursedata.textscore``: per photo,
the characters that got a box and the characters classified right, by aligning each
recognised line with its ground-truth line.

Also here, not graded: the scorer on hand-made cases, the page generator, the given code
(``load_weights``, the classifier it picks), the reference classifier file and the script.
"""

import importlib.util
import pickle
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from pages import SAMPLE_PHOTOS, find_letters_cached, make_page
from PIL import Image
from running import run_module
from strategies import seeds

from coursedata import DataError, load_ground_truth, load_nist36
from coursedata.textscore import align, score_photo, score_photos, table
from grader.checks.generated import FAST
from grader.checks.photos import PARAM_KEYS, load_classifier
from grader.checks.q4_2 import RECALL
from grader.checks.q4_4 import (
    CROP_ACCURACY,
    LINES,
    SHAPE_LETTERS,
    WORDS,
    border_problem,
    classified_problem,
    crop_inputs,
    crop_reading_problem,
    crop_rows_problem,
    crop_shape_problem,
    detected_problem,
    group_lines_problem,
    predict,
    shape_inputs,
    word_gaps_problem,
)

# The bars, tolerances and messages are the grader's (grader/checks/q4_4.py): one definition.
ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data" / "q4_reference_net.npz"


# ----------------------------------------------------------------------------- set-up
def _classifier(config):
    """(params, description) of the classifier the Q4.4 checks use."""
    path = config.getoption("--q4-weights")
    if path:
        return _read_weights(Path(path)), f"the classifier {path} (--q4-weights)"
    return _read_weights(REFERENCE), "the reference classifier data/q4_reference_net.npz"


_read_weights = lru_cache(maxsize=4)(load_classifier)


@pytest.fixture(scope="session")
def classifier(request, impl_params):
    params, what = _classifier(request.config)
    return impl_params(params), what


@lru_cache(maxsize=4)
def _photos(folder, truth_file):
    try:
        truth = load_ground_truth(truth_file)
    except DataError as exc:
        raise pytest.UsageError(f"--photos/--truth: {exc}") from None
    missing = sorted(name for name in truth if not (folder / name).is_file())
    if missing:
        raise pytest.UsageError(f"--photos {folder}: {missing} (listed in {truth_file}) not there")
    return {name: folder / name for name in truth}, truth


def _photo_set(config):
    """{photo name: path} and the ground truth of the photos the Q4.3/Q4.4 checks use."""
    folder = Path(config.getoption("--photos") or SAMPLE_PHOTOS)
    truth_file = Path(config.getoption("--truth") or folder / "ground_truth.json")
    return _photos(folder, truth_file)


def pytest_generate_tests(metafunc):
    if "photo" in metafunc.fixturenames:
        photos, _ = _photo_set(metafunc.config)
        metafunc.parametrize("photo", sorted(photos))


@pytest.fixture(scope="session")
def photo_set(request):
    return _photo_set(request.config)


def _as_lines(value, what):
    if not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        pytest.fail(f"{what} should return a list of str (one per line); got {value!r:.200}")
    return value


# ----------------------------------------------------------------------------- Q4.3
def _figure(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=float)


@pytest.mark.q4_3
def test_draw_boxes_saves_a_figure_of_the_page_and_its_boxes(run_q4, tmp_path):
    p = make_page(400, **FAST)
    bw = 1.0 - p.ink_mask
    with_boxes, without = tmp_path / "boxes.png", tmp_path / "plain.png"
    run_q4.draw_boxes(bw, p.boxes, with_boxes)
    run_q4.draw_boxes(bw, np.zeros((0, 4), int), without)
    assert with_boxes.is_file(), f"draw_boxes(bw, bboxes, path) should write {with_boxes.name}"
    try:
        a, b = _figure(with_boxes), _figure(without)
    except Exception as exc:
        pytest.fail(f"the figure is not a readable PNG image: {exc}", pytrace=False)
    assert a.min() < 100 and a.max() > 200, "the figure should show bw: black ink on white"
    assert a.shape != b.shape or np.abs(a - b).max() > 0, (
        "the figure with boxes is identical to the one without: draw each box (e.g. a "
        "matplotlib.patches.Rectangle) over bw"
    )


@pytest.mark.q4_3
@pytest.mark.parametrize("shape", [(120, 600), (600, 200)])
def test_figure_keeps_the_page_proportions(run_q4, tmp_path, shape):
    bw = np.ones(shape)
    h, w = shape
    bw[h // 4 : h // 2, w // 4 : w // 2] = 0  # one dark "letter"
    path = tmp_path / "page.png"
    run_q4.draw_boxes(bw, np.array([[h // 4, w // 4, h // 2, w // 2]]), path)
    figure = _figure(path)
    dark = figure < 128
    rows, cols = np.flatnonzero(dark.any(1)), np.flatnonzero(dark.any(0))
    assert rows.size, "the figure shows no dark ink"
    ratio = (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)
    want = (w // 2 - w // 4) / (h // 2 - h // 4)
    assert abs(np.log(ratio / want)) < 0.3, (
        f"a letter {want:.2f} times as wide as tall appears {ratio:.2f} times as wide in the "
        "figure: show bw with its own proportions (imshow's default aspect='equal')"
    )


@pytest.mark.q4_3
@pytest.mark.slow
def test_figure_of_the_boxes_over_each_photo(q4, run_q4, photo, photo_set, figures_dir):
    photos, _ = photo_set
    bboxes, bw = find_letters_cached(q4, photos[photo])
    path = figures_dir / f"q4_3_{Path(photo).stem}.png"
    run_q4.draw_boxes(bw, bboxes, path)
    assert path.is_file() and path.stat().st_size > 0, f"no figure written to {path}"
    figure = _figure(path)
    assert figure.min() < 100 and figure.max() > 200, f"{path.name} shows no page"


@pytest.mark.q4_3
@pytest.mark.slow
def test_figures_of_two_failure_cases_for_q4_1(q4, run_q4, figures_dir):
    """Q4.1's answer, drawn by your code: letters that touch get one box; a letter drawn in
    separate side-by-side strokes gets several."""
    for case, page in failure_pages().items():
        bboxes, bw = q4.findLetters(page.image)
        path = figures_dir / f"q4_1_{case}.png"
        run_q4.draw_boxes(bw, bboxes, path, title=f"{case}: {len(page.boxes)} characters")
        assert path.is_file(), f"no figure written to {path}"


def failure_pages():
    """Two pages on which findLetters' one-component-per-character assumption fails."""
    touching = make_page(401, lines=(2, 2), words=(2, 2), letters=(4, 5), height=(40, 40))
    touching = _squeeze(touching)
    broken = make_page(402, lines=(2, 2), words=(2, 2), letters=(3, 4), height=(40, 40))
    broken = _split_strokes(broken)
    return {"touching_letters": touching, "letters_in_separate_strokes": broken}


def _squeeze(page):
    """Close the gaps between the letters of each word, overlapping each letter a little
    with the one before: the letters touch, as in cursive writing."""
    image = page.image
    paper = np.median(image.reshape(-1, image.shape[-1]), axis=0).astype(image.dtype)
    out = np.empty_like(image)
    out[:] = paper
    for idx, spaces in zip(page.lines, page.spaces):
        end = None
        for k, i in enumerate(idx):
            y1, x1, y2, x2 = page.boxes[i]
            if end is None or spaces[k - 1]:
                new_x1 = x1 if end is None else end + int(page.letter_height)
            else:
                new_x1 = end - max(1, int(0.06 * (x2 - x1)))
            dst = out[y1:y2, new_x1 : new_x1 + x2 - x1]
            np.minimum(dst, image[y1:y2, x1:x2], out=dst)
            end = new_x1 + x2 - x1
    page.image = out
    return page


def _split_strokes(page):
    """Erase a vertical band through the middle of every letter: each falls into a left and
    a right piece."""
    image = page.image.copy()
    paper = np.median(image.reshape(-1, image.shape[-1]), axis=0).astype(image.dtype)
    for y1, x1, y2, x2 in page.boxes:
        mid, half = (x1 + x2) // 2, max(1, (x2 - x1) // 16)
        image[y1:y2, mid - half : mid + half] = paper
    page.image = image
    return page


# ----------------------------------------------------------------------------- Q4.4 fast
@pytest.mark.q4_4
@settings(max_examples=8)
@given(seed=seeds)
def test_group_lines_recovers_the_reading_order(run_q4, seed):
    p = make_page(seed, **LINES)
    order = np.random.default_rng(seed).permutation(len(p.boxes))
    lines = run_q4.group_lines(p.boxes[order])
    got = [[int(order[i]) for i in line] for line in lines]
    problem = group_lines_problem([line.tolist() for line in p.lines], got)
    assert problem is None, problem


@pytest.mark.q4_4
@settings(max_examples=8)
@given(seed=seeds)
def test_word_gaps_separate_the_words(run_q4, seed):
    p = make_page(seed, **WORDS)
    for idx, spaces, text in zip(p.lines, p.spaces, p.text):
        got = np.asarray(run_q4.word_gaps(p.boxes[idx]), dtype=bool).ravel()
        problem = word_gaps_problem(text, got, np.asarray(spaces, dtype=bool))
        assert problem is None, problem


@pytest.mark.q4_4
def test_crop_letters_returns_nist36_rows(run_q4):
    p = make_page(401, **FAST)
    bw = 1.0 - p.ink_mask
    x = np.asarray(run_q4.crop_letters(bw, p.boxes), dtype=float)
    problem = crop_rows_problem(x, len(p.boxes))
    assert problem is None, problem
    # The grader hints at a missing white margin, it does not take points for it (the
    # classification of the crops does): a note here too, not a failure.
    margin = border_problem([x])
    if margin:
        warnings.warn(Feedback(margin), stacklevel=1)


@pytest.mark.q4_4
def test_crop_letters_centres_each_letter_in_a_square_transposed(run_q4):
    page = shape_inputs()  # tall, asymmetric and wide NIST36 glyphs, 3x larger
    rows = np.asarray(run_q4.crop_letters(page["bw_0"], page["boxes_0"]), dtype=float)
    problem = crop_rows_problem(rows, len(SHAPE_LETTERS))
    assert problem is None, problem
    for label, row, size in zip(SHAPE_LETTERS, rows, page["sizes"]):
        problem = crop_shape_problem(label, row, size)
        assert problem is None, problem


@pytest.mark.q4_4
def test_crops_are_classified_like_the_training_images(run_q4, classifier):
    params, what = classifier
    pages = crop_inputs()
    rows_pages = []
    for i in range(pages["n"]):
        bw, boxes = pages[f"bw_{i}"], pages[f"boxes_{i}"]
        rows = np.asarray(run_q4.crop_letters(bw, boxes), dtype=float)
        problem = crop_rows_problem(rows, len(boxes))
        assert problem is None, problem
        rows_pages.append(rows)
    problem = crop_reading_problem(rows_pages, pages["labels"], params, what)
    assert problem is None, problem


class Feedback(UserWarning):
    """A Q4.4 feedback test that did not pass: teaching feedback, no points (the grader
    grades the text of the photos)."""


@pytest.mark.q4_4
def test_feedback_extract_text_of_generated_pages(run_q4, classifier):
    """Feedback, no points: the whole pipeline on generated pages with smaller letters (22 to
    36 pixels) than the photos'. Shown as a warning when it falls short, never a failure."""
    params, what = classifier
    detected = classified = characters = 0
    problems = []
    for seed in range(340, 350):
        p = make_page(seed, **FAST)
        lines = _as_lines(run_q4.extract_text(p.image, params), "extract_text")
        s = score_photo(f"page {seed}", lines, p.text)
        if s.lines != s.truth_lines:
            problems.append(
                f"page {seed}: {s.lines} lines of text recognised, the page has "
                f"{s.truth_lines}: {lines} vs {p.text}"
            )
        detected, classified = detected + s.detected, classified + s.classified
        characters += s.characters
    if detected < RECALL * characters or classified < CROP_ACCURACY * characters:
        problems.append(
            f"extract_text on 10 generated pages with {what}: {detected} of {characters} "
            f"characters got a box (expected >= {RECALL:.0%}) and {classified} were read right "
            f"(expected >= {CROP_ACCURACY:.0%})"
        )
    if problems:
        warnings.warn(Feedback("Q4.4 feedback (no points): " + "; ".join(problems)), stacklevel=1)


# ----------------------------------------------------------------------------- Q4.4 photos
_SCORES: dict = {}


def photo_score(run_q4, q4, photo, photo_set, classifier):
    """The photo's score with ``recognise`` (computed once per implementation and photo)."""
    photos, truth = photo_set
    key = (id(run_q4), id(q4), photo, id(classifier))
    if key not in _SCORES:
        params, _ = classifier
        bboxes, bw = find_letters_cached(q4, photos[photo])
        lines = _as_lines(run_q4.recognise(bw, bboxes, dict(params)), "recognise")
        _SCORES[key] = score_photo(photo, lines, truth[photo]), lines
    return _SCORES[key]


@pytest.mark.q4_4
@pytest.mark.slow
def test_photo_characters_get_a_box(q4, run_q4, photo, photo_set, classifier):
    s, lines = photo_score(run_q4, q4, photo, photo_set, classifier)
    problem = detected_problem(s, lines, photo_set[1][photo])
    assert problem is None, problem


@pytest.mark.q4_4
@pytest.mark.slow
def test_photo_characters_are_read_right(q4, run_q4, photo, photo_set, classifier):
    s, lines = photo_score(run_q4, q4, photo, photo_set, classifier)
    problem = classified_problem(s, lines, photo_set[1][photo], classifier[1])
    assert problem is None, problem


# ----------------------------------------------------------------------------- scorer
def test_textscore_aligns_hand_made_cases():
    a = align("HELLO", "HELLO")
    assert (a.matched, a.correct, a.missed, a.spurious) == (5, 5, 0, 0)
    a = align("HELL0", "HELLO")
    assert (a.matched, a.correct, a.missed, a.spurious) == (5, 4, 0, 0)
    a = align("HELO", "HELLO")  # one character without a box
    assert (a.matched, a.correct, a.missed, a.spurious) == (4, 4, 1, 0)
    a = align("HXELLO", "HELLO")  # one spurious box
    assert (a.matched, a.correct, a.missed, a.spurious) == (5, 5, 0, 1)
    a = align("HE LL O", "HELLO")  # spaces do not count
    assert (a.matched, a.correct) == (5, 5)
    a = align("1MAKE", "1. make")  # punctuation and case in the truth do not count
    assert (a.matched, a.correct, a.missed, a.spurious) == (5, 5, 0, 0)
    a = align("", "AB")
    assert (a.matched, a.missed) == (0, 2)
    a = align("AB", "")
    assert (a.matched, a.spurious) == (0, 2)


def test_textscore_scores_a_photo_line_by_line():
    truth = ["TO DO LIST", "1 MAKE A LIST"]
    s = score_photo("p", ["T0 DO LIST", "1 MAKE A LIST"], truth)
    assert (s.characters, s.detected, s.classified, s.spurious) == (18, 18, 17, 0)
    assert s.lines_aligned and s.classification_rate == pytest.approx(17 / 18)
    # a merged pair of lines is scored as one sequence, and says so
    merged = score_photo("p", ["TODOLIST1MAKEALIST"], truth)
    assert not merged.lines_aligned and (merged.detected, merged.classified) == (18, 18)
    # line by line, a character put on the wrong line is spurious there and missed here
    shifted = score_photo("p", ["TODOLIST1", "MAKEALIST"], truth)
    assert (shifted.detected, shifted.classified, shifted.spurious) == (17, 17, 1)


def test_textscore_table_lists_every_photo_and_the_total():
    truth = {"a.jpg": ["AB"], "b.jpg": ["CD", "EF"]}
    scores = score_photos({"a.jpg": ["AB"]}, truth)
    assert [s.name for s in scores] == ["a.jpg", "b.jpg"]
    assert scores[1].detected == 0 and scores[1].characters == 4  # no result: all missed
    text = table(scores)
    assert "| a.jpg | 2 | 2 (100%) | 0 | 2 (100%) | 1/1 |" in text
    assert "| all | 6 | 2 (33%) | 0 | 2 (33%) | |" in text


# ----------------------------------------------------------------------------- generator
def test_generated_pages_are_deterministic_and_consistent():
    a, b = make_page(7, **FAST), make_page(7, **FAST)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)
    H, W = a.image.shape[:2]
    assert a.image.dtype == np.uint8 and a.image.ndim == 3
    assert len(a.boxes) == len(a.labels) == sum(len(i) for i in a.lines)
    y1, x1, y2, x2 = a.boxes.T
    assert np.all((0 <= y1) & (y1 < y2) & (y2 <= H) & (0 <= x1) & (x1 < x2) & (x2 <= W))
    assert [len(t.replace(" ", "")) for t in a.text] == [len(i) for i in a.lines]
    big = make_page(7, **(FAST | {"scale": 2.0}))
    assert big.labels == a.labels and big.text == a.text
    assert big.image.shape[0] == pytest.approx(2 * H, rel=0.05)


# ----------------------------------------------------------------------------- given code
def test_reference_classifier_file():
    with np.load(REFERENCE, allow_pickle=False) as npz:
        shapes = {k: npz[k].shape for k in PARAM_KEYS}
        assert all(npz[k].dtype == np.float32 for k in shapes)
        assert "coursedata.q4_reference" in str(npz["about"])
    assert shapes == {
        "Wlayer1": (1024, 64),
        "blayer1": (64,),
        "Woutput": (64, 36),
        "boutput": (36,),
    }
    x, y = load_nist36("test")
    accuracy = np.mean(predict(_read_weights(REFERENCE), x) == y.argmax(1))
    assert accuracy >= 0.8, f"the reference classifier reads {accuracy:.1%} of the test split"


def test_load_weights_reads_npz_and_pickle(run_q4, tmp_path):
    params = run_q4.load_weights(REFERENCE)
    assert {k: v.shape for k, v in params.items()} == {
        "Wlayer1": (1024, 64),
        "blayer1": (64,),
        "Woutput": (64, 36),
        "boutput": (36,),
    }
    saved = tmp_path / "q3_weights.pickle"
    with open(saved, "wb") as f:
        pickle.dump(params | {"cache_layer1": None}, f)  # run_q3 may save more keys
    again = run_q4.load_weights(saved)
    assert all(np.array_equal(again[k], params[k]) for k in params)
    assert run_q4.reference_weights_path().name == REFERENCE.name


def test_without_saved_weights_the_classifier_is_the_reference(run_q4, tmp_path, monkeypatch):
    """No training loop in the given code: without run_q3's weights, Q4 reads the committed
    reference classifier."""
    monkeypatch.chdir(tmp_path)  # no out/q3_weights.pickle here
    params = run_q4._network(None)
    reference = run_q4.load_weights(REFERENCE)
    assert all(np.array_equal(params[k], reference[k]) for k in reference)
    assert not hasattr(run_q4, "train_quick_network")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("solutions") is None, reason="no solutions/")
def test_reference_script_prints_the_text_and_the_table(tmp_path):
    proc = run_module("solutions.run_q4", "--weights", str(REFERENCE), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for name in ("01_list", "02_letters", "03_haiku", "04_deep"):
        assert f"{name}.jpg" in proc.stdout
        assert (tmp_path / f"q4_3_{name}.png").is_file()
    assert "| 01_list.jpg | 115 | 115 (100%) | 0 |" in proc.stdout, proc.stdout
    assert "| all | 246 |" in proc.stdout


# A fresh interpreter: slow tier (the fast tier checks the same in-process, tests/test_scripts.py)
@pytest.mark.slow
def test_untouched_kata_script_says_what_is_not_implemented(tmp_path):
    proc = run_module("kata.run_q4", "--weights", str(REFERENCE), "--out", str(tmp_path))
    assert proc.returncode == 1
    assert "not implemented yet: Q4.2 findLetters" in proc.stderr
