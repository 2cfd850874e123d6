"""Q4: finding the letters of photos of handwriting and reading them (``q4.py``, ``run_q4.py``).

Q4.2's points sit on what the handout asks, on the handout's inputs: ``findLetters`` on the
four sample photos (boxes checked by eye in ``data/images/character_boxes.json``), each
photo's boxes (8.5 of the 10 points) and its ``bw``, black ink 0 on white paper 1 (1 point: an
inverted ``bw`` loses only that), and a small edge case, a page with one letter as large as
the photos' (0.5). Robustness beyond the handout (generated pages with smaller letters under
uneven light, blank pages, dots, 0.6x/2.5x the resolution, RGBA/grayscale/float input) is
teaching feedback (``Check.feedback``: reported, no points); each of those checks first needs
the letters of a normal page found, so a findLetters that finds nothing passes none. A found
box *finds* a character when their IoU is at least 0.5, or when each box holds the other's
centre; the matching is one to one.

Q4.3 (written) draws each photo's boxes over its ``bw`` with the grader's own code. Q4.4 reads
crops of generated letters with the reference classifier ``data/q4_reference_net.npz``
(classified here, not with the submission's ``nn.py``) and scores the text the submission's
pipeline extracts from each photo (``findLetters`` then ``recognise``, with the reference
classifier) by ``coursedata.textscore``.

An instructor's own photos, their text and classifier (``--photos``, ``--truth``,
``--q4-weights``) reach the checks as :class:`PhotoOptions`, a parameter of :func:`checks`.

Tasks (run in the submission's process) only call the submission and return plain data: the
boxes as an ``(N, 4)`` array, ``bw`` as ``float32`` (on a photo only its shape and range, block
means for Q4.2's judge, block minima for the Q4.3 figures), the recognised lines. What only
the judge needs (truth boxes and texts, labels, expected lines and gaps) is ``Check.private``:
it never reaches the submission's process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
from scipy.special import expit

from coursedata import CLASSES, data_dir, load_ground_truth
from coursedata.textscore import score_photo
from grader.check import Check, Fail, array
from grader.checks.common import row_bias
from grader.implementation import NotProvided
from grader.pages import blank_page, character_boxes, glyphs, iou, make_page, match

# Generated pages like the test suite's fast tier: a few short lines, moderate nuisances.
FAST = dict(lines=(1, 3), words=(1, 3), letters=(1, 4), height=(22, 36), lighting=0.15)
WORDS = dict(lines=(1, 3), words=(1, 4), letters=(2, 5), height=(22, 36), lighting=0.15)
CROP = dict(lines=(2, 3), words=(2, 3), letters=(3, 5), height=(22, 36), lighting=0.15)
PAGE_SEEDS = range(100, 112)  # 125 characters
CROP_SEEDS = range(300, 310)  # 259 characters

RECALL = 0.98  # share of a generated page's characters that must get a box
PRECISION = 0.98  # share of the boxes that must be on a character
PHOTO_MISSED = 0.05  # on a photo: at most 5% of its characters without a box ...
PHOTO_SPURIOUS = 0.05  # ... and at most 5% as many boxes on no character
DETECTED = 0.95  # Q4.4, per photo: at least 95% of the characters recognised ...
SPURIOUS = 0.05  # ... no more spurious characters than 5% of them ...
CLASSIFIED = 0.80  # ... and 80% read right (the handout's bar)
CROP_ACCURACY = 0.70  # crops of generated letters read right (the reference reads 85% of
# the same handwriting as NIST36 rows)

PHOTOS = ("01_list.jpg", "02_letters.jpg", "03_haiku.jpg", "04_deep.jpg")
PHOTO_BUDGET = 300  # seconds per photo: a 60 s denoiser on 12 megapixels still passes
FIGURE_SIDE = 1200  # Q4.3: bw comes back at most this many pixels wide (block minima)
PARAM_KEYS = ("Wlayer1", "blayer1", "Woutput", "boutput")
BOX_ORDER = "[y1, x1, y2, x2] (rows first, as skimage.measure.regionprops' bbox)"


# ----------------------------------------------------------------------------- data
def images_dir() -> Path:
    """The sample photos' folder: ``<data dir>/images`` (``$NRK_DATA_DIR`` when set)."""
    return data_dir() / "images"


def reference_path() -> Path:
    """The reference classifier of Q4.4, ``<data dir>/q4_reference_net.npz``."""
    return data_dir() / "q4_reference_net.npz"


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
BOXES_FILE = "character_boxes.json"  # per-character boxes, beside the photos


@dataclass(frozen=True)
class PhotoOptions:
    """The photos and classifier of the Q4 checks: the four samples and the reference
    network by default, or an instructor's own (``python -m grader --photos DIR --truth FILE
    --q4-weights FILE``, pytest's options of the same names), passed to :func:`checks`.

    ``photos``: a folder of photos; ``truth``: their text (``ground_truth.json``'s schema,
    default ``DIR/ground_truth.json``); ``weights``: Q4.4's classifier (an ``.npz`` or a
    ``run_q3`` pickle). Q4.2 judges each photo's boxes against ``character_boxes.json`` beside
    the photos where it lists the photo, else against the number of characters of its text.
    """

    photos: Path | None = None
    truth: Path | None = None
    weights: Path | None = None

    @property
    def folder(self) -> Path:
        """Where the photos are: ``photos``, else the samples' folder."""
        return Path(self.photos) if self.photos else images_dir()

    @property
    def truth_file(self) -> Path:
        """The photos' ground truth: ``truth``, else ``ground_truth.json`` beside them."""
        return Path(self.truth) if self.truth else self.folder / "ground_truth.json"

    @property
    def classifier(self) -> Path:
        """Q4.4's classifier: ``weights``, else the reference network."""
        return Path(self.weights) if self.weights else reference_path()

    def names(self) -> tuple[str, ...]:
        """The photos graded: the four samples, or every image in ``photos``."""
        if not self.photos:
            return PHOTOS
        folder = Path(self.photos)
        if not folder.is_dir():
            return ()
        return tuple(sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))


SAMPLES = PhotoOptions()


def load_classifier(path) -> dict:
    """A 1024-64-36 network's parameters as float64: ``.npz`` read without unpickling; a
    pickle (``run_q3``'s ``q3_weights.pickle``) only in the submission's process."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k].astype(np.float64) for k in PARAM_KEYS}
    import pickle

    with open(path, "rb") as f:
        params = pickle.load(f)
    return {k: np.asarray(params[k], dtype=np.float64) for k in PARAM_KEYS}


@functools.cache
def reference_params() -> dict:
    """The reference classifier's parameters as float64 (read without unpickling)."""
    with np.load(reference_path(), allow_pickle=False) as npz:
        return {k: npz[k].astype(np.float64) for k in PARAM_KEYS}


def reference_predict(x: np.ndarray) -> np.ndarray:
    """Classes the reference network gives the NIST36-like rows ``x`` (N, 1024): (N,)."""
    p = reference_params()
    h = expit(np.asarray(x, dtype=float) @ p["Wlayer1"] + p["blayer1"])
    return np.argmax(h @ p["Woutput"] + p["boutput"], axis=1)


def _reference_available():
    if not reference_path().is_file():
        return f"the reference classifier {reference_path()} is not here"
    return None


def _box_truth(options: PhotoOptions) -> dict:
    """``{photo: (labels, boxes)}`` of ``character_boxes.json`` beside the photos ({} if none)."""
    path = options.folder / BOXES_FILE
    return character_boxes(path) if path.is_file() else {}


def _photo_available(name: str, options: PhotoOptions, needs_truth: bool = True):
    """Q4.2: the photo is here, with its boxes (``character_boxes.json``) or its text."""

    def available():
        photo = options.folder / name
        if not photo.is_file():
            return f"{photo} is not here (the sample photos ship in data/images)"
        if not needs_truth or name in _box_truth(options):
            return None
        truth = options.truth_file
        if not truth.is_file():
            return f"neither {options.folder / BOXES_FILE} nor the ground truth {truth} is here"
        if name not in load_ground_truth(truth):
            return f"{truth} has no text for {name}"
        return None

    return available


def _text_photo_available(name: str, options: PhotoOptions):
    """Q4.4: the photo, its ground truth and the classifier are here."""

    def available():
        photo = options.folder / name
        if not photo.is_file():
            return f"{photo} is not here (the sample photos ship in data/images)"
        if not options.classifier.is_file():
            return f"the classifier {options.classifier} is not here"
        truth = options.truth_file
        if not truth.is_file():
            return f"the ground truth {truth} is not here (pass --truth FILE)"
        if name not in load_ground_truth(truth):
            return f"{truth} has no text for {name}"
        return None

    return available


@functools.lru_cache(maxsize=128)
def _page(seed: int, **options):
    return make_page(seed, **options)


def _read_photo(path: str) -> np.ndarray:
    """The photo as ``run_q4.load_photo`` reads it (``skimage.io.imread``)."""
    from skimage.io import imread

    return imread(path)


# ----------------------------------------------------------------------------- task helpers
def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def _found(result, prefix: str = "", bw: str = "full") -> dict:
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
            + _describe(result)
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


def block_step(shape) -> int:
    """The side of the blocks ``bw`` of a photo comes back in: at most ``FIGURE_SIDE``
    blocks along its longer side."""
    return max(1, -(-max(shape[:2]) // FIGURE_SIDE))  # ceil


def _run_q4(sub, *names):
    """The submission's ``run_q4`` functions ``names``: a ``run_q4.py`` without them (the
    handout's script, wrapped in a main guard) cannot be asked these checks."""
    run_q4 = sub.load("run_q4")
    missing = [n for n in names if not callable(getattr(run_q4, n, None))]
    if missing:
        raise NotProvided(
            f"run_q4.py has no {', '.join(missing)}(): these checks call the functions of the "
            "kata's run_q4.py"
        )
    return [getattr(run_q4, n) for n in names]


# ----------------------------------------------------------------------------- judge helpers
def _problem(out: dict, prefix: str = "") -> None:
    if prefix + "problem" in out:
        raise Fail(str(out[prefix + "problem"]))


def _boxes(out: dict, key: str, what: str, image_shape=None) -> np.ndarray:
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


def _layout(truth_pages: list, found_pages: list, shapes: list, what: str) -> None:
    """Fail when the boxes are not ``[y1, x1, y2, x2]`` inside the image, saying what they
    look like instead (another order of the coordinates, or sizes instead of corners)."""
    for truth, found in zip(truth_pages, found_pages):
        if len(found) > 20 * len(truth) + 100:  # before matching them all: that is slow
            raise Fail(
                f"{what}: {len(found)} boxes on an image with {len(truth)} characters: keep "
                "one box per character, dropping specks and noise (components small against "
                "the page's typical character)"
            )
    n_ok = sum(len(match(t, f)) for t, f in zip(truth_pages, found_pages))
    n_alt, name = max(
        (sum(len(match(t, convert(f))) for t, f in zip(truth_pages, found_pages)), name)
        for name, convert in ALTERNATIVES.items()
    )
    n_truth = sum(len(t) for t in truth_pages)
    if n_alt >= 0.5 * n_truth and n_alt > max(n_ok + 1, 1.2 * n_ok):
        raise Fail(
            f"{what}: the boxes look like {name}: read that way {n_alt} characters get a "
            f"box, read as the handout's {BOX_ORDER} only {n_ok}. Return "
            "[y1, x1, y2, x2], with y2 and x2 the first row and column below and right "
            "of the character (bw[y1:y2, x1:x2] is the character)"
        )
    for found, (H, W) in zip(found_pages, shapes):
        if not len(found):
            continue
        y1, x1, y2, x2 = found.T
        if not np.all((y1 < y2) & (x1 < x2)):
            raise Fail(
                f"{what}: each box is {BOX_ORDER} with y1 < y2 and x1 < x2 (top-left, then "
                f"bottom-right); got e.g. {found[~((y1 < y2) & (x1 < x2))][0].astype(int)}"
            )
        if not np.all((y1 >= 0) & (x1 >= 0) & (y2 <= H) & (x2 <= W)):
            raise Fail(
                f"{what}: boxes must lie inside the {H} x {W} image (0 <= y1, y2 <= H, "
                f"0 <= x1, x2 <= W); got e.g. "
                f"{found[~((y1 >= 0) & (x1 >= 0) & (y2 <= H) & (x2 <= W))][0].astype(int)}"
            )


# ----------------------------------------------------------------------------- Q4.2 tasks
def find_letters_task(sub, inputs):
    """findLetters on each ``image_i``: ``bboxes_i`` (and ``bw_i`` when ``keep_bw``)."""
    q4 = sub.load("q4")
    out = {}
    for i in range(int(inputs["n"])):
        found = _found(q4.findLetters(inputs[f"image_{i}"]), f"{i}_")
        if not inputs.get("keep_bw"):
            found.pop(f"{i}_bw", None)
        out.update(found)
    return out


# (photo, bw mode) -> (q4, what findLetters returned, packed): a photo's checks share one call
_PHOTOS_FOUND: dict = {}


def find_letters_photo_task(sub, inputs):
    """findLetters on the photo at ``inputs['photo']``: its boxes, the photo's shape and
    ``bw`` as ``inputs['bw']`` says (see :func:`_found`). The checks of one photo (its boxes,
    its ``bw``) share one call."""
    q4 = sub.load("q4")
    key = (inputs["photo"], inputs.get("bw", "shape"))
    cached = _PHOTOS_FOUND.get(key)
    if cached is None or cached[0] is not q4:
        try:
            image = _read_photo(inputs["photo"])
            result = _found(q4.findLetters(image), bw=key[1]) | {
                "shape": np.array(image.shape[:2], dtype=np.int64)
            }
        except Exception as exc:
            result = exc
        _PHOTOS_FOUND.clear()  # one photo's result at a time: they hold images
        _PHOTOS_FOUND[key] = cached = (q4, result)
    if isinstance(cached[1], Exception):
        raise cached[1]
    return dict(cached[1])


# ----------------------------------------------------------------------------- Q4.2 inputs
PAGE_ANSWERS = ("truth", "dots", "ink", "height")  # per page: what was drawn on it


def _pages_inputs(specs, keep_bw=False):
    """Inputs: ``image_i`` and what was drawn on it, for each ``(seed, options)`` (a blank
    page where ``options`` has ``blank=True``)."""

    def make():
        inputs = {"n": len(specs), "keep_bw": keep_bw, "texts": []}
        for i, (seed, options) in enumerate(specs):
            options = dict(options)
            blank = options.pop("blank", False)
            p = blank_page(seed, **options) if blank else _page(seed, **options)
            inputs[f"image_{i}"] = p.image
            inputs[f"truth_{i}"] = p.boxes
            inputs[f"dots_{i}"] = p.dots
            inputs[f"ink_{i}"] = p.ink_mask
            inputs[f"height_{i}"] = p.letter_height
            inputs["texts"].append(" / ".join(p.text) or "(blank)")
        return inputs

    return make


def _pages_private(specs, *extra) -> tuple[str, ...]:
    """The judge-only keys of :func:`_pages_inputs` (and ``extra``): what was drawn."""
    drawn = tuple(f"{key}_{i}" for i in range(len(specs)) for key in PAGE_ANSWERS)
    return (*drawn, "texts", *extra)


def _page_results(inputs, out, what="findLetters", pages=None):
    """The boxes of ``pages`` (default: every page), validated; returns (truth boxes, found
    boxes, shapes)."""
    truths, founds, shapes = [], [], []
    for i in range(int(inputs["n"])) if pages is None else pages:
        _problem(out, f"{i}_")
        shape = inputs[f"image_{i}"].shape[:2]
        founds.append(_boxes(out, f"{i}_bboxes", f"bboxes of {what}", shape))
        truths.append(inputs[f"truth_{i}"])
        shapes.append(shape)
    _layout(truths, founds, shapes, f"bboxes of {what}")
    return truths, founds, shapes


FOUND_FIRST = 0.5  # share of a normal page's characters a robustness check needs found first


def _letters_found_first(inputs, out, pages, about: str) -> None:
    """Fail unless findLetters found most characters of the normal ``pages`` (with text):
    a check of robustness says nothing about a findLetters that finds nothing. Only that:
    extra boxes, specks or another box order are other checks' business."""
    found = total = 0
    for i in pages:
        _problem(out, f"{i}_")
        shape = inputs[f"image_{i}"].shape[:2]
        boxes = _boxes(out, f"{i}_bboxes", "bboxes of findLetters", shape)
        truth = inputs[f"truth_{i}"]
        found, total = found + len(match(truth, boxes)), total + len(truth)
    if found < FOUND_FIRST * total:
        raise Fail(
            f"findLetters found {found} of the {total} characters of a page with text "
            f"(expected >= {FOUND_FIRST:.0%}): this check ({about}) says something only "
            "once findLetters finds the letters; find them first (the checks of the sample "
            "photos say how)"
        )


def judge_generated_pages(inputs, out):
    truths, founds, _ = _page_results(inputs, out)
    found = total = boxes = 0
    worst = None
    for i, (truth, boxes_i) in enumerate(zip(truths, founds)):
        n = len(match(truth, boxes_i))
        found, total, boxes = found + n, total + len(truth), boxes + len(boxes_i)
        if worst is None or n / len(truth) < worst[1]:
            worst = (i, n / len(truth), inputs["texts"][i])
    pages = int(inputs["n"])
    if found < RECALL * total:
        raise Fail(
            f"{found} of the {total} characters of {pages} generated pages got a box (IoU >= "
            f"0.5, or each box holding the other's centre); expected >= {RECALL:.0%}. Worst "
            f"page: seed {PAGE_SEEDS[worst[0]]}, {worst[1]:.0%} found, text {worst[2]!r} "
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
        matched = {j for _, j in match(truth, found)}
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
    n_base = len(match(truths[0], founds[0]))
    for i in range(1, len(founds)):
        n = len(match(truths[i], founds[i]))
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
        same = len(match(reference, founds[i]))
        if same < len(reference) - 1 or len(founds[i]) > len(reference) + 1:
            image = inputs[f"image_{i}"]
            raise Fail(
                f"the same page as {inputs['modes'][i]} ({image.dtype}, shape {image.shape}) "
                f"gave {len(founds[i])} boxes, {same} of them like the {len(reference)} boxes "
                "of the RGB uint8 image: convert any input to a float gray image first (the "
                "given as_gray)"
            )


INVERTED = ". It looks inverted: return 1.0 - ink (ink 0, paper 1), not the ink mask"


def judge_bw(inputs, out):
    for i in range(int(inputs["n"])):
        if f"{i}_bw_problem" in out:
            raise Fail(str(out[f"{i}_bw_problem"]))
    _letters_found_first(inputs, out, [0], "bw on generated pages")
    for i in range(int(inputs["n"])):
        _problem(out, f"{i}_")
        if f"{i}_bw_problem" in out:
            raise Fail(str(out[f"{i}_bw_problem"]))
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
        if ink_dark < 0.5 or paper_white < 0.98:
            raise Fail(
                f"{what} should be the characters black (0) on white paper (1): "
                f"{ink_dark:.0%} of the characters' pixels are dark (expected >= 50%) and "
                f"{paper_white:.0%} of the paper away from them is white (expected >= 98%)"
                + (INVERTED if ink_dark < 0.2 and paper_white < 0.2 else "")
            )


def judge_one_letter(inputs, out):
    truths, founds, _ = _page_results(inputs, out, "findLetters on a page with one letter")
    for i, (truth, found) in enumerate(zip(truths, founds)):
        if len(found) != 1 or len(match(truth, found)) != 1:
            (y1, x1, y2, x2), label = truth[0], inputs["texts"][i]
            raise Fail(
                f"a page with the single letter {label!r} at [{y1}, {x1}, {y2}, {x2}] got "
                f"{len(found)} box(es), {len(match(truth, found))} of them on the letter; "
                "expected exactly one box on it: nothing in findLetters should need several "
                "characters (a statistic over the boxes, a line to sit on)"
            )


# ----------------------------------------------------------------------------- Q4.2 photos
def _photo_inputs(name: str, options: PhotoOptions, bw: str = "judge"):
    """The photo for the task; for the judge its boxes (``character_boxes.json``) or, where
    none are listed, the number of characters of its text."""

    def make():
        inputs = {"photo": str(options.folder / name), "name": name, "bw": bw}
        boxes = _box_truth(options)
        if name in boxes:
            labels, truth = boxes[name]
            return inputs | {"labels": labels, "truth": truth}
        text = load_ground_truth(options.truth_file)[name]
        return inputs | {"characters": sum(ch in CLASSES for ch in "".join(text).upper())}

    return make


PHOTO_PRIVATE = ("name", "labels", "truth", "characters")


def _photo_found(inputs, out) -> tuple[str, tuple, np.ndarray]:
    """The photo's name, its shape and the boxes findLetters returned, validated."""
    _problem(out)
    name = inputs["name"]
    shape = tuple(int(s) for s in array(out, "shape", "the photo's shape"))
    found = _boxes(out, "bboxes", f"bboxes of findLetters on {name}", shape)
    return name, shape, found


def _inside(found, shape, what) -> None:
    """Fail unless every box is ``[y1, x1, y2, x2]`` with y1 < y2, x1 < x2, in the image."""
    H, W = shape[:2]
    if not len(found):
        return
    y1, x1, y2, x2 = found.T
    if not np.all((y1 < y2) & (x1 < x2)):
        raise Fail(
            f"{what}: each box is {BOX_ORDER} with y1 < y2 and x1 < x2 (top-left, then "
            f"bottom-right); got e.g. {found[~((y1 < y2) & (x1 < x2))][0].astype(int)}"
        )
    inside = (y1 >= 0) & (x1 >= 0) & (y2 <= H) & (x2 <= W)
    if not np.all(inside):
        raise Fail(
            f"{what}: boxes must lie inside the {H} x {W} image (0 <= y1, y2 <= H, "
            f"0 <= x1, x2 <= W); got e.g. {found[~inside][0].astype(int)}"
        )


def judge_photo_boxes(inputs, out):
    name, shape, found = _photo_found(inputs, out)
    if "truth" not in inputs:  # an instructor's photo with only its text
        _inside(found, shape, f"bboxes of findLetters on {name}")
        n = int(inputs["characters"])
        if abs(len(found) - n) > PHOTO_MISSED * n:
            raise Fail(
                f"{name}: {len(found)} boxes for its {n} characters (expected within "
                f"{PHOTO_MISSED:.0%} of one box per character). A character split into "
                "pieces gets two boxes; touching characters one"
            )
        return
    truth, labels = inputs["truth"], inputs["labels"]
    _layout([truth], [found], [shape], f"bboxes of findLetters on {name}")
    pairs = match(truth, found)
    missed = sorted(set(range(len(truth))) - {i for i, _ in pairs})
    spurious = len(found) - len(pairs)
    n = len(truth)
    if len(missed) > PHOTO_MISSED * n or spurious > PHOTO_SPURIOUS * n:
        raise Fail(
            f"{name}: {n - len(missed)} of its {n} characters got a box (missed: "
            f"{''.join(labels[i] for i in missed) or 'none'}), and {spurious} boxes are on no "
            f"character; expected at most {PHOTO_MISSED:.0%} missed and {PHOTO_SPURIOUS:.0%} "
            "spurious. A character split into pieces gets two boxes; touching characters one"
        )


BW_INK = 0.05  # a photo's bw: at least this share of its characters' boxes dark ...
BW_PAPER = 0.90  # ... and this share of the paper away from them white
BW_WHITE = 0.80  # without boxes (an instructor's photo with only its text): mostly white


def judge_photo_bw(inputs, out):
    name, shape, found = _photo_found(inputs, out)
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
    step = block_step(shape)
    if "truth" not in inputs:
        white = 1 - float(dark.mean())
        if white < BW_WHITE or not dark.any():
            raise Fail(
                f"bw of {name} should be the characters black (0) on white paper (1): "
                f"{white:.0%} of it is white (expected >= {BW_WHITE:.0%}, the paper)"
                + (INVERTED if white < 0.2 else "")
            )
        return
    boxes = np.asarray(inputs["truth"]) // step
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


# ----------------------------------------------------------------------------- Q4.3
def judge_photo_figure(inputs, out):
    _problem(out)
    name = inputs["name"]
    shape = tuple(int(s) for s in array(out, "shape", "the photo's shape"))
    found = _boxes(out, "bboxes", f"bboxes of findLetters on {name}", shape)
    if not len(found):
        raise Fail(f"findLetters found no box on {name}: the figure shows no boxes")
    if "bw_problem" in out:
        raise Fail(str(out["bw_problem"]))
    bw_shape = tuple(int(s) for s in array(out, "bw_shape", "the shape of bw"))
    if bw_shape != shape:
        raise Fail(
            f"bw of {name} should have the photo's height x width {shape}; got {bw_shape}: the "
            "boxes are drawn over bw in the photo's pixel coordinates"
        )
    low, high = array(out, "bw_range", "the range of bw", finite=False)
    if not (0 <= low and high <= 1):
        raise Fail(f"bw of {name} should lie in [0, 1]; got values from {low:g} to {high:g}")


def draw_photo_figure(inputs, out, out_dir):
    """``q4_3_<photo>.png``: the returned boxes (red) over the returned ``bw``."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    if "problem" in out or "shape" not in out:
        return []
    H, W = (int(s) for s in np.asarray(out["shape"]).ravel()[:2])
    boxes = np.asarray(out.get("bboxes", np.zeros((0, 4))), dtype=float)
    boxes = boxes.reshape(-1, 4) if boxes.size % 4 == 0 else np.zeros((0, 4))
    page = out.get("bw_small")
    if not isinstance(page, np.ndarray) or page.ndim != 2:
        page = np.ones((max(H // 4, 1), max(W // 4, 1)), dtype=np.float32)
    fig = Figure(figsize=(10, 10 * H / W + 0.4))
    ax = fig.add_subplot()
    extent = (-0.5, W - 0.5, H - 0.5, -0.5)  # the boxes stay in the photo's pixels
    ax.imshow(np.nan_to_num(page, nan=1.0), cmap="gray", vmin=0, vmax=1, extent=extent)
    for y1, x1, y2, x2 in boxes:
        ax.add_patch(
            Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, ec="red", lw=1.2)
        )
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    ax.set_axis_off()
    ax.set_title(f"Q4.3 {inputs['name']}: {len(boxes)} boxes over bw")
    path = Path(out_dir) / f"q4_3_{Path(inputs['name']).stem}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return [path]


# ----------------------------------------------------------------------------- Q4.4 tasks
def crop_letters_task(sub, inputs):
    """crop_letters on each page's ``bw_i`` and ``boxes_i``: ``rows_i``."""
    (crop_letters,) = _run_q4(sub, "crop_letters")
    return {
        f"rows_{i}": crop_letters(inputs[f"bw_{i}"], inputs[f"boxes_{i}"])
        for i in range(int(inputs["n"]))
    }


def group_lines_task(sub, inputs):
    """group_lines on each ``boxes_i``: the lines concatenated, ``order_i``, and ``lengths_i``."""
    (group_lines,) = _run_q4(sub, "group_lines")
    out = {}
    for i in range(int(inputs["n"])):
        lines = group_lines(inputs[f"boxes_{i}"])
        if not isinstance(lines, (list, tuple)):
            out[f"{i}_problem"] = f"group_lines returned {_describe(lines)}"
            continue
        try:
            parts = [np.asarray(line, dtype=float).ravel() for line in lines]
        except (TypeError, ValueError) as exc:
            out[f"{i}_problem"] = f"group_lines: a line is not an array of indices ({exc})"
            continue
        out[f"order_{i}"] = np.concatenate(parts) if parts else np.zeros(0)
        out[f"lengths_{i}"] = np.array([len(p) for p in parts], dtype=np.int64)
    return out


def word_gaps_task(sub, inputs):
    """word_gaps on each line's boxes ``boxes_k``: ``spaces_k``."""
    (word_gaps,) = _run_q4(sub, "word_gaps")
    return {f"spaces_{k}": word_gaps(inputs[f"boxes_{k}"]) for k in range(int(inputs["n"]))}


# photo -> (q4, recognise, what the pipeline returned): the two checks of a photo share it
_PIPELINES: dict = {}


def photo_text_task(sub, inputs):
    """The photo's text by the submission's pipeline (findLetters, then recognise with the
    Q4.4's classifier, ``inputs['weights']``): ``lines`` and the number of boxes."""
    (recognise,) = _run_q4(sub, "recognise")
    q4 = sub.load("q4")
    path = inputs["photo"]
    cached = _PIPELINES.get(path)
    if cached is None or cached[0] is not q4 or cached[1] is not recognise:
        try:
            result = _pipeline(sub, recognise, q4, path, inputs["weights"])
        except Exception as exc:
            result = exc
        _PIPELINES[path] = cached = (q4, recognise, result)
    result = cached[2]
    if isinstance(result, Exception):
        raise result
    return result


def _pipeline(sub, recognise, q4, path, weights):
    result = q4.findLetters(_read_photo(path))
    found = _found(result, bw="shape")
    if "problem" in found:
        return {"problem": found["problem"]}
    params = load_classifier(weights)
    if row_bias(sub.load("nn")):
        params = {k: v.reshape(1, -1) if k.startswith("b") else v for k, v in params.items()}
    bboxes, bw = result  # as findLetters returned them, as run_q4 passes them on
    lines = recognise(bw, bboxes, params)
    out = {"boxes": len(found["bboxes"])}
    if not isinstance(lines, (list, tuple)) or not all(isinstance(s, str) for s in lines):
        return out | {
            "problem": f"recognise should return a list of str (one per line); got "
            f"{_describe(lines)}: {str(lines)[:200]}"
        }
    return out | {"n_lines": len(lines), "lines": list(lines)}


# ----------------------------------------------------------------------------- Q4.4 inputs
def _crop_inputs():
    inputs = {"n": len(CROP_SEEDS), "labels": []}
    for i, seed in enumerate(CROP_SEEDS):
        p = _page(seed, **CROP)
        inputs[f"bw_{i}"] = 1.0 - p.ink_mask.astype(np.float64)
        inputs[f"boxes_{i}"] = p.boxes
        inputs["labels"].append(p.labels)
    return inputs


def _reads(rows_pages, labels) -> tuple[int, int]:
    correct = total = 0
    for rows, text in zip(rows_pages, labels):
        predicted = reference_predict(rows)
        correct += sum(CLASSES[k] == c for k, c in zip(predicted, text))
        total += len(text)
    return correct, total


def judge_crops(inputs, out):
    rows_pages = []
    for i in range(int(inputs["n"])):
        n = len(inputs[f"boxes_{i}"])
        rows = array(out, f"rows_{i}", "crop_letters(bw, bboxes)")
        if rows.shape != (n, 1024):
            raise Fail(
                f"crop_letters should return one row of 32 * 32 = 1024 pixels per box: "
                f"expected shape {(n, 1024)} for {n} boxes, got {rows.shape}"
            )
        if not np.all((rows >= 0) & (rows <= 1)):
            raise Fail(
                f"crop_letters: pixels should lie in [0, 1] like NIST36's; got values from "
                f"{rows.min():g} to {rows.max():g}"
            )
        rows_pages.append(rows)
    labels = inputs["labels"]
    correct, total = _reads(rows_pages, labels)
    if correct >= CROP_ACCURACY * total:
        return
    hints = []
    transposed = [r.reshape(-1, 32, 32).transpose(0, 2, 1).reshape(-1, 1024) for r in rows_pages]
    if _reads(transposed, labels)[0] > correct + 0.1 * total:
        hints.append(
            "transposed, they would read far better: store each crop transposed like "
            "NIST36 (row.reshape(32, 32).T is upright)"
        )
    if _reads([1 - r for r in rows_pages], labels)[0] > correct + 0.1 * total:
        hints.append("inverted, they would read far better: NIST36 is dark ink (0) on white (1)")
    border = np.concatenate([r.reshape(-1, 32, 32)[:, [0, -1]].ravel() for r in rows_pages])
    if border.mean() < 0.9:
        hints.append(
            f"the crops' borders average {border.mean():.2f}, expected near 1: leave "
            "a white margin (the letter's longer side 24 of the 32 pixels)"
        )
    raise Fail(
        f"the reference classifier reads {correct} of {total} letters cropped from generated "
        f"pages ({correct / total:.0%}; expected >= {CROP_ACCURACY:.0%}, it reads 85% of the "
        "same handwriting as NIST36 rows): crop like the training images: centred in a square "
        "with a white margin, strokes not too thin, dark ink on white, transposed"
        + "".join(f". Read {h}" for h in hints)
    )


SHAPE_LETTERS = "1LAM"  # tall, asymmetric and wide characters


def _shape_inputs():
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


def judge_crop_shape(inputs, out):
    rows = array(out, "rows_0", "crop_letters(bw, bboxes)", shape=(len(SHAPE_LETTERS), 1024))
    for label, row, (h, w) in zip(SHAPE_LETTERS, rows, inputs["sizes"]):
        upright = row.reshape(32, 32).T < 0.5
        rr, cc = np.flatnonzero(upright.any(1)), np.flatnonzero(upright.any(0))
        if not rr.size:
            raise Fail(f"the crop of {label!r} holds no dark ink (< 0.5): dark ink on white")
        height, width = rr[-1] - rr[0] + 1, cc[-1] - cc[0] + 1
        ratio, want = width / height, w / h
        if abs(np.log(ratio / want)) >= 0.35:
            raise Fail(
                f"{label!r} is {want:.2f} times as wide as tall on the page but {ratio:.2f} in "
                "its crop: pad the crop to a square before resizing (keep the aspect ratio); "
                "and store it transposed, like NIST36 (row.reshape(32, 32).T is upright)"
            )
        centre = ((rr[0] + rr[-1]) / 2, (cc[0] + cc[-1]) / 2)
        if max(abs(centre[0] - 15.5), abs(centre[1] - 15.5)) > 2.5:
            raise Fail(
                f"{label!r} is centred at {centre} in its crop; NIST36 centres the character "
                "(15.5, 15.5)"
            )
        if not 16 <= max(height, width) <= 30:
            raise Fail(
                f"{label!r} spans {max(height, width)} of the 32 pixels; NIST36 characters span "
                "about 24 (a white margin around them)"
            )


LINE_SEEDS = range(500, 508)
GAP_SEEDS = range(520, 528)


def _lines_inputs():
    inputs = {"n": len(LINE_SEEDS)}
    for i, seed in enumerate(LINE_SEEDS):
        p = _page(seed, **(FAST | {"rotation": 2.0, "jpeg": None, "noise": 0}))
        order = np.random.default_rng(seed).permutation(len(p.boxes))
        rank = np.argsort(order)  # box j of the page is box rank[j] of the shuffled ones
        inputs[f"boxes_{i}"] = p.boxes[order]
        inputs[f"want_{i}"] = np.concatenate([rank[line] for line in p.lines])
        inputs[f"want_lengths_{i}"] = np.array([len(line) for line in p.lines])
    return inputs


def judge_group_lines(inputs, out):
    for i in range(int(inputs["n"])):
        _problem(out, f"{i}_")
        order = array(out, f"order_{i}", "group_lines(bboxes)")
        lengths = array(out, f"lengths_{i}", "group_lines(bboxes)")
        want, want_lengths = inputs[f"want_{i}"], inputs[f"want_lengths_{i}"]
        if not np.all(order == np.round(order)):
            raise Fail(f"group_lines should return arrays of indices (ints); got {order[:5]}")
        order = order.astype(np.int64)
        cuts = np.cumsum(lengths)[:-1].astype(np.int64)
        got = [g.tolist() for g in np.split(order, cuts)] if len(lengths) else []
        expected = [e.tolist() for e in np.split(want, np.cumsum(want_lengths)[:-1])]
        if got != expected:
            raise Fail(
                f"group_lines on the boxes of {len(expected)} lines (given in random order, "
                f"the page tilted up to 2 degrees) returned {len(got)} lines; expected the "
                "lines top to bottom, each left to right, as indices into bboxes, every box in "
                f"exactly one line.\nexpected {expected}\ngot      {got}"
            )


def _gaps_inputs():
    inputs = {"texts": []}
    wants = []
    k = 0
    for seed in GAP_SEEDS:
        p = _page(seed, **WORDS)
        for idx, spaces, text in zip(p.lines, p.spaces, p.text):
            inputs[f"boxes_{k}"] = p.boxes[idx]
            wants.append(np.asarray(spaces, dtype=bool))
            inputs["texts"].append(text)
            k += 1
    inputs["n"] = k
    # the answers, judge-only: every line's spaces concatenated, and each line's count
    inputs["want"] = np.concatenate(wants) if wants else np.zeros(0, bool)
    inputs["want_lengths"] = np.array([len(w) for w in wants], dtype=np.int64)
    return inputs


def _line_wants(inputs) -> list[np.ndarray]:
    return np.split(inputs["want"], np.cumsum(inputs["want_lengths"])[:-1])


def judge_word_gaps(inputs, out):
    wants = _line_wants(inputs)
    for k in range(int(inputs["n"])):
        want = wants[k]
        got = array(out, f"spaces_{k}", "word_gaps(bboxes)").ravel()
        if got.shape != want.shape or not np.array_equal(got.astype(bool), want):
            raise Fail(
                f"word_gaps on the line {inputs['texts'][k]!r} (word gaps about a letter wide, "
                f"letter gaps under a third of one) gave {got.astype(int).tolist()}; expected "
                f"{want.astype(int).tolist()} (1 where a word ends: one value per gap, "
                "len(bboxes) - 1)"
            )


def _text_inputs(name: str, options: PhotoOptions):
    def make():
        truth = load_ground_truth(options.truth_file)[name]
        return {
            "photo": str(options.folder / name),
            "name": name,
            "truth": truth,
            "weights": str(options.classifier),
        }

    return make


def _photo_text(inputs, out):
    _problem(out)
    n = int(np.asarray(out.get("n_lines", 0)))
    lines = list(out["lines"]) if n else []
    return score_photo(inputs["name"], lines, list(inputs["truth"])), lines


def judge_photo_detected(inputs, out):
    s, lines = _photo_text(inputs, out)
    if s.detected < DETECTED * s.characters or s.spurious > SPURIOUS * s.characters:
        raise Fail(
            f"{s.name}: {s.detected} of {s.characters} characters got a box "
            f"({s.detection_rate:.0%}, expected >= {DETECTED:.0%}) and {s.spurious} boxes match "
            f"no character (expected <= {SPURIOUS:.0%} of the characters); {s.lines} lines "
            f"recognised, {s.truth_lines} written.\nrecognised: {lines}\nwritten:    "
            f"{list(inputs['truth'])}"
        )


def judge_photo_classified(inputs, out):
    s, lines = _photo_text(inputs, out)
    if s.classified < CLASSIFIED * s.characters:
        raise Fail(
            f"{s.name}: the classifier read {s.classified} of its {s.characters} "
            f"characters right ({s.classification_rate:.0%}) from your boxes and crops; the "
            f"handout's bar is {CLASSIFIED:.0%}. Crop like the NIST36 images (centred square, "
            "white margin, strokes not too thin, transposed) and order the lines."
            f"\nrecognised: {lines}\nwritten:    {list(inputs['truth'])}"
        )


# ----------------------------------------------------------------------------- the checks
ONE_LETTER = dict(
    lines=(1, 1), words=(1, 1), letters=(1, 1), height=(80, 100), lighting=0.15, dots=0
)
ONE_LETTER_SEEDS = range(600, 604)


def _q42_checks(options: PhotoOptions):
    """Q4.2's points sit on the handout's task: the photos' boxes and ``bw``, and one small
    edge case; robustness beyond the handout is feedback (no points)."""
    q4 = ("q4",)
    names = options.names()
    checks = []
    for name in names:  # 9.5 of the 10 points, shared by the photos
        here = _photo_available(name, options)
        inputs = _photo_inputs(name, options)
        checks += [
            Check("4.2", f"{name}: at most {PHOTO_MISSED:.0%} of its characters missed and "
                  f"{PHOTO_SPURIOUS:.0%} spurious boxes", 8.5 / len(names),
                  find_letters_photo_task, judge_photo_boxes, inputs, budget=PHOTO_BUDGET,
                  modules=q4, available=here, private=PHOTO_PRIVATE),
            Check("4.2", f"{name}: bw is the photo's shape, characters black (0) on white "
                  "paper (1)", 1 / len(names),
                  find_letters_photo_task, judge_photo_bw, inputs, budget=PHOTO_BUDGET,
                  modules=q4, available=here, private=PHOTO_PRIVATE),
        ]  # fmt: skip
    one = [(seed, ONE_LETTER) for seed in ONE_LETTER_SEEDS]
    checks.append(
        Check("4.2", "edge case: a page with a single letter (as large as the photos') gets "
              "one box", 0.5,
              find_letters_task, judge_one_letter, _pages_inputs(one), budget=60, modules=q4,
              private=_pages_private(one))
    )  # fmt: skip
    return checks + _q42_feedback()


def _q42_feedback():
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
        inputs = _pages_inputs(blank)()
        return inputs | {"shadows": [bool(o.get("blank") and o["shadows"]) for _, o in blank]}

    def with_(make, **extra):
        return lambda: make() | extra

    q4 = ("q4",)
    return [
        Check("4.2", f"feedback: boxes on {len(fast)} generated pages with smaller letters "
              f"(22 to 36 pixels) under uneven light: >= {RECALL:.0%} of the characters found, "
              f">= {PRECISION:.0%} of the boxes on a character", 1,
              find_letters_task, judge_generated_pages, _pages_inputs(fast), budget=150,
              modules=q4, private=_pages_private(fast), feedback=True),
        Check("4.2", "feedback: no box on blank pages (uneven light, texture, noise, shadows)",
              1, find_letters_task, judge_blank_pages, blank_inputs, budget=90, modules=q4,
              private=_pages_private(blank, "shadows"), feedback=True),
        Check("4.2", "feedback: no box on punctuation dots", 1,
              find_letters_task, judge_dots, _pages_inputs(dots), budget=90, modules=q4,
              private=_pages_private(dots), feedback=True),
        Check("4.2", "feedback: the same page at 0.6x and 2.5x the resolution gives the same "
              "boxes", 1,
              find_letters_task, judge_resolution,
              with_(_pages_inputs(resolution), scales=list(scales)), budget=120, modules=q4,
              private=_pages_private(resolution, "scales"), feedback=True),
        Check("4.2", "feedback: RGBA, grayscale and float images give the boxes of the RGB "
              "image", 1,
              find_letters_task, judge_modes, with_(_pages_inputs(same_page), modes=list(modes)),
              budget=90, modules=q4, private=_pages_private(same_page, "modes"), feedback=True),
        Check("4.2", "feedback: bw of RGB, RGBA, grayscale and float generated pages, "
              "characters black (0) on white (1)", 1,
              find_letters_task, judge_bw,
              with_(_pages_inputs(bw_pages, keep_bw=True), modes=list(modes)),
              budget=90, modules=q4, private=_pages_private(bw_pages, "modes"), feedback=True),
    ]  # fmt: skip


def _figure_inputs(name: str, options: PhotoOptions):
    def make():
        return {"photo": str(options.folder / name), "name": name, "bw": "figure"}

    return make


def _q43_checks(options: PhotoOptions):
    return [
        Check(
            "4.3",
            f"{name}: the boxes drawn over bw (figure q4_3_{Path(name).stem}.png)",
            1,
            find_letters_photo_task,
            judge_photo_figure,
            _figure_inputs(name, options),
            budget=PHOTO_BUDGET,
            modules=("q4",),
            available=_photo_available(name, options, needs_truth=False),
            figures=draw_photo_figure,
            private=("name",),
        )
        for name in options.names()
    ]


def _q44_checks(options: PhotoOptions):
    run = ("run_q4",)
    lines_private = tuple(
        f"{key}_{i}" for i in range(len(LINE_SEEDS)) for key in ("want", "want_lengths")
    )
    checks = [
        Check("4.4", f"crop_letters: the reference classifier reads >= {CROP_ACCURACY:.0%} of "
              "the letters cropped from generated pages", 1.5,
              crop_letters_task, judge_crops, _crop_inputs, budget=120, modules=run,
              available=_reference_available, private=("labels",)),
        Check("4.4", "crop_letters: each letter centred in a square with a white margin, "
              "transposed", 0.5,
              crop_letters_task, judge_crop_shape, _shape_inputs, budget=60, modules=run,
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
        here = _text_photo_available(name, options)
        inputs = _text_inputs(name, options)
        checks += [
            Check("4.4", f"{name}: >= {DETECTED:.0%} of its characters recognised, <= "
                  f"{SPURIOUS:.0%} spurious", 0.5,
                  photo_text_task, judge_photo_detected, inputs,
                  budget=PHOTO_BUDGET, modules=modules, available=here, private=text_private),
            Check("4.4", f"{name}: >= {CLASSIFIED:.0%} of its characters read right with the "
                  f"classifier {options.classifier.name}", 0.75,
                  photo_text_task, judge_photo_classified, inputs,
                  budget=PHOTO_BUDGET, modules=modules, available=here, private=text_private),
        ]  # fmt: skip
    return checks


def checks(options: PhotoOptions | None = None) -> list[Check]:
    """Every Q4 check, on the sample photos or on ``options``' photos and classifier."""
    options = options or SAMPLES
    return [*_q42_checks(options), *_q43_checks(options), *_q44_checks(options)]


CHECKS = checks()
