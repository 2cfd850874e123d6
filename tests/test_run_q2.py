"""Q2.4 the training loop and Q2.5 the central-difference gradient checker (run_q2.py)."""

import numpy as np
import oracle
import pytest
from hypothesis import given
from strategies import one_hot, seeds

from grader.checks.q2_4 import FIT_ACCURACY, FIT_LOSS_FRACTION
from grader.checks.q2_5 import (
    CENTRAL_DIFFERENCE,
    GRADIENT_CHECK_AGREES,
    GRADIENT_CHECK_FLAGS,
    KNOWN_TOL,
    RESTORE,
    RESTORE_TOL,
    TOY_TOLERANCE,
    known_loss,
)


def _separable_data(seed, n_per_class=10):
    """Four well-separated 2-D clusters, standardised."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, -2.0], [-2.0, 2.0], [2.0, -2.0], [2.0, 2.0]])
    x = np.repeat(centres, n_per_class, axis=0) + rng.normal(scale=0.3, size=(4 * n_per_class, 2))
    y = one_hot(np.repeat(np.arange(4), n_per_class), 4)
    return x, y


def _toy_accuracy(x, y, params):
    logits, _ = oracle.mlp_logits(x, params, [("layer1", "sigmoid")])
    return oracle.accuracy(y, oracle.softmax(logits))


@pytest.mark.q2_4
@pytest.mark.parametrize("batch_size", [5, 7])
def test_training_lowers_the_loss_and_raises_accuracy(run_q2, batch_size):
    x, y = _separable_data(seed=batch_size)
    params = run_q2.init_toy_network()
    before = {k: np.array(v) for k, v in params.items()}
    history = run_q2.train(
        x, y, params, batch_size=batch_size, learning_rate=0.05, max_iters=150, log_every=None
    )
    assert history is not None and len(history) == 150, (
        "train should return one (loss, accuracy) entry per iteration (epoch)"
    )
    losses = np.array([float(h[0]) for h in history])
    accs = np.array([float(h[1]) for h in history])
    assert np.all(np.isfinite(losses)), "the training loss became NaN or inf"
    assert np.all((accs >= 0) & (accs <= 1)), "accuracy is a fraction in [0, 1]"
    assert losses[-1] < FIT_LOSS_FRACTION * losses[0], (
        f"the epoch loss went from {losses[0]:.2f} to only {losses[-1]:.2f} on easily "
        "separable data: apply W <- W - learning_rate * grad_W to every parameter each batch"
    )
    assert accs[-1] >= FIT_ACCURACY, (
        f"final accuracy {accs[-1]:.2f} on separable data, expected >= {FIT_ACCURACY}"
    )
    assert any(not np.array_equal(before[k], params[k]) for k in before), (
        "train must update params in place"
    )
    assert _toy_accuracy(x, y, params) >= FIT_ACCURACY, (
        f"the trained params should classify the training data (>= {FIT_ACCURACY:.0%})"
    )


def _known_params(seed):
    rng = np.random.default_rng(seed)
    return {
        "Wa": rng.normal(size=(3, 2)),
        "ba": rng.normal(size=2),
        "Wb": rng.normal(size=(2, 4)),
        "cache_a": (rng.normal(size=(1, 3)),) * 3,
        "grad_Wa": np.zeros((3, 2)),
    }


@pytest.mark.q2_5
@given(seed=seeds)
def test_numerical_gradients_of_a_known_function(run_q2, seed):
    params = _known_params(seed)
    before = {k: np.array(v) for k, v in params.items() if "_" not in k}
    grads = run_q2.numerical_gradients(known_loss, params, 1e-6)
    assert grads is not None and set(grads) == {"grad_Wa", "grad_ba", "grad_Wb"}, (
        "numerical_gradients returns {'grad_' + key: gradient} for the parameters only "
        f"(keys without '_'); got {None if grads is None else sorted(grads)}"
    )
    expected = {
        "grad_Wa": 3 * params["Wa"] ** 2,
        "grad_ba": np.cos(params["ba"]),
        "grad_Wb": params["Wb"],
    }
    for key, value in expected.items():
        np.testing.assert_allclose(
            np.asarray(grads[key]).reshape(value.shape),
            value,
            **KNOWN_TOL,
            err_msg=f"{key}: {CENTRAL_DIFFERENCE} for each entry w",
        )
    for key, value in before.items():
        np.testing.assert_allclose(
            params[key],
            value,
            **RESTORE_TOL,
            err_msg=f"params[{key!r}] was left perturbed: {RESTORE}",
        )


@pytest.mark.q2_5
def test_numerical_gradients_on_the_toy_network(run_q2):
    """Against an independent backprop of the toy network (2 -> 3 sigmoid -> 4 softmax)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 2)), one_hot(rng.integers(0, 4, size=6), 4)
    params = {
        "Wlayer1": rng.normal(size=(2, 3)),
        "blayer1": rng.normal(size=3),
        "Woutput": rng.normal(size=(3, 4)),
        "boutput": rng.normal(size=4),
    }
    grads = run_q2.numerical_gradients(
        lambda p: oracle.mlp_loss(x, y, p, [("layer1", "sigmoid")]), params, 1e-6
    )
    h = oracle.sigmoid(x @ params["Wlayer1"] + params["blayer1"])
    d_out = oracle.softmax(h @ params["Woutput"] + params["boutput"]) - y
    d_hid = (d_out @ params["Woutput"].T) * h * (1 - h)
    expected = {
        "grad_Woutput": h.T @ d_out,
        "grad_boutput": d_out.sum(0),
        "grad_Wlayer1": x.T @ d_hid,
        "grad_blayer1": d_hid.sum(0),
    }
    for key, value in expected.items():
        err = oracle.relative_error(np.asarray(grads[key]).reshape(value.shape), value)
        assert err < TOY_TOLERANCE, f"{key}: relative error {err:.1e} against backprop"


@pytest.mark.q2_5
def test_gradient_check_agrees_with_backwards_and_flags_a_wrong_gradient(run_q2):
    x, y = _separable_data(seed=3, n_per_class=3)
    params = run_q2.init_toy_network()
    run_q2.toy_forward_backward(x, y, params)
    errors = run_q2.gradient_check(x, y, params)
    assert max(errors.values()) < GRADIENT_CHECK_AGREES, (
        "on a correct network the checker should agree with backwards "
        f"(< {GRADIENT_CHECK_AGREES:g}): {errors}"
    )
    params["grad_Wlayer1"] = params["grad_Wlayer1"] * 1.5  # a deliberately wrong gradient
    errors = run_q2.gradient_check(x, y, params)
    assert errors["grad_Wlayer1"] > GRADIENT_CHECK_FLAGS, (
        f"a gradient 1.5x too large should be flagged, got error {errors['grad_Wlayer1']:.1e}"
    )
    others = {k: v for k, v in errors.items() if k != "grad_Wlayer1"}
    assert max(others.values()) < GRADIENT_CHECK_AGREES, f"only grad_Wlayer1 was wrong: {errors}"
