"""Figures drawn twice: by the scripts' given plots (``run_q3.py``, ``run_q5.py``) from the
student's own run, and by the grader from what a submission returned. One drawing each, so
that the student's figure and the grader's look alike.

Each function returns a :class:`matplotlib.figure.Figure` (no pyplot: nothing global, no
display); :func:`save` writes it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from coursedata.nist36 import CLASSES


def confused_pairs(confusion, k: int = 5) -> list[tuple[str, str, int]]:
    """The ``k`` pairs of different classes most often mistaken for each other in
    ``confusion`` (36x36): ``(class a, class b, count)``, where count adds both directions,
    most confused first (Q3.4)."""
    confusion = np.asarray(confusion)
    both = np.triu(confusion + confusion.T, k=1)
    order = np.argsort(both, axis=None)[::-1][:k]
    rows, cols = np.unravel_index(order, both.shape)
    return [(CLASSES[i], CLASSES[j], int(both[i, j])) for i, j in zip(rows, cols)]


def confusion_figure(confusion, title: str, size=(8, 7)) -> Figure:
    """A 36x36 confusion matrix (rows: true class, columns: predicted), A-Z0-9 on both
    axes (Q3.4)."""
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(confusion, cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label="test samples")
    ticks = np.arange(len(CLASSES))
    ax.set_xticks(ticks, list(CLASSES), fontsize=7)
    ax.set_yticks(ticks, list(CLASSES), fontsize=7)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    return fig


def loss_figure(history, title: str, size=(6, 4)) -> Figure:
    """The autoencoder's training loss, one value per epoch (Q5.2)."""
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(1, len(history) + 1), history)
    ax.set(xlabel="epoch", ylabel="squared error, summed over the epoch", title=title)
    ax.grid(True, alpha=0.3)
    return fig


def pairs_figure(images, reconstructions, names, per_row: int, title: str) -> Figure:
    """Each image upright beside its reconstruction, ``per_row`` pairs a row, titled with
    its class name ``names[k]`` (Q5.3.1). Values are shown in [0, 1]."""
    side = int(round(np.sqrt(np.shape(images)[1])))
    n_rows = len(images) // per_row
    fig = Figure(figsize=(2.6 * per_row, 1.4 * n_rows + 0.4), layout="constrained")
    axes = fig.subplots(n_rows, 2 * per_row, squeeze=False)
    for k, (image, reconstruction, name) in enumerate(zip(images, reconstructions, names)):
        row, pair = divmod(k, per_row)
        for col, picture, what in ((0, image, "valid"), (1, reconstruction, "reconstr.")):
            ax = axes[row, 2 * pair + col]
            picture = np.clip(np.asarray(picture, dtype=float), 0, 1).reshape(side, side).T
            ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{name} {what}", fontsize=8)
            ax.set(xticks=[], yticks=[])
    fig.suptitle(title, fontsize=9)
    return fig


def save(fig: Figure, path) -> Path:
    """Write ``fig`` to ``path`` (its folder made), at 100 dpi; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
