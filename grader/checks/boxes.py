"""What ``findLetters`` returns, packed for the judge and validated by it (Q4.2, Q4.3, Q4.4).

Task side (the submission's process): :func:`found_letters` turns ``(bboxes, bw)`` into plain
data (the boxes as an ``(N, 4)`` array; ``bw`` whole, or on a photo only its shape, range and
block means or minima), or a ``problem`` message when it is not a pair. Judge side: the boxes
re-validated (:func:`valid_boxes`: whole pixels, ``(N, 4)``), in the handout's order and inside
the image (:func:`layout`, which names the order they look like instead).
"""

from __future__ import annotations

import numpy as np

from grader.check import Fail, array
from grader.pages import match

BOX_ORDER = "[y1, x1, y2, x2] (rows first, as skimage.measure.regionprops' bbox)"
FIGURE_SIDE = 1200  # a photo's bw comes back at most this many blocks wide (Q4.2, Q4.3)
TOO_MANY = 20  # more than 20 boxes per character (+ 100): noise, judged before matching


# ----------------------------------------------------------------------------- task side
def describe(value) -> str:
    """What a value is, for a message: ``an array of shape (3,)``, ``a list of 2 items``."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def block_step(shape) -> int:
    """The side of the blocks ``bw`` of a photo comes back in: at most ``FIGURE_SIDE``
    blocks along its longer side."""
    return max(1, -(-max(shape[:2]) // FIGURE_SIDE))  # ceil


def found_letters(result, prefix: str = "", bw: str = "full") -> dict:
    """What ``findLetters`` returned, as plain data for the judge.

    ``bw`` is ``"full"`` (float32), ``"shape"`` (only its shape and value range),
    ``"figure"`` (shape, range and a copy at most about ``FIGURE_SIDE`` pixels wide: the
    darkest pixel of each block) or ``"judge"`` (shape, range and the mean of each block).
    """
    if result is None:
        return {
            prefix + "problem": "findLetters returned None: expected a tuple (bboxes, bw). "
            "Did you forget to `return bboxes, bw`?"
        }
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return {
            prefix + "problem": "findLetters should return a tuple (bboxes, bw); got "
            + describe(result)
        }
    bboxes, page = result
    try:
        boxes = np.array(bboxes, dtype=float)
    except (TypeError, ValueError) as exc:
        return {
            prefix + "problem": "bboxes (the first of the two values findLetters returns) "
            f"could not be read as an (N, 4) array of numbers: {exc}"
        }
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    out = {prefix + "bboxes": boxes}
    if page is None:
        return out | {
            prefix + "bw_problem": "bw (the second value findLetters returns) is None: "
            "return the page as an (H, W) image, characters 0 on paper 1"
        }
    try:
        page = np.asarray(page, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        return out | {prefix + "bw_problem": f"bw could not be read as an image: {exc}"}
    if bw == "full":
        return out | {prefix + "bw": page}
    out[prefix + "bw_shape"] = np.array(page.shape, dtype=np.int64)
    if page.size:
        out[prefix + "bw_range"] = np.array([np.nanmin(page), np.nanmax(page)], dtype=float)
    if bw in ("figure", "judge") and page.ndim == 2 and page.size:
        step = block_step(page.shape)
        h, w = page.shape[0] // step * step, page.shape[1] // step * step
        blocks = page[:h, :w].reshape(h // step, step, w // step, step)
        if bw == "figure":  # the darkest pixel of each block: thin strokes stay visible
            out[prefix + "bw_small"] = np.ascontiguousarray(blocks.min(axis=(1, 3)))
        else:
            out[prefix + "bw_mean"] = np.ascontiguousarray(blocks.mean(axis=(1, 3)))
    return out


def find_letters_task(sub, inputs):
    """findLetters on each ``image_i``: ``bboxes_i`` (and ``bw_i`` when ``keep_bw``)."""
    q4 = sub.load("q4")
    out = {}
    for i in range(int(inputs["n"])):
        found = found_letters(q4.findLetters(inputs[f"image_{i}"]), f"{i}_")
        if not inputs.get("keep_bw"):
            found.pop(f"{i}_bw", None)
        out.update(found)
    return out


# ----------------------------------------------------------------------------- judge side
def problem(out: dict, prefix: str = "") -> None:
    """Fail with the task's message when findLetters' result could not be read."""
    if prefix + "problem" in out:
        raise Fail(str(out[prefix + "problem"]))


def valid_boxes(out: dict, key: str, what: str, image_shape=None) -> np.ndarray:
    """The returned boxes re-validated: an (N, 4) array of whole pixels."""
    boxes = array(out, key, what)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        hint = ""
        if image_shape is not None and tuple(boxes.shape[:2]) == tuple(image_shape[:2]):
            hint = " (that is the image's shape: return them in the order (bboxes, bw))"
        raise Fail(
            f"{what} should be an (N, 4) array with one {BOX_ORDER} per character; got shape "
            f"{boxes.shape}{hint}"
        )
    if not np.all(boxes == np.round(boxes)):
        raise Fail(f"{what}: box coordinates should be whole pixels (ints); got {boxes[:3]}")
    return boxes


ALTERNATIVES = {
    "[x1, y1, x2, y2] (columns first)": lambda b: b[:, [1, 0, 3, 2]],
    "[y1, x1, height, width]": lambda b: np.c_[b[:, :2], b[:, :2] + b[:, 2:]],
    "[x1, y1, width, height]": lambda b: np.c_[b[:, [1, 0]], b[:, [1, 0]] + b[:, [3, 2]]],
}


def inside(found, shape, what) -> None:
    """Fail unless every box is ``[y1, x1, y2, x2]`` with y1 < y2, x1 < x2, in the image."""
    H, W = shape[:2]
    if not len(found):
        return
    y1, x1, y2, x2 = found.T
    ordered = (y1 < y2) & (x1 < x2)
    if not np.all(ordered):
        raise Fail(
            f"{what}: each box is {BOX_ORDER} with y1 < y2 and x1 < x2 (top-left, then "
            f"bottom-right); got e.g. {found[~ordered][0].astype(int)}"
        )
    within = (y1 >= 0) & (x1 >= 0) & (y2 <= H) & (x2 <= W)
    if not np.all(within):
        raise Fail(
            f"{what}: boxes must lie inside the {H} x {W} image (0 <= y1, y2 <= H, "
            f"0 <= x1, x2 <= W); got e.g. {found[~within][0].astype(int)}"
        )


def layout(truth_pages: list, found_pages: list, shapes: list, what: str, min_iou: float):
    """Fail when the boxes are not ``[y1, x1, y2, x2]`` inside the image, saying what they
    look like instead (another order of the coordinates, or sizes instead of corners). A box
    finds a character as :func:`grader.pages.match` says with ``min_iou``."""
    for truth, found in zip(truth_pages, found_pages):
        if len(found) > TOO_MANY * len(truth) + 100:  # before matching them all: that is slow
            raise Fail(
                f"{what}: {len(found)} boxes on an image with {len(truth)} characters: keep "
                "one box per character, dropping specks and noise (components small against "
                "the page's typical character)"
            )

    def found_in(convert=None) -> int:
        return sum(
            len(match(t, f if convert is None else convert(f), min_iou))
            for t, f in zip(truth_pages, found_pages)
        )

    n_ok = found_in()
    n_alt, name = max((found_in(convert), name) for name, convert in ALTERNATIVES.items())
    n_truth = sum(len(t) for t in truth_pages)
    if n_alt >= 0.5 * n_truth and n_alt > max(n_ok + 1, 1.2 * n_ok):
        raise Fail(
            f"{what}: the boxes look like {name}: read that way {n_alt} characters get a "
            f"box, read as the handout's {BOX_ORDER} only {n_ok}. Return "
            "[y1, x1, y2, x2], with y2 and x2 the first row and column below and right "
            "of the character (bw[y1:y2, x1:x2] is the character)"
        )
    for found, shape in zip(found_pages, shapes):
        inside(found, shape, what)
