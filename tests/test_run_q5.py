"""Q5 (run_q5.py): the autoencoder, its momentum, its training, reconstructions and PSNR.

Fast tier: tiny synthetic networks and images, judged against ``oracle`` (plain formulas).
Training on NIST36 with the handout's defaults (Q5.2's loss, Q5.3.1's reconstructions,
Q5.3.2's validation PSNR) is judged by the graded checks themselves, in the slow tier of
``tests/test_graded_checks.py``, bars and messages from ``grader/checks/``.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import oracle
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import one_hot, seeds

from coursedata import CLASSES

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [name for name, _ in oracle.AUTOENCODER_LAYERS]
PARAM_KEYS = [p + name for name in LAYERS for p in ("W", "b")]


# ----------------------------------------------------------------------------- helpers
@st.composite
def autoencoders(draw, max_in=6, max_hidden=4):
    """``(x, params)``: a small autoencoder with 1-D biases and a batch of images in [0, 1]."""
    rng = np.random.default_rng(draw(seeds))
    d = draw(st.integers(2, max_in))
    h = draw(st.integers(1, max_hidden))
    n = draw(st.integers(1, 4))
    sizes = (d, h, h, h, d)
    params = {}
    for name, n_in, n_out in zip(LAYERS, sizes[:-1], sizes[1:]):
        params["W" + name] = rng.normal(scale=1.0, size=(n_in, n_out))
        params["b" + name] = rng.normal(scale=0.5, size=n_out)
    return rng.uniform(0, 1, size=(n, d)), params


def _result(value, what, shape=None):
    if value is None:
        pytest.fail(f"{what} returned None. Did you forget to `return` it?", pytrace=False)
    array = np.asarray(value, dtype=float)
    if shape is not None and array.shape != tuple(shape):
        pytest.fail(f"{what}: expected shape {tuple(shape)}, got {array.shape}", pytrace=False)
    return array


def _prototypes(n_per=16, d=16, k=3, seed=0):
    """``k`` binary-ish prototype images of ``d`` pixels, ``n_per`` noisy copies of each."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.uniform(size=(k, d)) > 0.5) * 0.8 + 0.1
    labels = np.repeat(np.arange(k), n_per)
    return np.clip(prototypes[labels] + rng.normal(scale=0.05, size=(len(labels), d)), 0, 1)


# ----------------------------------------------------------------------------- Q5.1.1
@pytest.mark.q5_1_1
def test_init_autoencoder_builds_the_handout_layers(run_q5):
    np.random.seed(0)
    params = run_q5.init_autoencoder(1024, 32)
    assert isinstance(params, dict), "init_autoencoder should return the params dict"
    expected = {
        "Wlayer1": (1024, 32),
        "Wlayer2": (32, 32),
        "Wlayer3": (32, 32),
        "Woutput": (32, 1024),
    }
    extra = sorted(k for k in params if "_" not in k and k not in PARAM_KEYS)
    missing = [k for k in PARAM_KEYS if k not in params]
    assert not missing and not extra, (
        f"the autoencoder has four layers named {LAYERS}: expected the parameters "
        f"{PARAM_KEYS}; missing {missing}, unexpected {extra}"
    )
    for key, shape in expected.items():
        W = np.asarray(params[key])
        assert W.shape == shape, f"{key} should have shape {shape} (in, out); got {W.shape}"
        bias = np.asarray(params["b" + key[1:]])
        assert bias.shape in ((shape[1],), (1, shape[1])), (
            f"b{key[1:]} should have shape ({shape[1]},); got {bias.shape}"
        )
        assert np.all(bias == 0), f"b{key[1:]} should start at zero"
        bound = np.sqrt(6.0 / sum(shape))
        assert np.abs(W).max() <= bound, (
            f"{key}: Xavier uniform draws from [-{bound:.4f}, {bound:.4f}] (Q2.1.2), got values "
            f"up to {np.abs(W).max():.4f}"
        )
        variance = 2.0 / sum(shape)
        assert W.var() == pytest.approx(variance, rel=0.15), (
            f"{key}: the variance of Xavier-initialised weights is 2 / (in + out) = "
            f"{variance:.2e}; got {W.var():.2e}. Use initialize_weights for each layer."
        )


@pytest.mark.q5_1_1
@given(in_size=st.integers(2, 30), hidden=st.integers(1, 8))
def test_init_autoencoder_follows_its_sizes_with_fresh_weights(run_q5, in_size, hidden):
    first = run_q5.init_autoencoder(in_size, hidden)
    second = run_q5.init_autoencoder(in_size, hidden)
    sizes = (in_size, hidden, hidden, hidden, in_size)
    for name, n_in, n_out in zip(LAYERS, sizes[:-1], sizes[1:]):
        assert np.shape(first["W" + name]) == (n_in, n_out), (
            f"init_autoencoder({in_size}, {hidden}): W{name} should be ({n_in}, {n_out}) for "
            f"{in_size} -> {hidden} -> {hidden} -> {hidden} -> {in_size}; got "
            f"{np.shape(first['W' + name])}"
        )
    assert any(not np.array_equal(first["W" + name], second["W" + name]) for name in LAYERS), (
        "each call should draw fresh random weights (don't reseed inside init_autoencoder)"
    )


@pytest.mark.q5_1_1
@given(case=autoencoders())
def test_forward_uses_relu_hidden_layers_and_a_sigmoid_output(run_q5, impl_params, case):
    x, params = case
    got = _result(
        run_q5.autoencoder_forward(x.copy(), impl_params(params)), "autoencoder_forward", x.shape
    )
    expected, _ = oracle.autoencoder_forward(x, params)
    if np.allclose(got, expected, rtol=1e-7, atol=1e-10):
        return
    variants = {
        "the hidden layers apply sigmoid: use relu (Q5.1.1)": (
            ("layer1", "sigmoid"),
            ("layer2", "sigmoid"),
            ("layer3", "sigmoid"),
            ("output", "sigmoid"),
        ),
        "the output applies relu: the last layer ('output') uses sigmoid": (
            ("layer1", "relu"),
            ("layer2", "relu"),
            ("layer3", "relu"),
            ("output", "relu"),
        ),
        "the output layer has no activation: apply sigmoid": (
            ("layer1", "relu"),
            ("layer2", "relu"),
            ("layer3", "relu"),
            ("output", "linear"),
        ),
    }
    for why, layers in variants.items():
        if np.allclose(got, oracle.autoencoder_forward(x, params, layers)[0]):
            pytest.fail(f"autoencoder_forward: {why}", pytrace=False)
    pytest.fail(
        "autoencoder_forward should be sigmoid(relu(relu(relu(x W1 + b1) W2 + b2) W3 + b3) "
        f"Wout + bout);\nexpected {expected}\ngot {got}",
        pytrace=False,
    )


@pytest.mark.q5_1_1
def test_forward_of_the_handout_network_gives_images(run_q5):
    np.random.seed(1)
    params = run_q5.init_autoencoder(1024, 32)
    x = np.random.default_rng(1).uniform(size=(5, 1024))
    got = _result(run_q5.autoencoder_forward(x, params), "autoencoder_forward", (5, 1024))
    assert np.all((got >= 0) & (got <= 1)), "reconstructions are sigmoid outputs, in [0, 1]"
    flat = {k: np.asarray(v).reshape(-1) if k.startswith("b") else v for k, v in params.items()}
    expected = oracle.autoencoder_forward(x, flat)[0]
    assert np.allclose(got, expected, rtol=1e-7, atol=1e-12), (
        "autoencoder_forward of the 1024-32-32-32-1024 network should be "
        "sigmoid(relu(relu(relu(x W1 + b1) W2 + b2) W3 + b3) Wout + bout); largest "
        f"difference {np.abs(got - expected).max():.2e}"
    )


# ----------------------------------------------------------------------------- Q5.1.2
def _step(run_q5, params, learning_rate, **kwargs):
    """``momentum_step``, failing with a hint when it expects accumulators that are missing."""
    try:
        run_q5.momentum_step(params, learning_rate, **kwargs)
    except KeyError as exc:
        pytest.fail(
            f"momentum_step raised KeyError {exc} on parameters without accumulators: create "
            "params['m_' + k] (zeros shaped like params[k]) when it is missing, e.g. with "
            "params.get('m_' + k, 0)",
            pytrace=False,
        )


@pytest.mark.q5_1_2
@given(
    seed=seeds,
    learning_rate=st.sampled_from([1e-3, 0.05, 0.5]),
    momentum=st.sampled_from([None, 0.5]),
    n_steps=st.integers(2, 4),
)
def test_momentum_steps_match_a_hand_computation(run_q5, seed, learning_rate, momentum, n_steps):
    rng = np.random.default_rng(seed)
    params = {"Wlayer1": rng.normal(size=(4, 3)), "blayer1": rng.normal(size=3)}
    params |= {"Woutput": rng.normal(size=(3, 2)), "boutput": rng.normal(size=2)}
    mu = 0.9 if momentum is None else momentum
    kwargs = {} if momentum is None else {"momentum": momentum}
    W = {k: v.copy() for k, v in params.items()}
    M = {k: np.zeros_like(v) for k, v in params.items()}
    for step in range(n_steps):
        for key in W:
            grad = rng.normal(size=W[key].shape)
            params["grad_" + key] = grad
            M[key] = mu * M[key] - learning_rate * grad
            W[key] = W[key] + M[key]
        _step(run_q5, params, learning_rate, **kwargs)
        for key in W:
            if np.allclose(params[key], W[key], rtol=1e-12, atol=1e-14):
                continue
            what = "the default momentum 0.9" if momentum is None else f"momentum={momentum}"
            pytest.fail(
                f"after {step + 1} steps ({what}, learning rate {learning_rate}), {key} should be "
                f"{W[key].ravel()[:3]}...; got {np.asarray(params[key]).ravel()[:3]}.... By hand: "
                "M = momentum * M - learning_rate * grad, then W = W + M, with M kept in "
                "params['m_' + key] from one step to the next and zero at first",
                pytrace=False,
            )


# ----------------------------------------------------------------------------- Q5.2
@pytest.mark.q5_2
@given(case=autoencoders())
def test_loss_is_the_total_squared_error(run_q5, impl_params, case):
    x, params = case
    loss = run_q5.autoencoder_forward_backward(x.copy(), impl_params(params))
    expected = oracle.squared_error_sum(x, params)
    if loss is None:
        pytest.fail("autoencoder_forward_backward should return the loss", pytrace=False)
    hint = ""
    if np.isclose(loss * x.size, expected) or np.isclose(loss * len(x), expected):
        hint = " It looks averaged: sum over the batch and the pixels."
    assert float(loss) == pytest.approx(expected, rel=1e-7, abs=1e-12), (
        f"the loss is sum((reconstruction - x) ** 2) = {expected:.6g}; got {float(loss):.6g}."
        + hint
    )


@pytest.mark.q5_2
@given(case=autoencoders())
def test_gradients_match_central_differences(run_q5, impl_params, case):
    x, params = case
    _, pres = oracle.autoencoder_forward(x, params)
    # ReLU has a kink at 0: keep every hidden pre-activation well away from it
    assume(all(np.abs(z).min() > 1e-3 for z in pres[:-1]))
    converted = impl_params(params)
    run_q5.autoencoder_forward_backward(x.copy(), converted)
    for key in PARAM_KEYS:
        if "grad_" + key not in converted:
            pytest.fail(
                f"autoencoder_forward_backward should store params['grad_{key}'] (backwards "
                "through every layer)",
                pytrace=False,
            )
        numeric = oracle.central_differences(
            lambda: oracle.squared_error_sum(x, params), params[key], eps=1e-6
        )
        analytic = np.asarray(converted["grad_" + key], dtype=float)
        if analytic.size != numeric.size:
            pytest.fail(f"grad_{key} has shape {analytic.shape}, {key} {params[key].shape}")
        error = oracle.relative_error(analytic.reshape(numeric.shape), numeric)
        hint = ""
        if oracle.relative_error(2 * analytic.reshape(numeric.shape), numeric) < 1e-5:
            hint = " It is half the right value: d/dr (r - x)^2 = 2 (r - x)."
        elif oracle.relative_error(-analytic.reshape(numeric.shape), numeric) < 1e-5:
            hint = " It has the wrong sign: the output delta is 2 * (reconstruction - x)."
        assert error < 1e-5, (
            f"grad_{key} differs from central differences of the total squared error "
            f"(relative error {error:.1e}); the output delta is 2 * (reconstruction - x), "
            "backpropagated with sigmoid_deriv at the output and relu_deriv in the hidden "
            "layers." + hint
        )


@pytest.mark.q5_2
def test_training_lowers_the_loss(run_q5):
    x = _prototypes()
    np.random.seed(0)
    params = run_q5.init_autoencoder(16, 12)
    before = {k: np.array(params[k]) for k in PARAM_KEYS}
    flat = {k: v.reshape(-1) if k.startswith("b") else v for k, v in before.items()}
    error_before = oracle.squared_error_sum(x, flat)
    history = run_q5.train_autoencoder(
        x, params, learning_rate=3e-3, batch_size=8, epochs=40, decay_every=10, decay=0.9
    )
    history = _result(history, "train_autoencoder").ravel()
    assert len(history) == 40, (
        f"train_autoencoder should return one loss per epoch: 40, got {len(history)}"
    )
    assert np.all(np.isfinite(history)), f"the training loss became NaN or inf: {history}"
    assert history[-1] < 0.25 * history[0], (
        f"on three noisy prototype images the epoch loss went from {history[0]:.2f} to only "
        f"{history[-1]:.2f} in 40 epochs (the reference: below 5% of the first): each batch, "
        "autoencoder_forward_backward then momentum_step"
    )
    assert any(not np.array_equal(before[k], params[k]) for k in PARAM_KEYS), (
        "train_autoencoder should train params in place"
    )
    flat = {k: np.asarray(params[k]).reshape(flat[k].shape) for k in PARAM_KEYS}
    error_after = oracle.squared_error_sum(x, flat)
    assert error_after < 0.25 * error_before, (
        f"the trained params reconstruct the training images with a squared error of "
        f"{error_after:.2f}, against {error_before:.2f} before training: train params in place"
    )


@pytest.mark.q5_2
def test_learning_rate_decays_after_every_decay_every_epochs(run_q5):
    """With ``decay=0`` the learning rate is 0 after the first ``decay_every`` epochs: later
    epochs only coast on the fading momentum, so the loss settles."""
    x = _prototypes()
    np.random.seed(0)
    params = run_q5.init_autoencoder(16, 12)
    history = run_q5.train_autoencoder(
        x, params, learning_rate=3e-3, batch_size=8, epochs=16, decay_every=2, decay=0.0
    )
    history = _result(history, "train_autoencoder").ravel()
    assert len(history) == 16 and np.all(np.isfinite(history)), (
        f"expected 16 finite epoch losses, got {history}"
    )
    assert history[1] < 0.98 * history[0], (
        f"with decay_every=2 the first two epochs train at the full learning rate, but the loss "
        f"went from {history[0]:.2f} to {history[1]:.2f}: multiply the learning rate by decay "
        "after every decay_every epochs, not before the first"
    )
    change = abs(history[-1] - history[-2]) / history[-1]
    assert change < 1e-3, (
        "with decay=0 and decay_every=2 the learning rate is 0 from the third epoch on "
        "(learning_rate *= decay after epochs 2, 4, ...), so only the fading momentum moves the "
        f"weights and the loss settles; it still changed by {100 * change:.2f}% between the "
        "last two epochs (the reference: below 0.01%)"
    )


# ----------------------------------------------------------------------------- Q5.3.1
def _labelled(seed, d=16, n_per=3):
    """Images of ``d`` pixels with every one of the 36 classes ``n_per`` times, shuffled."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(36), n_per))
    return rng.uniform(size=(len(labels), d)), one_hot(labels, 36)


@pytest.mark.q5_3_1
@given(
    seed=seeds,
    classes=st.lists(st.sampled_from(CLASSES), min_size=1, max_size=5, unique=True),
    per_class=st.integers(1, 3),
)
def test_examples_are_grouped_by_class_with_their_reconstructions(
    run_q5, impl_params, seed, classes, per_class
):
    x, y = _labelled(seed)
    rng = np.random.default_rng(seed)
    sizes = (16, 3, 3, 3, 16)
    params = {}
    for name, n_in, n_out in zip(LAYERS, sizes[:-1], sizes[1:]):
        params["W" + name] = rng.normal(size=(n_in, n_out))
        params["b" + name] = rng.normal(scale=0.5, size=n_out)
    names = "".join(classes)
    result = run_q5.reconstruction_examples(x, y, impl_params(params), names, per_class)
    assert isinstance(result, tuple) and len(result) == 2, (
        "reconstruction_examples returns (indices, reconstructions)"
    )
    indices = np.asarray(result[0]).astype(int).ravel()
    got_names = "".join(CLASSES[i] for i in y[indices].argmax(axis=1))
    expected_names = "".join(c * per_class for c in names)
    assert got_names == expected_names, (
        f"with classes {names!r} and per_class={per_class}, the rows should be of the classes "
        f"{expected_names!r} in that order; got {got_names!r}"
    )
    assert len(set(indices.tolist())) == len(indices), "pick different images of each class"
    reconstructions = _result(result[1], "reconstructions", (len(indices), 16))
    expected = oracle.autoencoder_forward(x[indices], params)[0]
    assert np.allclose(reconstructions, expected, rtol=1e-7, atol=1e-12), (
        "the reconstructions should be autoencoder_forward(x[indices], params), row for row"
    )


@pytest.mark.q5_3_1
def test_reconstruction_figure_is_written(run_q5, tmp_path):
    x, y = _labelled(0, d=1024, n_per=2)
    np.random.seed(0)
    params = run_q5.init_autoencoder(1024, 8)
    indices, reconstructions = run_q5.reconstruction_examples(x, y, params, "AGQ38", 2)
    path = run_q5.plot_reconstructions(x, y, indices, reconstructions, tmp_path / "r.png")
    data = path.read_bytes()
    assert data[:4] == b"\x89PNG" and len(data) > 2000


# ----------------------------------------------------------------------------- Q5.3.2
@pytest.mark.q5_3_2
@given(seed=seeds, n=st.integers(1, 6), d=st.integers(4, 64))
def test_average_psnr_matches_the_formula(run_q5, seed, n, d):
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(n, d))
    noise = rng.normal(size=(n, d)) * rng.uniform(0.01, 0.3, size=(n, 1))
    reconstructions = np.clip(images + noise, 0, 1)
    assume(np.all(np.mean((images - reconstructions) ** 2, axis=1) > 1e-12))
    got = run_q5.average_psnr(images.copy(), reconstructions.copy())
    expected = float(np.mean(oracle.psnr(images, reconstructions)))
    assert float(got) == pytest.approx(expected, rel=1e-9), (
        f"the average of each image's 10 log10(1 / MSE) is {expected:.6f} dB; got {got}"
    )


@pytest.mark.q5_3_2
def test_average_psnr_averages_the_images_not_the_pixels(run_q5):
    images = np.full((2, 100), 0.5)
    reconstructions = images + np.array([[0.01], [0.1]])  # MSE 1e-4 (40 dB) and 1e-2 (20 dB)
    got = float(run_q5.average_psnr(images, reconstructions))
    pooled = 10 * np.log10(1 / np.mean((images - reconstructions) ** 2))
    assert got != pytest.approx(pooled, abs=1e-6), (
        f"{got:.2f} dB is the PSNR of all the pixels together; Q5.3.2 averages the PSNR of "
        "each image: here (40 + 20) / 2 = 30 dB"
    )
    assert got == pytest.approx(30.0, abs=1e-9), (
        f"images with PSNRs of 40 and 20 dB average to 30 dB; got {got:.4f} (data_range 1)"
    )


# ----------------------------------------------------------------------------- the script
def _script(module, *args):
    env = os.environ | {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


# A fresh interpreter: slow tier (the fast tier checks the same in-process, tests/test_scripts.py)
@pytest.mark.slow
@pytest.mark.skipif(
    'raise NotImplementedError("Q5.2 train_autoencoder")'
    not in (ROOT / "kata" / "run_q5.py").read_text(),
    reason="kata's train_autoencoder is written: the script would train for real",
)
def test_untouched_kata_script_says_what_is_not_implemented(tmp_path):
    proc = _script("kata.run_q5", "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not implemented yet: Q" in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions" / "run_q5.py").exists(), reason="no solutions/")
def test_reference_script_writes_its_figures_and_the_psnr(tmp_path):
    proc = _script("solutions.run_q5", "--epochs", "2", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "NIST36: using" in proc.stdout and "Q5.3.2 average PSNR" in proc.stdout
    for name in ("q5_2_loss.png", "q5_3_1_reconstructions.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 2000, f"{name} should be a PNG image"
