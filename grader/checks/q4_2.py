"""Q4.2 ``findLetters(image) -> (bboxes, bw)`` (``q4.py``): the boxes of the letters of a photo
of handwriting, and the page black on white.

The points sit on what the handout asks, on the handout's inputs: ``findLetters`` on the four
sample photos (boxes checked by eye in ``data/images/character_boxes.json``), each photo's
boxes (8.5 of the 10 points) and its ``bw``, black ink 0 on white paper 1 (1 point: an
inverted ``bw`` loses only that), and a small edge case, a page with one letter as large as
the photos' (0.5). Robustness beyond the handout (generated pages with smaller letters under
uneven light, blank pages, dots, 0.6x/2.5x the resolution, RGBA/grayscale/float input) is
teaching feedback (``Check.feedback``: reported, no points); each of those checks first needs
the letters of a normal page found, so a findLetters that finds nothing passes none. A found
box *finds* a character when their IoU is at least ``MATCH_IOU``, or when each box holds the
other's centre; the matching is one to one.

An instructor's photos (``--photos``/``--truth``) replace the samples: :func:`checks`.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.ndimage as ndi

from grader.check import Check, Fail, array
from grader.checks.boxes import block_step, find_letters_task, inside, layout, problem
from grader.checks.generated import (
    FAST,
    letters_found_first,
    page_results,
    pages_inputs,
    pages_private,
)
from grader.checks.photos import (
    PHOTO_ANSWERS,
    PHOTO_BUDGET,
    SAMPLES,
    PhotoOptions,
    find_letters_photo_task,
    photo_available,
    photo_found,
    photo_inputs,
)
from grader.pages import iou, match

BOXES_POINTS = 8.5  # the photos' boxes, shared by the photos ...
BW_POINTS = 1.0  # ... their bw ...
ONE_LETTER_POINTS = 0.5  # ... and the one-letter page: Q4.2's 10 points
MATCH_IOU = 0.5  # a box finds a character at this IoU (or each holding the other's centre)
PHOTO_MISSED = 0.05  # on a photo: at most 5% of its characters without a box ...
PHOTO_SPURIOUS = 0.05  # ... and at most 5% as many boxes on no character
BW_INK = 0.05  # a photo's bw: at least this share of its characters' boxes dark ...
BW_PAPER = 0.90  # ... and this share of the paper away from them white
BW_WHITE = 0.80  # without boxes (an instructor's photo with only its text): mostly white
# feedback (no points)
RECALL = 0.98  # share of a generated page's characters that must get a box
PRECISION = 0.98  # share of the boxes that must be on a character
FOUND_FIRST = 0.5  # share of a normal page's characters a robustness check needs found first
PAGE_INK = 0.5  # a generated page's bw: at least half its characters' pixels dark ...
PAGE_PAPER = 0.98  # ... and this share of the paper away from them white
PAGE_SEEDS = range(100, 112)  # 125 characters
ONE_LETTER = dict(
    lines=(1, 1), words=(1, 1), letters=(1, 1), height=(80, 100), lighting=0.15, dots=0
)
ONE_LETTER_SEEDS = range(600, 604)
INVERTED = ". It looks inverted: return 1.0 - ink (ink 0, paper 1), not the ink mask"


def pairs(truth, found) -> list:
    """The one-to-one matching of truth boxes and found boxes (``MATCH_IOU``)."""
    return match(truth, found, MATCH_IOU)


# ----------------------------------------------------------------------------- generated pages
# the pages' boxes, validated and laid out; a robustness check first needs the letters found
_page_results = functools.partial(page_results, match_iou=MATCH_IOU)
_letters_found_first = functools.partial(
    letters_found_first, share=FOUND_FIRST, match_iou=MATCH_IOU
)


def judge_generated_pages(inputs, out):
    truths, founds, _ = _page_results(inputs, out)
    found = total = boxes = 0
    worst = None
    for i, (truth, boxes_i) in enumerate(zip(truths, founds)):
        n = len(pairs(truth, boxes_i))
        found, total, boxes = found + n, total + len(truth), boxes + len(boxes_i)
        if worst is None or n / len(truth) < worst[1]:
            worst = (i, n / len(truth), inputs["texts"][i])
    pages = int(inputs["n"])
    if found < RECALL * total:
        raise Fail(
            f"{found} of the {total} characters of {pages} generated pages got a box (IoU >= "
            f"{MATCH_IOU:g}, or each box holding the other's centre); expected >= {RECALL:.0%}. "
            f"Worst page: seed {PAGE_SEEDS[worst[0]]}, {worst[1]:.0%} found, text {worst[2]!r} "
            "(grader/pages.py: make_page(seed)). Threshold against the paper around the ink "
            "(the light is uneven), keep faint strokes, and size filters relative to the "
            "page's typical character (these letters are 22 to 36 pixels tall)"
        )
    if found < PRECISION * boxes:
        raise Fail(
            f"only {found} of {boxes} boxes on {pages} generated pages are on a character "
            f"(expected >= {PRECISION:.0%}): drop specks, dots and pieces that are small "
            "against the page's typical character, and give a character one box"
        )


def judge_blank_pages(inputs, out):
    _letters_found_first(inputs, out, [0], "no box on a blank page")
    blank = range(1, int(inputs["n"]))
    _, founds, _ = _page_results(inputs, out, "findLetters on a blank page", blank)
    counts = [len(f) for f in founds]
    if any(counts):
        k = int(np.argmax(counts))
        shadows = inputs["shadows"][k]
        raise Fail(
            f"{sum(counts)} boxes on {len(counts)} blank pages (paper with uneven lighting, "
            f"texture, noise{', some with a grid of shadows' if any(inputs['shadows']) else ''}"
            f"), {counts[k]} on blank page {k}{' (with shadows)' if shadows else ''}: a "
            "threshold must find ink much darker than the paper around it, not split the "
            "paper's noise (Otsu's threshold always splits something)"
        )


def judge_dots(inputs, out):
    n = int(inputs["n"])
    _letters_found_first(inputs, out, range(n), "no box on a dot")
    truths, founds, _ = _page_results(inputs, out, "findLetters on a page with dots")
    on_dots = n_dots = 0
    height = []
    for i, (truth, found) in enumerate(zip(truths, founds)):
        dots = inputs[f"dots_{i}"]
        n_dots += len(dots)
        height.append(float(inputs[f"height_{i}"]))
        matched = {j for _, j in pairs(truth, found)}
        extra = np.setdiff1d(np.arange(len(found)), list(matched))
        if len(dots) and len(extra):
            on_dots += int((iou(found[extra], dots) > 0).any(axis=1).sum())
    if on_dots:
        raise Fail(
            f"{on_dots} box(es) on the {n_dots} punctuation dots of {len(founds)} pages with "
            f"characters {min(height):.0f} to {max(height):.0f} pixels tall: drop components "
            "that are small against the page's typical character (not with a fixed pixel count)"
        )


def judge_resolution(inputs, out):
    _letters_found_first(inputs, out, [0], "the same boxes at another resolution")
    truths, founds, shapes = _page_results(inputs, out, "findLetters at another resolution")
    n_base = len(pairs(truths[0], founds[0]))
    for i in range(1, len(founds)):
        n = len(pairs(truths[i], founds[i]))
        if n < n_base - 1 or len(founds[i]) > len(founds[0]) + 1:
            H, W = shapes[i]
            raise Fail(
                f"the same page at {inputs['scales'][i]}x the resolution ({W} x {H}) found {n} "
                f"of its {len(truths[i])} characters with {len(founds[i])} boxes, at 1x "
                f"{n_base} with {len(founds[0])}: thresholds on sizes (specks, dots, "
                "morphology) should be relative to the page's typical character, not fixed "
                "pixel counts"
            )


def judge_modes(inputs, out):
    _letters_found_first(inputs, out, [0], "the same boxes for another image format")
    _, founds, _ = _page_results(inputs, out, "findLetters")
    reference = founds[0]
    for i in range(1, len(founds)):
        same = len(pairs(reference, founds[i]))
        if same < len(reference) - 1 or len(founds[i]) > len(reference) + 1:
            image = inputs[f"image_{i}"]
            raise Fail(
                f"the same page as {inputs['modes'][i]} ({image.dtype}, shape {image.shape}) "
                f"gave {len(founds[i])} boxes, {same} of them like the {len(reference)} boxes "
                "of the RGB uint8 image: convert any input to a float gray image first (the "
                "given as_gray)"
            )


def judge_bw(inputs, out):
    for i in range(int(inputs["n"])):
        if f"{i}_bw_problem" in out:
            raise Fail(str(out[f"{i}_bw_problem"]))
    _letters_found_first(inputs, out, [0], "bw on generated pages")
    for i in range(int(inputs["n"])):
        problem(out, f"{i}_")
        image = inputs[f"image_{i}"]
        H, W = image.shape[:2]
        what = f"bw of a {inputs['modes'][i]} image of shape {image.shape}"
        bw = array(out, f"{i}_bw", what)
        if bw.shape != (H, W):
            raise Fail(
                f"{what} should have the photo's height x width {(H, W)}; got {bw.shape} "
                "(no colour channels, no resizing)"
            )
        if not np.all((bw >= 0) & (bw <= 1)):
            raise Fail(
                f"{what} should lie in [0, 1] (0 black ink, 1 white paper); got values from "
                f"{bw.min():g} to {bw.max():g}"
            )
        ink = inputs[f"ink_{i}"]
        grow = max(int(float(inputs[f"height_{i}"]) // 3), 1)
        paper = ~ndi.binary_dilation(ink, iterations=grow)
        ink_dark = float(np.mean(bw[ink] < 0.5))
        paper_white = float(np.mean(bw[paper] >= 0.5))
        if ink_dark < PAGE_INK or paper_white < PAGE_PAPER:
            raise Fail(
                f"{what} should be the characters black (0) on white paper (1): "
                f"{ink_dark:.0%} of the characters' pixels are dark (expected >= "
                f"{PAGE_INK:.0%}) and {paper_white:.0%} of the paper away from them is white "
                f"(expected >= {PAGE_PAPER:.0%})"
                + (INVERTED if ink_dark < 0.2 and paper_white < 0.2 else "")
            )


def judge_one_letter(inputs, out):
    truths, founds, _ = _page_results(inputs, out, "findLetters on a page with one letter")
    for i, (truth, found) in enumerate(zip(truths, founds)):
        if len(found) != 1 or len(pairs(truth, found)) != 1:
            (y1, x1, y2, x2), label = truth[0], inputs["texts"][i]
            raise Fail(
                f"a page with the single letter {label!r} at [{y1}, {x1}, {y2}, {x2}] got "
                f"{len(found)} box(es), {len(pairs(truth, found))} of them on the letter; "
                "expected exactly one box on it: nothing in findLetters should need several "
                "characters (a statistic over the boxes, a line to sit on)"
            )


# ----------------------------------------------------------------------------- photos
PHOTO_PRIVATE = PHOTO_ANSWERS  # judge-only: the photo's boxes or its number of characters


def judge_photo_boxes(inputs, out):
    name, shape, found = photo_found(inputs, out)
    if "truth" not in inputs:  # an instructor's photo with only its text
        inside(found, shape, f"bboxes of findLetters on {name}")
        n = int(inputs["characters"])
        if abs(len(found) - n) > PHOTO_MISSED * n:
            raise Fail(
                f"{name}: {len(found)} boxes for its {n} characters (expected within "
                f"{PHOTO_MISSED:.0%} of one box per character). A character split into "
                "pieces gets two boxes; touching characters one"
            )
        return
    truth, labels = inputs["truth"], inputs["labels"]
    layout([truth], [found], [shape], f"bboxes of findLetters on {name}", MATCH_IOU)
    matched = pairs(truth, found)
    missed = sorted(set(range(len(truth))) - {i for i, _ in matched})
    spurious = len(found) - len(matched)
    n = len(truth)
    if len(missed) > PHOTO_MISSED * n or spurious > PHOTO_SPURIOUS * n:
        raise Fail(
            f"{name}: {n - len(missed)} of its {n} characters got a box (missed: "
            f"{''.join(labels[i] for i in missed) or 'none'}), and {spurious} boxes are on no "
            f"character; expected at most {PHOTO_MISSED:.0%} missed and {PHOTO_SPURIOUS:.0%} "
            "spurious. A character split into pieces gets two boxes; touching characters one"
        )


def judge_photo_bw(inputs, out):
    name, shape, found = photo_found(inputs, out)
    if not len(found):
        raise Fail(
            f"findLetters found no box on {name}: bw is checked once findLetters finds the "
            "characters (see the check of this photo's boxes)"
        )
    if "bw_problem" in out:
        raise Fail(str(out["bw_problem"]))
    bw_shape = tuple(int(s) for s in array(out, "bw_shape", f"the shape of bw of {name}"))
    if bw_shape != shape[:2]:
        raise Fail(
            f"bw of {name} should have the photo's height x width {shape[:2]}; got "
            f"{bw_shape} (no colour channels, no resizing)"
        )
    low, high = array(out, "bw_range", f"the range of bw of {name}", finite=False)
    if not (0 <= low and high <= 1):
        raise Fail(
            f"bw of {name} should lie in [0, 1] (0 black ink, 1 white paper); got values "
            f"from {low:g} to {high:g}"
        )
    small = array(out, "bw_mean", f"bw of {name}", finite=False)
    dark = small < 0.5  # NaN counts as white
    if "truth" not in inputs:
        white = 1 - float(dark.mean())
        if white < BW_WHITE or not dark.any():
            raise Fail(
                f"bw of {name} should be the characters black (0) on white paper (1): "
                f"{white:.0%} of it is white (expected >= {BW_WHITE:.0%}, the paper)"
                + (INVERTED if white < 0.2 else "")
            )
        return
    boxes = np.asarray(inputs["truth"]) // block_step(shape)
    letter = float(np.median(boxes[:, 2] - boxes[:, 0])) if len(boxes) else 1.0
    near = np.zeros(small.shape, bool)
    in_boxes = np.zeros(small.shape, bool)
    grow = max(int(letter / 3), 1)
    for y1, x1, y2, x2 in boxes:
        in_boxes[y1 : y2 + 1, x1 : x2 + 1] = True
        near[max(y1 - grow, 0) : y2 + 1 + grow, max(x1 - grow, 0) : x2 + 1 + grow] = True
    ink_dark = float(dark[in_boxes].mean()) if in_boxes.any() else 0.0
    paper_white = float(1 - dark[~near].mean()) if (~near).any() else 1.0
    if ink_dark < BW_INK or paper_white < BW_PAPER:
        raise Fail(
            f"bw of {name} should be the characters black (0) on white paper (1): "
            f"{ink_dark:.0%} of its characters' boxes is dark (expected >= {BW_INK:.0%}: "
            f"their strokes) and {paper_white:.0%} of the paper away from them is white "
            f"(expected >= {BW_PAPER:.0%})"
            # the paper dark, the boxes not all dark (light strokes in them): inverted
            + (INVERTED if paper_white < 0.2 and ink_dark < 0.95 else "")
        )


# ----------------------------------------------------------------------------- the checks
def checks(photos: PhotoOptions | None = None) -> list[Check]:
    """Q4.2's points sit on the handout's task: the photos' boxes and ``bw`` (the samples,
    or ``photos``), and one small edge case; robustness beyond the handout is feedback."""
    options = photos or SAMPLES
    q4 = ("q4",)
    names = options.names()
    found = []
    for name in names:  # 9.5 of the 10 points, shared by the photos
        here = photo_available(name, options)
        inputs = photo_inputs(name, options)
        found += [
            Check("4.2", f"{name}: at most {PHOTO_MISSED:.0%} of its characters missed and "
                  f"{PHOTO_SPURIOUS:.0%} spurious boxes", BOXES_POINTS / len(names),
                  find_letters_photo_task, judge_photo_boxes, inputs, budget=PHOTO_BUDGET,
                  modules=q4, available=here, private=PHOTO_PRIVATE),
            Check("4.2", f"{name}: bw is the photo's shape, characters black (0) on white "
                  "paper (1)", BW_POINTS / len(names),
                  find_letters_photo_task, judge_photo_bw, inputs, budget=PHOTO_BUDGET,
                  modules=q4, available=here, private=PHOTO_PRIVATE),
        ]  # fmt: skip
    one = [(seed, ONE_LETTER) for seed in ONE_LETTER_SEEDS]
    found.append(
        Check("4.2", "edge case: a page with a single letter (as large as the photos') gets "
              "one box", ONE_LETTER_POINTS,
              find_letters_task, judge_one_letter, pages_inputs(one), budget=60, modules=q4,
              private=pages_private(one))
    )  # fmt: skip
    return found + _feedback()


def _feedback() -> list[Check]:
    """Robustness beyond the handout's photos: reported with a message, no points."""
    fast = [(seed, FAST) for seed in PAGE_SEEDS]
    text = (100, FAST)  # a normal page, found first by the checks below
    blank = [text] + [(s, {"blank": True, "shadows": s % 2 == 1}) for s in range(1000, 1006)]
    dots = [(seed, FAST | {"words": (2, 4), "dots": 6}) for seed in range(130, 136)]
    scales = (1.0, 0.6, 2.5)
    resolution = [(101, FAST | {"dots": 3, "scale": s}) for s in scales]
    modes = ("rgb", "rgba", "gray", "float")
    same_page = [(100, FAST | {"mode": m}) for m in modes]
    bw_pages = [(110 + k, FAST | {"mode": m}) for k, m in enumerate(modes)]

    def blank_inputs():
        inputs = pages_inputs(blank)()
        return inputs | {"shadows": [bool(o.get("blank") and o["shadows"]) for _, o in blank]}

    def with_(make, **extra):
        return lambda: make() | extra

    q4 = ("q4",)
    return [
        Check("4.2", f"feedback: boxes on {len(fast)} generated pages with smaller letters "
              f"(22 to 36 pixels) under uneven light: >= {RECALL:.0%} of the characters found, "
              f">= {PRECISION:.0%} of the boxes on a character", 1,
              find_letters_task, judge_generated_pages, pages_inputs(fast), budget=150,
              modules=q4, private=pages_private(fast), feedback=True),
        Check("4.2", "feedback: no box on blank pages (uneven light, texture, noise, shadows)",
              1, find_letters_task, judge_blank_pages, blank_inputs, budget=90, modules=q4,
              private=pages_private(blank, "shadows"), feedback=True),
        Check("4.2", "feedback: no box on punctuation dots", 1,
              find_letters_task, judge_dots, pages_inputs(dots), budget=90, modules=q4,
              private=pages_private(dots), feedback=True),
        Check("4.2", "feedback: the same page at 0.6x and 2.5x the resolution gives the same "
              "boxes", 1,
              find_letters_task, judge_resolution,
              with_(pages_inputs(resolution), scales=list(scales)), budget=120, modules=q4,
              private=pages_private(resolution, "scales"), feedback=True),
        Check("4.2", "feedback: RGBA, grayscale and float images give the boxes of the RGB "
              "image", 1,
              find_letters_task, judge_modes, with_(pages_inputs(same_page), modes=list(modes)),
              budget=90, modules=q4, private=pages_private(same_page, "modes"), feedback=True),
        Check("4.2", "feedback: bw of RGB, RGBA, grayscale and float generated pages, "
              "characters black (0) on white (1)", 1,
              find_letters_task, judge_bw,
              with_(pages_inputs(bw_pages, keep_bw=True), modes=list(modes)),
              budget=90, modules=q4, private=pages_private(bw_pages, "modes"), feedback=True),
    ]  # fmt: skip


CHECKS = checks(SAMPLES)
