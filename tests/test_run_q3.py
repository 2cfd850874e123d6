"""Q3 (run_q3.py): Q3.1 the training loop on NIST36, and the helpers of Q3.2-Q3.4.

Q3.1 is scored (marker ``q3_1``): fast checks of ``train`` on tiny synthetic data here. That
training on NIST36 reaches the validation-accuracy bar is the graded check itself, in the
slow tier of ``tests/test_graded_checks.py`` (with ``run_q3.train``, or for a flat
submission whose ``run_q3.py`` is the handout's script, the grader's loop over its nn.py).

Q3.2-Q3.4 are written answers (figures): their helpers are checked here without a question
marker, so they count in no score.
"""

from pathlib import Path

import numpy as np
import oracle
import pytest
from hypothesis import given
from hypothesis import strategies as st
from running import run_module
from strategies import one_hot, seeds

from coursedata import progress
from grader.checks import q3_1, q3_2, q3_3, q3_4
from grader.checks.q3_1 import clusters
from grader.checks.q3_common import (
    HISTORY_KEYS,
    PARAM_KEYS,
    best_params,
    describe_training,
    evaluate,
    history_arrays,
)
from kata.run_q3 import plot_curves  # given code, the same in every twin

ROOT = Path(__file__).resolve().parent.parent
# The bars, settings and messages are the grader's (grader/checks/q3_1.py ... q3_4.py).


# ----------------------------------------------------------------------------- helpers
def _init(nn, sizes, seed=0):
    """The implementation's ``initialize_weights`` for ``in -> hidden -> classes``."""
    np.random.seed(seed)
    params = {}
    nn.initialize_weights(sizes[0], sizes[1], params, "layer1")
    nn.initialize_weights(sizes[1], sizes[2], params, "output")
    return params


def _train(run_q3, x, y, valid_x, valid_y, params, learning_rate, batch_size, epochs):
    """Call ``run_q3.train``; check, as the grader does, that it returns ``(best, history)``
    with one entry per epoch: ``(best, history as float arrays)``."""
    sizes = (params["Wlayer1"].shape[0], *params["Woutput"].shape)
    settings = {"learning_rate": learning_rate, "batch_size": batch_size, "epochs": epochs}
    out = describe_training(run_q3.train(x, y, valid_x, valid_y, params, **settings))
    return best_params(out, sizes=sizes), history_arrays(out, epochs)


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
    inputs = q3_1.clusters_inputs()  # the grader's clusters and settings
    x, y, valid_x, valid_y = (inputs["c0_" + k] for k in ("x", "y", "valid_x", "valid_y"))
    learning_rate, batch_size, epochs = (
        inputs["c0_" + k] for k in ("learning_rate", "batch_size", "epochs")
    )
    params = _init(nn, (*inputs["c0_init_Wlayer1"].shape, inputs["c0_init_Woutput"].shape[1]))
    before = {k: np.array(params[k]) for k in PARAM_KEYS}
    _, history = _train(run_q3, x, y, valid_x, valid_y, params, learning_rate, batch_size, epochs)

    loss, acc, valid_acc = history["train_loss"], history["train_acc"], history["valid_acc"]
    assert loss[0] < q3_1.UNTRAINED_LOSS, q3_1.SUMMED_LOSS.format(loss=loss[0])
    assert loss[-1] < q3_1.CLUSTER_LOSS_RATIO * loss[0], q3_1.NOT_LEARNING.format(
        first=loss[0], last=loss[-1], epochs=epochs
    )
    assert acc[-1] >= q3_1.CLUSTER_TRAIN_ACC and valid_acc[-1] >= q3_1.CLUSTER_VALID_ACC, (
        q3_1.CLUSTER_ACCURACY.format(
            epochs=epochs, train=acc[-1], valid=valid_acc[-1],
            train_bar=q3_1.CLUSTER_TRAIN_ACC, valid_bar=q3_1.CLUSTER_VALID_ACC,
        )
    )  # fmt: skip
    assert any(not np.array_equal(before[k], params[k]) for k in PARAM_KEYS), q3_1.NOT_IN_PLACE
    plot_curves(history, tmp_path, "q3_1")  # the given plot accepts the history
    for name in ("q3_1_accuracy.png", "q3_1_loss.png"):
        _assert_png(tmp_path / name)


def _misleading_start(impl_params):
    """The grader's misleading start (``q3_1.best_epoch_inputs``): a network that predicts
    the *next* class for each cluster, and validation data labelled with the next class, so
    the best validation epoch is an early one. ``(x, y, valid_x, valid_y, params,
    learning_rate, batch_size, epochs)``."""
    inputs = q3_1.best_epoch_inputs()
    params = impl_params({k: inputs["c0_init_" + k] for k in PARAM_KEYS})
    data = [inputs["c0_" + k] for k in ("x", "y", "valid_x", "valid_y")]
    settings = [inputs["c0_" + k] for k in ("learning_rate", "batch_size", "epochs")]
    return (*data, params, *settings)


@pytest.mark.q3_1
def test_keeps_the_parameters_of_the_best_validation_epoch(run_q3, impl_params):
    x, y, valid_x, valid_y, params, learning_rate, batch_size, epochs = _misleading_start(
        impl_params
    )
    best, history = _train(run_q3, x, y, valid_x, valid_y, params, learning_rate, batch_size,
                           epochs)  # fmt: skip
    valid_acc = history["valid_acc"]
    per_epoch = np.round(valid_acc, 2).tolist()
    assert valid_acc[-1] <= valid_acc.max() - q3_1.UNLEARN_DROP, q3_1.NOT_UNLEARNED.format(
        per_epoch=per_epoch
    )
    loss, acc = evaluate(valid_x, valid_y, best)
    assert acc == pytest.approx(valid_acc.max(), abs=q3_1.ACC_ATOL), q3_1.NOT_A_COPY.format(
        acc=acc, best=valid_acc.max(), per_epoch=per_epoch
    )
    best_epochs = np.flatnonzero(np.isclose(valid_acc, valid_acc.max(), atol=q3_1.ACC_ATOL))
    losses = history["valid_loss"][best_epochs]
    summed = np.any(np.isclose(losses, loss * len(valid_x), rtol=q3_1.LOSS_RTOL))
    assert np.any(np.isclose(losses, loss, rtol=q3_1.LOSS_RTOL)), q3_1.BEST_LOSS.format(
        losses=np.round(losses, 6).tolist(), loss=loss
    ) + (q3_1.BEST_LOSS_SUMMED if summed else "")


@pytest.mark.q3_1
@given(seed=seeds, epochs=st.integers(1, 4), batch_size=st.sampled_from([3, 4, 7, 15]))
def test_history_records_each_epoch_on_the_validation_set(run_q3, nn, seed, epochs, batch_size):
    x, y = clusters(seed, n_per_class=5, n_classes=3, dim=6, spread=1.0)
    valid_x, valid_y = clusters(seed, n_per_class=4, n_classes=3, dim=6, spread=1.0, sample=1)
    params = _init(nn, (6, 5, 3), seed=seed % 2**32)
    _, history = _train(run_q3, x, y, valid_x, valid_y, params, 0.05, batch_size, epochs)
    n = len(valid_x)
    loss, acc = evaluate(valid_x, valid_y, params)
    got_acc, got_loss = history["valid_acc"][-1], history["valid_loss"][-1]
    assert got_acc == pytest.approx(acc, abs=q3_1.ACC_ATOL), q3_1.VALID_ACC.format(
        got=got_acc, setting="", acc=acc
    )
    summed = got_loss == pytest.approx(loss * n, rel=q3_1.LOSS_RTOL)
    assert got_loss == pytest.approx(loss, rel=q3_1.LOSS_RTOL), q3_1.VALID_LOSS.format(
        got=got_loss, setting="", n=n, loss=loss
    ) + (q3_1.VALID_LOSS_SUMMED if summed else "")
    assert np.all(history["train_loss"] < q3_1.HISTORY_MAX_LOSS), q3_1.TRAIN_LOSS_SUMMED.format(
        losses=np.round(history["train_loss"], 3).tolist(), setting=""
    )


# ----------------------------------------------------------------------------- Q3.2-Q3.4
def test_learning_rate_sweep_uses_ten_times_and_a_tenth(run_q3):
    x, y = clusters(seed=2, n_per_class=6, n_classes=3, dim=9)
    results = run_q3.learning_rate_sweep(
        x, y, x, y, learning_rate=0.02, batch_size=5, epochs=3, hidden_size=4
    )
    others = sorted(0.02 * factor for factor in q3_2.SWEEP_FACTORS if factor != 1)
    assert sorted(results) == pytest.approx(others), (
        "Q3.2 compares the tuned learning rate with 10x and 0.1x of it"
    )
    for best, history in results.values():
        history_arrays(describe_training((best, history)), 3)
        assert best["Wlayer1"].shape == (9, 4) and best["Woutput"].shape == (4, 3)


def _upright_images(n, side, seed=0):
    """``n`` random, asymmetric ``side x side`` images (a transposed copy differs)."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n, side, side))
    images[:, 0, :] += 10.0  # a bright top row: a transposed tile would show a bright left column
    return images


@pytest.mark.q3_3
@pytest.mark.parametrize(("n_units", "n_cols"), q3_3.GRID_CASES)
def test_weight_grid_shows_each_unit_upright_in_reading_order(run_q3, n_units, n_cols):
    side = q3_3.SIDE
    images = _upright_images(n_units, side)
    # stored like NIST36: column k is tile k transposed, flattened
    W = np.stack([image.T.ravel() for image in images], axis=1)
    grid = run_q3.weight_grid(W, n_cols) if n_cols != 8 else run_q3.weight_grid(W)
    call = "weight_grid(W)" if n_cols == 8 else f"weight_grid(W, n_cols={n_cols})"
    what = f"{call} of {n_units} units"
    rows = n_units // n_cols
    assert np.shape(grid) == (rows * side, n_cols * side), (
        f"{what}: expected shape {(rows * side, n_cols * side)}, got {np.shape(grid)}"
    )
    for k in range(n_units):
        r, c = divmod(k, n_cols)
        tile = np.asarray(grid)[r * side : (r + 1) * side, c * side : (c + 1) * side]
        if np.array_equal(tile, images[k].T):
            pytest.fail(q3_3.TRANSPOSED_TILE.format(what=what, k=k), pytrace=False)
        assert np.array_equal(tile, images[k]), q3_3.WRONG_TILE.format(what=what, k=k, r=r, c=c)


@pytest.mark.q3_4
@given(seed=seeds, n=st.integers(1, 60), n_classes=st.integers(2, 36))
def test_confusion_matrix_counts_true_against_predicted(run_q3, seed, n, n_classes):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, size=n)
    probs = rng.dirichlet(np.ones(n_classes), size=n)
    y = one_hot(labels, n_classes)
    what = f"confusion_matrix(y, probs) of {n} samples and {n_classes} classes"
    confusion = np.asarray(run_q3.confusion_matrix(y, probs))
    assert confusion.shape == (n_classes, n_classes)
    predicted = probs.argmax(axis=1)
    expected = np.zeros((n_classes, n_classes))
    np.add.at(expected, (labels, predicted), 1)
    if not np.array_equal(confusion, expected):  # the mistakes the grader names
        if np.array_equal(confusion, expected.T):
            pytest.fail(q3_4.TRANSPOSED.format(what=what), pytrace=False)
        if np.array_equal(confusion, (expected > 0).astype(float)):
            pytest.fail(q3_4.FANCY_INDEX.format(what=what), pytrace=False)
    got_sums, want_sums = confusion.sum(axis=1), np.bincount(labels, minlength=n_classes)
    assert np.array_equal(got_sums, want_sums), q3_4.ROW_SUMS.format(
        what=what, got=got_sums.astype(int).tolist(), expected=want_sums.tolist()
    )
    assert np.trace(confusion) / n == pytest.approx(oracle.accuracy(y, probs)), (
        "the trace over the number of samples should be the accuracy"
    )
    assert np.array_equal(confusion, expected), q3_4.WRONG_COUNTS.format(what=what)


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
@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions" / "run_q3.py").exists(), reason="no solutions/")
def test_reference_script_writes_every_figure_and_the_weights(tmp_path):
    proc = run_module("solutions.run_q3", "--epochs", "2", "--out", str(tmp_path))
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
