"""Q4.2: finding the letters in a photo of handwriting (the handout's ``q4.py``).

``findLetters(image)`` returns one box per handwritten character and the page as a clean
binary image, ``bw``, from which ``run_q4`` crops the letters for the network.
"""

import numpy as np
import scipy.ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.filters import apply_hysteresis_threshold, threshold_otsu

WINDOW = 0.6  # the paper's brightness is measured in windows of at least 0.6 letter
LUMINANCE = (0.2125, 0.7154, 0.0721)  # ITU-R BT.709, as skimage.color.rgb2gray


# ----------------------------------------------------------------------------- given
def as_gray(image):
    """The photo as a grayscale float image in ``[0, 1]`` (given).

    Accepts RGB, RGBA (composited over white) and grayscale images, integer (``uint8``,
    ``uint16`` ...) or float (``[0, 1]``).

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, 3) or (H, W, 4)

    Returns
    -------
    gray : ndarray of float32, shape (H, W)
        Luminance, 0 black and 1 white.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got {image.shape}")
    scale = 1.0 / np.iinfo(image.dtype).max if image.dtype.kind in "ui" else 1.0
    if image.ndim == 2:
        gray = image * np.float32(scale)
    else:
        # channel by channel: much faster than image @ weights on a 12-megapixel photo
        gray = sum(image[..., c] * np.float32(w * scale) for c, w in enumerate(LUMINANCE))
        if image.shape[2] == 4:
            alpha = image[..., 3] * np.float32(scale)
            gray = gray * alpha + (1 - alpha)
    return np.clip(gray, 0, 1).astype(np.float32, copy=False)


# ----------------------------------------------------------------------------- Q4.2
def findLetters(image):
    """Q4.2: find the handwritten characters in a photo.

    Denoise, threshold, clean up with morphology, label the connected components, and keep
    one box per character: drop specks and punctuation (dots) by their size relative to the
    page's typical character, and join the pieces of a character written in several
    strokes. The paper may be unevenly lit or shadowed; the photo may have 1 to 12
    megapixels.

    Graded (Q4.2) on the four sample photos (each one's boxes and ``bw``) and on a page with a
    single letter; generated pages with smaller letters under uneven light, blank pages,
    other resolutions and RGBA/float input are feedback, without points.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), (H, W, 4) or (H, W)
        The photo: RGB, RGBA or grayscale, integer (``uint8``) or float in ``[0, 1]``.

    Returns
    -------
    bboxes : ndarray of int, shape (N, 4)
        One ``[y1, x1, y2, x2]`` per character, in the input's pixel coordinates, with
        ``y1 < y2`` and ``x1 < x2``: the character is ``bw[y1:y2, x1:x2]``.
    bw : ndarray of float, shape (H, W)
        The page in ``[0, 1]``: characters black (0) on white (1).
    """
    gray = as_gray(image)
    # Work on block means of about a megapixel (denoising and speed), finer if the
    # characters turn out small there.
    factor = max(1, round(max(gray.shape) / 1000))
    page = _analyse(gray, factor)
    if factor > 1 and 0 < page["letter"] < 24:
        factor = max(1, int(page["letter"] * factor / 24))
        page = _analyse(gray, factor)
    # The paper's brightness is estimated in a window wider than any stroke: a 40th of the
    # page, or more than half a letter where letters are large against the page.
    if WINDOW * page["letter"] > page["window"]:
        page = _analyse(gray, factor, WINDOW * page["letter"])
    ink = _full_resolution_ink(gray, page, factor)
    bboxes = _refine(page["boxes"] * factor, ink, factor)
    return bboxes, 1.0 - ink.astype(np.float32)


def _block_mean(a, f):
    """Mean over ``f x f`` blocks (the remainder rows and columns are dropped)."""
    if f == 1:
        return a
    h, w = a.shape[0] // f, a.shape[1] // f
    return a[: h * f, : w * f].reshape(h, f, w, f).mean(axis=(1, 3))


def _background(gray, size):
    """The paper's brightness: a closing (dark strokes removed), then smoothed.

    The window (``size`` pixels) must be wider than any stroke and narrow enough to follow
    uneven lighting and shadows.
    """
    closed = ndi.minimum_filter(ndi.maximum_filter(gray, size), size)
    return np.maximum(ndi.uniform_filter(closed, size), 1e-3)


def _boxes(labels, n):
    """``[y1, x1, y2, x2]`` of each labelled component, and its pixel count."""
    if n == 0:
        return np.zeros((0, 4), int), np.zeros(0, int)
    slices = ndi.find_objects(labels, n)
    boxes = np.array([[r.start, c.start, r.stop, c.stop] for r, c in slices])
    return boxes, np.bincount(labels.ravel(), minlength=n + 1)[1:]


def _weighted_median(values, weights):
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def _join_pieces(boxes, letter):
    """Join the pieces of one character: boxes that share most of their horizontal extent
    and are vertically less than a quarter of a letter apart."""
    if len(boxes) < 2:
        return boxes
    y1, x1, y2, x2 = boxes.T
    width = x2 - x1
    overlap_x = np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1)
    gap_y = np.maximum(y1[:, None], y1) - np.minimum(y2[:, None], y2)
    same = (overlap_x > 0.5 * np.minimum(width[:, None], width)) & (gap_y < 0.25 * letter)
    n, group = connected_components(coo_matrix(same), directed=False)
    top_left = np.full((n, 2), np.iinfo(boxes.dtype).max)
    bottom_right = np.full((n, 2), -1, dtype=boxes.dtype)
    np.minimum.at(top_left, group, boxes[:, :2])
    np.maximum.at(bottom_right, group, boxes[:, 2:])
    return np.hstack([top_left, bottom_right])


def _analyse(gray, f, window=None):
    """Threshold and segment the page at ``1/f`` of its resolution, estimating the paper's
    brightness in ``window`` pixels (default a 40th of the page)."""
    small = _block_mean(gray, f)  # averaging f x f pixels also denoises
    window = max(3, int(window or max(small.shape) / 40))
    background = _background(small, window)
    dark = np.clip(1 - small / background, 0, 1)  # 0 on paper, the ink's contrast on ink
    # Hysteresis: ink is where the darkness rises clearly above the paper's noise
    # (low), in strokes that somewhere reach the ink's own level (high: Otsu's split of
    # the dark pixels, at least 8 noise levels). It is a morphological reconstruction of
    # the confident ink within the likely ink: faint stroke ends stay, isolated specks go.
    median = float(np.median(dark))
    noise = 1.4826 * float(np.median(np.abs(dark - median))) + 1e-3  # robust sigma (MAD)
    candidates = dark[dark > median + 3 * noise]
    high = threshold_otsu(candidates) if candidates.size > 16 else 1.0
    high = max(high, median + 8 * noise)
    low = min(median + 4 * noise, high)
    ink = apply_hysteresis_threshold(dark, low, high)

    labels, n = ndi.label(ink, np.ones((3, 3)))
    boxes, area = _boxes(labels, n)
    if n == 0:
        return dict(
            boxes=boxes, letter=0.0, kept=ink, background=background, threshold=high, window=window
        )
    # the typical character's height: the median over the ink (specks have little ink)
    heights = (boxes[:, 2] - boxes[:, 0]).astype(float)
    letter = _weighted_median(heights, area.astype(float))
    boxes = _join_pieces(boxes, letter)
    h = boxes[:, 2] - boxes[:, 0]
    w = boxes[:, 3] - boxes[:, 1]
    keep = (h > 0.3 * letter) & (np.maximum(h, w) > 0.4 * letter)  # not dots, dashes, specks
    keep &= (h < 3 * letter) & (w < 5 * letter)  # not page edges, rulings, shadows
    boxes = boxes[keep]
    kept = np.zeros_like(ink)  # the ink inside the kept boxes
    for y1, x1, y2, x2 in boxes:
        kept[y1:y2, x1:x2] = ink[y1:y2, x1:x2]
    threshold = low + (high - low) / 4
    return dict(
        boxes=boxes,
        letter=letter,
        kept=kept,
        background=background,
        threshold=threshold,
        window=window,
    )


def _upsample(a, f, shape):
    """Nearest-neighbour upsampling by ``f``, padded by edge values to ``shape``."""
    if f > 1:
        a = np.repeat(np.repeat(a, f, axis=0), f, axis=1)
    pad = ((0, shape[0] - a.shape[0]), (0, shape[1] - a.shape[1]))
    return np.pad(a, pad, mode="edge") if any(p[1] for p in pad) else a


def _full_resolution_ink(gray, page, f):
    """The kept characters' ink at the photo's resolution."""
    near = ndi.binary_dilation(page["kept"], np.ones((3, 3)))
    near = _upsample(near, f, gray.shape)
    paper = _upsample(page["background"].astype(np.float32), f, gray.shape)
    return near & (gray < paper * np.float32(1 - page["threshold"]))


def _refine(boxes, ink, f):
    """Fit each box to the full-resolution ink inside it (grown by ``f``)."""
    H, W = ink.shape
    out = []
    for y1, x1, y2, x2 in boxes:
        y1, x1 = max(y1 - f, 0), max(x1 - f, 0)
        y2, x2 = min(y2 + f, H), min(x2 + f, W)
        sub = ink[y1:y2, x1:x2]
        rows, cols = np.flatnonzero(sub.any(axis=1)), np.flatnonzero(sub.any(axis=0))
        if rows.size:
            out.append([y1 + rows[0], x1 + cols[0], y1 + rows[-1] + 1, x1 + cols[-1] + 1])
    return np.array(out, dtype=int).reshape(-1, 4)
