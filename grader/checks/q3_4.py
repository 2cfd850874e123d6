"""Q3.4 (written, not scored): the confusion matrix.

``run_q3.confusion_matrix`` is checked on labels and probabilities made here (repeated
(true, predicted) pairs catch fancy-index increments); the grader draws the confusion matrix
of Q3.1's trained network on the **test** split (``CONFUSION_SPLIT``), computed itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coursedata import load_nist36
from grader.check import Check, Fail, array
from grader.checks.nist36 import nist36_missing
from grader.checks.q3_1 import TRAIN_BUDGET, nist36_inputs
from grader.checks.q3_common import LAYERS, best_params, check_stopped, floats, nist36_task

FAST_BUDGET = 60
# The split the drawn confusion matrix is computed on (Q3.1's bar is on the validation split).
CONFUSION_SPLIT = "test"
TRANSPOSED = (
    "{what} is transposed: rows are the true class (argmax of y), columns the predicted class "
    "(argmax of probs)"
)
FANCY_INDEX = (
    "{what} counts each repeated (true, predicted) pair once: with fancy indexing "
    "`confusion[t, p] += 1` adds 1 once per distinct pair; use np.add.at (or a loop over the "
    "samples)"
)
ROW_SUMS = (
    "{what}: row i should sum to the number of samples of class i (rows: true class); got row "
    "sums {got}, expected {expected}"
)
WRONG_COUNTS = (
    "{what}: confusion[i, j] should count the samples of true class i predicted as class j "
    "(argmax of each row of y and of probs)"
)


# ============================================================================ task side
def confusion_task(sub, inputs):
    """``run_q3.confusion_matrix(y<i>, probs<i>)`` of each case."""
    run_q3 = sub.load("run_q3")
    out = {}
    for i in range(inputs["n_cases"]):
        confusion = run_q3.confusion_matrix(inputs[f"y{i}"].copy(), inputs[f"probs{i}"].copy())
        out[f"confusion{i}"] = confusion if confusion is None else floats(confusion)
    return out


# ============================================================================ judge side
# (seed, samples, classes) of each confusion_matrix case: many repeated (true, predicted) pairs
CONFUSION_CASES = ((0, 60, 36), (1, 40, 5), (2, 1, 2), (3, 30, 3))


def confusion_inputs():
    inputs = {"n_cases": len(CONFUSION_CASES)}
    for i, (seed, n, n_classes) in enumerate(CONFUSION_CASES):
        rng = np.random.default_rng(seed)
        inputs[f"y{i}"] = np.eye(n_classes)[rng.integers(0, n_classes, size=n)]
        inputs[f"probs{i}"] = rng.dirichlet(np.ones(n_classes), size=n)
    return inputs


def _confusion(y, probs):
    counts = np.zeros((y.shape[1], y.shape[1]))
    np.add.at(counts, (np.argmax(y, axis=1), np.argmax(probs, axis=1)), 1)
    return counts


def judge_confusion(inputs, out):
    for i in range(inputs["n_cases"]):
        y, probs = inputs[f"y{i}"], inputs[f"probs{i}"]
        n, n_classes = y.shape
        what = f"confusion_matrix(y, probs) of {n} samples and {n_classes} classes"
        got = array(out, f"confusion{i}", what, shape=(n_classes, n_classes))
        expected = _confusion(y, probs)
        if np.array_equal(got, expected):
            continue
        if np.array_equal(got, expected.T):
            raise Fail(TRANSPOSED.format(what=what))
        if np.array_equal(got, (expected > 0).astype(float)):
            raise Fail(FANCY_INDEX.format(what=what))
        got_sums, want_sums = got.sum(axis=1), expected.sum(axis=1)
        if not np.array_equal(got_sums, want_sums):
            raise Fail(ROW_SUMS.format(what=what, got=got_sums.astype(int).tolist(),
                                       expected=want_sums.astype(int).tolist()))  # fmt: skip
        raise Fail(WRONG_COUNTS.format(what=what))


def judge_test_confusion(inputs, out):
    check_stopped(inputs, out)
    best_params(out)


def figure_confusion(inputs, out, out_dir):
    from coursedata.figures import confused_pairs, confusion_figure, save
    from grader import oracle

    try:
        best = best_params(out)
    except Fail:
        return []
    test_x, test_y = load_nist36(CONFUSION_SPLIT)
    probs = oracle.softmax(oracle.mlp_logits(test_x, best, LAYERS)[0])
    confusion = _confusion(test_y, probs)
    pairs = ", ".join(f"{a}/{b} {n}" for a, b, n in confused_pairs(confusion))
    accuracy = np.trace(confusion) / len(test_y)
    title = (
        f"Q3.4 confusion matrix on the test set (accuracy {accuracy:.3f})\n"
        f"most confused pairs (both directions): {pairs}"
    )
    fig = confusion_figure(confusion, title, size=(8, 7.3))
    return [save(fig, Path(out_dir) / "q3_4_confusion.png")]


CHECKS = [
    Check("3.4", "confusion_matrix counts true (rows) against predicted (columns) classes", 1,
          confusion_task, judge_confusion, confusion_inputs, budget=FAST_BUDGET,
          modules=("run_q3",)),
    Check("3.4", "confusion matrix of the trained network on the test set (drawn)", 1,
          nist36_task, judge_test_confusion, nist36_inputs(), budget=TRAIN_BUDGET,
          modules=("nn", "run_q3"), available=nist36_missing, figures=figure_confusion,
          uses="q3_network"),
]  # fmt: skip
