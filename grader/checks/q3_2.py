"""Q3.2 (written, not scored): the learning rate tuned, 10x and 0.1x of it.

The check trains the handout's network on NIST36 as Q3.1 does (``q3_common``), at each rate of
``SWEEP_FACTORS`` times Q3.1's, over ``SWEEP_EPOCHS`` epochs; the grader draws the curves. A
diverging 10x rate is drawn, not refused.
"""

from __future__ import annotations

from pathlib import Path

from grader.check import Check, Fail
from grader.checks.nist36 import nist36_missing
from grader.checks.q3_1 import LEARNING_RATE, nist36_inputs
from grader.checks.q3_common import (
    check_stopped,
    draw_curves,
    history_arrays,
    label_axes,
    new_figure,
    nist36_training,
)

# The tuned rate and 10x, 0.1x of it, over fewer epochs (the curves part within 20).
SWEEP_FACTORS = (10.0, 1.0, 0.1)
SWEEP_EPOCHS = 20
# Three trainings of SWEEP_EPOCHS epochs, Python loops included.
SWEEP_BUDGET = 1080


def sweep_task(sub, inputs):
    """Q3.2: train at each learning rate of ``inputs['learning_rates']``; prefixes ``lr<i>_``."""
    out = {}
    for i, learning_rate in enumerate(inputs["learning_rates"]):
        trained = nist36_training(
            sub,
            learning_rate,
            inputs["batch_size"],
            inputs["epochs"],
            inputs["seed"],
            inputs["loop_seconds_per_epoch"],
        )
        out.update({f"lr{i}_{key}": value for key, value in trained.items()})
    return out


def sweep_inputs():
    return nist36_inputs(epochs=SWEEP_EPOCHS)() | {
        "learning_rates": [LEARNING_RATE * factor for factor in SWEEP_FACTORS],
        "factors": list(SWEEP_FACTORS),
    }


def judge_sweep(inputs, out):
    for i, factor in enumerate(inputs["factors"]):
        p = f"lr{i}_"
        check_stopped(inputs, out, p)
        try:
            history_arrays(
                out, inputs["epochs"], p, finite=False
            )  # 10x may diverge: that is allowed
        except Fail as exc:
            raise Fail(
                f"learning rate {inputs['learning_rates'][i]:g} ({factor:g}x): {exc}"
            ) from None


def figure_sweep(inputs, out, out_dir):
    from matplotlib import colormaps

    fig, (ax_acc, ax_loss) = new_figure(12, 4.5)
    colors = colormaps["tab10"].colors
    drawn = 0
    for i, (factor, rate) in enumerate(zip(inputs["factors"], inputs["learning_rates"])):
        try:
            history = history_arrays(out, inputs["epochs"], f"lr{i}_", finite=False)
        except Fail:
            continue
        draw_curves(ax_acc, ax_loss, history, f"lr {rate:g} ({factor:g}x) ", color=colors[i])
        drawn += 1
    if not drawn:
        return []
    label_axes(ax_acc, ax_loss)
    fig.suptitle(
        f"Q3.2 learning rates: {inputs['epochs']} epochs each, batches of {inputs['batch_size']} "
        "(solid: train, dashed: valid)",
        fontsize=9,
    )
    path = Path(out_dir) / "q3_2_learning_rates.png"
    fig.savefig(path, dpi=100)
    return [path]


CHECKS = [
    Check("3.2", "training at 10x, 1x and 0.1x the learning rate (curves drawn)", 1,
          sweep_task, judge_sweep, sweep_inputs, budget=SWEEP_BUDGET, modules=("nn", "run_q3"),
          available=nist36_missing, figures=figure_sweep),
]  # fmt: skip
