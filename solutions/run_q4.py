"""Q4.3-Q4.4: extracting the text of photos of handwriting (the handout's ``run_q4.py``).

``python -m solutions.run_q4 [IMAGES_DIR] [--truth FILE] [--weights FILE] [--out DIR]``
reads every photo in ``IMAGES_DIR`` (default: the four sample photos), draws the boxes of
``findLetters`` over ``bw`` into ``DIR/q4_3_<photo>.png`` (Q4.3), and prints the text it
recognises (Q4.4). Given a ground-truth file (default: ``IMAGES_DIR/ground_truth.json`` when
there is one), it also prints per photo how many characters got a box, how many of those
were classified right, and how many boxes are spurious.

The classifier is the handout's Q3 network, ``1024 -> 64 (sigmoid, 'layer1') -> 36 (softmax,
'output')``: ``--weights`` (a ``.pickle`` saved by ``run_q3`` or an ``.npz`` such as the
reference ``data/q4_reference_net.npz``), else ``out/q3_weights.pickle`` when it exists
(``python -m solutions.run_q3`` saves it), else the reference ``data/q4_reference_net.npz``.

Letters are cropped like the NIST36 training images: the character's ink centred in a square,
its longer side 24 of the 32 pixels, strokes about as thick as the training strokes, dark ink
on white, stored transposed and flattened.
"""

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.io import imread
from skimage.morphology import skeletonize
from skimage.transform import resize

from coursedata import CLASSES, data_dir, load_ground_truth
from coursedata.scripts import run_script

from .nn import *
from .q4 import findLetters
from .util import *

LAYERS = (("layer1", 1024, 64), ("output", 64, 36))
PARAM_KEYS = ("Wlayer1", "blayer1", "Woutput", "boutput")
GLYPH = 24  # the longer side of a NIST36 character, in pixels of its 32 x 32 image
STROKE = 0.13  # NIST36's median stroke width relative to that side (3.2 of 24 pixels)


# ----------------------------------------------------------------------------- given
def load_photo(path):
    """Read a photo as an array (given).

    Returns
    -------
    image : ndarray of uint8, shape (H, W, 3), (H, W, 4) or (H, W)
    """
    return imread(path)


def reference_weights_path():
    """Where the reference classifier is stored: ``<data dir>/q4_reference_net.npz`` (given)."""
    return data_dir() / "q4_reference_net.npz"


def load_weights(path):
    """Load the parameters of the Q3 network (given).

    Parameters
    ----------
    path : str or Path
        A ``.pickle`` written by ``run_q3`` (a dict holding at least ``Wlayer1``,
        ``blayer1``, ``Woutput``, ``boutput``), or an ``.npz`` with those four arrays (read
        without unpickling, e.g. the reference ``data/q4_reference_net.npz``).

    Returns
    -------
    params : dict
        ``Wlayer1`` (1024, 64), ``blayer1`` (64,), ``Woutput`` (64, 36), ``boutput`` (36,),
        as float64.
    """
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            params = {k: npz[k] for k in npz.files}
    else:
        with open(path, "rb") as f:
            params = pickle.load(f)
    missing = [k for k in PARAM_KEYS if k not in params]
    if missing:
        raise ValueError(f"{path}: missing {missing}; expected the keys {list(PARAM_KEYS)}")
    return {k: np.asarray(params[k], dtype=np.float64) for k in PARAM_KEYS}


def classify(x, params):
    """Class probabilities of the Q3 network for NIST36-like rows (given).

    Parameters
    ----------
    x : ndarray, shape (N, 1024)
    params : dict
        The network's parameters (not modified).

    Returns
    -------
    probs : ndarray, shape (N, 36)
        Column ``j`` is class ``coursedata.CLASSES[j]`` (``A..Z`` then ``0..9``).
    """
    params = dict(params)  # forward stores its cache in the dict: keep the caller's clean
    h = forward(np.asarray(x, dtype=np.float64), params, "layer1", sigmoid)
    return forward(h, params, "output", softmax)


def extract_text(image, params):
    """The text of a photo: ``findLetters``, then ``recognise`` (given).

    Returns
    -------
    lines : list of str
        One string per line of handwriting, top to bottom.
    """
    bboxes, bw = findLetters(image)
    return recognise(bw, bboxes, params)


# ----------------------------------------------------------------------------- Q4.3
def draw_boxes(bw, bboxes, path, title=None):
    """Q4.3: save a figure of the boxes drawn over ``bw``.

    Parameters
    ----------
    bw : ndarray, shape (H, W)
        The page, characters black (0) on white (1), as ``findLetters`` returns it.
    bboxes : ndarray, shape (N, 4)
        ``[y1, x1, y2, x2]`` per character.
    path : str or Path
        The image file to write (e.g. ``out/q4_3_01_list.png``); its format follows the
        suffix. The folder must exist.
    title : str, optional
        Shown above the page.
    """
    height, width = np.shape(bw)
    fig = Figure(figsize=(10, 10 * height / width + (0.4 if title else 0)))
    ax = fig.add_subplot()
    step = max(1, max(height, width) // 2000)  # a 12-megapixel page: show every 2nd pixel
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)  # boxes stay in the page's pixels
    ax.imshow(bw[::step, ::step], cmap="gray", vmin=0, vmax=1, extent=extent)
    for y1, x1, y2, x2 in np.asarray(bboxes).reshape(-1, 4):
        ax.add_patch(
            Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, ec="red", lw=1.2)
        )
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")


# ----------------------------------------------------------------------------- Q4.4
def group_lines(bboxes):
    """Q4.4: group the boxes into lines of text, in reading order.

    Two boxes are on the same line when they overlap vertically by at least half the
    smaller one's height (chains of such overlaps follow a slightly tilted line); no fixed
    pixel distances.

    Parameters
    ----------
    bboxes : ndarray, shape (N, 4)
        ``[y1, x1, y2, x2]`` per character, in any order.

    Returns
    -------
    lines : list of ndarray of int
        Indices into ``bboxes``, one array per line: lines top to bottom, each left to
        right. Every box is in exactly one line.
    """
    boxes = np.asarray(bboxes, dtype=float).reshape(-1, 4)
    if len(boxes) == 0:
        return []
    y1, x1, y2, x2 = boxes.T
    height = y2 - y1
    overlap = np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1)
    same = overlap >= 0.5 * np.minimum(height[:, None], height)
    n, line_of = connected_components(coo_matrix(same), directed=False)
    lines = [np.flatnonzero(line_of == k) for k in range(n)]
    lines.sort(key=lambda idx: np.median(y1[idx] + y2[idx]))
    return [idx[np.argsort(x1[idx] + x2[idx], kind="stable")] for idx in lines]


def word_gaps(bboxes):
    """Q4.4: which gaps between consecutive letters of one line separate words.

    A gap separates words when it is wide against the line's letter spacing: wider than
    the median gap by more than half a letter height.

    Parameters
    ----------
    bboxes : ndarray, shape (N, 4)
        The boxes of one line, left to right.

    Returns
    -------
    spaces : ndarray of bool, shape (N - 1,)
        ``spaces[i]``: a space goes between letter ``i`` and letter ``i + 1``.
    """
    boxes = np.asarray(bboxes, dtype=float).reshape(-1, 4)
    if len(boxes) < 2:
        return np.zeros(0, dtype=bool)
    gaps = boxes[1:, 1] - boxes[:-1, 3]
    letter = np.median(boxes[:, 2] - boxes[:, 0])
    return gaps > np.median(gaps) + 0.5 * letter


def crop_letters(bw, bboxes):
    """Q4.4: crop each character and format it like a NIST36 training image.

    Like the training images: the character's ink (the box fitted to the ink inside it)
    centred in a square, resized so its longer side spans 24 of 32 pixels with a white
    margin, strokes thickened to the training images' relative width when thinner, dark
    ink (0) on white (1), stored transposed and flattened (``row.reshape(32, 32).T`` is
    upright).

    Parameters
    ----------
    bw : ndarray, shape (H, W)
        The page, characters black (0) on white (1).
    bboxes : ndarray, shape (N, 4)
        ``[y1, x1, y2, x2]`` per character.

    Returns
    -------
    x : ndarray of float, shape (N, 1024)
        Values in ``[0, 1]``, one row per box, in the order of ``bboxes``.
    """
    bw = np.asarray(bw, dtype=float)
    boxes = np.asarray(bboxes, dtype=int).reshape(-1, 4)
    rows = np.ones((len(boxes), 1024))
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        ink = bw[max(y1, 0) : y2, max(x1, 0) : x2] < 0.5
        if ink.any():
            rows[i] = _nist_row(ink)
    return rows


def _nist_row(ink):
    """One character's ink mask -> a NIST36 row."""
    ink = _fit(ink)
    # thicken thin strokes to STROKE of the glyph; stroke width ~ ink area / skeleton length
    width = ink.sum() / max(skeletonize(ink).sum(), 1)
    grow = (STROKE * max(ink.shape) - width) / (2 * (1 - STROKE))
    if grow >= 0.5:
        ink = ndi.distance_transform_edt(~np.pad(ink, int(np.ceil(grow)))) <= grow
        ink = _fit(ink)
    # centre in a square, resize to GLYPH pixels, put a white margin around it
    side = max(ink.shape)
    square = np.zeros((side, side))
    oy, ox = (side - ink.shape[0]) // 2, (side - ink.shape[1]) // 2
    square[oy : oy + ink.shape[0], ox : ox + ink.shape[1]] = ink
    glyph = resize(square, (GLYPH, GLYPH), anti_aliasing=True)
    image = np.pad(glyph, (32 - GLYPH) // 2)
    return (1.0 - np.clip(image, 0, 1)).T.ravel()


def _fit(mask):
    """``mask`` cropped to the extent of its True pixels."""
    r, c = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[r[0] : r[-1] + 1, c[0] : c[-1] + 1]


def recognise(bw, bboxes, params):
    """Q4.4: the text of a page, given its boxes: group, crop, classify, space.

    Parameters
    ----------
    bw : ndarray, shape (H, W)
        The page, characters black (0) on white (1).
    bboxes : ndarray, shape (N, 4)
        ``[y1, x1, y2, x2]`` per character, as ``findLetters`` returns them.
    params : dict
        The Q3 network's parameters (for ``classify``).

    Returns
    -------
    lines : list of str
        One string per line, top to bottom: one character of ``coursedata.CLASSES`` per
        box, left to right, and a single space between words.
    """
    boxes = np.asarray(bboxes).reshape(-1, 4)
    if len(boxes) == 0:
        return []
    labels = classify(crop_letters(bw, boxes), params).argmax(axis=1)
    lines = []
    for idx in group_lines(boxes):
        spaces = np.append(word_gaps(boxes[idx]), False)
        lines.append("".join(CLASSES[k] + (" " if s else "") for k, s in zip(labels[idx], spaces)))
    return lines


# ----------------------------------------------------------------------------- script
def main(argv=None):
    """Recognise the text of every photo in a folder; with a ground truth, score it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "images", nargs="?", default=None, help="folder of photos (default: the sample photos)"
    )
    parser.add_argument(
        "--truth",
        default=None,
        metavar="FILE",
        help="ground truth in ground_truth.json's schema (default: IMAGES/ground_truth.json "
        "when it exists)",
    )
    parser.add_argument(
        "--weights",
        default=None,
        metavar="FILE",
        help="the network: a run_q3 .pickle or an .npz (e.g. data/q4_reference_net.npz); "
        "default out/q3_weights.pickle if it exists, else data/q4_reference_net.npz",
    )
    parser.add_argument("--out", default="out", metavar="DIR", help="figures (default out/)")
    needs = (findLetters, draw_boxes, group_lines, word_gaps, crop_letters, recognise)
    return run_script(parser, argv, __name__, _run, *needs)


def _run(args):
    folder = Path(args.images) if args.images else data_dir() / "images"
    photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not photos:
        raise SystemExit(f"no photos (.jpg, .jpeg, .png) in {folder}")
    truth_path = Path(args.truth) if args.truth else folder / "ground_truth.json"
    truth = load_ground_truth(truth_path) if (args.truth or truth_path.exists()) else None
    params = _network(args.weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for photo in photos:
        bboxes, bw = findLetters(load_photo(photo))
        figure = out / f"q4_3_{photo.stem}.png"
        draw_boxes(bw, bboxes, figure, title=f"{photo.name}: {len(bboxes)} boxes")
        results[photo.name] = recognise(bw, bboxes, params)
        print(f"\n{photo.name} ({len(bboxes)} boxes; figure {figure})")
        for line in results[photo.name]:
            print(f"  {line}")
    if truth is not None:
        from coursedata.textscore import score_photos, table

        print()
        print(table(score_photos(results, truth)))


def _network(weights):
    if weights:
        print(f"classifier: {weights}")
        return load_weights(weights)
    saved = Path("out") / "q3_weights.pickle"
    if saved.exists():
        print(f"classifier: {saved} (run_q3's network)")
        return load_weights(saved)
    reference = reference_weights_path()
    print(f"classifier: {reference} (python -m solutions.run_q3 saves yours to {saved})")
    return load_weights(reference)


if __name__ == "__main__":
    sys.exit(main())
