"""Synthetic photos of handwritten pages with known boxes, for the Q4 checks and the grader.

A page is composed from real handwritten glyphs (the test split of the bundled NIST36 data,
``load_nist36('test')``; rows are stored transposed) laid out in lines and words, with the
nuisances of a photo: varied letter size and spacing, slight rotation, uneven lighting and
shadows, paper texture, noise, blur, JPEG compression and punctuation dots. What was drawn is
known exactly: one box per character (after rotation), its label, its line and the word
breaks, and the boxes of the dots.

``make_page(seed, **options)`` is deterministic in its seed; ``blank_page`` is paper only.
The grader's Q4 checks (``grader/checks/q4_2.py`` ...) make their inputs here; the test suite
imports it as ``tests/pages.py``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
from PIL import Image
from skimage.io import imread
from skimage.transform import rescale

from coursedata import CLASSES, load_nist36

INK_LEVEL = 0.5  # a glyph pixel belongs to the character where its ink is above this


@dataclass
class Page:
    """A synthetic photo and what is written on it."""

    image: np.ndarray  # (H, W, 3) uint8, or as asked
    boxes: np.ndarray  # (N, 4) int [y1, x1, y2, x2], y2/x2 exclusive, reading order
    labels: str  # N characters of CLASSES
    lines: list[np.ndarray]  # indices into boxes, one array per line, left to right
    spaces: list[np.ndarray]  # per line: bool (len - 1,), True where a word ends
    dots: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), int))  # (M, 4) boxes
    letter_height: float = 0.0  # the page's typical character height, in pixels
    ink_mask: np.ndarray | None = None  # (H, W) bool, where characters were drawn

    @property
    def text(self) -> list[str]:
        """The lines as strings, words separated by single spaces."""
        out = []
        for idx, sp in zip(self.lines, self.spaces):
            chars = [self.labels[i] for i in idx]
            out.append(chars[0] + "".join((" " if s else "") + c for s, c in zip(sp, chars[1:])))
        return out


@lru_cache(maxsize=1)
def glyphs():
    """The test split's characters, upright, as ink in [0, 1] (1 = ink), and their labels."""
    x, y = load_nist36("test")
    ink = 1.0 - x.reshape(-1, 32, 32).transpose(0, 2, 1)
    return ink, y.argmax(axis=1)


def _glyph(rng, height, label):
    """A glyph of class ``label``, cropped to its ink and scaled to ``height`` pixels."""
    ink, labels = glyphs()
    g = ink[rng.choice(np.flatnonzero(labels == label))]
    rows, cols = np.flatnonzero(g.max(1) > 0.2), np.flatnonzero(g.max(0) > 0.2)
    g = g[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    g = np.clip(rescale(g, height / g.shape[0], order=1, anti_aliasing=False), 0, 1)
    keep_r, keep_c = np.flatnonzero(g.max(1) > INK_LEVEL), np.flatnonzero(g.max(0) > INK_LEVEL)
    return np.pad(g, 1)[keep_r[0] : keep_r[-1] + 3, keep_c[0] : keep_c[-1] + 3]  # 1-px fringe


def make_page(
    seed: int,
    *,
    lines: tuple[int, int] = (2, 4),
    words: tuple[int, int] = (1, 3),
    letters: tuple[int, int] = (1, 5),
    height: tuple[float, float] = (22, 40),
    rotation: float = 2.0,
    lighting: float = 0.3,
    shadows: bool = False,
    texture: float = 0.03,
    noise: float = 0.02,
    blur: float = 0.8,
    jpeg: int | None = 75,
    dots: int = 2,
    ink: str = "random",
    contrast: tuple[float, float] = (0.45, 0.9),
    scale: float = 1.0,
    mode: str = "rgb",
) -> Page:
    """A synthetic photo of a handwritten page.

    Parameters
    ----------
    seed : int
    lines, words, letters : (int, int)
        Inclusive ranges: lines on the page, words per line, characters per word.
    height : (float, float)
        Range of the page's typical character height in pixels (before ``scale``); each
        character varies by +-10% around it.
    rotation : float
        The page is rotated by up to this many degrees, either way.
    lighting : float
        Strength of the uneven lighting (a gradient and a vignette), 0 for none.
    shadows : bool
        Add a faint grid of table shadows (sharp steps in brightness), like 02_letters.jpg.
    texture, noise : float
        Amplitude of the paper's texture (smooth) and of the pixel noise.
    blur : float
        Largest Gaussian blur sigma, in pixels (at ``scale`` 1).
    jpeg : int or None
        JPEG quality of a final compression round trip; None for none.
    dots : int
        Up to this many punctuation dots after words (like "1." in 01_list.jpg).
    ink : {"random", "pencil", "pen", "marker"}
    contrast : (float, float)
        Range of the ink's darkness against the paper.
    scale : float
        Render everything this many times larger (same page at another resolution).
    mode : {"rgb", "rgba", "gray", "float"}
        Output: uint8 RGB, uint8 RGBA, uint8 grayscale, or float RGB in [0, 1].
    """
    rng = np.random.default_rng(seed)
    h0 = rng.uniform(*height) * scale
    n_lines = int(rng.integers(lines[0], lines[1] + 1))
    pitch = rng.uniform(1.7, 2.2) * h0
    layout = []  # per line: list of words, each a list of (glyph, label)
    for _ in range(n_lines):
        line = []
        for _ in range(int(rng.integers(words[0], words[1] + 1))):
            n = int(rng.integers(letters[0], letters[1] + 1))
            word = []
            for _ in range(n):
                label = int(rng.integers(len(CLASSES)))
                word.append((_glyph(rng, h0 * rng.uniform(0.9, 1.1), label), label))
            line.append(word)
        layout.append(line)

    margin = int(1.5 * h0)
    # place: letter gaps 0.12-0.3 h, word gaps 0.9-1.4 h
    placed = []  # (line, glyph, label, y, x, space_after)
    dot_specs = []
    widths = []
    for li, line in enumerate(layout):
        x = margin + rng.uniform(0, 1.0) * h0
        centre = margin + li * pitch + h0 / 2
        for wi, word in enumerate(line):
            for ci, (g, label) in enumerate(word):
                y = centre - g.shape[0] / 2 + rng.uniform(-0.05, 0.05) * h0
                last = ci == len(word) - 1
                placed.append((li, g, label, y, x, last and wi < len(line) - 1))
                x += g.shape[1] + (0 if last else rng.uniform(0.12, 0.3) * h0)
            if len(dot_specs) < dots and rng.random() < 0.5:
                size = rng.uniform(0.12, 0.18) * h0
                dot_specs.append((centre + h0 / 2 - size, x + 0.2 * h0, size))
            x += rng.uniform(0.9, 1.4) * h0
        widths.append(x)
    H = int(margin * 2 + (n_lines - 1) * pitch + h0 * 1.2)
    W = int(max(widths) + margin)

    ink_img = np.zeros((H, W))
    label_img = np.zeros((H, W), dtype=np.int32)
    for k, (_, g, _, y, x, _) in enumerate(placed):
        y, x = int(round(y)), int(round(x))
        region = ink_img[y : y + g.shape[0], x : x + g.shape[1]]
        np.maximum(region, g, out=region)
        label_img[y : y + g.shape[0], x : x + g.shape[1]][g > INK_LEVEL] = k + 1
    dot_img = np.zeros((H, W), dtype=np.int32)
    yy, xx = np.mgrid[0:H, 0:W]
    for k, (y, x, size) in enumerate(dot_specs):
        r = size / 2
        d = np.hypot(yy - (y + r), xx - (x + r))
        ink_img = np.maximum(ink_img, np.clip(r + 0.5 - d, 0, 1))
        dot_img[d <= r] = k + 1

    angle = rng.uniform(-rotation, rotation)
    if angle:
        ink_img = np.clip(ndi.rotate(ink_img, angle, reshape=True, order=1), 0, 1)
        label_img = ndi.rotate(label_img, angle, reshape=True, order=0)
        dot_img = ndi.rotate(dot_img, angle, reshape=True, order=0)
    H, W = ink_img.shape

    boxes = _boxes(label_img, len(placed))
    dot_boxes = _boxes(dot_img, len(dot_specs))
    dot_boxes = dot_boxes[(dot_boxes[:, 2] > dot_boxes[:, 0])]

    rgb = _render(
        rng, ink_img, h0, scale, lighting, shadows, texture, noise, blur, jpeg, ink, contrast
    )

    order = np.arange(len(placed))
    line_of = np.array([p[0] for p in placed])
    line_idx = [order[line_of == li] for li in range(n_lines)]
    space_after = np.array([p[5] for p in placed])
    return Page(
        image=_as_mode(rgb, mode),
        boxes=boxes,
        labels="".join(CLASSES[p[2]] for p in placed),
        lines=line_idx,
        spaces=[space_after[idx[:-1]] for idx in line_idx],
        dots=dot_boxes,
        letter_height=float(np.median(boxes[:, 2] - boxes[:, 0])),
        ink_mask=label_img > 0,
    )


def blank_page(
    seed: int, shape=(300, 500), *, height: float = 30, mode: str = "rgb", **nuisances
) -> Page:
    """Paper without writing, with the nuisances of ``make_page`` (same keywords)."""
    rng = np.random.default_rng(seed)
    options = dict(
        lighting=0.3, shadows=False, texture=0.03, noise=0.02, blur=0.8, jpeg=75,
        ink="random", contrast=(0.45, 0.9),
    ) | nuisances  # fmt: skip
    rgb = _render(rng, np.zeros(shape), float(height), 1.0, **options)
    empty = np.zeros((0, 4), int)
    return Page(_as_mode(rgb, mode), empty, "", [], [], empty, float(height), np.zeros(shape, bool))


def _render(rng, ink_img, h0, scale, lighting, shadows, texture, noise, blur, jpeg, ink, contrast):
    """Paper (lighting, shadows, texture) with ``ink_img`` written on it, then the camera
    (blur, noise, JPEG): float RGB in [0, 1]."""
    H, W = ink_img.shape
    side = max(H, W)
    # every random number that does not depend on the size first: the same seed gives the
    # same page at any scale
    base = rng.uniform(0.7, 0.95)
    g_dir = rng.normal(size=2)
    g_dir /= np.linalg.norm(g_dir)
    cy, cx = rng.uniform(0, H / side), rng.uniform(0, W / side)
    step_y, step_x = rng.uniform(2.5, 4) * h0 / side, rng.uniform(3, 5) * h0 / side
    kind = ink if ink != "random" else ["pencil", "pen", "marker"][rng.integers(3)]
    strength = rng.uniform(*contrast)
    sigma = rng.uniform(0, blur) * scale if blur else 0.0

    yy, xx = np.mgrid[0:H, 0:W] / side
    paper = np.full((H, W), base)
    if lighting:
        paper *= 1 - lighting * 0.5 * (1 + (yy * g_dir[0] + xx * g_dir[1]) / 1.5)
        paper *= 1 - lighting * 0.5 * np.clip(np.hypot(yy - cy, xx - cx), 0, 1) ** 2
    if shadows:
        paper *= 1 - 0.04 * ((np.floor(yy / step_y) + np.floor(xx / step_x)) % 2)
    if texture:
        tex = ndi.gaussian_filter(rng.normal(size=(H, W)), 2 * scale)
        paper *= 1 + texture * tex / (tex.std() + 1e-9)
    colour = {
        "pencil": np.array([0.35, 0.35, 0.38]),
        "pen": np.array([0.15, 0.2, 0.55]),
        "marker": np.array([0.05, 0.05, 0.05]),
    }[kind]
    alpha = (ink_img * strength)[..., None]
    rgb = paper[..., None] * (1 - alpha + colour * alpha)
    if sigma:
        rgb = ndi.gaussian_filter(rgb, (sigma, sigma, 0))
    if noise:
        rgb = rgb + rng.normal(scale=noise, size=rgb.shape)
    rgb = np.clip(rgb, 0, 1)
    return _jpeg(rgb, jpeg) if jpeg else rgb


def _boxes(label_img, n):
    """Box of each label 1..n (a label that vanished gets an empty box)."""
    out = np.zeros((n, 4), int)
    for k, sl in enumerate(ndi.find_objects(label_img, n)):
        if sl is not None:
            out[k] = [sl[0].start, sl[1].start, sl[0].stop, sl[1].stop]
    return out


def _jpeg(rgb, quality):
    """A JPEG round trip (Pillow), back to float RGB in [0, 1]."""
    buffer = io.BytesIO()
    Image.fromarray((rgb * 255).round().astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")) / 255.0


def _as_mode(rgb, mode):
    u8 = (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)
    if mode == "rgb":
        return u8
    if mode == "rgba":
        return np.dstack([u8, np.full(u8.shape[:2], 255, np.uint8)])
    if mode == "gray":
        return (u8.astype(float) @ [0.2125, 0.7154, 0.0721]).round().astype(np.uint8)
    if mode == "float":
        return rgb.astype(np.float64)
    raise ValueError(f"unknown mode {mode!r}")


# ----------------------------------------------------------------------------- matching
def iou(a, b):
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4): (N, M)."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ih = np.clip(np.minimum(a[:, None, 2], b[:, 2]) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    iw = np.clip(np.minimum(a[:, None, 3], b[:, 3]) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = ih * iw
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b - inter, 1e-9)


def centres_inside(a, b):
    """(N, M): box ``a[i]`` contains the centre of ``b[j]`` and ``b[j]`` the centre of ``a[i]``."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)

    def contains(p, q):  # p[i] contains the centre of q[j]
        cy, cx = (q[:, 0] + q[:, 2]) / 2, (q[:, 1] + q[:, 3]) / 2
        return (
            (p[:, None, 0] <= cy)
            & (cy <= p[:, None, 2])
            & (p[:, None, 1] <= cx)
            & (cx <= p[:, None, 3])
        )

    return contains(a, b) & contains(b, a).T


def match(truth, found, min_iou=0.5):
    """One-to-one matching of ground-truth boxes to found boxes.

    A found box can match a character when their IoU is at least ``min_iou``, or when each
    contains the other's centre (a box with a generous margin around the character).
    Greedy by IoU, best pairs first.

    Returns
    -------
    pairs : list of (int, int)
        (truth index, found index).
    """
    truth = np.asarray(truth, float).reshape(-1, 4)
    found = np.asarray(found, float).reshape(-1, 4)
    if len(truth) == 0 or len(found) == 0:
        return []
    overlap = iou(truth, found)
    ok = (overlap >= min_iou) | (centres_inside(truth, found) & (overlap > 0))
    pairs, used_t, used_f = [], set(), set()
    ti, fj = np.nonzero(ok)  # only the candidate pairs: fast for thousands of found boxes
    for k in np.argsort(-overlap[ti, fj], kind="stable"):
        i, j = int(ti[k]), int(fj[k])
        if i in used_t or j in used_f:
            continue
        pairs.append((i, j))
        used_t.add(i)
        used_f.add(j)
    return pairs


# ----------------------------------------------------------------------------- photos
ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PHOTOS = ROOT / "data" / "images"


def character_boxes(path: Path = SAMPLE_PHOTOS / "character_boxes.json"):
    """The checked boxes of the sample photos: ``{photo name: (labels str, boxes (N, 4))}``."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        name: ("".join(e[0] for e in entries), np.array([e[1:] for e in entries], dtype=int))
        for name, entries in doc["images"].items()
    }


_FOUND: dict = {}


def find_letters_cached(q4, path):
    """``q4.findLetters`` of the photo at ``path``, computed once per implementation."""
    key = (id(q4), str(path))
    if key not in _FOUND:
        _FOUND[key] = q4.findLetters(imread(path))
    return _FOUND[key]
