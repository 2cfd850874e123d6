"""Q4.3 (written): the boxes ``findLetters`` finds, drawn over its ``bw`` for each photo.

No points: the grader runs the submission's ``findLetters`` on each photo (the samples, or an
instructor's ``--photos``) and draws the returned boxes (red) over the returned ``bw`` with
its own code, ``q4_3_<photo>.png``, for the write-up's reader. ``bw`` comes back as the
darkest pixel of blocks at most ``FIGURE_SIDE`` wide (``grader/checks/boxes.py``), so thin
strokes stay visible; the check passes when there are boxes to draw over a ``bw`` of the
photo's shape in [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.check import Check, Fail, array
from grader.checks.boxes import problem, valid_boxes
from grader.checks.photos import (
    PHOTO_BUDGET,
    SAMPLES,
    PhotoOptions,
    find_letters_photo_task,
    photo_available,
)

FIGURE_WIDTH = 10  # inches, at 100 dpi


def judge_photo_figure(inputs, out):
    problem(out)
    name = inputs["name"]
    shape = tuple(int(s) for s in array(out, "shape", "the photo's shape"))
    found = valid_boxes(out, "bboxes", f"bboxes of findLetters on {name}", shape)
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
    fig = Figure(figsize=(FIGURE_WIDTH, FIGURE_WIDTH * H / W + 0.4))
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


def _figure_inputs(name: str, options: PhotoOptions):
    def make():
        return {"photo": str(options.folder / name), "name": name, "bw": "figure"}

    return make


def checks(photos: PhotoOptions | None = None) -> list[Check]:
    """A figure per photo: the samples, or ``photos``."""
    options = photos or SAMPLES
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
            available=photo_available(name, options, truth=""),
            figures=draw_photo_figure,
            private=("name",),
        )
        for name in options.names()
    ]


CHECKS = checks(SAMPLES)
