"""Q2: the fully connected network in numpy (``nn.py``, ``run_q2.py``)."""

from __future__ import annotations

import numpy as np

from grader import oracle
from grader.check import Check, Fail, array, close

STABILITY_HINT = "Subtract each row's max before exp (Q1.1: softmax ignores the shift)."


# ----------------------------------------------------------------------------- Q2.2.2
def softmax_inputs(low, high, shift=0.0, seed=0):
    def make():
        rng = np.random.default_rng(seed)
        x = rng.uniform(low, high, size=(7, 5))
        return {"x": x + shift * rng.uniform(-1, 1, size=(7, 1))}

    return make


def softmax_task(sub, inputs):
    nn = sub.load("nn")
    x = inputs["x"]
    return {"probs": nn.softmax(x), "x_after": x}


def judge_softmax(inputs, out):
    x = inputs["x"]
    probs = array(out, "probs", "softmax(x)", shape=x.shape, hint=STABILITY_HINT)
    if not np.array_equal(out["x_after"], x):
        raise Fail(
            "softmax changed its argument `x` in place; compute a new array instead "
            "(e.g. `x = x - m`, not `x -= m`)"
        )
    sums = probs.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=1e-9):
        raise Fail(
            "each row of softmax(x) must sum to 1: normalise along axis=1 (one example per "
            f"row), not over the whole array or the columns (row sums: {np.round(sums, 4)})"
        )
    close(
        probs,
        oracle.softmax(x),
        "softmax(x)",
        rtol=1e-7,
        atol=1e-12,
        hint="softmax(x)[i, j] = exp(x[i, j] - max_k x[i, k]) / sum_k exp(x[i, k] - max_k x[i, k])",
    )


CHECKS = [
    Check("2.2.2", "rows are probability distributions equal to the definition", 1,
          softmax_task, judge_softmax, softmax_inputs(-5, 5), budget=30),
    Check("2.2.2", "a different large shift per row changes nothing", 1,
          softmax_task, judge_softmax, softmax_inputs(-20, 20, shift=1e3, seed=1), budget=30),
    Check("2.2.2", "finite for logits up to 1000 in magnitude", 1,
          softmax_task, judge_softmax, softmax_inputs(-1e3, 1e3, seed=2), budget=30),
]  # fmt: skip
