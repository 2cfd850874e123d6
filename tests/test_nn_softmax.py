"""Q2.2.2 softmax: row-wise, numerically stable (an input changed in place: advice only)."""

import numpy as np
import oracle
import pytest
from checks import advise_if_changed, array_result, assert_finite, snapshot
from hypothesis import given
from strategies import finite, matrices, one_hot, vectors

from grader.checks.q2_2_2 import (
    DEFINITION_TOL,
    HARD_MAX,
    OWN_MAX,
    PROBABILITIES,
    ROW_SUM_RTOL,
    ROWS_INDEPENDENT,
    ROWS_SUM_TO_ONE,
    SHIFT_INVARIANCE,
    SOFTMAX_DEFINITION,
    SOFTMAX_IN_PLACE,
    SOFTMAX_TOL,
    STABILITY_HINT,
)

pytestmark = pytest.mark.q2_2_2


def _softmax(nn, x):
    return array_result(nn.softmax(x), "softmax(x)", x.shape)


@given(x=matrices(low=-50, high=50))
def test_rows_are_distributions(nn, x):
    p = _softmax(nn, x)
    assert_finite(p, "softmax(x)", STABILITY_HINT)
    assert np.all((p >= 0) & (p <= 1)), PROBABILITIES
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=ROW_SUM_RTOL, err_msg=ROWS_SUM_TO_ONE)


@given(x=matrices(low=-50, high=50))
def test_matches_the_definition(nn, x):
    (before,) = snapshot(x)
    p = _softmax(nn, x)  # first: an unwritten softmax is "not implemented", nothing else
    advise_if_changed([before], [x], ["x"], "softmax", SOFTMAX_IN_PLACE)
    expected = oracle.softmax(before)
    hard_max = one_hot(np.argmax(before, axis=1), x.shape[1])
    assert not (np.array_equal(p, hard_max) and not np.array_equal(expected, hard_max)), (
        f"softmax(x) returned the one-hot of each row's argmax. {HARD_MAX}"
    )
    np.testing.assert_allclose(p, expected, **DEFINITION_TOL, err_msg=SOFTMAX_DEFINITION)


@given(x=matrices(low=-20, high=20), data=vectors(low=-1e3, high=1e3))
def test_invariant_to_a_different_shift_per_row(nn, x, data):
    shifts = np.resize(data, (x.shape[0], 1))
    np.testing.assert_allclose(
        _softmax(nn, x + shifts),
        oracle.softmax(x),
        **SOFTMAX_TOL,
        err_msg=SHIFT_INVARIANCE + STABILITY_HINT,
    )


@given(x=matrices(low=-1e3, high=1e3))
def test_finite_for_large_logits(nn, x):
    p = _softmax(nn, x)
    assert_finite(p, "softmax of logits up to 1000 in magnitude", STABILITY_HINT)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=ROW_SUM_RTOL, err_msg=STABILITY_HINT)


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
        OWN_MAX,
    )
    np.testing.assert_allclose(
        p,
        oracle.softmax(x),
        **DEFINITION_TOL,
        err_msg=ROWS_INDEPENDENT,
    )
