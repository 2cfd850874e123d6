"""Generated pages of handwriting as the Q4 checks' inputs (``grader/pages.py`` draws them).

Each page's image goes to the submission's process; what was drawn on it (the characters'
boxes, the punctuation dots, the ink, the letter height, the text) is judge-only
(:func:`pages_private`, ``Check.private``). Judge side: the boxes found on each page,
validated (:func:`page_results`), and the first thing a robustness check asks
(:func:`letters_found_first`); the bars are the question module's (``q4_2.py``).
"""

from __future__ import annotations

import functools

from grader.check import Fail
from grader.checks.boxes import layout, problem, valid_boxes
from grader.pages import blank_page, make_page, match

# Generated pages like the test suite's fast tier: a few short lines, moderate nuisances.
FAST = dict(lines=(1, 3), words=(1, 3), letters=(1, 4), height=(22, 36), lighting=0.15)

PAGE_ANSWERS = ("truth", "dots", "ink", "height")  # per page: what was drawn on it


@functools.lru_cache(maxsize=128)
def page(seed: int, **options):
    """``make_page(seed, **options)``, made once per process."""
    return make_page(seed, **options)


def pages_inputs(specs, keep_bw=False):
    """Inputs: ``image_i`` and what was drawn on it, for each ``(seed, options)`` (a blank
    page where ``options`` has ``blank=True``)."""

    def make():
        inputs = {"n": len(specs), "keep_bw": keep_bw, "texts": []}
        for i, (seed, options) in enumerate(specs):
            options = dict(options)
            blank = options.pop("blank", False)
            p = blank_page(seed, **options) if blank else page(seed, **options)
            inputs[f"image_{i}"] = p.image
            inputs[f"truth_{i}"] = p.boxes
            inputs[f"dots_{i}"] = p.dots
            inputs[f"ink_{i}"] = p.ink_mask
            inputs[f"height_{i}"] = p.letter_height
            inputs["texts"].append(" / ".join(p.text) or "(blank)")
        return inputs

    return make


def pages_private(specs, *extra) -> tuple[str, ...]:
    """The judge-only keys of :func:`pages_inputs` (and ``extra``): what was drawn."""
    drawn = tuple(f"{key}_{i}" for i in range(len(specs)) for key in PAGE_ANSWERS)
    return (*drawn, "texts", *extra)


# ----------------------------------------------------------------------------- judge side
def page_results(inputs, out, what="findLetters", pages=None, *, match_iou: float):
    """The boxes of ``pages`` (default: every page), validated and in the handout's layout
    (:func:`grader.checks.boxes.layout`); returns (truth boxes, found boxes, shapes)."""
    truths, founds, shapes = [], [], []
    for i in range(int(inputs["n"])) if pages is None else pages:
        problem(out, f"{i}_")
        shape = inputs[f"image_{i}"].shape[:2]
        founds.append(valid_boxes(out, f"{i}_bboxes", f"bboxes of {what}", shape))
        truths.append(inputs[f"truth_{i}"])
        shapes.append(shape)
    layout(truths, founds, shapes, f"bboxes of {what}", match_iou)
    return truths, founds, shapes


def letters_found_first(inputs, out, pages, about: str, *, share: float, match_iou: float):
    """Fail unless findLetters found at least ``share`` of the characters of the normal
    ``pages`` (with text; a box finds a character as :func:`grader.pages.match` says at
    ``match_iou``): a check of robustness says nothing about a findLetters that finds
    nothing. Only that: extra boxes, specks or another box order are other checks' business."""
    found = total = 0
    for i in pages:
        problem(out, f"{i}_")
        shape = inputs[f"image_{i}"].shape[:2]
        boxes = valid_boxes(out, f"{i}_bboxes", "bboxes of findLetters", shape)
        truth = inputs[f"truth_{i}"]
        found, total = found + len(match(truth, boxes, match_iou)), total + len(truth)
    if found < share * total:
        raise Fail(
            f"findLetters found {found} of the {total} characters of a page with text "
            f"(expected >= {share:.0%}): this check ({about}) says something only "
            "once findLetters finds the letters; find them first (the checks of the sample "
            "photos say how)"
        )
