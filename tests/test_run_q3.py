"""Q3 (run_q3.py): Q3.1 the training loop on NIST36, and the helpers of Q3.2-Q3.4.

Q3.1 is scored (marker ``q3_1``): fast checks of ``train`` on tiny synthetic data here. That
training on NIST36 reaches the validation-accuracy bar is the graded check itself, in the
slow tier of ``tests/test_graded_checks.py`` (with ``run_q3.train``, or for a flat
submission whose ``run_q3.py`` is the handout's script, the grader's loop over its nn.py).

Q3.2-Q3.4 are written answers (figures): their helpers are checked here without a question
marker, so they count in no score.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import oracle
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import one_hot, seeds

from coursedata import progress
from kata.run_q3 import plot_curves  # given code, the same in every twin

ROOT = Path(__file__).resolve().parent.parent
PARAM_KEYS = ("Wlayer1", "blayer1", "Woutput", "boutput")
HISTORY_KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc")


# ----------------------------------------------------------------------------- helpers
def _clusters(seed, n_per_class=12, n_classes=4, dim=16, spread=0.35, sample=0):
    """Gaussian clusters in ``dim`` dimensions: ``(x, y one-hot)``. The clusters depend on
    ``seed``; ``sample`` draws other points of the same clusters (a validation set)."""
    centres = np.random.default_rng(seed).normal(size=(n_classes, dim))
    centres *= 2.5 / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    noise = np.random.default_rng([seed, sample + 1]).normal(size=(len(labels), dim))
    return centres[labels] + spread * noise, one_hot(labels, n_classes)


def _init(nn, sizes, seed=0):
    """The implementation's ``initialize_weights`` for ``in -> hidden -> classes``."""
    np.random.seed(seed)
    params = {}
    nn.initialize_weights(sizes[0], sizes[1], params, "layer1")
    nn.initialize_weights(sizes[1], sizes[2], params, "output")
    return params


def _probs(x, params):
    logits, _ = oracle.mlp_logits(x, params, [("layer1", "sigmoid")])
    return oracle.softmax(logits)


def _evaluate(x, y, params):
    """(cross-entropy averaged over the rows, accuracy), computed independently."""
    probs = _probs(x, params)
    return oracle.mean_cross_entropy(y, probs), oracle.accuracy(y, probs)


def _train(run_q3, x, y, valid_x, valid_y, params, learning_rate, batch_size, epochs):
    """Call ``run_q3.train``; check it returns ``(best, history)`` with one entry per epoch."""
    result = run_q3.train(
        x,
        y,
        valid_x,
        valid_y,
        params,
        learning_rate=learning_rate,
        batch_size=batch_size,
        epochs=epochs,
    )
    if not (isinstance(result, tuple) and len(result) == 2):
        pytest.fail(
            f"train should return the pair (best, history); got {type(result).__name__}",
            pytrace=False,
        )
    best, history = result
    if not isinstance(best, dict) or not set(PARAM_KEYS) <= set(best):
        got = sorted(best) if isinstance(best, dict) else type(best).__name__
        pytest.fail(
            f"train's `best` should be a dict with {list(PARAM_KEYS)} (copy_parameters of the "
            f"best epoch's params); got {got}",
            pytrace=False,
        )
    return best, _history(history, epochs)


def _history(history, epochs):
    """The history as a dict of float arrays, failing with a message when it is misshapen."""
    if not isinstance(history, dict) or not set(HISTORY_KEYS) <= set(history):
        got = sorted(history) if isinstance(history, dict) else type(history).__name__
        pytest.fail(
            f"train's history should be a dict with the keys {list(HISTORY_KEYS)}, each a "
            f"list with one value per epoch; got {got}",
            pytrace=False,
        )
    arrays = {}
    for key in HISTORY_KEYS:
        values = np.asarray(history[key], dtype=float).ravel()
        if len(values) != epochs:
            pytest.fail(
                f"history[{key!r}] has {len(values)} values after {epochs} epochs: append one "
                "value per epoch (not per batch)",
                pytrace=False,
            )
        if not np.all(np.isfinite(values)):
            pytest.fail(f"history[{key!r}] has NaN or inf values: {values}", pytrace=False)
        arrays[key] = values
    for key in ("train_acc", "valid_acc"):
        if np.any((arrays[key] < 0) | (arrays[key] > 1)):
            pytest.fail(f"history[{key!r}] should be fractions in [0, 1]: {arrays[key]}")
    return arrays


def _assert_png(path):
    path = Path(path)
    assert path.is_file(), f"{path.name} was not written"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000, (
        f"{path.name} should be a non-empty PNG image ({len(data)} bytes)"
    )


# ----------------------------------------------------------------------------- Q3.1 fast
@pytest.mark.q3_1
def test_training_fits_separable_data(run_q3, nn, tmp_path):
    x, y = _clusters(seed=1)
    valid_x, valid_y = _clusters(seed=1, n_per_class=6, sample=1)
    params = _init(nn, (16, 8, 4))
    before = {k: np.array(params[k]) for k in PARAM_KEYS}
    _, history = _train(run_q3, x, y, valid_x, valid_y, params, 0.1, 5, 40)

    loss, acc = history["train_loss"], history["train_acc"]
    assert loss[0] < 5.0, (
        f"the first epoch's training loss is {loss[0]:.1f}; with 4 classes an untrained "
        "network's cross-entropy is about log(4) = 1.4 per sample: average the loss over the "
        "samples (sum the batch losses, divide by the number of samples), don't just sum it"
    )
    assert loss[-1] < 0.25 * loss[0], (
        f"the training loss went from {loss[0]:.3f} to only {loss[-1]:.3f} in 40 epochs on "
        "well-separated clusters: update every parameter with W <- W - learning_rate * grad_W "
        "after each batch"
    )
    assert acc[-1] >= 0.95 and history["valid_acc"][-1] >= 0.9, (
        f"after 40 epochs on well-separated clusters the training accuracy is {acc[-1]:.2f} "
        f"and the validation accuracy {history['valid_acc'][-1]:.2f}; expected >= 0.95 and "
        ">= 0.9"
    )
    assert any(not np.array_equal(before[k], params[k]) for k in PARAM_KEYS), (
        "train should train `params` in place (update params[k], as in Q2.4)"
    )
    plot_curves(history, tmp_path, "q3_1")  # the given plot accepts the history
    for name in ("q3_1_accuracy.png", "q3_1_loss.png"):
        _assert_png(tmp_path / name)


def _misleading_start(impl_params, n_classes=4):
    """A network that predicts the *next* class, ``(c + 1) % n_classes``, for each cluster.

    Trained on the right labels it unlearns that, so on validation data labelled with the
    next class its accuracy starts at 1 and falls: the best validation epoch is an early one.
    """
    x = np.repeat(np.eye(n_classes), 10, axis=0)
    x = x + np.random.default_rng(0).normal(scale=0.05, size=x.shape)
    labels = np.repeat(np.arange(n_classes), 10)
    shifted = np.roll(np.eye(n_classes), 1, axis=1)  # hidden unit c votes for class c + 1
    params = {
        "Wlayer1": 6.0 * np.eye(n_classes),
        "blayer1": np.full(n_classes, -3.0),
        "Woutput": 4.0 * shifted,
        "boutput": np.zeros(n_classes),
    }
    valid_y = one_hot((labels + 1) % n_classes, n_classes)
    return x, one_hot(labels, n_classes), x.copy(), valid_y, impl_params(params)


@pytest.mark.q3_1
def test_keeps_the_parameters_of_the_best_validation_epoch(run_q3, impl_params):
    x, y, valid_x, valid_y, params = _misleading_start(impl_params)
    epochs = 12
    best, history = _train(run_q3, x, y, valid_x, valid_y, params, 0.05, 8, epochs)
    valid_acc = history["valid_acc"]
    assert valid_acc[-1] <= valid_acc.max() - 0.5, (
        "set-up: this network starts out predicting the validation labels (accuracy 1) and "
        "training on the real labels should make it unlearn them, but the validation "
        f"accuracy per epoch is {np.round(valid_acc, 2).tolist()}: does train update params "
        "after every batch?"
    )
    loss, acc = _evaluate(valid_x, valid_y, best)
    assert acc == pytest.approx(valid_acc.max(), abs=1e-9), (
        f"the returned `best` parameters score {acc:.3f} on the validation set, but the best "
        f"epoch of the history scored {valid_acc.max():.3f} (per epoch: "
        f"{np.round(valid_acc, 2).tolist()}). Keep a copy of the parameters at the end of the "
        "epoch with the highest validation accuracy (copy_parameters: a reference to params "
        "would follow later updates)."
    )
    best_epochs = np.flatnonzero(np.isclose(valid_acc, valid_acc.max(), atol=1e-9))
    losses = history["valid_loss"][best_epochs]
    assert np.any(np.isclose(losses, loss, rtol=1e-6)), (
        f"history['valid_loss'] of the best epoch(s) is {losses}, but the returned `best` "
        f"parameters have a validation cross-entropy of {loss:.6f} averaged over the data"
        + (
            f" (summed: {loss * len(valid_x):.4f}): average it"
            if np.any(np.isclose(losses, loss * len(valid_x), rtol=1e-6))
            else ""
        )
    )


@pytest.mark.q3_1
@given(seed=seeds, epochs=st.integers(1, 4), batch_size=st.sampled_from([3, 4, 7, 15]))
def test_history_records_each_epoch_on_the_validation_set(run_q3, nn, seed, epochs, batch_size):
    x, y = _clusters(seed, n_per_class=5, n_classes=3, dim=6, spread=1.0)
    valid_x, valid_y = _clusters(seed, n_per_class=4, n_classes=3, dim=6, spread=1.0, sample=1)
    params = _init(nn, (6, 5, 3), seed=seed % 2**32)
    _, history = _train(run_q3, x, y, valid_x, valid_y, params, 0.05, batch_size, epochs)
    loss, acc = _evaluate(valid_x, valid_y, params)
    assert history["valid_acc"][-1] == pytest.approx(acc, abs=1e-9), (
        f"history['valid_acc'][-1] is {history['valid_acc'][-1]:.4f}, but the trained params "
        f"score {acc:.4f} on the validation data: after each epoch, evaluate the validation "
        "set with the current params and append its accuracy"
    )
    hint = ""
    if history["valid_loss"][-1] == pytest.approx(loss * len(valid_x), rel=1e-6):
        hint = " It is the sum over the samples: divide by their number."
    assert history["valid_loss"][-1] == pytest.approx(loss, rel=1e-6), (
        f"history['valid_loss'][-1] is {history['valid_loss'][-1]:.6f}; the trained params' "
        f"validation cross-entropy averaged over the {len(valid_x)} samples is {loss:.6f}." + hint
    )
    assert np.all(history["train_loss"] < 10.0), (
        f"history['train_loss'] = {history['train_loss']}: average the training loss over the "
        "samples of the epoch (an untrained network's cross-entropy is about log(3) = 1.1)"
    )


# ----------------------------------------------------------------------------- Q3.2-Q3.4
def test_learning_rate_sweep_uses_ten_times_and_a_tenth(run_q3):
    x, y = _clusters(seed=2, n_per_class=6, n_classes=3, dim=9)
    results = run_q3.learning_rate_sweep(
        x, y, x, y, learning_rate=0.02, batch_size=5, epochs=3, hidden_size=4
    )
    assert sorted(results) == pytest.approx([0.002, 0.2]), (
        "Q3.2 compares the tuned learning rate with 10x and 0.1x of it"
    )
    for best, history in results.values():
        _history(history, 3)
        assert best["Wlayer1"].shape == (9, 4) and best["Woutput"].shape == (4, 3)


def _upright_images(n, side, seed=0):
    """``n`` random, asymmetric ``side x side`` images (a transposed copy differs)."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n, side, side))
    images[:, 0, :] += 10.0  # a bright top row: a transposed tile would show a bright left column
    return images


@pytest.mark.q3_3
@pytest.mark.parametrize(("n_units", "n_cols"), [(64, 8), (12, 4), (6, 6)])
def test_weight_grid_shows_each_unit_upright_in_reading_order(run_q3, n_units, n_cols):
    side = 32
    images = _upright_images(n_units, side)
    # stored like NIST36: column k is tile k transposed, flattened
    W = np.stack([image.T.ravel() for image in images], axis=1)
    grid = run_q3.weight_grid(W, n_cols) if n_cols != 8 else run_q3.weight_grid(W)
    rows = n_units // n_cols
    assert np.shape(grid) == (rows * side, n_cols * side), (
        f"weight_grid of {n_units} units in {n_cols} columns should be "
        f"({rows * side}, {n_cols * side}); got {np.shape(grid)}"
    )
    for k in range(n_units):
        r, c = divmod(k, n_cols)
        tile = np.asarray(grid)[r * side : (r + 1) * side, c * side : (c + 1) * side]
        if np.array_equal(tile, images[k].T):
            pytest.fail(f"tile {k} is transposed: use W[:, k].reshape(side, side).T")
        assert np.array_equal(tile, images[k]), (
            f"tile {k} (grid row {r}, column {c}) should be W[:, {k}].reshape(32, 32).T, "
            "with tiles in reading order (left to right, then top to bottom)"
        )


@pytest.mark.q3_4
@given(seed=seeds, n=st.integers(1, 60), n_classes=st.integers(2, 36))
def test_confusion_matrix_counts_true_against_predicted(run_q3, seed, n, n_classes):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, size=n)
    probs = rng.dirichlet(np.ones(n_classes), size=n)
    y = one_hot(labels, n_classes)
    confusion = np.asarray(run_q3.confusion_matrix(y, probs))
    assert confusion.shape == (n_classes, n_classes)
    predicted = probs.argmax(axis=1)
    expected = np.zeros((n_classes, n_classes))
    np.add.at(expected, (labels, predicted), 1)
    assert np.array_equal(confusion.sum(axis=1), np.bincount(labels, minlength=n_classes)), (
        "each row i of the confusion matrix should sum to the number of samples of class i "
        "(rows: true class, columns: predicted class)"
    )
    assert np.trace(confusion) / n == pytest.approx(oracle.accuracy(y, probs)), (
        "the trace over the number of samples should be the accuracy"
    )
    assert np.array_equal(confusion, expected), (
        "confusion[i, j] counts the samples of true class i predicted as class j"
    )


def test_most_confused_pairs_add_both_directions(run_q3):
    confusion = np.diag(np.full(36, 50))
    confusion[14, 26] = 9  # O taken for 0
    confusion[26, 14] = 4  # 0 taken for O
    confusion[8, 27] = 11  # I taken for 1
    confusion[18, 31] = 2  # S taken for 5
    assert run_q3.most_confused_pairs(confusion, k=3) == [
        ("O", "0", 13),
        ("I", "1", 11),
        ("S", "5", 2),
    ]


def test_q3_figures_are_written(run_q3, tmp_path):
    rng = np.random.default_rng(0)
    history = {key: list(rng.uniform(0, 1, size=5)) for key in HISTORY_KEYS}
    paths = run_q3.plot_curves(history, tmp_path, "q3_1")
    paths.append(run_q3.plot_confusion(rng.integers(0, 20, size=(36, 36)), tmp_path / "c.png"))
    paths.append(run_q3.plot_weights(rng.normal(size=(1024, 64)), tmp_path / "w.png", "W"))
    assert {Path(p).name for p in paths} == {
        "q3_1_accuracy.png",
        "q3_1_loss.png",
        "c.png",
        "w.png",
    }
    for path in paths:
        _assert_png(path)


def test_weights_pickle_round_trip_in_the_handout_format(run_q3, tmp_path):
    assert run_q3.weights_path() == Path("out") / "q3_weights.pickle"
    params = run_q3.init_network(12, 5, 3)
    params["cache_layer1"] = (np.ones(2),) * 3
    path = run_q3.save_weights(params, run_q3.weights_path(tmp_path / "out"))
    loaded = run_q3.load_weights(path)
    assert sorted(loaded) == sorted(PARAM_KEYS), "the pickle holds the parameters only"
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(loaded[key], params[key])


def test_progress_bar_is_quiet_when_not_on_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    bar = progress.epochs(3, "test")
    seen = []
    for epoch in bar:
        progress.show(bar, loss=1.0 / (epoch + 1), acc=0.5, note="text")
        seen.append(epoch)
    progress.show(range(3), loss=1.0)  # not a bar: nothing happens
    assert seen == [0, 1, 2]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "", "pytest's output is not a terminal"
    monkeypatch.setenv(progress.PROGRESS_ENV, "1")
    bar = progress.epochs(2, "forced")
    for _ in bar:
        progress.show(bar, loss=0.25)
    assert "forced" in capsys.readouterr().err


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
    'raise NotImplementedError("Q3.1 train")' not in (ROOT / "kata" / "run_q3.py").read_text(),
    reason="kata's train is written: the script would train for real",
)
def test_untouched_kata_script_says_what_is_not_implemented(tmp_path):
    proc = _script("kata.run_q3", "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not implemented yet: Q" in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions" / "run_q3.py").exists(), reason="no solutions/")
def test_reference_script_writes_every_figure_and_the_weights(tmp_path):
    proc = _script("solutions.run_q3", "--epochs", "2", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "NIST36: using" in proc.stdout and "Q3.2 test accuracy" in proc.stdout
    figures = [
        "q3_1_accuracy.png",
        "q3_1_loss.png",
        "q3_2_lr_x10_accuracy.png",
        "q3_2_lr_x10_loss.png",
        "q3_2_lr_x0.1_accuracy.png",
        "q3_2_lr_x0.1_loss.png",
        "q3_3_weights_init.png",
        "q3_3_weights_trained.png",
        "q3_4_confusion.png",
    ]
    for name in figures:
        _assert_png(tmp_path / name)
    import pickle

    with open(tmp_path / "q3_weights.pickle", "rb") as handle:
        weights = pickle.load(handle)
    assert sorted(weights) == sorted(PARAM_KEYS)
    assert weights["Wlayer1"].shape == (1024, 64) and weights["boutput"].shape == (36,)
