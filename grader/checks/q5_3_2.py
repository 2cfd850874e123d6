"""Q5.3.2 (extra credit): ``average_psnr`` and the trained autoencoder's validation PSNR.

Fast checks call ``average_psnr`` on random images and on NIST36 validation images with
noisy copies made here (against the oracle's per-image PSNR, data range 1), and on two images
whose pooled and averaged PSNRs differ. The slow check reconstructs every validation image
with the network Q5.2's process trained (``uses="q5_autoencoder"``; else trained here the
same way); the grader computes the average PSNR itself and holds it to the bar of the data in
use.
"""

from __future__ import annotations

import numpy as np

from coursedata import load_nist36
from grader.check import Check, Fail, array, number
from grader.checks.nist36 import nist36_missing, official_data
from grader.checks.q5_2 import TRAIN_BUDGET, training_inputs
from grader.checks.q5_common import (
    floats,
    nist36_reconstructions_task,
)

FAST_BUDGET = 60
# Average validation PSNR. Bundled stand-in: the reference solutions reach 17.42, 17.18 and
# 17.xx dB (numpy seeds 0, 1, 2), so the bound is 16.5 dB. Official NIST36: the handout expects
# about 15 dB; the bound there is 14 dB.
STANDIN_PSNR = 16.5
OFFICIAL_PSNR = 14.0
# average_psnr against the oracle's.
PSNR_RTOL = 1e-9
# Two images of 40 and 20 dB: the pooled PSNR (refused) and their 30 dB average, within these.
POOLED_ATOL, AVERAGE_ATOL = 1e-6, 1e-9
PSNR_WRONG = (
    "for {n} image(s) of {d} pixels, the average of each image's PSNR is {expected:.6f} dB; "
    "got {got:.6f}."
)
POOLED_HINT = " That is the PSNR of all the pixels together: average each image's PSNR."
RANGE_HINT = " Pass data_range=1.0: the pixels lie in [0, 1]."
POOLED = (
    "{got:.2f} dB is the PSNR of all the pixels together; Q5.3.2 averages the PSNR of each "
    "image: here (40 + 20) / 2 = 30 dB"
)
NOT_THIRTY = (
    "images with PSNRs of 40 and 20 dB (MSE 1e-4 and 1e-2) average to 30 dB; got {got:.4f} "
    "(data_range 1)"
)
BELOW_BAR = (
    "after training with the handout's defaults, the average validation PSNR is {psnr:.2f} dB "
    "on {data}; expected >= {bound} dB (the reference solutions reach about 17.4 dB on the "
    "stand-in)"
)


# ============================================================================ task side
def psnr_task(sub, inputs):
    """``average_psnr`` of each case (images, reconstructions from the grader)."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i in range(inputs["n_cases"]):
        value = run_q5.average_psnr(inputs[f"c{i}_x"].copy(), inputs[f"c{i}_r"].copy())
        out[f"c{i}_psnr"] = floats(value)
    return out


# ============================================================================ judge side
# (batch, pixels) of the random cases; then NIST36 validation images with noisy copies
PSNR_SHAPES = ((1, 4), (3, 17), (6, 64))


def psnr_inputs():
    rng = np.random.default_rng(40)
    inputs = {"n_cases": len(PSNR_SHAPES) + 1}
    for i, (n, d) in enumerate(PSNR_SHAPES):
        images = rng.uniform(size=(n, d))
        noise = rng.normal(size=(n, d)) * rng.uniform(0.01, 0.3, size=(n, 1))
        inputs[f"c{i}_x"] = images
        inputs[f"c{i}_r"] = np.clip(images + noise, 0, 1)
    x, _ = load_nist36("valid")
    images = x[:: len(x) // 40][:40]
    noise = rng.normal(size=images.shape) * rng.uniform(0.02, 0.4, size=(len(images), 1))
    inputs[f"c{len(PSNR_SHAPES)}_x"] = images
    inputs[f"c{len(PSNR_SHAPES)}_r"] = np.clip(images + noise, 0, 1)
    return inputs


def judge_psnr(inputs, out):
    from grader import oracle

    for i in range(inputs["n_cases"]):
        x, r = inputs[f"c{i}_x"], inputs[f"c{i}_r"]
        got = number(out, f"c{i}_psnr", "average_psnr(x, reconstructions)")
        expected = float(np.mean(oracle.psnr(x, r)))
        if np.isclose(got, expected, rtol=PSNR_RTOL):
            continue
        hint = ""
        if np.isclose(got, 10 * np.log10(1 / np.mean((x - r) ** 2)), rtol=PSNR_RTOL):
            hint = POOLED_HINT
        elif any(np.isclose(got - expected, 20 * np.log10(m), atol=1e-4) for m in (2, 255)):
            hint = RANGE_HINT
        raise Fail(
            PSNR_WRONG.format(n=len(x), d=x.shape[1], expected=expected, got=got) + hint,
            reread="Q5.3.2",
            formula="PSNR = 10 log10(1 / MSE), the MSE over one image's pixels",
        )


def pooled_inputs():
    images = np.full((2, 100), 0.5)
    return {"n_cases": 1, "c0_x": images, "c0_r": images + np.array([[0.01], [0.1]])}


def judge_pooled(inputs, out):
    got = number(out, "c0_psnr", "average_psnr(x, reconstructions)")
    x, r = inputs["c0_x"], inputs["c0_r"]
    pooled = 10 * np.log10(1 / np.mean((x - r) ** 2))
    if np.isclose(got, pooled, atol=POOLED_ATOL):
        raise Fail(POOLED.format(got=got))
    if not np.isclose(got, 30.0, atol=AVERAGE_ATOL):
        raise Fail(NOT_THIRTY.format(got=got))


def all_valid_inputs():
    return {"indices": np.zeros(0, dtype=int)} | training_inputs()


def judge_nist36_psnr(inputs, out):
    from grader import oracle

    x, _ = load_nist36("valid")
    reconstructions = array(out, "reconstructions", "autoencoder_forward of the validation set",
                            shape=x.shape)  # fmt: skip
    psnr = float(np.mean(oracle.psnr(x, reconstructions)))
    official = official_data()
    bound = OFFICIAL_PSNR if official else STANDIN_PSNR
    if not psnr >= bound:
        data = "official NIST36" if official else "the bundled stand-in"
        raise Fail(BELOW_BAR.format(psnr=psnr, data=data, bound=bound))


CHECKS = [
    Check("5.3.2", "average_psnr averages each image's PSNR (data_range 1)", 1, psnr_task,
          judge_psnr, psnr_inputs, budget=FAST_BUDGET, modules=("run_q5",),
          available=nist36_missing),
    Check("5.3.2", "average_psnr averages the images, not the pixels", 0.5, psnr_task,
          judge_pooled, pooled_inputs, budget=FAST_BUDGET, modules=("run_q5",)),
    Check("5.3.2", "NIST36: the average validation PSNR reaches the bar", 3.5,
          nist36_reconstructions_task, judge_nist36_psnr, all_valid_inputs, budget=TRAIN_BUDGET,
          modules=("nn", "run_q5"), available=nist36_missing, uses="q5_autoencoder"),
]  # fmt: skip
