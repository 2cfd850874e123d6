"""Q2.2.2 ``softmax``: row-wise probabilities, stable for large logits.

Everything that decides Q2.2.2: the checks, tolerances and teaching messages. Expected values
come from :mod:`grader.oracle`, imported by the judges when they run.
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail, array, close
from grader.checks.arrays import one_hot, unchanged

STABILITY_HINT = (
    "Subtract each row's max before exp (Q1.1: softmax ignores the shift): each row's own "
    "max, not the global max of the whole array."
)
SOFTMAX_DEFINITION = (
    "softmax(x)[i, j] = exp(x[i, j] - max_k x[i, k]) / sum_k exp(x[i, k] - max_k x[i, k])"
)
HARD_MAX = (
    "softmax is not a hard max: every class keeps a probability exp(x_j - max) / sum, "
    "only the largest logit's is close to 1"
)
ROWS_SUM_TO_ONE = (
    "each row of softmax(x) must sum to 1: normalise along axis=1 (one example per row), not "
    "over the whole array or the columns"
)
PROBABILITIES = "softmax values must lie in [0, 1]"
SHIFT_INVARIANCE = "adding a constant to a row must not change its softmax (Q1.1). "
OWN_MAX = "Subtract each row's own max (axis=1, keepdims=True), not the global max."
ROWS_INDEPENDENT = (
    "each row's softmax is independent of the other rows: subtract each row's own max "
    "(axis=1, keepdims=True), not the global max"
)
# each row's sum against 1, and the probabilities against the oracle's
ROW_SUM_RTOL = 1e-9
SOFTMAX_TOL = {"rtol": 1e-7, "atol": 1e-12}
# the self-check's logits in [-50, 50] against the definition, every probability relative
# (none is below 1e-44 there); also its batches mixing rows of very different scales
DEFINITION_TOL = {"rtol": 1e-9, "atol": 1e-300}


def softmax_inputs(low, high, shift=0.0, seed=0, near_top=False):
    """7 x 5 logits uniform in [low, high] plus a shift per row. ``near_top``: two more
    logits of each row lie within 3 of its max, so that even logits as wide apart as 1000
    give probabilities that are not one-hot (a hard max earns nothing)."""

    def make():
        rng = np.random.default_rng(seed)
        x = rng.uniform(low, high, size=(7, 5))
        if near_top:
            for row in x:
                others = [j for j in rng.permutation(len(row)) if j != np.argmax(row)][:2]
                row[others] = row.max() - rng.uniform(0.1, 3.0, size=2)
        return {"x": x + shift * rng.uniform(-1, 1, size=(7, 1))}

    return make


def softmax_task(sub, inputs):
    nn = sub.load("nn")
    x = inputs["x"]
    return {"probs": nn.softmax(x), "x_after": x}


def judge_softmax(inputs, out):
    from grader import oracle

    x = inputs["x"]
    probs = array(out, "probs", "softmax(x)", shape=x.shape, hint=STABILITY_HINT)
    sums = probs.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=ROW_SUM_RTOL):
        raise Fail(f"{ROWS_SUM_TO_ONE} (row sums: {np.round(sums, 4)})")
    hard_max = one_hot(np.argmax(x, axis=1), x.shape[1])
    if np.array_equal(probs, hard_max):
        raise Fail(f"softmax(x) returned the one-hot of each row's argmax. {HARD_MAX}")
    close(
        probs,
        oracle.softmax(x),
        "softmax(x)",
        **SOFTMAX_TOL,
        formula=SOFTMAX_DEFINITION,
        reread="Q2.2.2",
    )


def judge_softmax_untouched(inputs, out):
    """In place is this check's own mistake; a wrong softmax fails it too (no free points)."""
    unchanged(out, "x_after", inputs["x"], "softmax", "x", "e.g. `x = x - m`, not `x -= m`")
    judge_softmax(inputs, out)


CHECKS = [
    # Q2.2.2 softmax
    Check("2.2.2", "rows are probability distributions equal to the definition", 1,
          softmax_task, judge_softmax, softmax_inputs(-5, 5), budget=30),
    Check("2.2.2", "a different large shift per row changes nothing", 0.75,
          softmax_task, judge_softmax, softmax_inputs(-20, 20, shift=1e3, seed=1, near_top=True),
          budget=30),
    Check("2.2.2", "finite for logits up to 1000 in magnitude", 0.75,
          softmax_task, judge_softmax, softmax_inputs(-1e3, 1e3, seed=2, near_top=True),
          budget=30),
    Check("2.2.2", "leaves its argument x unchanged", 0.5,
          softmax_task, judge_softmax_untouched, softmax_inputs(-5, 5, seed=3), budget=30),
]  # fmt: skip
