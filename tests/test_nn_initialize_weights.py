"""Q2.1.2 initialize_weights: Xavier (Glorot) uniform initialisation."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import layer_names

from grader.checks.q2_1_2 import (
    B_SHAPE,
    BOUND_SLACK,
    SIGMAS,
    UNIFORM_NOT_NORMAL,
    W_SHAPE,
    ZERO_BIAS,
)

pytestmark = pytest.mark.q2_1_2

layer_sizes = st.integers(min_value=1, max_value=60)


def _init(nn, in_size, out_size, name=""):
    params = {}
    nn.initialize_weights(in_size, out_size, params, name)
    for key in ("W" + name, "b" + name):
        assert key in params, (
            f"initialize_weights must store params[{key!r}]; it stored {sorted(params)}"
        )
    return params, np.asarray(params["W" + name]), np.asarray(params["b" + name])


@given(in_size=layer_sizes, out_size=layer_sizes, name=layer_names)
def test_shapes_and_zero_bias(nn, in_size, out_size, name):
    params, W, b = _init(nn, in_size, out_size, name)
    assert W.shape == (in_size, out_size), W_SHAPE.format(
        name=name, shape=(in_size, out_size), got=W.shape
    )
    assert b.shape in ((out_size,), (1, out_size)), B_SHAPE.format(
        name=name, n_out=out_size, got=b.shape
    )
    assert np.all(b == 0), ZERO_BIAS
    assert np.issubdtype(W.dtype, np.floating), f"W should hold floats, got {W.dtype}"


@given(in_size=layer_sizes, out_size=layer_sizes)
def test_weights_within_xavier_bound(nn, in_size, out_size):
    _, W, _ = _init(nn, in_size, out_size)
    bound = np.sqrt(6.0 / (in_size + out_size))
    worst = np.abs(W).max()
    assert worst <= bound * (1 + BOUND_SLACK), (
        f"Xavier uniform draws W from [-a, a] with a = sqrt(6 / (in + out)) = {bound:.4f}, "
        f"but |W| reaches {worst:.4f}. {UNIFORM_NOT_NORMAL}"
    )


def test_variance_is_xavier_on_a_large_layer(nn):
    """Mean and variance of a 1024 x 64 layer, within SIGMAS standard errors of sampling."""
    in_size, out_size = 1024, 64
    _, W, _ = _init(nn, in_size, out_size)
    n = W.size
    a2 = 6.0 / (in_size + out_size)  # a**2 for the uniform on [-a, a]
    expected_var = a2 / 3  # = 2 / (in + out)
    # Sampling error of the variance of n uniforms: Var(s^2) = (mu4 - sigma^4) / n,
    # with mu4 = a^4 / 5 and sigma^4 = a^4 / 9.
    var_tol = SIGMAS * np.sqrt((a2**2 / 5 - a2**2 / 9) / n)
    mean_tol = SIGMAS * np.sqrt(expected_var / n)
    assert abs(W.mean()) <= mean_tol, f"W should be centred on 0, its mean is {W.mean():.2e}"
    assert abs(W.var() - expected_var) <= var_tol, (
        f"Var(W) = {W.var():.6f}, expected 2 / (in + out) = {expected_var:.6f} "
        f"(+- {var_tol:.6f}): draw uniformly from [-sqrt(6/(in+out)), +sqrt(6/(in+out))]"
    )
    # A uniform puts half of its mass beyond half the bound; a normal of the same
    # variance puts only about 38% there.
    frac = np.mean(np.abs(W) > np.sqrt(a2) / 2)
    assert abs(frac - 0.5) <= SIGMAS * np.sqrt(0.25 / n), (
        f"{frac:.1%} of the weights lie beyond half the bound; a uniform distribution "
        "puts 50% there"
    )


def test_keeps_other_layers(nn):
    params = {}
    nn.initialize_weights(3, 4, params, "layer1")
    nn.initialize_weights(4, 2, params, "output")
    assert {"Wlayer1", "blayer1", "Woutput", "boutput"} <= set(params), (
        f"each layer adds its own keys to params; got {sorted(params)}"
    )
    assert np.shape(params["Wlayer1"]) == (3, 4)
