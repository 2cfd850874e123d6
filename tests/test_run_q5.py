"""Q5 (run_q5.py): the autoencoder, its momentum, its training, reconstructions and PSNR.

Fast tier: tiny synthetic networks and images, judged against ``oracle`` (plain formulas).
Training on NIST36 with the handout's defaults (Q5.2's loss, Q5.3.1's reconstructions,
Q5.3.2's validation PSNR), and Q5.1.2's first step and constant-gradient steps, are judged by
the graded checks themselves (``tests/test_graded_checks.py``; the NIST36 ones in its slow
tier).
The settings, bars, tolerances and messages are the grader's (``grader/checks/q5_1_1.py``
... ``q5_3_2.py``).
"""

from pathlib import Path

import numpy as np
import oracle
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from running import run_module
from strategies import one_hot, seeds

from coursedata import CLASSES
from grader.checks import q5_1_1, q5_1_2, q5_2, q5_3_1, q5_3_2
from grader.checks.q5_common import (
    HIDDEN_SIZE,
    IN_SIZE,
    LAYERS,
    PARAM_KEYS,
    dump,
    params_out,
    random_autoencoder,
    sizes_of,
)

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- helpers
@st.composite
def autoencoders(draw, max_in=6, max_hidden=4):
    """``(x, params)``: a small autoencoder with 1-D biases and a batch of images in [0, 1]."""
    rng = np.random.default_rng(draw(seeds))
    d = draw(st.integers(2, max_in))
    h = draw(st.integers(1, max_hidden))
    n = draw(st.integers(1, 4))
    params = random_autoencoder(rng, d, h)
    return rng.uniform(0, 1, size=(n, d)), params


def _result(value, what, shape=None):
    if value is None:
        pytest.fail(f"{what} returned None. Did you forget to `return` it?", pytrace=False)
    array = np.asarray(value, dtype=float)
    if shape is not None and array.shape != tuple(shape):
        pytest.fail(f"{what}: expected shape {tuple(shape)}, got {array.shape}", pytrace=False)
    return array


# ----------------------------------------------------------------------------- Q5.1.1
@pytest.mark.q5_1_1
def test_init_autoencoder_builds_the_handout_layers(run_q5):
    np.random.seed(0)
    call = f"init_autoencoder({IN_SIZE}, {HIDDEN_SIZE})"
    params = run_q5.init_autoencoder(IN_SIZE, HIDDEN_SIZE)
    assert isinstance(params, dict), "init_autoencoder should return the params dict"
    # the grader's reading: the four layers' parameters, named and shaped (biases 1-D)
    params = params_out(dump(params, ""), "", sizes_of(IN_SIZE, HIDDEN_SIZE), call)
    for name in LAYERS:
        W, b = params["W" + name], params["b" + name]
        assert np.all(b == 0), q5_1_1.ZERO_BIAS.format(name=name)
        bound = np.sqrt(6.0 / sum(W.shape))
        assert np.abs(W).max() <= bound, q5_1_1.XAVIER_RANGE.format(
            name=name, bound=bound, largest=np.abs(W).max()
        )
        variance = 2.0 / sum(W.shape)
        assert W.var() == pytest.approx(variance, rel=q5_1_1.VARIANCE_RTOL), (
            q5_1_1.XAVIER_VARIANCE.format(name=name, variance=variance, got=W.var())
        )


@pytest.mark.q5_1_1
@given(in_size=st.integers(2, 30), hidden=st.integers(1, 8))
def test_init_autoencoder_follows_its_sizes_with_fresh_weights(run_q5, in_size, hidden):
    call = f"init_autoencoder({in_size}, {hidden})"
    sizes = sizes_of(in_size, hidden)
    # the grader's reading: four layers, each W (in, out) for in -> hidden x 3 -> in
    first = params_out(dump(run_q5.init_autoencoder(in_size, hidden), ""), "", sizes, call)
    second = params_out(dump(run_q5.init_autoencoder(in_size, hidden), ""), "", sizes, call)
    assert any(not np.array_equal(first["W" + name], second["W" + name]) for name in LAYERS), (
        q5_1_1.NOT_FRESH.format(call=call)
    )


@pytest.mark.q5_1_1
@given(case=autoencoders())
def test_forward_uses_relu_hidden_layers_and_a_sigmoid_output(run_q5, impl_params, case):
    x, params = case
    got = _result(
        run_q5.autoencoder_forward(x.copy(), impl_params(params)), "autoencoder_forward", x.shape
    )
    expected, _ = oracle.autoencoder_forward(x, params)
    if np.allclose(got, expected, rtol=q5_1_1.FORWARD_RTOL, atol=q5_1_1.FORWARD_ATOL):
        return
    for why, activations in q5_1_1.FORWARD_VARIANTS.items():
        layers = tuple(zip(LAYERS, activations))
        if np.allclose(got, oracle.autoencoder_forward(x, params, layers)[0]):
            pytest.fail(f"autoencoder_forward: {why}", pytrace=False)
    pytest.fail(
        f"autoencoder_forward should be {q5_1_1.FORWARD_FORMULA};\nexpected {expected}\ngot {got}",
        pytrace=False,
    )


@pytest.mark.q5_1_1
def test_forward_of_the_handout_network_gives_images(run_q5):
    inputs = q5_1_1.handout_forward_inputs()
    np.random.seed(inputs["seed"])
    params = run_q5.init_autoencoder(IN_SIZE, HIDDEN_SIZE)
    x = inputs["x"]
    got = _result(run_q5.autoencoder_forward(x, params), "autoencoder_forward", x.shape)
    assert np.all((got >= 0) & (got <= 1)), q5_1_1.NOT_IMAGES
    flat = {k: np.asarray(v).reshape(-1) if k.startswith("b") else v for k, v in params.items()}
    expected = oracle.autoencoder_forward(x, flat)[0]
    assert np.allclose(got, expected, rtol=q5_1_1.FORWARD_RTOL, atol=q5_1_1.HANDOUT_ATOL), (
        f"autoencoder_forward of the 1024-32-32-32-1024 network should be "
        f"{q5_1_1.FORWARD_FORMULA}; largest difference {np.abs(got - expected).max():.2e}"
    )


# ----------------------------------------------------------------------------- Q5.1.2
def _step(run_q5, params, learning_rate, **kwargs):
    """``momentum_step``, failing with a hint when it expects accumulators that are missing."""
    try:
        run_q5.momentum_step(params, learning_rate, **kwargs)
    except KeyError as exc:
        pytest.fail(q5_1_2.NO_ACCUMULATOR.format(error=f"KeyError: {exc}"), pytrace=False)


@pytest.mark.q5_1_2
@given(
    seed=seeds,
    learning_rate=st.sampled_from([1e-3, 0.05, 0.5]),
    momentum=st.sampled_from([None, 0.5]),
    n_steps=st.integers(2, 4),
)
def test_momentum_steps_match_a_hand_computation(run_q5, seed, learning_rate, momentum, n_steps):
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=shape) for k, shape in q5_1_2.MOMENTUM_SHAPES.items()}
    mu = q5_1_2.DEFAULT_MOMENTUM if momentum is None else momentum
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
            got = np.asarray(params[key])
            if np.allclose(got, W[key], rtol=q5_1_2.STEP_RTOL, atol=q5_1_2.STEP_ATOL):
                continue
            what = "the default momentum 0.9" if momentum is None else f"momentum={momentum}"
            pytest.fail(
                q5_1_2.STEPS_DIFFER.format(
                    steps=step + 1, what=what, learning_rate=learning_rate, key=key,
                    expected=np.round(W[key].ravel()[:3], 6).tolist(),
                    got=np.round(got.ravel()[:3], 6).tolist(),
                ),
                pytrace=False,
            )  # fmt: skip


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
        hint = q5_2.LOSS_AVERAGED
    assert float(loss) == pytest.approx(expected, rel=q5_2.LOSS_RTOL, abs=q5_2.LOSS_ATOL), (
        q5_2.LOSS_WRONG.format(expected=expected, n=len(x), d=x.shape[1], got=float(loss)) + hint
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
    tolerance = q5_2.GRADIENT_TOLERANCE
    for key in PARAM_KEYS:
        if "grad_" + key not in converted:
            pytest.fail(q5_2.NO_GRADIENT.format(key=key), pytrace=False)
        numeric = oracle.central_differences(
            lambda: oracle.squared_error_sum(x, params), params[key], eps=q5_2.GRADIENT_EPS
        )
        analytic = np.asarray(converted["grad_" + key], dtype=float)
        if analytic.size != numeric.size:
            pytest.fail(f"grad_{key} has shape {analytic.shape}, {key} {params[key].shape}")
        analytic = analytic.reshape(numeric.shape)
        error = oracle.relative_error(analytic, numeric)
        hint = ""
        if oracle.relative_error(2 * analytic, numeric) < tolerance:
            hint = q5_2.GRADIENT_HALF
        elif oracle.relative_error(-analytic, numeric) < tolerance:
            hint = q5_2.GRADIENT_SIGN
        assert error < tolerance, q5_2.GRADIENT_WRONG.format(key=key, error=error) + hint


def _small_training(run_q5, settings):
    """The implementation's network and training on the grader's prototype images."""
    x = q5_2.prototypes()
    np.random.seed(0)
    params = run_q5.init_autoencoder(x.shape[1], q5_2.SMALL_HIDDEN)
    before = {k: np.array(params[k]) for k in PARAM_KEYS}
    history = run_q5.train_autoencoder(x, params, **settings)
    history = _result(history, "train_autoencoder's returned history").ravel()
    history = q5_2.small_history(settings, {"history": history})  # the grader's reading
    return x, before, params, history


@pytest.mark.q5_2
def test_training_lowers_the_loss(run_q5):
    settings = q5_2.SMALL_TRAINING
    x, before, params, history = _small_training(run_q5, settings)
    ratio = q5_2.SMALL_LOSS_RATIO
    assert history[-1] < ratio * history[0], q5_2.NOT_LEARNING.format(
        first=history[0], last=history[-1], epochs=settings["epochs"]
    )
    assert any(not np.array_equal(before[k], params[k]) for k in PARAM_KEYS), (
        "train_autoencoder should train params in place"
    )
    flat = {k: np.asarray(params[k]).reshape(before[k].shape) for k in PARAM_KEYS}
    flat = {k: v.reshape(-1) if k[0] == "b" else v for k, v in flat.items()}
    start = {k: v.reshape(-1) if k[0] == "b" else v for k, v in before.items()}
    error_before = oracle.squared_error_sum(x, start)
    error_after = oracle.squared_error_sum(x, flat)
    assert error_after < ratio * error_before, q5_2.NOT_IN_PLACE.format(
        after=error_after, before=error_before
    )


@pytest.mark.q5_2
def test_learning_rate_decays_after_every_decay_every_epochs(run_q5):
    """With ``decay=0`` the learning rate is 0 after the first ``decay_every`` epochs: later
    epochs only coast on the fading momentum, so the loss settles."""
    settings = q5_2.DECAY_TRAINING
    _, _, _, history = _small_training(run_q5, settings)
    decay_every = settings["decay_every"]
    assert history[1] < q5_2.FIRST_EPOCHS_RATIO * history[0], q5_2.DECAYED_FIRST.format(
        decay_every=decay_every, first=history[0], second=history[1]
    )
    change = abs(history[-1] - history[-2]) / history[-1]
    assert change < q5_2.SETTLED_CHANGE, q5_2.NOT_SETTLED.format(
        decay_every=decay_every, percent=100 * change
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
    params = random_autoencoder(np.random.default_rng(seed), 16, 3)
    names = "".join(classes)
    call = f"reconstruction_examples(x, y, params, {names!r}, {per_class})"
    result = run_q5.reconstruction_examples(x, y, impl_params(params), names, per_class)
    assert isinstance(result, tuple) and len(result) == 2, (
        "reconstruction_examples returns (indices, reconstructions)"
    )
    indices = np.asarray(result[0]).astype(int).ravel()
    got_names = "".join(CLASSES[i] for i in y[indices].argmax(axis=1))
    expected_names = "".join(c * per_class for c in names)
    assert got_names == expected_names, q5_3_1.WRONG_ORDER.format(
        call=call, expected=expected_names, got=got_names
    )
    assert len(set(indices.tolist())) == len(indices), q5_3_1.NOT_DIFFERENT.format(
        call=call, indices=indices
    )
    reconstructions = _result(result[1], "reconstructions", (len(indices), 16))
    expected = oracle.autoencoder_forward(x[indices], params)[0]
    assert np.allclose(
        reconstructions, expected, rtol=q5_3_1.EXAMPLES_RTOL, atol=q5_3_1.EXAMPLES_ATOL
    ), q5_3_1.NOT_FORWARD.format(call=call)


@pytest.mark.q5_3_1
def test_reconstruction_figure_is_written(run_q5, tmp_path):
    x, y = _labelled(0, d=1024, n_per=2)
    np.random.seed(0)
    params = run_q5.init_autoencoder(1024, 8)
    indices, reconstructions = run_q5.reconstruction_examples(x, y, params, q5_3_1.SHOWN, 2)
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
    got = float(run_q5.average_psnr(images.copy(), reconstructions.copy()))
    expected = float(np.mean(oracle.psnr(images, reconstructions)))
    assert got == pytest.approx(expected, rel=q5_3_2.PSNR_RTOL), q5_3_2.PSNR_WRONG.format(
        n=n, d=d, expected=expected, got=got
    )


@pytest.mark.q5_3_2
def test_average_psnr_averages_the_images_not_the_pixels(run_q5):
    inputs = q5_3_2.pooled_inputs()  # MSE 1e-4 (40 dB) and 1e-2 (20 dB)
    images, reconstructions = inputs["c0_x"], inputs["c0_r"]
    got = float(run_q5.average_psnr(images, reconstructions))
    pooled = 10 * np.log10(1 / np.mean((images - reconstructions) ** 2))
    assert got != pytest.approx(pooled, abs=q5_3_2.POOLED_ATOL), q5_3_2.POOLED.format(got=got)
    assert got == pytest.approx(30.0, abs=q5_3_2.AVERAGE_ATOL), q5_3_2.NOT_THIRTY.format(got=got)


# ----------------------------------------------------------------------------- the script
@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions" / "run_q5.py").exists(), reason="no solutions/")
def test_reference_script_writes_its_figures_and_the_psnr(tmp_path):
    proc = run_module("solutions.run_q5", "--epochs", "2", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "NIST36: using" in proc.stdout and "Q5.3.2 average PSNR" in proc.stdout
    for name in ("q5_2_loss.png", "q5_3_1_reconstructions.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 2000, f"{name} should be a PNG image"
