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
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from pages import SAMPLE_PHOTOS, find_letters_cached, glyphs, make_page
from PIL import Image
from scipy.special import expit
from strategies import seeds

from coursedata import CLASSES, DataError, load_ground_truth, load_nist36
from coursedata.textscore import align, score_photo, score_photos, table

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data" / "q4_reference_net.npz"
FAST = dict(lines=(1, 3), words=(1, 3), letters=(1, 4), height=(22, 36), lighting=0.15)
WORDS = dict(lines=(1, 3), words=(1, 4), letters=(2, 5), height=(22, 36), lighting=0.15)
CROP = dict(lines=(2, 3), words=(2, 3), letters=(3, 5), height=(22, 36), lighting=0.15)
CROP_SEEDS = range(300, 310)  # 259 characters
DETECTED = 0.95  # on each photo: at least 95% of its characters get a box ("about 100%")
SPURIOUS = 0.05  # ... and no more spurious boxes than 5% of its characters
CLASSIFIED = 0.80  # the handout's bar: at least 80% of each photo's characters read right
CROP_ACCURACY = 0.70  # crops of generated pages; the reference reads 85% of the originals


# ----------------------------------------------------------------------------- set-up
def _classifier(config):
    """(params, description) of the classifier the Q4.4 checks use."""
    path = config.getoption("--q4-weights")
    if path:
        return _read_weights(Path(path)), f"the classifier {path} (--q4-weights)"
    return _read_weights(REFERENCE), "the reference classifier data/q4_reference_net.npz"


@lru_cache(maxsize=4)
def _read_weights(path):
    keys = ("Wlayer1", "blayer1", "Woutput", "boutput")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k].astype(np.float64) for k in keys}
    with open(path, "rb") as f:
        params = pickle.load(f)
    return {k: np.asarray(params[k], dtype=np.float64) for k in keys}


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


def oracle_predict(params, x):
    """The network's classes, computed here (not with the implementation's nn.py)."""
    h = expit(np.asarray(x, float) @ params["Wlayer1"] + np.ravel(params["blayer1"]))
    return np.argmax(h @ params["Woutput"] + np.ravel(params["boutput"]), axis=1)


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
    p = make_page(seed, **(FAST | {"rotation": 2.0, "jpeg": None, "noise": 0}))
    order = np.random.default_rng(seed).permutation(len(p.boxes))
    lines = run_q4.group_lines(p.boxes[order])
    got = [[int(order[i]) for i in line] for line in lines]
    want = [line.tolist() for line in p.lines]
    assert got == want, (
        f"group_lines on the boxes of {len(want)} lines (given in random order, page tilted "
        f"up to 2 degrees) returned {len(got)} lines; expected the lines top to bottom, each "
        f"left to right, as indices into bboxes.\nexpected {want}\ngot      {got}"
    )


@pytest.mark.q4_4
@settings(max_examples=8)
@given(seed=seeds)
def test_word_gaps_separate_the_words(run_q4, seed):
    p = make_page(seed, **WORDS)
    for idx, spaces, text in zip(p.lines, p.spaces, p.text):
        got = np.asarray(run_q4.word_gaps(p.boxes[idx]), dtype=bool).ravel()
        assert got.shape == spaces.shape and np.array_equal(got, spaces), (
            f"word_gaps on the line {text!r} (word gaps about a letter wide, letter gaps "
            f"under a third of one) gave {got.astype(int).tolist()}; expected "
            f"{spaces.astype(int).tolist()} (1 where a word ends)"
        )


@pytest.mark.q4_4
def test_crop_letters_returns_nist36_rows(run_q4):
    p = make_page(401, **FAST)
    bw = 1.0 - p.ink_mask
    x = np.asarray(run_q4.crop_letters(bw, p.boxes), dtype=float)
    assert x.shape == (len(p.boxes), 1024), (
        f"crop_letters should return one row of 32 * 32 = 1024 pixels per box: expected "
        f"shape {(len(p.boxes), 1024)}, got {x.shape}"
    )
    assert np.all((x >= 0) & (x <= 1)), f"pixels should lie in [0, 1]; got {x.min()}..{x.max()}"
    images = x.reshape(-1, 32, 32)
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], 1)
    assert border.mean() > 0.9, (
        "like NIST36, the character should sit on white paper with a margin: the images' "
        f"borders average {border.mean():.2f}, expected near 1 (white)"
    )
    assert (images.min(axis=(1, 2)) < 0.3).all(), "every crop should hold dark ink (near 0)"


@pytest.mark.q4_4
def test_crop_letters_centres_each_letter_in_a_square_transposed(run_q4):
    ink, labels = glyphs()
    bw = np.ones((120, 400))
    boxes, originals = [], []
    for k, label in enumerate("1LAM"):  # tall, asymmetric and wide characters
        g = ink[np.flatnonzero(labels == CLASSES.index(label))[0]]
        r, c = np.flatnonzero(g.max(1) > 0.5), np.flatnonzero(g.max(0) > 0.5)
        g = np.kron(g[r[0] : r[-1] + 1, c[0] : c[-1] + 1], np.ones((3, 3)))  # 3x larger
        y, x = 20, 20 + 95 * k
        bw[y : y + g.shape[0], x : x + g.shape[1]] = np.minimum(
            bw[y : y + g.shape[0], x : x + g.shape[1]], 1 - g
        )
        boxes.append([y - 4, x - 4, y + g.shape[0] + 4, x + g.shape[1] + 4])
        originals.append(g > 0.5)
    rows = np.asarray(run_q4.crop_letters(bw, np.array(boxes)), dtype=float)
    for label, row, original in zip("1LAM", rows, originals):
        upright = row.reshape(32, 32).T < 0.5
        rr, cc = np.flatnonzero(upright.any(1)), np.flatnonzero(upright.any(0))
        assert rr.size, f"the crop of {label!r} holds no ink"
        height, width = rr[-1] - rr[0] + 1, cc[-1] - cc[0] + 1
        ratio, want = width / height, original.shape[1] / original.shape[0]
        assert abs(np.log(ratio / want)) < 0.35, (
            f"{label!r} is {want:.2f} times as wide as tall on the page but {ratio:.2f} in its "
            "crop: pad the crop to a square before resizing (keep the aspect ratio); and "
            "store it transposed, like NIST36 (row.reshape(32, 32).T is upright)"
        )
        centre = ((rr[0] + rr[-1]) / 2, (cc[0] + cc[-1]) / 2)
        assert max(abs(centre[0] - 15.5), abs(centre[1] - 15.5)) <= 2.5, (
            f"{label!r} is centred at {centre} in its crop; NIST36 centres the character "
            "(15.5, 15.5)"
        )
        assert 16 <= max(height, width) <= 30, (
            f"{label!r} spans {max(height, width)} of the 32 pixels; NIST36 characters span "
            "about 24 (a white margin around them)"
        )


@pytest.mark.q4_4
def test_crops_are_classified_like_the_training_images(run_q4, classifier):
    params, what = classifier
    correct = total = 0
    for seed in CROP_SEEDS:
        p = make_page(seed, **CROP)
        x = np.asarray(run_q4.crop_letters(1.0 - p.ink_mask, p.boxes), dtype=float)
        predicted = oracle_predict(params, x)
        correct += sum(CLASSES[k] == c for k, c in zip(predicted, p.labels))
        total += len(p.labels)
    assert correct >= CROP_ACCURACY * total, (
        f"{what} reads {correct} of {total} letters cropped from generated pages "
        f"({correct / total:.0%}; expected >= {CROP_ACCURACY:.0%}, it reads 85% of the same "
        "handwriting as NIST36 rows): crop like the training images: centred in a square "
        "with a white margin, dark ink on white, transposed"
    )


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
    if detected < 0.98 * characters or classified < CROP_ACCURACY * characters:
        problems.append(
            f"extract_text on 10 generated pages with {what}: {detected} of {characters} "
            f"characters got a box (expected >= 98%) and {classified} were read right "
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
    assert s.detected >= DETECTED * s.characters and s.spurious <= SPURIOUS * s.characters, (
        f"{photo}: {s.detected} of {s.characters} characters got a box "
        f"({s.detection_rate:.0%}, expected >= {DETECTED:.0%}) and {s.spurious} boxes match "
        f"no character (expected <= {SPURIOUS:.0%} of the characters); {s.lines} lines "
        f"recognised, {s.truth_lines} written.\nrecognised: {lines}\nwritten:    "
        f"{photo_set[1][photo]}"
    )


@pytest.mark.q4_4
@pytest.mark.slow
def test_photo_characters_are_read_right(q4, run_q4, photo, photo_set, classifier):
    s, lines = photo_score(run_q4, q4, photo, photo_set, classifier)
    _, what = classifier
    assert s.classified >= CLASSIFIED * s.characters, (
        f"{photo}: {what} read {s.classified} of its {s.characters} characters right "
        f"({s.classification_rate:.0%}); the handout's bar is {CLASSIFIED:.0%}. Crop like the "
        "NIST36 images (centred square, white margin, strokes not too thin, transposed) "
        f"and order the lines.\nrecognised: {lines}\nwritten:    {photo_set[1][photo]}"
    )


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
        shapes = {k: npz[k].shape for k in ("Wlayer1", "blayer1", "Woutput", "boutput")}
        assert all(npz[k].dtype == np.float32 for k in shapes)
        assert "coursedata.q4_reference" in str(npz["about"])
    assert shapes == {
        "Wlayer1": (1024, 64),
        "blayer1": (64,),
        "Woutput": (64, 36),
        "boutput": (36,),
    }
    x, y = load_nist36("test")
    accuracy = np.mean(oracle_predict(_read_weights(REFERENCE), x) == y.argmax(1))
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


def _run(module, *args):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("solutions") is None, reason="no solutions/")
def test_reference_script_prints_the_text_and_the_table(tmp_path):
    proc = _run("solutions.run_q4", "--weights", str(REFERENCE), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for name in ("01_list", "02_letters", "03_haiku", "04_deep"):
        assert f"{name}.jpg" in proc.stdout
        assert (tmp_path / f"q4_3_{name}.png").is_file()
    assert "| 01_list.jpg | 115 | 115 (100%) | 0 |" in proc.stdout, proc.stdout
    assert "| all | 246 |" in proc.stdout


# A fresh interpreter: slow tier (the fast tier checks the same in-process, tests/test_scripts.py)
@pytest.mark.slow
def test_untouched_kata_script_says_what_is_not_implemented(tmp_path):
    proc = _run("kata.run_q4", "--weights", str(REFERENCE), "--out", str(tmp_path))
    assert proc.returncode == 1
    assert "not implemented yet: Q4.2 findLetters" in proc.stderr
