"""Q2.4 the training loop and Q2.5 the central-difference gradient checker (run_q2.py)."""

import numpy as np
import oracle
import pytest
from hypothesis import given
from strategies import one_hot, seeds


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
    assert losses[-1] < 0.25 * losses[0], (
        f"the epoch loss went from {losses[0]:.2f} to only {losses[-1]:.2f} on easily "
        "separable data: apply W <- W - learning_rate * grad_W to every parameter each batch"
    )
    assert accs[-1] >= 0.95, f"final accuracy {accs[-1]:.2f} on separable data, expected >= 0.95"
    assert any(not np.array_equal(before[k], params[k]) for k in before), (
        "train must update params in place"
    )
    assert _toy_accuracy(x, y, params) >= 0.95, (
        "the trained params should classify the training data (>= 95%)"
    )


def _known_loss(params):
    return float(
        np.sum(params["Wa"] ** 3) + np.sum(np.sin(params["ba"])) + 0.5 * np.sum(params["Wb"] ** 2)
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
    grads = run_q2.numerical_gradients(_known_loss, params, 1e-6)
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
            rtol=1e-5,
            atol=1e-7,
            err_msg=f"{key}: (loss(w + eps) - loss(w - eps)) / (2 eps) for each entry w",
        )
    for key, value in before.items():
        np.testing.assert_allclose(
            params[key],
            value,
            rtol=1e-12,
            atol=1e-15,
            err_msg=f"params[{key!r}] was left perturbed: restore each entry after using it",
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
        assert err < 1e-6, f"{key}: relative error {err:.1e} against backprop"


@pytest.mark.q2_5
def test_gradient_check_agrees_with_backwards_and_flags_a_wrong_gradient(run_q2):
    x, y = _separable_data(seed=3, n_per_class=3)
    params = run_q2.init_toy_network()
    run_q2.toy_forward_backward(x, y, params)
    errors = run_q2.gradient_check(x, y, params)
    assert max(errors.values()) < 1e-4, (
        f"on a correct network the checker should agree with backwards (< 1e-4): {errors}"
    )
    params["grad_Wlayer1"] = params["grad_Wlayer1"] * 1.5  # a deliberately wrong gradient
    errors = run_q2.gradient_check(x, y, params)
    assert errors["grad_Wlayer1"] > 1e-2, (
        f"a gradient 1.5x too large should be flagged, got error {errors['grad_Wlayer1']:.1e}"
    )
    others = {k: v for k, v in errors.items() if k != "grad_Wlayer1"}
    assert max(others.values()) < 1e-4, f"only grad_Wlayer1 was wrong: {errors}"
