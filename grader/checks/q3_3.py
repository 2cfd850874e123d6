"""Q3.3 (written, not scored): the first layer's weights as images.

``run_q3.weight_grid`` is checked on images made here (a bright top row shows a transposed
tile); the grader draws the first-layer weights before and after Q3.1's training on NIST36
(the network Q3.1's process trained, ``uses="q3_network"``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.check import Check, Fail, array
from grader.checks.nist36 import nist36_missing
from grader.checks.q3_1 import TRAIN_BUDGET, nist36_inputs
from grader.checks.q3_common import (
    HIDDEN_SIZE,
    IN_SIZE,
    best_params,
    check_stopped,
    floats,
    new_figure,
    nist36_task,
)

FAST_BUDGET = 60
TRANSPOSED_TILE = (
    "{what}: tile {k} is transposed (a bright left column where the image has a bright top "
    "row): NIST36 stores images transposed, so the upright tile is W[:, k].reshape(side, "
    "side).T"
)
WRONG_TILE = (
    "{what}: tile {k} (grid row {r}, column {c}) should be W[:, k].reshape(32, 32).T, with "
    "tiles in reading order (left to right, then top to bottom), touching, with their raw "
    "values"
)


# ============================================================================ task side
def weight_grid_task(sub, inputs):
    """``run_q3.weight_grid`` of each ``W<i>`` (default ``n_cols`` when it is 8)."""
    run_q3 = sub.load("run_q3")
    out = {}
    for i, n_cols in enumerate(inputs["n_cols"]):
        W = inputs[f"W{i}"]
        grid = run_q3.weight_grid(W) if n_cols == 8 else run_q3.weight_grid(W, n_cols)
        out[f"grid{i}"] = grid if grid is None else floats(grid)
    return out


# ============================================================================ judge side
# (number of units, columns) of each weight_grid case: 64 units in the default 8 columns
GRID_CASES = ((64, 8), (12, 4), (6, 6))


SIDE = 32


def _grid(W, n_cols, side=SIDE):
    """The tiles ``W[:, k].reshape(side, side).T`` in reading order, written plainly."""
    n_units = W.shape[1]
    grid = np.zeros((side * (n_units // n_cols), side * n_cols))
    for k in range(n_units):
        r, c = divmod(k, n_cols)
        grid[r * side : (r + 1) * side, c * side : (c + 1) * side] = W[:, k].reshape(side, side).T
    return grid


def weight_grid_inputs():
    inputs = {"n_cols": [n_cols for _, n_cols in GRID_CASES]}
    rng = np.random.default_rng(3)
    for i, (n_units, _) in enumerate(GRID_CASES):
        images = rng.normal(size=(n_units, SIDE, SIDE))
        images[:, 0, :] += 10.0  # a bright top row: a transposed tile shows a bright left column
        inputs[f"W{i}"] = np.stack([image.T.ravel() for image in images], axis=1)
    return inputs


def judge_weight_grid(inputs, out):
    for i, n_cols in enumerate(inputs["n_cols"]):
        W = inputs[f"W{i}"]
        n_units = W.shape[1]
        rows = n_units // n_cols
        call = "weight_grid(W)" if n_cols == 8 else f"weight_grid(W, n_cols={n_cols})"
        what = f"{call} of {n_units} units"
        grid = array(out, f"grid{i}", what, shape=(rows * SIDE, n_cols * SIDE))
        expected = _grid(W, n_cols)
        for k in range(n_units):
            r, c = divmod(k, n_cols)
            tile = grid[r * SIDE : (r + 1) * SIDE, c * SIDE : (c + 1) * SIDE]
            want = expected[r * SIDE : (r + 1) * SIDE, c * SIDE : (c + 1) * SIDE]
            if np.array_equal(tile, want):
                continue
            if np.array_equal(tile, want.T):
                raise Fail(TRANSPOSED_TILE.format(what=what, k=k))
            raise Fail(WRONG_TILE.format(what=what, k=k, r=r, c=c))


def judge_trained_weights(inputs, out):
    check_stopped(inputs, out)
    best = best_params(out)
    initial = array(out, "initial_Wlayer1", "params['Wlayer1'] before training",
                    shape=(IN_SIZE, HIDDEN_SIZE))  # fmt: skip
    if np.array_equal(initial, best["Wlayer1"]):
        raise Fail("the trained Wlayer1 equals its initial value: train should update it")


def _weights_image(W):
    grid = _grid(W, 8)
    limit = np.percentile(np.abs(grid), 99.5) or 1.0
    return grid, limit


def figure_weights(inputs, out, out_dir):
    try:
        best = best_params(out)
        initial = array(out, "initial_Wlayer1", "initial Wlayer1", shape=(IN_SIZE, HIDDEN_SIZE))
    except Fail:
        return []
    fig, axes = new_figure(13, 6.8)
    for ax, W, title in ((axes[0], initial, "initial"), (axes[1], best["Wlayer1"], "trained")):
        grid, limit = _weights_image(W)
        ax.imshow(grid, cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
        for k in range(1, 8):
            ax.axhline(k * SIDE - 0.5, color="tab:red", linewidth=0.5)
            ax.axvline(k * SIDE - 0.5, color="tab:red", linewidth=0.5)
        ax.set(title=f"{title} Wlayer1 (64 units, upright 32x32)", xticks=[], yticks=[])
    fig.suptitle("Q3.3 first-layer weights before and after training on NIST36", fontsize=10)
    path = Path(out_dir) / "q3_3_weights.png"
    fig.savefig(path, dpi=100)
    return [path]


CHECKS = [
    Check("3.3", "weight_grid tiles each unit upright, in reading order", 1, weight_grid_task,
          judge_weight_grid, weight_grid_inputs, budget=FAST_BUDGET, modules=("run_q3",)),
    Check("3.3", "first-layer weights before and after training on NIST36 (drawn)", 1,
          nist36_task, judge_trained_weights, nist36_inputs(), budget=TRAIN_BUDGET,
          modules=("nn", "run_q3"), available=nist36_missing, figures=figure_weights,
          uses="q3_network"),
]  # fmt: skip
