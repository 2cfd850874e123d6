"""Q2.3 backwards: gradients against central differences of the summed loss."""

import numpy as np
import oracle
import pytest
from checks import array_result, assert_unchanged, batch_hint, snapshot
from hypothesis import assume, given
from strategies import networks

from grader.checks.q2_3 import BACKPROP_TOLERANCE as TOLERANCE
from grader.checks.q2_3 import (
    CHECKLIST,
    GRAD_SHAPE,
    GRAD_X_FORMULA,
    MUST_STORE,
    RELU_KINK,
    REPEAT_RTOL,
)

pytestmark = pytest.mark.q2_3


def _backprop(nn, net, params):
    """Run the implementation's forward/backwards through the network; return grad_X."""
    h = net["X"]
    for name, act in net["layers"]:
        h = nn.forward(h, params, name, oracle.ACTIVATIONS[act][0])
    logits = array_result(
        nn.forward(h, params, "output", oracle.ACTIVATIONS["linear"][0]),
        "forward",
        (len(h), params["Woutput"].shape[1]),
    )
    delta = oracle.softmax(logits) - net["y"]
    before = snapshot(delta)
    d = nn.backwards(delta, params, "output", oracle.ACTIVATIONS["linear"][1])
    assert_unchanged(before, [delta], ["delta"], "backwards")
    for name, act in reversed(net["layers"]):
        expected_shape = np.shape(params["cache_" + name][2])
        d = array_result(
            d, f"backwards (the grad_X it returns, layer above {name})", expected_shape
        )
        before = snapshot(d)
        d_next = nn.backwards(d, params, name, oracle.ACTIVATIONS[act][1])
        assert_unchanged(before, [d], ["delta"], "backwards")
        d = d_next
    return d


def _away_from_relu_kink(net, params):
    _, pres = oracle.mlp_logits(net["X"], params, net["layers"])
    return all(
        np.abs(z).min() > RELU_KINK for z, (_, act) in zip(pres, net["layers"]) if act == "relu"
    )


def _prepare(nn, impl_params, net):
    params = impl_params(net["params"])
    assume(_away_from_relu_kink(net, params))
    grad_X = _backprop(nn, net, params)

    def loss():
        return oracle.mlp_loss(net["X"], net["y"], params, net["layers"])

    return params, grad_X, loss


def _layer_names(net):
    return [name for name, _ in net["layers"]] + ["output"]


@given(net=networks())
def test_stores_gradients_shaped_like_the_parameters(nn, impl_params, net):
    params, _, _ = _prepare(nn, impl_params, net)
    for name in _layer_names(net):
        for kind in ("W", "b"):
            key, grad_key = kind + name, "grad_" + kind + name
            assert grad_key in params, MUST_STORE.format(name=name, key=grad_key)
            shape = np.shape(params[grad_key])
            assert shape == np.shape(params[key]), GRAD_SHAPE.format(
                grad_key=grad_key, got=shape, key=key, shape=np.shape(params[key])
            )


@pytest.mark.parametrize("kind", ["W", "b"])
@given(net=networks())
def test_parameter_gradients_match_central_differences(nn, impl_params, kind, net):
    params, _, loss = _prepare(nn, impl_params, net)
    for name in _layer_names(net):
        key = kind + name
        analytic = np.asarray(params.get("grad_" + key))
        numeric = oracle.central_differences(loss, params[key])
        assert analytic.size == numeric.size, f"grad_{key} has the wrong number of entries"
        analytic = analytic.reshape(numeric.shape)
        err = oracle.relative_error(analytic, numeric)
        hint = batch_hint(analytic, numeric, len(net["X"]))
        assert err <= TOLERANCE, (
            f"grad_{key} differs from central differences of the summed loss "
            f"(relative error {err:.1e} > {TOLERANCE:g}).{hint or CHECKLIST}"
        )


@given(net=networks())
def test_returned_grad_X_matches_central_differences(nn, impl_params, net):
    _, grad_X, loss = _prepare(nn, impl_params, net)
    X = net["X"]
    grad_X = array_result(grad_X, "backwards (grad_X of the first layer)", X.shape)
    err = oracle.relative_error(grad_X, oracle.central_differences(loss, X))
    assert err <= TOLERANCE, (
        f"the returned grad_X differs from central differences (relative error {err:.1e}): "
        + GRAD_X_FORMULA
    )


@given(net=networks(activations=("sigmoid",), max_hidden=1))
def test_uses_the_cache_of_forward(nn, impl_params, net):
    """backwards reads X and post_act from params['cache_' + name], not from elsewhere."""
    params = impl_params(net["params"])
    _backprop(nn, net, params)
    grads = {k: np.array(v) for k, v in params.items() if k.startswith("grad_")}
    _backprop(nn, net, params)  # same inputs, same cache: same gradients
    for key, value in grads.items():
        np.testing.assert_allclose(
            params[key],
            value,
            rtol=REPEAT_RTOL,
            err_msg=f"{key} changed between two identical passes",
        )
