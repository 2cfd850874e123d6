"""Q2.2.1 sigmoid and forward."""

import numpy as np
import oracle
import pytest
from checks import array_result, assert_finite, assert_unchanged, snapshot
from hypothesis import given
from strategies import finite, layer_names, matrices, seeds, sizes

from grader.checks.q2_2_1 import (
    APPLY_ACTIVATION,
    CACHE_MISSING,
    CACHE_TUPLE,
    CACHED_X,
    EXTREMES_ATOL,
    FORWARD_DEFAULT,
    FORWARD_TOL,
    POST_ACT,
    PRE_ACT,
    SIGMOID_FORMULA,
    SIGMOID_HINT,
    SIGMOID_RANGE,
    SIGMOID_SYMMETRY,
    SIGMOID_TOL,
    SLOPE,
    SLOPE_ATOL,
    SLOPE_EPS,
    SYMMETRY_TOL,
)

pytestmark = pytest.mark.q2_2_1


@given(x=matrices(low=-1e3, high=1e3))
def test_sigmoid_range_and_finite(nn, x):
    s = array_result(nn.sigmoid(x), "sigmoid(x)", x.shape)
    assert_finite(s, "sigmoid(x) for |x| up to 1000", SIGMOID_HINT)
    assert np.all((s >= 0) & (s <= 1)), SIGMOID_RANGE


def test_sigmoid_extremes(nn):
    s = array_result(nn.sigmoid(np.array([-1000.0, 0.0, 1000.0])), "sigmoid", (3,))
    assert_finite(s, "sigmoid([-1000, 0, 1000])", SIGMOID_HINT)
    np.testing.assert_allclose(
        s, [0.0, 0.5, 1.0], atol=EXTREMES_ATOL, err_msg="sigmoid(-1000, 0, 1000)"
    )


@given(x=matrices(low=-30, high=30))
def test_sigmoid_values_and_symmetry(nn, x):
    s = array_result(nn.sigmoid(x), "sigmoid(x)", x.shape)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-x)), **SIGMOID_TOL, err_msg=SIGMOID_FORMULA)
    s_neg = array_result(nn.sigmoid(-x), "sigmoid(-x)", x.shape)
    np.testing.assert_allclose(s_neg, 1 - s, **SYMMETRY_TOL, err_msg=SIGMOID_SYMMETRY)


@given(x=matrices(low=-8, high=8))
def test_sigmoid_agrees_with_sigmoid_deriv(nn, x):
    eps = SLOPE_EPS
    numeric = (np.asarray(nn.sigmoid(x + eps)) - np.asarray(nn.sigmoid(x - eps))) / (2 * eps)
    np.testing.assert_allclose(
        nn.sigmoid_deriv(np.asarray(nn.sigmoid(x))),
        numeric,
        atol=SLOPE_ATOL,
        err_msg=SLOPE,
    )


def _layer(seed, n, d_in, d_out, name):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_in))
    params = {"W" + name: rng.normal(size=(d_in, d_out)), "b" + name: rng.normal(size=d_out)}
    return X, params


@given(seed=seeds, n=sizes, d_in=sizes, d_out=sizes, name=layer_names)
def test_forward_is_activation_of_affine_map(nn, impl_params, seed, n, d_in, d_out, name):
    X, params = _layer(seed, n, d_in, d_out, name)
    params = impl_params(params)
    expected_pre = X @ params["W" + name] + params["b" + name]
    X_before = snapshot(X)
    out = array_result(nn.forward(X, params, name), "forward(X, params, name)", (n, d_out))
    np.testing.assert_allclose(
        out,
        oracle.sigmoid(expected_pre),
        **FORWARD_TOL,
        err_msg=FORWARD_DEFAULT,
    )
    assert_unchanged(X_before, [X], ["X"], "forward")

    cache = params.get("cache_" + name)
    assert cache is not None, CACHE_MISSING.format(name=name, key="cache_" + name)
    assert len(cache) == 3, CACHE_TUPLE
    X_c, pre, post = (np.asarray(c) for c in cache)
    assert np.array_equal(X_c, X), CACHED_X
    np.testing.assert_allclose(
        pre.reshape(n, d_out),
        expected_pre,
        **FORWARD_TOL,
        err_msg=PRE_ACT,
    )
    np.testing.assert_allclose(
        post.reshape(n, d_out),
        out,
        rtol=0,
        atol=0,
        err_msg=POST_ACT,
    )


@given(seed=seeds, n=sizes, d_in=sizes, d_out=sizes, scale=finite(0.1, 3.0))
def test_forward_honours_activation(nn, util, impl_params, seed, n, d_in, d_out, scale):
    X, params = _layer(seed, n, d_in, d_out, "h")
    params = impl_params(params)
    pre = X @ params["Wh"] + params["bh"]
    cases = {
        "util.tanh": (util.tanh, np.tanh(pre)),
        "util.linear": (util.linear, pre),
        "util.relu": (util.relu, np.maximum(pre, 0)),
        "a custom function": (lambda z: scale * z**2, scale * pre**2),
    }
    for label, (activation, expected) in cases.items():
        out = array_result(
            nn.forward(X, params, "h", activation), f"forward with {label}", (n, d_out)
        )
        np.testing.assert_allclose(
            out,
            expected,
            **FORWARD_TOL,
            err_msg=APPLY_ACTIVATION.format(label=label),
        )
