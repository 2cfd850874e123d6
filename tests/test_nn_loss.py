"""Q2.2.3 compute_loss_and_acc: summed cross-entropy and accuracy as a fraction."""

import warnings

import numpy as np
import oracle
import pytest
from checks import advise, advise_if_changed, snapshot
from hypothesis import given
from strategies import classification_batches, one_hot

from grader.checks.q2_2_3 import (
    ACCURACY_DEFINITION,
    ACCURACY_IS_A_FRACTION,
    CONFIDENT_TOL,
    LOG_OF_ZERO,
    LOSS_FORMULA,
    LOSS_IN_PLACE,
    LOSS_TOL,
    RETURN_PAIR,
    SANITY_TOL,
    loss_hint,
)

pytestmark = pytest.mark.q2_2_3


def _loss_and_acc(nn, y, probs):
    result = nn.compute_loss_and_acc(y, probs)
    assert result is not None and len(result) == 2, f"{RETURN_PAIR}, got {result!r}"
    loss, acc = result
    assert np.ndim(loss) == 0 and np.ndim(acc) == 0, (
        f"loss and acc should each be a single number, got shapes {np.shape(loss)} and "
        f"{np.shape(acc)}: the loss sums over the rows and the classes"
    )
    return float(loss), float(acc)


@given(batch=classification_batches())
def test_loss_is_summed_cross_entropy(nn, batch):
    y, probs = batch
    before = snapshot(y, probs)
    loss, _ = _loss_and_acc(nn, y, probs)  # first: unwritten is "not implemented", nothing else
    advise_if_changed(before, [y, probs], ["y", "probs"], "compute_loss_and_acc", LOSS_IN_PLACE)
    expected = oracle.cross_entropy_sum(*before)
    assert np.isclose(loss, expected, **LOSS_TOL), (
        f"loss = {loss!r}, expected {LOSS_FORMULA} = {expected!r}."
        + loss_hint(loss, expected, len(y))
    )


@given(batch=classification_batches())
def test_accuracy_is_a_fraction(nn, batch):
    y, probs = batch
    _, acc = _loss_and_acc(nn, y, probs)
    expected = oracle.accuracy(y, probs)
    assert 0 <= acc <= 1, f"{ACCURACY_IS_A_FRACTION}, got {acc}"
    assert np.isclose(acc, expected), (
        f"accuracy = {acc}, expected {expected}: {ACCURACY_DEFINITION}"
    )


def test_handout_sanity_values(nn):
    """Uniform predictions over 4 classes on 40 examples: loss 40 log 4 (~55), accuracy 1/4."""
    labels = np.repeat(np.arange(4), 10)
    y = one_hot(labels, 4)
    probs = np.full((40, 4), 0.25)
    probs[np.arange(40), (labels + 1) % 4] += 1e-9  # break ties towards a wrong class...
    probs[np.arange(40)[::4], labels[::4]] += 2e-9  # ...except for every 4th example
    probs /= probs.sum(axis=1, keepdims=True)
    loss, acc = _loss_and_acc(nn, y, probs)
    assert np.isclose(loss, -40 * np.log(0.25), **SANITY_TOL), f"expected ~55.45, got {loss}"
    assert np.isclose(acc, 0.25), f"expected accuracy 0.25, got {acc}"


def test_confident_right_predictions(nn):
    """Confident, right predictions, as a softmax gives them (never exactly 0 or 1): loss
    close to 0, accuracy 1. Exactly one-hot probabilities (no softmax produces them) only
    draw an advisory note when the loss is NaN there (0 * log 0), never a failure."""
    y = one_hot(np.array([2, 0, 1]), 3)
    probs = y * (1 - 2e-9) + 1e-9
    loss, acc = _loss_and_acc(nn, y, probs)
    expected = oracle.cross_entropy_sum(y, probs)
    assert np.isclose(loss, expected, **CONFIDENT_TOL) and acc == 1.0, (
        f"confident, right predictions (probability 1 - 2e-9 on each label) give loss "
        f"{expected:.3g} (close to 0) and accuracy 1, got {loss}, {acc}"
    )
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        exact, _ = _loss_and_acc(nn, y, y.copy())
    if not np.isfinite(exact):
        advise(LOG_OF_ZERO)
