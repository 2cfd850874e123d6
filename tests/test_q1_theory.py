"""Q1 theory, checked where it is a fact about the code (not scored: Q1 is written)."""

import numpy as np
import pytest
from hypothesis import given
from strategies import finite, matrices, seeds, sizes

pytestmark = pytest.mark.q1


@given(x=matrices(low=-20, high=20), c=finite(-100, 100))
def test_q1_1_softmax_is_translation_invariant(nn, x, c):
    np.testing.assert_allclose(
        nn.softmax(x + c),
        nn.softmax(x),
        rtol=1e-7,
        atol=1e-12,
        err_msg="Q1.1: softmax(x + c) = softmax(x)",
    )


@given(seed=seeds, n=sizes, d=sizes, h=sizes, k=sizes)
def test_q1_3_stacked_linear_layers_are_one_linear_map(nn, util, impl_params, seed, n, d, h, k):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    params = impl_params(
        {
            "W1": rng.normal(size=(d, h)),
            "b1": rng.normal(size=h),
            "W2": rng.normal(size=(h, k)),
            "b2": rng.normal(size=k),
        }
    )
    two = nn.forward(nn.forward(X, params, "1", util.linear), params, "2", util.linear)
    params["Wone"] = params["W1"] @ params["W2"]
    params["bone"] = params["b1"] @ params["W2"] + params["b2"]
    one = nn.forward(X, params, "one", util.linear)
    np.testing.assert_allclose(
        two,
        one,
        rtol=1e-9,
        atol=1e-9,
        err_msg="Q1.3: two linear layers equal one with W1 W2, b1 W2 + b2",
    )


@given(x=matrices(low=-8, high=8))
def test_q1_4_sigmoid_derivative(nn, x):
    eps = 1e-6
    slope = (np.asarray(nn.sigmoid(x + eps)) - np.asarray(nn.sigmoid(x - eps))) / (2 * eps)
    s = np.asarray(nn.sigmoid(x))
    np.testing.assert_allclose(
        slope, s * (1 - s), atol=1e-8, err_msg="Q1.4: sigma'(x) = sigma(x) (1 - sigma(x))"
    )


@given(x=matrices(low=-10, high=10))
def test_q1_6_tanh_is_a_rescaled_sigmoid(nn, x):
    np.testing.assert_allclose(
        np.tanh(x),
        2 * np.asarray(nn.sigmoid(2 * x)) - 1,
        atol=1e-12,
        err_msg="Q1.6: tanh(x) = 2 sigma(2x) - 1",
    )


def test_q1_6_gradient_sizes(nn):
    x = np.linspace(-10, 10, 20001)
    s = np.asarray(nn.sigmoid(x))
    assert np.isclose((s * (1 - s)).max(), 0.25), "Q1.6: max sigma' = 1/4 (at 0)"
    assert np.isclose((1 - np.tanh(x) ** 2).max(), 1.0), "Q1.6: max tanh' = 1 (at 0)"
