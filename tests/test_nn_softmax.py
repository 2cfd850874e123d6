"""Q2.2.2 softmax: row-wise, numerically stable, input untouched."""

import numpy as np
import oracle
import pytest
from checks import array_result, assert_finite, assert_unchanged, snapshot
from hypothesis import given
from strategies import finite, matrices, one_hot, vectors

from grader.checks.q2 import HARD_MAX, SOFTMAX_DEFINITION, STABILITY_HINT

pytestmark = pytest.mark.q2_2_2


def _softmax(nn, x):
    return array_result(nn.softmax(x), "softmax(x)", x.shape)


@given(x=matrices(low=-50, high=50))
def test_rows_are_distributions(nn, x):
    p = _softmax(nn, x)
    assert_finite(p, "softmax(x)", STABILITY_HINT)
    assert np.all((p >= 0) & (p <= 1)), "softmax values must lie in [0, 1]"
    np.testing.assert_allclose(
        p.sum(axis=1),
        1.0,
        rtol=1e-9,
        err_msg="each row of softmax(x) must sum to 1: normalise along axis=1 (one example "
        "per row), not over the whole array or the columns",
    )


@given(x=matrices(low=-50, high=50))
def test_matches_the_definition(nn, x):
    p = _softmax(nn, x)
    expected = oracle.softmax(x)
    hard_max = one_hot(np.argmax(x, axis=1), x.shape[1])
    assert not (np.array_equal(p, hard_max) and not np.array_equal(expected, hard_max)), (
        f"softmax(x) returned the one-hot of each row's argmax. {HARD_MAX}"
    )
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-300, err_msg=SOFTMAX_DEFINITION)


@given(x=matrices(low=-20, high=20), data=vectors(low=-1e3, high=1e3))
def test_invariant_to_a_different_shift_per_row(nn, x, data):
    shifts = np.resize(data, (x.shape[0], 1))
    np.testing.assert_allclose(
        _softmax(nn, x + shifts),
        oracle.softmax(x),
        rtol=1e-7,
        atol=1e-12,
        err_msg="adding a constant to a row must not change its softmax (Q1.1). " + STABILITY_HINT,
    )


@given(x=matrices(low=-1e3, high=1e3))
def test_finite_for_large_logits(nn, x):
    p = _softmax(nn, x)
    assert_finite(p, "softmax of logits up to 1000 in magnitude", STABILITY_HINT)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-9, err_msg=STABILITY_HINT)


@given(scale=finite(100.0, 1e3))
def test_batch_mixing_rows_of_very_different_scales(nn, scale):
    x = np.array(
        [
            [scale, scale - 1, scale - 2],
            [1e-3, 0.0, -1e-3],
            [-scale, -scale - 1, -scale + 1],
        ]
    )
    p = _softmax(nn, x)
    assert_finite(
        p,
        "softmax of a batch mixing large and small rows",
        "Subtract each row's own max (axis=1, keepdims=True), not the global max.",
    )
    np.testing.assert_allclose(
        p,
        oracle.softmax(x),
        rtol=1e-9,
        err_msg="each row's softmax is independent of the other rows: subtract each row's "
        "own max (axis=1, keepdims=True), not the global max",
    )


@given(x=matrices(low=-1e3, high=1e3))
def test_does_not_modify_its_input(nn, x):
    before = snapshot(x)
    nn.softmax(x)
    assert_unchanged(before, [x], ["x"], "softmax")
