"""Q2.2.3 ``compute_loss_and_acc``: the cross-entropy summed over the batch, and the accuracy.

Everything that decides Q2.2.3: the checks, tolerances and teaching messages. Expected values
come from :mod:`grader.oracle`, imported by the judges and ``inputs()`` when they run.
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail, number
from grader.checks.arrays import one_hot, unchanged

SUM_NOT_MEAN = "sum over the batch, don't average"
LOG_OF_ZERO = (
    "Advice, not a failure: compute_loss_and_acc(y, probs) gives NaN or inf when a "
    "probability is exactly 0 (0 * log 0). The handout's softmax never returns an exact 0 for "
    "moderate logits, so your code is right for the handout; to be safe with extreme logits, "
    "take the log of the labels' probabilities only (np.log(probs[y == 1])) or clip probs."
)
RETURN_PAIR = "compute_loss_and_acc should return the pair (loss, acc)"
LOSS_FORMULA = "loss = -sum_i log(probs[i, label_i])"
ACCURACY_IS_A_FRACTION = "accuracy is a fraction in [0, 1] (not a count or a percentage)"
ACCURACY_DEFINITION = "the fraction of rows whose argmax of probs equals the argmax of y"
# the loss against the oracle's; the handout's sanity values (40 ln 4, ~0)
LOSS_TOL = {"rtol": 1e-9, "atol": 1e-12}
SANITY_TOL = {"rtol": 1e-6, "atol": 1e-6}
# the self-check's confident, right predictions (a loss near 1e-8): relative
CONFIDENT_TOL = {"rtol": 1e-6, "atol": 1e-12}


def loss_hint(loss: float, expected: float, n: int) -> str:
    """What a ``loss`` off the summed cross-entropy ``expected`` of ``n`` rows looks like:
    averaged, or of the wrong sign ("" when neither)."""
    if n > 1 and np.isclose(loss * n, expected, rtol=LOSS_TOL["rtol"]):
        return f" It equals the sum divided by N = {n}: {SUM_NOT_MEAN}."
    if np.isclose(-loss, expected, rtol=LOSS_TOL["rtol"]):
        return " It has the wrong sign: the loss is minus the sum of the log-probabilities."
    return ""


def loss_inputs():
    """12 rows over 5 classes; the argmax of probs is the label on exactly 7 of them."""
    from grader import oracle

    rng = np.random.default_rng(20)
    n, c = 12, 5
    labels = rng.integers(0, c, size=n)
    logits = rng.normal(scale=1.5, size=(n, c))
    right = np.zeros(n, dtype=bool)
    right[rng.permutation(n)[:7]] = True
    for i in range(n):
        others = np.delete(logits[i], labels[i]).max()
        logits[i, labels[i]] = others + 0.5 if right[i] else others - 0.5
    return {"y": one_hot(labels, c), "probs": oracle.softmax(logits)}


def loss_task(sub, inputs):
    nn = sub.load("nn")
    y, probs = inputs["y"], inputs["probs"]
    result = nn.compute_loss_and_acc(y, probs)
    out = {"y_after": y, "probs_after": probs}
    try:
        out["loss"], out["acc"] = result
    except (TypeError, ValueError):
        out["result"] = repr(result)[:200]
    return out


def _loss_and_acc(out):
    if "result" in out:
        raise Fail(f"{RETURN_PAIR}, got {out['result']}")
    return number(out, "loss", "the loss"), number(out, "acc", "the accuracy")


def judge_loss(inputs, out):
    from grader import oracle

    y, probs = inputs["y"], inputs["probs"]
    loss, _ = _loss_and_acc(out)
    unchanged(out, "probs_after", probs, "compute_loss_and_acc", "probs", "don't write into it")
    unchanged(out, "y_after", y, "compute_loss_and_acc", "y", "don't write into it")
    expected = oracle.cross_entropy_sum(y, probs)
    if not np.isclose(loss, expected, **LOSS_TOL):
        raise Fail(
            f"loss = {loss!r} for {len(y)} rows, expected "
            f"{expected!r} (the cross-entropy summed over the batch)."
            + loss_hint(loss, expected, len(y)),
            reread="Q2.2.3",
            formula=LOSS_FORMULA,
        )


def judge_accuracy(inputs, out):
    from grader import oracle

    y, probs = inputs["y"], inputs["probs"]
    _, acc = _loss_and_acc(out)
    expected = oracle.accuracy(y, probs)
    if not 0 <= acc <= 1:
        raise Fail(
            f"{ACCURACY_IS_A_FRACTION}, got {acc} for "
            f"{len(y)} rows of which {round(expected * len(y))} are right"
        )
    if not np.isclose(acc, expected):
        raise Fail(f"accuracy = {acc}, expected {expected}: {ACCURACY_DEFINITION}")


def loss_sanity_inputs():
    """The handout's sanity values: uniform predictions, and confident right ones."""
    labels = np.repeat(np.arange(4), 10)
    y = one_hot(labels, 4)
    uniform = np.full((40, 4), 0.25)
    uniform[np.arange(40), (labels + 1) % 4] += 1e-9  # ties broken towards a wrong class...
    uniform[np.arange(40)[::4], labels[::4]] += 2e-9  # ...except for every 4th example
    uniform /= uniform.sum(axis=1, keepdims=True)
    confident = y * (1 - 3e-9) + 1e-9
    return {"y": y, "uniform": uniform, "confident": confident}


def loss_sanity_task(sub, inputs):
    nn = sub.load("nn")
    out = {}
    for case in ("uniform", "confident"):
        result = nn.compute_loss_and_acc(inputs["y"], inputs[case])
        try:
            out[f"loss_{case}"], out[f"acc_{case}"] = result
        except (TypeError, ValueError):
            out["result"] = repr(result)[:200]
    return out


def judge_loss_sanity(inputs, out):
    """The loss only (the accuracy has its own check); an averaged loss is left to the
    first check, so that each mistake costs one check."""
    from grader import oracle

    if "result" in out:
        raise Fail(f"{RETURN_PAIR}, got {out['result']}")
    y = inputs["y"]
    cases = {
        "uniform": "predictions of 1/4 for every class on 40 rows",
        "confident": "confident, right predictions (probability 1 - 3e-9 on the label)",
    }
    for case, label in cases.items():
        loss = number(out, f"loss_{case}", f"the loss for {label}")
        expected = oracle.cross_entropy_sum(y, inputs[case])
        if not any(np.isclose(loss, value, **SANITY_TOL) for value in (expected, expected / 40)):
            raise Fail(
                f"for {label} the loss should be {expected:.6g} (-sum log p of the labels; "
                f"40 ln 4 = {-40 * np.log(0.25):.4g} for the uniform ones), got {loss!r}"
            )


CHECKS = [
    # Q2.2.3 compute_loss_and_acc
    Check("2.2.3", "the loss is the cross-entropy summed over the batch", 1.25,
          loss_task, judge_loss, loss_inputs, budget=30),
    Check("2.2.3", "the accuracy is the fraction of rows predicted right", 1,
          loss_task, judge_accuracy, loss_inputs, budget=30),
    Check("2.2.3", "the handout's sanity losses (uniform and confident predictions)", 0.75,
          loss_sanity_task, judge_loss_sanity, loss_sanity_inputs, budget=30),
]  # fmt: skip
