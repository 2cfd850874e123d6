"""Q4.4: the text extracted from the photos (``run_q4.py``: ``crop_letters``, ``group_lines``,
``word_gaps``, ``recognise``).

Crops of generated letters are read with the reference classifier
``data/q4_reference_net.npz`` (classified here, in the grader's process, not with the
submission's ``nn.py``): at least ``CROP_ACCURACY`` of them right (1.5 points), each centred
in a square with a white margin, transposed like NIST36 (0.5). ``group_lines`` gives the lines
top to bottom, each left to right (0.5); ``word_gaps`` a space where a word ends (0.5). On
each photo (the samples, or an instructor's ``--photos``/``--truth`` with ``--q4-weights``),
the submission's pipeline (``findLetters``, then ``recognise`` with the classifier) is scored
by ``coursedata.textscore``: at least ``DETECTED`` of the characters recognised and at most
``SPURIOUS`` extra (0.5 per photo), ``CLASSIFIED`` of them read right, the handout's bar
(0.75 per photo).

The ``*_problem`` functions say what is wrong (or None): the judges and the self-check
(``tests/test_run_q4.py``) share them, bars and messages included. What the judge compares
with (labels, expected lines and gaps, the photo's text) is ``Check.private``.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

from coursedata import CLASSES, load_ground_truth
from coursedata.textscore import score_photo
from grader.check import Check, Fail, array
from grader.checks.generated import FAST, page
from grader.checks.photos import (
    PHOTO_BUDGET,
    SAMPLES,
    PhotoOptions,
    load_classifier,
    photo_available,
    reference_path,
)
from grader.checks.q4_tasks import (
    crop_letters_task,
    group_lines_task,
    photo_text_task,
    word_gaps_task,
)
from grader.pages import glyphs

WORDS = dict(lines=(1, 3), words=(1, 4), letters=(2, 5), height=(22, 36), lighting=0.15)
CROP = dict(lines=(2, 3), words=(2, 3), letters=(3, 5), height=(22, 36), lighting=0.15)
LINES = FAST | {"rotation": 2.0, "jpeg": None, "noise": 0}  # tilted up to 2 degrees
CROP_SEEDS = range(300, 310)  # 259 characters
LINE_SEEDS = range(500, 508)
GAP_SEEDS = range(520, 528)
CROP_ACCURACY = 0.70  # crops of generated letters read right (the reference reads 85% of
# the same handwriting as NIST36 rows)
WHITE_BORDER = 0.9  # a crop's border averages at least this: NIST36's white margin
SHAPE_LETTERS = "1LAM"  # tall, asymmetric and wide characters
ASPECT = 0.35  # |log| of a crop's width/height ratio against the letter's on the page
CENTRE, OFF_CENTRE = 15.5, 2.5  # NIST36 centres the character, within 2.5 pixels
SPAN = (16, 30)  # the letter's longer side in the 32 pixels: about 24, a margin around it
DETECTED = 0.95  # per photo: at least 95% of the characters recognised ...
SPURIOUS = 0.05  # ... no more spurious characters than 5% of them ...
CLASSIFIED = 0.80  # ... and 80% read right (the handout's bar)
CROP_ADVICE = (
    "crop like the training images: centred in a square with a white margin, strokes not "
    "too thin, dark ink on white, transposed"
)


# ----------------------------------------------------------------------------- the classifier
@functools.cache
def reference_params() -> dict:
    """The reference classifier's parameters as float64 (read without unpickling)."""
    return load_classifier(reference_path())


def predict(params: dict, x: np.ndarray) -> np.ndarray:
    """Classes the 1024-64-36 network ``params`` gives the NIST36-like rows ``x``: (N,)."""
    h = expit(np.asarray(x, dtype=float) @ params["Wlayer1"] + np.ravel(params["blayer1"]))
    return np.argmax(h @ params["Woutput"] + np.ravel(params["boutput"]), axis=1)


# ----------------------------------------------------------------------------- verdicts
def crop_rows_problem(rows: np.ndarray, n: int) -> str | None:
    """What is wrong with ``crop_letters``' rows for ``n`` boxes: their shape or range."""
    if rows.shape != (n, 1024):
        return (
            f"crop_letters should return one row of 32 * 32 = 1024 pixels per box: expected "
            f"shape {(n, 1024)} for {n} boxes, got {rows.shape}"
        )
    if not np.all((rows >= 0) & (rows <= 1)):
        return (
            f"crop_letters: pixels should lie in [0, 1] like NIST36's; got values from "
            f"{rows.min():g} to {rows.max():g}"
        )
    return None


def border_problem(rows_pages: list) -> str | None:
    """The crops' borders are not white (NIST36's margin)."""
    images = [np.asarray(r).reshape(-1, 32, 32) for r in rows_pages]
    sides = [side for m in images for side in (m[:, [0, -1]], m[:, :, [0, -1]])]
    border = np.concatenate([side.ravel() for side in sides])  # the four sides
    if border.mean() > WHITE_BORDER:
        return None
    return (
        f"the crops' borders average {border.mean():.2f}, expected near 1: leave a white "
        "margin (the letter's longer side 24 of the 32 pixels)"
    )


def _reads(params, rows_pages, labels) -> int:
    return sum(
        sum(CLASSES[k] == c for k, c in zip(predict(params, rows), text))
        for rows, text in zip(rows_pages, labels)
    )


def crop_reading_problem(rows_pages, labels, params=None, classifier="the reference classifier"):
    """Fewer than ``CROP_ACCURACY`` of the crops read right by ``params`` (default: the
    reference classifier), with hints on what would read better."""
    params = reference_params() if params is None else params
    correct, total = _reads(params, rows_pages, labels), sum(len(t) for t in labels)
    if correct >= CROP_ACCURACY * total:
        return None
    hints = []
    transposed = [r.reshape(-1, 32, 32).transpose(0, 2, 1).reshape(-1, 1024) for r in rows_pages]
    if _reads(params, transposed, labels) > correct + 0.1 * total:
        hints.append(
            "transposed, they would read far better: store each crop transposed like "
            "NIST36 (row.reshape(32, 32).T is upright)"
        )
    if _reads(params, [1 - r for r in rows_pages], labels) > correct + 0.1 * total:
        hints.append("inverted, they would read far better: NIST36 is dark ink (0) on white (1)")
    border = border_problem(rows_pages)
    if border:
        hints.append(border)
    return (
        f"{classifier} reads {correct} of {total} letters cropped from generated pages "
        f"({correct / total:.0%}; expected >= {CROP_ACCURACY:.0%}, it reads 85% of the same "
        f"handwriting as NIST36 rows): {CROP_ADVICE}" + "".join(f". Read {h}" for h in hints)
    )


def crop_shape_problem(label: str, row: np.ndarray, size) -> str | None:
    """The crop ``row`` of ``label``, ``size`` (height, width) on the page, is not NIST36's
    shape: the aspect kept, centred, with a white margin, transposed."""
    h, w = size
    upright = np.asarray(row).reshape(32, 32).T < 0.5
    rr, cc = np.flatnonzero(upright.any(1)), np.flatnonzero(upright.any(0))
    if not rr.size:
        return f"the crop of {label!r} holds no dark ink (< 0.5): dark ink on white"
    height, width = rr[-1] - rr[0] + 1, cc[-1] - cc[0] + 1
    ratio, want = width / height, w / h
    if abs(np.log(ratio / want)) >= ASPECT:
        return (
            f"{label!r} is {want:.2f} times as wide as tall on the page but {ratio:.2f} in "
            "its crop: pad the crop to a square before resizing (keep the aspect ratio); "
            "and store it transposed, like NIST36 (row.reshape(32, 32).T is upright)"
        )
    centre = ((rr[0] + rr[-1]) / 2, (cc[0] + cc[-1]) / 2)
    if max(abs(centre[0] - CENTRE), abs(centre[1] - CENTRE)) > OFF_CENTRE:
        return (
            f"{label!r} is centred at {centre} in its crop; NIST36 centres the character "
            f"({CENTRE}, {CENTRE})"
        )
    if not SPAN[0] <= max(height, width) <= SPAN[1]:
        return (
            f"{label!r} spans {max(height, width)} of the 32 pixels; NIST36 characters span "
            "about 24 (a white margin around them)"
        )
    return None


def group_lines_problem(expected: list, got: list) -> str | None:
    """``group_lines`` gave the lines ``got`` (lists of box indices), not ``expected``."""
    if got == expected:
        return None
    return (
        f"group_lines on the boxes of {len(expected)} lines (given in random order, the page "
        f"tilted up to 2 degrees) returned {len(got)} lines; expected the lines top to bottom, "
        "each left to right, as indices into bboxes, every box in exactly one line."
        f"\nexpected {expected}\ngot      {got}"
    )


def word_gaps_problem(text: str, got: np.ndarray, want: np.ndarray) -> str | None:
    """``word_gaps`` on the line ``text`` gave ``got``, not the spaces ``want``."""
    if got.shape == want.shape and np.array_equal(got.astype(bool), want):
        return None
    return (
        f"word_gaps on the line {text!r} (word gaps about a letter wide, letter gaps under a "
        f"third of one) gave {got.astype(int).tolist()}; expected {want.astype(int).tolist()} "
        "(1 where a word ends: one value per gap, len(bboxes) - 1)"
    )


def detected_problem(s, lines: list, truth: list) -> str | None:
    """The photo's score ``s`` (``coursedata.textscore``): too few characters recognised, or
    too many spurious ones."""
    if s.detected >= DETECTED * s.characters and s.spurious <= SPURIOUS * s.characters:
        return None
    return (
        f"{s.name}: {s.detected} of {s.characters} characters got a box "
        f"({s.detection_rate:.0%}, expected >= {DETECTED:.0%}) and {s.spurious} boxes match "
        f"no character (expected <= {SPURIOUS:.0%} of the characters); {s.lines} lines "
        f"recognised, {s.truth_lines} written.\nrecognised: {lines}\nwritten:    {list(truth)}"
    )


def classified_problem(s, lines: list, truth: list, classifier="the classifier") -> str | None:
    """The photo's score ``s``: fewer than the handout's ``CLASSIFIED`` read right."""
    if s.classified >= CLASSIFIED * s.characters:
        return None
    return (
        f"{s.name}: {classifier} read {s.classified} of its {s.characters} characters right "
        f"({s.classification_rate:.0%}) from your boxes and crops; the handout's bar is "
        f"{CLASSIFIED:.0%}. Crop like the NIST36 images (centred square, white margin, strokes "
        f"not too thin, transposed) and order the lines.\nrecognised: {lines}\nwritten:    "
        f"{list(truth)}"
    )


# ----------------------------------------------------------------------------- inputs
def crop_inputs() -> dict:
    """The pages of ``CROP_SEEDS``: ``bw_i`` (their ink, 0 on 1) and ``boxes_i``; for the
    judge the ``labels``."""
    inputs = {"n": len(CROP_SEEDS), "labels": []}
    for i, seed in enumerate(CROP_SEEDS):
        p = page(seed, **CROP)
        inputs[f"bw_{i}"] = 1.0 - p.ink_mask.astype(np.float64)
        inputs[f"boxes_{i}"] = p.boxes
        inputs["labels"].append(p.labels)
    return inputs


def shape_inputs() -> dict:
    """A page of the ``SHAPE_LETTERS`` (NIST36 glyphs, 3x larger): ``bw_0``, ``boxes_0``
    (4 pixels of margin) and for the judge each letter's ``sizes`` (height, width)."""
    ink, labels = glyphs()
    bw = np.ones((120, 400))
    boxes, sizes = [], []
    for k, label in enumerate(SHAPE_LETTERS):
        g = ink[np.flatnonzero(labels == CLASSES.index(label))[0]]
        r, c = np.flatnonzero(g.max(1) > 0.5), np.flatnonzero(g.max(0) > 0.5)
        g = np.kron(g[r[0] : r[-1] + 1, c[0] : c[-1] + 1], np.ones((3, 3)))  # 3x larger
        y, x = 20, 20 + 95 * k
        region = bw[y : y + g.shape[0], x : x + g.shape[1]]
        np.minimum(region, 1 - g, out=region)
        boxes.append([y - 4, x - 4, y + g.shape[0] + 4, x + g.shape[1] + 4])
        sizes.append(g.shape)
    return {"n": 1, "bw_0": bw, "boxes_0": np.array(boxes), "sizes": np.array(sizes)}


def _lines_inputs():
    inputs = {"n": len(LINE_SEEDS)}
    for i, seed in enumerate(LINE_SEEDS):
        p = page(seed, **LINES)
        order = np.random.default_rng(seed).permutation(len(p.boxes))
        rank = np.argsort(order)  # box j of the page is box rank[j] of the shuffled ones
        inputs[f"boxes_{i}"] = p.boxes[order]
        inputs[f"want_{i}"] = np.concatenate([rank[line] for line in p.lines])
        inputs[f"want_lengths_{i}"] = np.array([len(line) for line in p.lines])
    return inputs


def _gaps_inputs():
    inputs = {"texts": []}
    wants = []
    for seed in GAP_SEEDS:
        p = page(seed, **WORDS)
        for idx, spaces, text in zip(p.lines, p.spaces, p.text):
            inputs[f"boxes_{len(wants)}"] = p.boxes[idx]
            wants.append(np.asarray(spaces, dtype=bool))
            inputs["texts"].append(text)
    inputs["n"] = len(wants)
    # the answers, judge-only: every line's spaces concatenated, and each line's count
    inputs["want"] = np.concatenate(wants) if wants else np.zeros(0, bool)
    inputs["want_lengths"] = np.array([len(w) for w in wants], dtype=np.int64)
    return inputs


def _text_inputs(name: str, options: PhotoOptions):
    def make():
        return {
            "photo": str(options.folder / name),
            "name": name,
            "truth": load_ground_truth(options.truth_file)[name],
            "weights": str(options.classifier),
        }

    return make


# ----------------------------------------------------------------------------- judges
def _fail_on(message: str | None) -> None:
    if message:
        raise Fail(message)


def judge_crops(inputs, out):
    rows_pages = []
    for i in range(int(inputs["n"])):
        rows = array(out, f"rows_{i}", "crop_letters(bw, bboxes)")
        _fail_on(crop_rows_problem(rows, len(inputs[f"boxes_{i}"])))
        rows_pages.append(rows)
    _fail_on(crop_reading_problem(rows_pages, inputs["labels"]))


def judge_crop_shape(inputs, out):
    rows = array(out, "rows_0", "crop_letters(bw, bboxes)", shape=(len(SHAPE_LETTERS), 1024))
    for label, row, size in zip(SHAPE_LETTERS, rows, inputs["sizes"]):
        _fail_on(crop_shape_problem(label, row, size))


def judge_group_lines(inputs, out):
    for i in range(int(inputs["n"])):
        if f"{i}_problem" in out:
            raise Fail(str(out[f"{i}_problem"]))
        order = array(out, f"order_{i}", "group_lines(bboxes)")
        lengths = array(out, f"lengths_{i}", "group_lines(bboxes)")
        want, want_lengths = inputs[f"want_{i}"], inputs[f"want_lengths_{i}"]
        if not np.all(order == np.round(order)):
            raise Fail(f"group_lines should return arrays of indices (ints); got {order[:5]}")
        order = order.astype(np.int64)
        cuts = np.cumsum(lengths)[:-1].astype(np.int64)
        got = [g.tolist() for g in np.split(order, cuts)] if len(lengths) else []
        expected = [e.tolist() for e in np.split(want, np.cumsum(want_lengths)[:-1])]
        _fail_on(group_lines_problem(expected, got))


def judge_word_gaps(inputs, out):
    wants = np.split(inputs["want"], np.cumsum(inputs["want_lengths"])[:-1])
    for k in range(int(inputs["n"])):
        got = array(out, f"spaces_{k}", "word_gaps(bboxes)").ravel()
        _fail_on(word_gaps_problem(inputs["texts"][k], got, wants[k]))


def _photo_text(inputs, out):
    if "problem" in out:
        raise Fail(str(out["problem"]))
    n = int(np.asarray(out.get("n_lines", 0)))
    lines = list(out["lines"]) if n else []
    return score_photo(inputs["name"], lines, list(inputs["truth"])), lines


def judge_photo_detected(inputs, out):
    s, lines = _photo_text(inputs, out)
    _fail_on(detected_problem(s, lines, inputs["truth"]))


def judge_photo_classified(inputs, out):
    s, lines = _photo_text(inputs, out)
    _fail_on(classified_problem(s, lines, inputs["truth"]))


# ----------------------------------------------------------------------------- the checks
def _reference_available():
    if not reference_path().is_file():
        return f"the reference classifier {reference_path()} is not here"
    return None


def checks(photos: PhotoOptions | None = None) -> list[Check]:
    """Q4.4's checks: the functions on generated pages, and the text of each photo (the
    samples, or ``photos``) read with the classifier (the reference, or ``photos.weights``)."""
    options = photos or SAMPLES
    run = ("run_q4",)
    lines_private = tuple(
        f"{key}_{i}" for i in range(len(LINE_SEEDS)) for key in ("want", "want_lengths")
    )
    found = [
        Check("4.4", f"crop_letters: the reference classifier reads >= {CROP_ACCURACY:.0%} of "
              "the letters cropped from generated pages", 1.5,
              crop_letters_task, judge_crops, crop_inputs, budget=120, modules=run,
              available=_reference_available, private=("labels",)),
        Check("4.4", "crop_letters: each letter centred in a square with a white margin, "
              "transposed", 0.5,
              crop_letters_task, judge_crop_shape, shape_inputs, budget=60, modules=run,
              private=("sizes",)),
        Check("4.4", "group_lines: lines top to bottom, each left to right", 0.5,
              group_lines_task, judge_group_lines, _lines_inputs, budget=60, modules=run,
              private=lines_private),
        Check("4.4", "word_gaps: a space where a word ends", 0.5,
              word_gaps_task, judge_word_gaps, _gaps_inputs, budget=60, modules=run,
              private=("want", "want_lengths", "texts")),
    ]  # fmt: skip
    modules = ("q4", "run_q4", "nn")
    text_private = ("name", "truth")
    for name in options.names():
        here = photo_available(name, options, truth="text", classifier=True)
        inputs = _text_inputs(name, options)
        found += [
            Check("4.4", f"{name}: >= {DETECTED:.0%} of its characters recognised, <= "
                  f"{SPURIOUS:.0%} spurious", 0.5,
                  photo_text_task, judge_photo_detected, inputs,
                  budget=PHOTO_BUDGET, modules=modules, available=here, private=text_private),
            Check("4.4", f"{name}: >= {CLASSIFIED:.0%} of its characters read right with the "
                  f"classifier {options.classifier.name}", 0.75,
                  photo_text_task, judge_photo_classified, inputs,
                  budget=PHOTO_BUDGET, modules=modules, available=here, private=text_private),
        ]  # fmt: skip
    return found


CHECKS = checks(SAMPLES)
