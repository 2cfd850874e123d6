"""Build the Q4 reference classifier, ``data/q4_reference_net.npz``.

``python -m coursedata.q4_reference [--out FILE] [--epochs 60] [--copies 8] [--seed 16720]``

The handout's Q3 network, ``1024 -> 64 (sigmoid) -> 36 (softmax)``, trained so that the Q4.4
checks measure a student's letter extraction rather than their Q3 training: it is trained
on the NIST36 ``train`` and ``valid`` splits (the ``test`` split stays unseen: the page
generator of the Q4 checks draws its glyphs from it), each image plus ``copies`` randomly
distorted copies of it (rotation up to 10 degrees, shear, scale 0.8-1.1, aspect ratio,
shift up to 2 pixels, strokes thinned or thickened by a pixel), so that it tolerates the
different ways of cropping a letter from a photo. Plain mini-batch SGD on the summed
cross-entropy (batch 32, learning rate 2e-3 with a cosine decay), like Q3, in numpy alone:
it needs neither ``solutions/`` nor a GPU (about 5-10 minutes on one core).

The file holds float32 arrays ``Wlayer1`` (1024, 64), ``blayer1`` (64,), ``Woutput``
(64, 36), ``boutput`` (36,) (``run_q4.load_weights`` reads it without unpickling) and an
``about`` string. Rebuilding with the same seed repeats the same training; the bytes can
differ across machines through floating-point summation order in BLAS.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
from scipy.special import expit

from coursedata import data_dir, load_nist36, nist36_source

HIDDEN = 64


def distort(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One randomly distorted copy of each NIST36 row of ``x`` (rows stay transposed)."""
    upright = x.reshape(-1, 32, 32).transpose(0, 2, 1)
    n = len(upright)
    angle = rng.uniform(-0.17, 0.17, n)
    scale = rng.uniform(0.8, 1.1, n)
    aspect = np.exp(rng.uniform(-0.15, 0.15, n))
    shear = rng.uniform(-0.2, 0.2, n)
    shift = rng.uniform(-2.0, 2.0, (n, 2))
    stroke = rng.integers(-1, 3, n)  # -1 thinner, 0 same, 1-2 thicker
    centre = np.array([15.5, 15.5])
    out = np.empty_like(upright)
    for i, image in enumerate(upright):
        c, s = np.cos(angle[i]), np.sin(angle[i])
        matrix = (
            np.array([[c, -s], [s, c]])
            @ np.array([[1.0, shear[i]], [0.0, 1.0]])
            @ np.diag([aspect[i], 1 / aspect[i]])
            / scale[i]
        )
        offset = centre - matrix @ centre + shift[i]
        warped = ndi.affine_transform(image, matrix, offset, order=1, cval=1.0)
        if stroke[i] > 0:  # dark ink on white: a grey erosion thickens the strokes
            warped = ndi.grey_erosion(warped, size=(stroke[i] + 1,) * 2)
        elif stroke[i] < 0:
            warped = ndi.grey_dilation(warped, size=(2, 2))
        out[i] = warped
    return out.transpose(0, 2, 1).reshape(n, -1)


def accuracy(params: dict, x: np.ndarray, y: np.ndarray) -> float:
    h = expit(x @ params["Wlayer1"] + params["blayer1"])
    logits = h @ params["Woutput"] + params["boutput"]
    return float(np.mean(logits.argmax(axis=1) == y.argmax(axis=1)))


def train(epochs=60, copies=8, seed=16720, batch_size=32, learning_rate=2e-3, log=print):
    """Train the reference network; returns its params (float64) and a summary line."""
    rng = np.random.default_rng(seed)
    splits = {s: load_nist36(s) for s in ("train", "valid", "test")}
    x = np.vstack([splits["train"][0], splits["valid"][0]])
    y = np.vstack([splits["train"][1], splits["valid"][1]])
    start = time.perf_counter()
    x = np.vstack([x] + [distort(x, rng) for _ in range(copies)])
    y = np.vstack([y] * (copies + 1))
    log(f"training set: {len(x)} images ({copies} distorted copies each), {_since(start)}")
    bound1 = np.sqrt(6 / (1024 + HIDDEN))
    bound2 = np.sqrt(6 / (HIDDEN + 36))
    p = {
        "Wlayer1": rng.uniform(-bound1, bound1, (1024, HIDDEN)),
        "blayer1": np.zeros(HIDDEN),
        "Woutput": rng.uniform(-bound2, bound2, (HIDDEN, 36)),
        "boutput": np.zeros(36),
    }
    for epoch in range(epochs):
        lr = learning_rate * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch_size):
            idx = order[s : s + batch_size]
            xb, yb = x[idx], y[idx]
            h = expit(xb @ p["Wlayer1"] + p["blayer1"])
            z = h @ p["Woutput"] + p["boutput"]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            delta = e / e.sum(axis=1, keepdims=True) - yb
            delta_h = (delta @ p["Woutput"].T) * h * (1 - h)
            p["Woutput"] -= lr * (h.T @ delta)
            p["boutput"] -= lr * delta.sum(axis=0)
            p["Wlayer1"] -= lr * (xb.T @ delta_h)
            p["blayer1"] -= lr * delta_h.sum(axis=0)
        if (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            test = accuracy(p, *splits["test"])
            log(f"epoch {epoch + 1}/{epochs}: test accuracy {test:.4f}, {_since(start)}")
    test = accuracy(p, *splits["test"])
    source = "the bundled stand-in" if "stand-in" in nist36_source() else "the official files"
    summary = (
        f"Q4 reference classifier: the handout's 1024-64-36 network trained by "
        f"`python -m coursedata.q4_reference --epochs {epochs} --copies {copies} --seed {seed}` "
        f"on NIST36 train+valid ({source}); test-split accuracy {test:.4f}"
    )
    return p, summary


def _since(start: float) -> str:
    return f"{time.perf_counter() - start:.0f} s"


def save(params: dict, path: Path, about: str) -> None:
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    np.savez_compressed(path, about=np.array(about), **arrays)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursedata.q4_reference", description=__doc__)
    parser.add_argument("--out", default=None, help="default: <data dir>/q4_reference_net.npz")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--seed", type=int, default=16720)
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else data_dir() / "q4_reference_net.npz"
    params, about = train(args.epochs, args.copies, args.seed)
    save(params, out, about)
    print(f"{about}\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
