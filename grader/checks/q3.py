"""Q3: training the handout's network on NIST36 (``run_q3.py``) and the write-up's figures.

Q3.1 is scored: fast checks of ``run_q3.train`` on small synthetic data, and a training run on
NIST36 (``coursedata.load_nist36``) whose validation accuracy the grader computes itself. That
run uses ``run_q3.train`` when the submission has one (the kata layout); a flat submission
whose ``run_q3.py`` is the handout's script is trained by a plain loop written here that calls
its ``nn.py`` (``initialize_weights``, ``get_random_batches``, ``forward``, ``softmax``,
``backwards``, ``compute_loss_and_acc``), so it earns Q3.1 too.

Q3.2-Q3.4 are written questions (not scored): their checks train the same way and return
plain data, from which the grader draws the figures (learning curves at other learning rates,
the first layer's weights as images, the test set's confusion matrix). Each question runs in
its own process, so Q3.3 and Q3.4 train again: with the same seed and settings as Q3.1, the
same network.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from coursedata import CLASSES, DataError, load_nist36, nist36_source, official_paths
from grader import oracle
from grader.check import Check, Fail, array
from grader.checks.common import row_bias
from grader.implementation import NotProvided

PARAM_KEYS = ("Wlayer1", "blayer1", "Woutput", "boutput")
HISTORY_KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc")
LAYERS = [("layer1", "sigmoid")]

# The NIST36 training: the handout's network and the settings the bars were measured with.
IN_SIZE, HIDDEN_SIZE, N_CLASSES = 1024, 64, 36
LEARNING_RATE, BATCH_SIZE, EPOCHS, SEED = 5e-3, 32, 50, 0
# The bar for the best parameters' validation accuracy. Official NIST36: the handout's 75%.
# The bundled stand-in: the reference solutions reach 0.792-0.794 (numpy seeds 0, 1, 2), so
# the bar there is 0.77, two points below.
OFFICIAL_THRESHOLD = 0.75
STANDIN_THRESHOLD = 0.77
# Q3.2: the tuned rate and 10x, 0.1x of it, over fewer epochs (the curves part within 20).
SWEEP_FACTORS = (10.0, 1.0, 0.1)
SWEEP_EPOCHS = 20
# This module's own loop (flat submissions) stops when an epoch takes longer than this: 50
# epochs would take over 10 minutes, and vectorised code takes well under a second.
LOOP_SECONDS_PER_EPOCH = 12.0
# Budgets: a correct solution with Python loops over the samples takes minutes on NIST36.
FAST_BUDGET = 60
TRAIN_BUDGET = 900
SWEEP_BUDGET = 1080

TRAINING_HINT = (
    "Check that the loss and gradients are sums over the batch and that every parameter is "
    "updated after every batch."
)


# ============================================================================ task side
# Runs in the submission's process: calls the submission and returns plain data.
def _row_bias(sub) -> bool:
    """Whether the submission's ``initialize_weights`` makes ``(1, out)`` biases."""
    return row_bias(sub.load("nn"))


def _submission_params(sub, inputs: dict, prefix: str) -> dict:
    """The parameters ``inputs[prefix + key]``, with biases in the submission's convention."""
    row_bias = _row_bias(sub)
    return {
        key: np.array(inputs[prefix + key]).reshape(1, -1)
        if row_bias and key.startswith("b")
        else np.array(inputs[prefix + key])
        for key in PARAM_KEYS
    }


def _train_function(sub):
    """``(run_q3.train, "")``, or ``(None, why)`` when the submission has no such function."""
    try:
        run_q3 = sub.load("run_q3")
    except NotProvided as exc:
        return None, str(exc)
    train = getattr(run_q3, "train", None)
    if train is None:
        return None, "run_q3.py has no train function"
    return train, ""


def _required_train(sub):
    """``run_q3.train``; :class:`NotProvided` (the check is left out) when absent."""
    train, why = _train_function(sub)
    if train is None:
        raise NotProvided(why)
    return train


def _floats(value, ravel: bool = False):
    """``value`` as a float array (a copy: later training must not change it), or a string
    saying why it is not one."""
    try:
        result = np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        return f"not numbers ({type(exc).__name__}: {exc})"[:300]
    return result.ravel() if ravel else result


def _keys(value) -> str:
    if isinstance(value, dict):
        return ",".join(sorted(map(str, value)))
    return f"<{type(value).__name__}>"


def _describe_training(result, prefix: str = "") -> dict:
    """What ``train`` returned, flattened: ``returned``, ``best_*`` and ``history_*``."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        return {prefix + "returned": type(result).__name__}
    best, history = result
    out = {
        prefix + "returned": "pair",
        prefix + "best_keys": _keys(best),
        prefix + "history_keys": _keys(history),
    }
    if isinstance(best, dict):
        for key in PARAM_KEYS:
            if key in best:
                out[prefix + "best_" + key] = _floats(best[key])
    if isinstance(history, dict):
        for key in HISTORY_KEYS:
            if key in history:
                out[prefix + "history_" + key] = _floats(history[key], ravel=True)
    return out


def _evaluate(x, y, params) -> tuple[float, float]:
    """(cross-entropy averaged over the rows, accuracy), computed independently."""
    flat = {
        k: np.asarray(v, dtype=float).reshape(-1) if k[0] == "b" else v for k, v in params.items()
    }
    probs = oracle.softmax(oracle.mlp_logits(x, flat, LAYERS)[0])
    return oracle.mean_cross_entropy(y, probs), oracle.accuracy(y, probs)


def loop_train(sub, x, y, valid_x, valid_y, params, learning_rate, batch_size, epochs, limit):
    """Q3.1's loop written here, calling the submission's ``nn.py`` for everything it does
    (also the test suite's loop for flat submissions, ``tests/test_run_q3.py``).

    Returns ``(best, history, stopped_after)``: ``stopped_after`` is the number of epochs run
    when one epoch took longer than ``limit`` seconds on average (else None).
    """
    nn, util = sub.load("nn"), sub.load("util")
    sigmoid_deriv = getattr(nn, "sigmoid_deriv", None) or (lambda a: a * (1.0 - a))
    linear_deriv = getattr(util, "linear_deriv", None) or np.ones_like
    history = {key: [] for key in HISTORY_KEYS}
    best, best_acc = None, -1.0
    start = time.process_time()  # CPU time: a busy machine does not stop the loop early
    for epoch in range(epochs):
        total_loss, n_correct, n_seen = 0.0, 0.0, 0
        for xb, yb in nn.get_random_batches(x, y, batch_size):
            xb, yb = np.asarray(xb), np.asarray(yb)
            hidden = nn.forward(xb, params, "layer1", nn.sigmoid)
            probs = nn.forward(hidden, params, "output", nn.softmax)
            loss, acc = nn.compute_loss_and_acc(yb, probs)
            delta = nn.backwards(probs - yb, params, "output", linear_deriv)
            nn.backwards(delta, params, "layer1", sigmoid_deriv)
            for key in PARAM_KEYS:
                params[key] = params[key] - learning_rate * params["grad_" + key]
            total_loss += float(loss)
            n_correct += float(acc) * len(xb)
            n_seen += len(xb)
        valid_loss, valid_acc = _evaluate(valid_x, valid_y, params)
        values = (total_loss / max(n_seen, 1), n_correct / max(n_seen, 1), valid_loss, valid_acc)
        for key, value in zip(HISTORY_KEYS, values):
            history[key].append(value)
        if valid_acc > best_acc:
            best, best_acc = {k: np.array(params[k]) for k in PARAM_KEYS}, valid_acc
        if (time.process_time() - start) / (epoch + 1) > limit and epoch + 1 < epochs:
            return best, history, epoch + 1
    return best, history, None


_CACHE: dict = {}


def _remember(key: tuple, sub, compute):
    """``compute()`` once per submission process (its exception too, raised again)."""
    entry = _CACHE.get(key)
    if entry is None or entry[0] is not sub:
        try:
            value = compute()
        except Exception as exc:
            value = exc
        entry = _CACHE[key] = (sub, value)
    if isinstance(entry[1], Exception):
        raise entry[1]
    return dict(entry[1])


def _nist36_training(sub, learning_rate, batch_size, epochs, seed, limit) -> dict:
    """Train the handout's network on NIST36 with the submission's code (once per process)."""

    def compute():
        x, y = load_nist36("train")
        valid_x, valid_y = load_nist36("valid")
        nn = sub.load("nn")
        train, why = _train_function(sub)
        np.random.seed(seed)
        params = {}
        nn.initialize_weights(x.shape[1], HIDDEN_SIZE, params, "layer1")
        nn.initialize_weights(HIDDEN_SIZE, y.shape[1], params, "output")
        initial = _floats(params.get("Wlayer1"))
        start = time.perf_counter()
        if train is not None:
            result = train(
                x,
                y,
                valid_x,
                valid_y,
                params,
                learning_rate=learning_rate,
                batch_size=batch_size,
                epochs=epochs,
            )
            out = _describe_training(result)
            out["how"] = "run_q3.train"
        else:
            best, history, stopped = loop_train(
                sub, x, y, valid_x, valid_y, params, learning_rate, batch_size, epochs, limit
            )
            out = _describe_training((best, history))
            out["how"] = f"this check's loop over your nn.py ({why})"
            if stopped:
                out["stopped_after"] = stopped
        out["seconds"] = time.perf_counter() - start
        out["initial_Wlayer1"] = initial
        return out

    return _remember(("nist36", id(sub), learning_rate, batch_size, epochs, seed), sub, compute)


def nist36_task(sub, inputs):
    """Train the handout's network on NIST36 with the submission's code (once per process).

    Parameters
    ----------
    sub : Implementation
        The submission (``sub.load("nn")``, ``sub.load("run_q3")``).
    inputs : dict
        ``learning_rate``, ``batch_size``, ``epochs``, ``seed``, ``loop_seconds_per_epoch``.

    Returns
    -------
    out : dict
        ``returned`` ("pair" or the type ``train`` returned), ``best_<param>`` arrays,
        ``history_<key>`` arrays of one value per epoch, ``initial_Wlayer1`` (1024, 64),
        ``how`` (which code trained), ``seconds``, and ``stopped_after`` when this module's
        loop gave up on slow code; every array also as ``shared_<key>``, which Q3.3 and Q3.4
        receive in their inputs instead of training again.
    """
    shared = {k.removeprefix("shared_"): v for k, v in inputs.items() if k.startswith("shared_")}
    if shared:
        return shared | {"returned": "pair", "how": "the training of Q3.1's process"}
    out = _nist36_training(
        sub,
        inputs["learning_rate"],
        inputs["batch_size"],
        inputs["epochs"],
        inputs["seed"],
        inputs["loop_seconds_per_epoch"],
    )
    return out | {f"shared_{k}": v for k, v in out.items() if k not in ("how", "seconds")}


def sweep_task(sub, inputs):
    """Q3.2: train at each learning rate of ``inputs['learning_rates']``; prefixes ``lr<i>_``."""
    out = {}
    for i, learning_rate in enumerate(inputs["learning_rates"]):
        trained = _nist36_training(
            sub,
            learning_rate,
            inputs["batch_size"],
            inputs["epochs"],
            inputs["seed"],
            inputs["loop_seconds_per_epoch"],
        )
        out.update({f"lr{i}_{key}": value for key, value in trained.items()})
    return out


def train_cases_task(sub, inputs):
    """Call ``run_q3.train`` on each small case ``c<i>_`` of ``inputs`` (the keys below)."""
    train = _required_train(sub)
    out = {}
    for i in range(inputs["n_cases"]):
        p = f"c{i}_"
        params = _submission_params(sub, inputs, p + "init_")
        np.random.seed(inputs[p + "seed"])
        result = train(
            inputs[p + "x"],
            inputs[p + "y"],
            inputs[p + "valid_x"],
            inputs[p + "valid_y"],
            params,
            learning_rate=inputs[p + "learning_rate"],
            batch_size=inputs[p + "batch_size"],
            epochs=inputs[p + "epochs"],
        )
        out.update(_describe_training(result, p))
        for key in PARAM_KEYS:
            out[p + "after_" + key] = _floats(params.get(key))
    return out


def weight_grid_task(sub, inputs):
    """``run_q3.weight_grid`` of each ``W<i>`` (default ``n_cols`` when it is 8)."""
    run_q3 = sub.load("run_q3")
    out = {}
    for i, n_cols in enumerate(inputs["n_cols"]):
        W = inputs[f"W{i}"]
        grid = run_q3.weight_grid(W) if n_cols == 8 else run_q3.weight_grid(W, n_cols)
        out[f"grid{i}"] = grid if grid is None else _floats(grid)
    return out


def confusion_task(sub, inputs):
    """``run_q3.confusion_matrix(y<i>, probs<i>)`` of each case."""
    run_q3 = sub.load("run_q3")
    out = {}
    for i in range(inputs["n_cases"]):
        confusion = run_q3.confusion_matrix(inputs[f"y{i}"].copy(), inputs[f"probs{i}"].copy())
        out[f"confusion{i}"] = confusion if confusion is None else _floats(confusion)
    return out


# ============================================================================ judge side
# Runs in the grader's process: re-validates what came back and computes the verdicts.
def _official() -> bool:
    """True when load_nist36 reads the official files (all three in the data directory)."""
    return all(path.is_file() for path in official_paths().values())


def nist36_missing() -> str | None:
    """Why NIST36 cannot be loaded here (partial official files, no stand-in).

    Returns
    -------
    reason : str or None
        None when ``load_nist36`` works.
    """
    try:
        nist36_source()
        load_nist36("valid")
    except (DataError, OSError) as exc:
        return f"NIST36 is not available here: {exc}"
    return None


def _returned_pair(out: dict, prefix: str = "") -> None:
    returned = out.get(prefix + "returned")
    if returned != "pair":
        hint = " Did you forget to `return best, history`?" if returned == "NoneType" else ""
        raise Fail(f"train should return the pair (best, history); got {returned}.{hint}")


def _best(out: dict, prefix: str = "", sizes=(IN_SIZE, HIDDEN_SIZE, N_CLASSES)) -> dict:
    """The returned best parameters, validated, biases as 1-D arrays."""
    _returned_pair(out, prefix)
    keys = out.get(prefix + "best_keys", "")
    present = keys.split(",") if not keys.startswith("<") else []
    missing = [k for k in PARAM_KEYS if k not in present]
    if missing:
        got = keys if keys.startswith("<") else f"a dict without {missing}"
        raise Fail(
            f"train's `best` should be a dict with {list(PARAM_KEYS)} (copy_parameters of the "
            f"best epoch's params); got {got}"
        )
    n_in, n_hidden, n_out = sizes
    shapes = {"Wlayer1": (n_in, n_hidden), "Woutput": (n_hidden, n_out)}
    best = {}
    for key in PARAM_KEYS:
        what = f"best[{key!r}]"
        if key in shapes:
            best[key] = array(out, prefix + "best_" + key, what, shape=shapes[key])
        else:
            value = array(out, prefix + "best_" + key, what)
            n = n_hidden if key == "blayer1" else n_out
            if value.shape not in ((n,), (1, n)):
                raise Fail(f"{what}: expected shape ({n},), got {value.shape}")
            best[key] = value.reshape(-1)
    return best


def _history(out: dict, epochs: int, prefix: str = "", finite: bool = True) -> dict:
    """The returned history as float arrays of one value per epoch."""
    _returned_pair(out, prefix)
    keys = out.get(prefix + "history_keys", "")
    present = keys.split(",") if not keys.startswith("<") else []
    if not set(HISTORY_KEYS) <= set(present):
        got = keys if keys.startswith("<") else f"the keys {present}"
        raise Fail(
            f"train's history should be a dict with the keys {list(HISTORY_KEYS)}, each a "
            f"list with one value per epoch; got {got}"
        )
    history = {}
    for key in HISTORY_KEYS:
        values = array(
            out, prefix + "history_" + key, f"history[{key!r}]", shape=(None,), finite=False
        )
        if len(values) != epochs:
            raise Fail(
                f"history[{key!r}] has {len(values)} values after {epochs} epochs: append one "
                "value per epoch (not per batch)"
            )
        if finite and not np.all(np.isfinite(values)):
            raise Fail(f"history[{key!r}] has NaN or inf values: {np.round(values, 4).tolist()}")
        history[key] = values
    for key in ("train_acc", "valid_acc"):
        values = history[key][np.isfinite(history[key])]
        if np.any((values < 0) | (values > 1)):
            raise Fail(
                f"history[{key!r}] should hold fractions in [0, 1] (the accuracy, not a count or "
                f"a percentage): {np.round(history[key], 4).tolist()}"
            )
    return history


def _after(out: dict, prefix: str, sizes) -> dict:
    n_in, n_hidden, n_out = sizes
    shapes = {"Wlayer1": (n_in, n_hidden), "Woutput": (n_hidden, n_out)}
    after = {}
    for key in PARAM_KEYS:
        value = array(out, prefix + "after_" + key, f"params[{key!r}] after training")
        after[key] = value if key in shapes else value.reshape(-1)
        if key in shapes and value.shape != shapes[key]:
            raise Fail(f"params[{key!r}] after training has shape {value.shape}: expected "
                       f"{shapes[key]}")  # fmt: skip
    return after


def _stopped(inputs: dict, out: dict, prefix: str = "") -> None:
    stopped = out.get(prefix + "stopped_after")
    if stopped is None:
        return
    seconds = float(np.asarray(out.get(prefix + "seconds", 0.0))) / float(stopped)
    total = seconds * inputs["epochs"]
    raise Fail(
        f"one epoch over NIST36 with your nn.py takes {seconds:.0f} s, so {inputs['epochs']} "
        f"epochs would take {total / 60:.0f} minutes (stopped after {int(stopped)}): vectorise "
        "forward, backwards and get_random_batches (no Python loop over the samples)"
    )


# ----------------------------------------------------------------------------- Q3.1 fast
def _clusters(seed, n_per_class=12, n_classes=4, dim=16, spread=0.35, sample=0):
    """Gaussian clusters in ``dim`` dimensions: ``(x, y one-hot)``. The clusters depend on
    ``seed``; ``sample`` draws other points of the same clusters (a validation set)."""
    centres = np.random.default_rng(seed).normal(size=(n_classes, dim))
    centres *= 2.5 / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    noise = np.random.default_rng([seed, sample + 1]).normal(size=(len(labels), dim))
    return centres[labels] + spread * noise, np.eye(n_classes)[labels]


def _xavier(sizes, seed) -> dict:
    """What ``np.random.seed(seed)`` then Xavier ``initialize_weights`` per layer draws."""
    rng = np.random.RandomState(seed)
    params = {}
    for name, n_in, n_out in (("layer1", *sizes[:2]), ("output", *sizes[1:])):
        bound = oracle.xavier_bound(n_in, n_out)
        params["W" + name] = rng.uniform(-bound, bound, size=(n_in, n_out))
        params["b" + name] = np.zeros(n_out)
    return params


def _case(inputs, i, x, y, valid_x, valid_y, params, learning_rate, batch_size, epochs, seed=0):
    p = f"c{i}_"
    inputs.update({p + "x": x, p + "y": y, p + "valid_x": valid_x, p + "valid_y": valid_y})
    inputs.update({p + "init_" + k: v for k, v in params.items()})
    inputs.update(
        {p + "learning_rate": learning_rate, p + "batch_size": batch_size, p + "epochs": epochs}
    )
    inputs[p + "seed"] = seed


def clusters_inputs():
    x, y = _clusters(seed=1)
    valid_x, valid_y = _clusters(seed=1, n_per_class=6, sample=1)
    inputs = {"n_cases": 1}
    _case(inputs, 0, x, y, valid_x, valid_y, _xavier((16, 8, 4), 0), 0.1, 5, 40)
    return inputs


def judge_clusters(inputs, out):
    history = _history(out, inputs["c0_epochs"], "c0_")
    loss, acc = history["train_loss"], history["train_acc"]
    if loss[0] >= 5.0:
        raise Fail(
            f"the first epoch's training loss is {loss[0]:.1f}; with 4 classes an untrained "
            "network's cross-entropy is about log(4) = 1.4 per sample: average the loss over "
            "the samples (sum the batch losses, divide by the number of samples), don't just "
            "sum it"
        )
    if loss[-1] >= 0.25 * loss[0]:
        raise Fail(
            f"the training loss went from {loss[0]:.3f} to only {loss[-1]:.3f} in 40 epochs on "
            "well-separated clusters: update every parameter with "
            "W <- W - learning_rate * grad_W after each batch"
        )
    if acc[-1] < 0.95 or history["valid_acc"][-1] < 0.9:
        raise Fail(
            f"after 40 epochs on well-separated clusters the training accuracy is {acc[-1]:.2f} "
            f"and the validation accuracy {history['valid_acc'][-1]:.2f}; expected >= 0.95 and "
            ">= 0.9"
        )
    after = _after(out, "c0_", (16, 8, 4))
    if all(np.array_equal(after[k], inputs["c0_init_" + k]) for k in PARAM_KEYS):
        raise Fail("train should train `params` in place (update params[k], as in Q2.4)")


def best_epoch_inputs():
    """A network that predicts the *next* class, ``(c + 1) % 4``, for each cluster.

    Trained on the right labels it unlearns that, so on validation data labelled with the
    next class its accuracy starts at 1 and falls: the best validation epoch is an early one.
    """
    n_classes = 4
    x = np.repeat(np.eye(n_classes), 10, axis=0)
    x = x + np.random.default_rng(0).normal(scale=0.05, size=x.shape)
    labels = np.repeat(np.arange(n_classes), 10)
    params = {
        "Wlayer1": 6.0 * np.eye(n_classes),
        "blayer1": np.full(n_classes, -3.0),
        "Woutput": 4.0 * np.roll(np.eye(n_classes), 1, axis=1),  # unit c votes for c + 1
        "boutput": np.zeros(n_classes),
    }
    valid_y = np.eye(n_classes)[(labels + 1) % n_classes]
    inputs = {"n_cases": 1}
    _case(inputs, 0, x, np.eye(n_classes)[labels], x.copy(), valid_y, params, 0.05, 8, 12)
    return inputs


def judge_best_epoch(inputs, out):
    history = _history(out, inputs["c0_epochs"], "c0_")
    best = _best(out, "c0_", (4, 4, 4))
    valid_acc = history["valid_acc"]
    per_epoch = np.round(valid_acc, 2).tolist()
    if valid_acc[-1] > valid_acc.max() - 0.5:
        raise Fail(
            "this network starts out predicting the validation labels (accuracy 1), and "
            "training on the real labels should make it unlearn them, but the validation "
            f"accuracy per epoch is {per_epoch}: does train update params after every batch "
            "and evaluate the validation set after every epoch?"
        )
    loss, acc = _evaluate(inputs["c0_valid_x"], inputs["c0_valid_y"], best)
    if abs(acc - valid_acc.max()) > 1e-9:
        raise Fail(
            f"the returned `best` parameters score {acc:.3f} on the validation set, but the "
            f"best epoch of the history scored {valid_acc.max():.3f} (per epoch: {per_epoch}). "
            "Keep a copy of the parameters at the end of the epoch with the highest validation "
            "accuracy (copy_parameters: a reference to params would follow later updates)."
        )
    best_epochs = np.flatnonzero(np.isclose(valid_acc, valid_acc.max(), atol=1e-9))
    losses = history["valid_loss"][best_epochs]
    if not np.any(np.isclose(losses, loss, rtol=1e-6)):
        summed = np.any(np.isclose(losses, loss * len(inputs["c0_valid_x"]), rtol=1e-6))
        raise Fail(
            f"history['valid_loss'] of the best epoch(s) is {np.round(losses, 6).tolist()}, "
            f"but the returned `best` parameters have a validation cross-entropy of {loss:.6f} "
            "averaged over the data" + (": it looks summed, average it" if summed else "")
        )


# (seed, epochs, batch size) of the history cases
HISTORY_CASES = ((0, 1, 3), (1, 3, 7), (2, 4, 15), (3, 2, 4))


def history_inputs():
    inputs = {"n_cases": len(HISTORY_CASES)}
    for i, (seed, epochs, batch_size) in enumerate(HISTORY_CASES):
        x, y = _clusters(seed, n_per_class=5, n_classes=3, dim=6, spread=1.0)
        valid_x, valid_y = _clusters(seed, n_per_class=4, n_classes=3, dim=6, spread=1.0, sample=1)
        params = _xavier((6, 5, 3), seed)
        _case(inputs, i, x, y, valid_x, valid_y, params, 0.05, batch_size, epochs, seed)
    return inputs


def judge_history(inputs, out):
    for i in range(inputs["n_cases"]):
        p = f"c{i}_"
        epochs, batch_size = inputs[p + "epochs"], inputs[p + "batch_size"]
        setting = f"({epochs} epoch(s), batches of {batch_size})"
        history = _history(out, epochs, p)
        after = _after(out, p, (6, 5, 3))
        if all(
            np.array_equal(after[k], np.ravel(inputs[p + "init_" + k]))
            if k.startswith("b")
            else np.array_equal(after[k], inputs[p + "init_" + k])
            for k in PARAM_KEYS
        ):
            raise Fail(  # a history of an untrained network: no points for bookkeeping alone
                f"train left params as they were {setting}: each batch, update every parameter "
                "in place, params[k] -= learning_rate * params['grad_' + k]"
            )  # fmt: skip
        loss, acc = _evaluate(inputs[p + "valid_x"], inputs[p + "valid_y"], after)
        if abs(history["valid_acc"][-1] - acc) > 1e-9:
            raise Fail(
                f"history['valid_acc'][-1] is {history['valid_acc'][-1]:.4f} {setting}, but the "
                f"trained params score {acc:.4f} on the validation data: after each epoch, "
                "evaluate the validation set with the current params and append its accuracy"
            )
        if not np.isclose(history["valid_loss"][-1], loss, rtol=1e-6):
            n = len(inputs[p + "valid_x"])
            summed = np.isclose(history["valid_loss"][-1], loss * n, rtol=1e-6)
            hint = " It is the sum over the samples: divide by their number." if summed else ""
            raise Fail(
                f"history['valid_loss'][-1] is {history['valid_loss'][-1]:.6f} {setting}; the "
                f"trained params' validation cross-entropy averaged over the {n} samples is "
                f"{loss:.6f}.{hint}"
            )
        if np.any(history["train_loss"] >= 10.0):
            raise Fail(
                f"history['train_loss'] = {np.round(history['train_loss'], 3).tolist()} "
                f"{setting}: average the training loss over the samples of the epoch (an "
                "untrained network's cross-entropy is about log(3) = 1.1)"
            )


# ----------------------------------------------------------------------------- Q3.1 NIST36
def nist36_inputs(learning_rate=LEARNING_RATE, epochs=EPOCHS):
    def make():
        return {
            "learning_rate": learning_rate,
            "batch_size": BATCH_SIZE,
            "epochs": epochs,
            "seed": SEED,
            "loop_seconds_per_epoch": LOOP_SECONDS_PER_EPOCH,
        }

    return make


def judge_nist36_bar(inputs, out):
    _stopped(inputs, out)
    best = _best(out)
    valid_x, valid_y = load_nist36("valid")
    _, acc = _evaluate(valid_x, valid_y, best)
    official = _official()
    threshold = OFFICIAL_THRESHOLD if official else STANDIN_THRESHOLD
    if acc < threshold:
        data = "official NIST36" if official else "the bundled NIST36 stand-in"
        minutes = float(np.asarray(out.get("seconds", 0.0))) / 60
        raise Fail(
            f"trained with {out.get('how', 'run_q3.train')} ({inputs['learning_rate']:g} "
            f"learning rate, batches of {inputs['batch_size']}, {inputs['epochs']} epochs, "
            f"{minutes:.1f} min), the best parameters reach a validation accuracy of {acc:.4f} "
            f"on {data}; expected >= {threshold} (the reference solutions reach about 0.79 on "
            f"the stand-in). {TRAINING_HINT}"
        )


def judge_nist36_history(inputs, out):
    _stopped(inputs, out)
    history = _history(out, inputs["epochs"])
    bound = 2 * np.log(N_CLASSES)
    for key in ("train_loss", "valid_loss"):
        if history[key].max() > bound:
            raise Fail(
                f"history[{key!r}] reaches {history[key].max():.4g}; an untrained network's "
                f"cross-entropy is about log(36) = 3.6 per sample: average the loss over the "
                "samples (sum the batches' losses, divide by the number of samples)"
            )
    loss = history["train_loss"]
    if loss[-1] >= 0.5 * loss[0]:
        raise Fail(
            f"over {inputs['epochs']} epochs the training loss went from {loss[0]:.3f} to "
            f"{loss[-1]:.3f}; the reference solutions end below 0.2 of the first epoch's "
            f"(the bound is half of it). {TRAINING_HINT}"
        )


def _curves(ax_acc, ax_loss, history, label="", style="-", color=None):
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for split, dash in (("train", style), ("valid", "--" if style == "-" else ":")):
        name = f"{label}{split}"
        ax_acc.plot(epochs, history[f"{split}_acc"], dash, color=color, label=name)
        ax_loss.plot(epochs, history[f"{split}_loss"], dash, color=color, label=name)


def _figure(width=11, height=4.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, 2)


def _label_axes(ax_acc, ax_loss):
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy, averaged over the data", title="loss")
    for ax in (ax_acc, ax_loss):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)


def figure_nist36_curves(inputs, out, out_dir):
    try:
        history = _history(out, inputs["epochs"], finite=False)
    except Fail:
        return []
    fig, (ax_acc, ax_loss) = _figure()
    _curves(ax_acc, ax_loss, history)
    _label_axes(ax_acc, ax_loss)
    fig.suptitle(
        f"Q3.1 training on NIST36 (learning rate {inputs['learning_rate']:g}, batches of "
        f"{inputs['batch_size']}; {out.get('how', 'run_q3.train')})",
        fontsize=9,
    )
    path = Path(out_dir) / "q3_1_curves.png"
    fig.savefig(path, dpi=100)
    return [path]


# ----------------------------------------------------------------------------- Q3.2
def sweep_inputs():
    return nist36_inputs(epochs=SWEEP_EPOCHS)() | {
        "learning_rates": [LEARNING_RATE * factor for factor in SWEEP_FACTORS],
        "factors": list(SWEEP_FACTORS),
    }


def judge_sweep(inputs, out):
    for i, factor in enumerate(inputs["factors"]):
        p = f"lr{i}_"
        _stopped(inputs, out, p)
        try:
            _history(out, inputs["epochs"], p, finite=False)  # 10x may diverge: that is allowed
        except Fail as exc:
            raise Fail(
                f"learning rate {inputs['learning_rates'][i]:g} ({factor:g}x): {exc}"
            ) from None


def figure_sweep(inputs, out, out_dir):
    from matplotlib import colormaps

    fig, (ax_acc, ax_loss) = _figure(12, 4.5)
    colors = colormaps["tab10"].colors
    drawn = 0
    for i, (factor, rate) in enumerate(zip(inputs["factors"], inputs["learning_rates"])):
        try:
            history = _history(out, inputs["epochs"], f"lr{i}_", finite=False)
        except Fail:
            continue
        _curves(ax_acc, ax_loss, history, f"lr {rate:g} ({factor:g}x) ", color=colors[i])
        drawn += 1
    if not drawn:
        return []
    _label_axes(ax_acc, ax_loss)
    fig.suptitle(
        f"Q3.2 learning rates: {inputs['epochs']} epochs each, batches of {inputs['batch_size']} "
        "(solid: train, dashed: valid)",
        fontsize=9,
    )
    path = Path(out_dir) / "q3_2_learning_rates.png"
    fig.savefig(path, dpi=100)
    return [path]


# ----------------------------------------------------------------------------- Q3.3
# (number of units, columns) of each weight_grid case: 64 units in the default 8 columns
GRID_CASES = ((64, 8), (12, 4), (6, 6))
SIDE = 32


def _grid(W, n_cols, side=SIDE):
    """The tiles ``W[:, k].reshape(side, side).T`` in reading order, written plainly."""
    n_units = W.shape[1]
    grid = np.zeros((side * (n_units // n_cols), side * n_cols))
    for k in range(n_units):
        r, c = divmod(k, n_cols)
        grid[r * side : (r + 1) * side, c * side : (c + 1) * side] = W[:, k].reshape(side, side).T
    return grid


def weight_grid_inputs():
    inputs = {"n_cols": [n_cols for _, n_cols in GRID_CASES]}
    rng = np.random.default_rng(3)
    for i, (n_units, _) in enumerate(GRID_CASES):
        images = rng.normal(size=(n_units, SIDE, SIDE))
        images[:, 0, :] += 10.0  # a bright top row: a transposed tile shows a bright left column
        inputs[f"W{i}"] = np.stack([image.T.ravel() for image in images], axis=1)
    return inputs


def judge_weight_grid(inputs, out):
    for i, n_cols in enumerate(inputs["n_cols"]):
        W = inputs[f"W{i}"]
        n_units = W.shape[1]
        rows = n_units // n_cols
        call = "weight_grid(W)" if n_cols == 8 else f"weight_grid(W, n_cols={n_cols})"
        what = f"{call} of {n_units} units"
        grid = array(out, f"grid{i}", what, shape=(rows * SIDE, n_cols * SIDE))
        expected = _grid(W, n_cols)
        for k in range(n_units):
            r, c = divmod(k, n_cols)
            tile = grid[r * SIDE : (r + 1) * SIDE, c * SIDE : (c + 1) * SIDE]
            want = expected[r * SIDE : (r + 1) * SIDE, c * SIDE : (c + 1) * SIDE]
            if np.array_equal(tile, want):
                continue
            if np.array_equal(tile, want.T):
                raise Fail(
                    f"{what}: tile {k} is transposed (a bright left column where the image has a "
                    "bright top row): NIST36 stores images transposed, so the upright tile is "
                    "W[:, k].reshape(side, side).T"
                )
            raise Fail(
                f"{what}: tile {k} (grid row {r}, column {c}) should be "
                "W[:, k].reshape(32, 32).T, with tiles in reading order (left to right, then "
                "top to bottom), touching, with their raw values"
            )


def judge_trained_weights(inputs, out):
    _stopped(inputs, out)
    best = _best(out)
    initial = array(out, "initial_Wlayer1", "params['Wlayer1'] before training",
                    shape=(IN_SIZE, HIDDEN_SIZE))  # fmt: skip
    if np.array_equal(initial, best["Wlayer1"]):
        raise Fail("the trained Wlayer1 equals its initial value: train should update it")


def _weights_image(W):
    grid = _grid(W, 8)
    limit = np.percentile(np.abs(grid), 99.5) or 1.0
    return grid, limit


def figure_weights(inputs, out, out_dir):
    try:
        best = _best(out)
        initial = array(out, "initial_Wlayer1", "initial Wlayer1", shape=(IN_SIZE, HIDDEN_SIZE))
    except Fail:
        return []
    fig, axes = _figure(13, 6.8)
    for ax, W, title in ((axes[0], initial, "initial"), (axes[1], best["Wlayer1"], "trained")):
        grid, limit = _weights_image(W)
        ax.imshow(grid, cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
        for k in range(1, 8):
            ax.axhline(k * SIDE - 0.5, color="tab:red", linewidth=0.5)
            ax.axvline(k * SIDE - 0.5, color="tab:red", linewidth=0.5)
        ax.set(title=f"{title} Wlayer1 (64 units, upright 32x32)", xticks=[], yticks=[])
    fig.suptitle("Q3.3 first-layer weights before and after training on NIST36", fontsize=10)
    path = Path(out_dir) / "q3_3_weights.png"
    fig.savefig(path, dpi=100)
    return [path]


# ----------------------------------------------------------------------------- Q3.4
# (seed, samples, classes) of each confusion_matrix case: many repeated (true, predicted) pairs
CONFUSION_CASES = ((0, 60, 36), (1, 40, 5), (2, 1, 2), (3, 30, 3))


def confusion_inputs():
    inputs = {"n_cases": len(CONFUSION_CASES)}
    for i, (seed, n, n_classes) in enumerate(CONFUSION_CASES):
        rng = np.random.default_rng(seed)
        inputs[f"y{i}"] = np.eye(n_classes)[rng.integers(0, n_classes, size=n)]
        inputs[f"probs{i}"] = rng.dirichlet(np.ones(n_classes), size=n)
    return inputs


def _confusion(y, probs):
    counts = np.zeros((y.shape[1], y.shape[1]))
    np.add.at(counts, (np.argmax(y, axis=1), np.argmax(probs, axis=1)), 1)
    return counts


def judge_confusion(inputs, out):
    for i in range(inputs["n_cases"]):
        y, probs = inputs[f"y{i}"], inputs[f"probs{i}"]
        n, n_classes = y.shape
        what = f"confusion_matrix(y, probs) of {n} samples and {n_classes} classes"
        got = array(out, f"confusion{i}", what, shape=(n_classes, n_classes))
        expected = _confusion(y, probs)
        if np.array_equal(got, expected):
            continue
        if np.array_equal(got, expected.T):
            raise Fail(
                f"{what} is transposed: rows are the true class (argmax of y), columns the "
                "predicted class (argmax of probs)"
            )
        if np.array_equal(got, (expected > 0).astype(float)):
            raise Fail(
                f"{what} counts each repeated (true, predicted) pair once: with fancy indexing "
                "`confusion[t, p] += 1` adds 1 once per distinct pair; use np.add.at (or a "
                "loop over the samples)"
            )
        if not np.array_equal(got.sum(axis=1), expected.sum(axis=1)):
            raise Fail(
                f"{what}: row i should sum to the number of samples of class i (rows: true "
                f"class); got row sums {got.sum(axis=1).astype(int).tolist()}, expected "
                f"{expected.sum(axis=1).astype(int).tolist()}"
            )
        raise Fail(
            f"{what}: confusion[i, j] should count the samples of true class i predicted as "
            "class j (argmax of each row of y and of probs)"
        )


def judge_test_confusion(inputs, out):
    _stopped(inputs, out)
    _best(out)


def figure_confusion(inputs, out, out_dir):
    from matplotlib.figure import Figure

    try:
        best = _best(out)
    except Fail:
        return []
    test_x, test_y = load_nist36("test")
    probs = oracle.softmax(oracle.mlp_logits(test_x, best, LAYERS)[0])
    confusion = _confusion(test_y, probs)
    both = np.triu(confusion + confusion.T, k=1)
    order = np.argsort(both, axis=None)[::-1][:5]
    pairs = ", ".join(
        f"{CLASSES[i]}/{CLASSES[j]} {int(both[i, j])}"
        for i, j in zip(*np.unravel_index(order, both.shape))
    )
    fig = Figure(figsize=(8, 7.3), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(confusion, cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label="test samples")
    ticks = np.arange(len(CLASSES))
    ax.set_xticks(ticks, list(CLASSES), fontsize=7)
    ax.set_yticks(ticks, list(CLASSES), fontsize=7)
    accuracy = np.trace(confusion) / len(test_y)
    ax.set(
        xlabel="predicted class",
        ylabel="true class",
        title=f"Q3.4 confusion matrix on the test set (accuracy {accuracy:.3f})\n"
        f"most confused pairs (both directions): {pairs}",
    )
    path = Path(out_dir) / "q3_4_confusion.png"
    fig.savefig(path, dpi=100)
    return [path]


CHECKS = [
    Check("3.1", "train fits well-separated clusters: averaged loss falls, params trained in place",
          1, train_cases_task, judge_clusters, clusters_inputs, budget=FAST_BUDGET,
          modules=("nn", "run_q3")),
    Check("3.1", "train returns a copy of the parameters of the best validation epoch", 1,
          train_cases_task, judge_best_epoch, best_epoch_inputs, budget=FAST_BUDGET,
          modules=("nn", "run_q3")),
    Check("3.1", "history: each epoch's averaged losses and accuracies, validation at its end",
          1, train_cases_task, judge_history, history_inputs, budget=FAST_BUDGET,
          modules=("nn", "run_q3")),
    Check("3.1", "training on NIST36 reaches the validation-accuracy bar", 3, nist36_task,
          judge_nist36_bar, nist36_inputs(), budget=TRAIN_BUDGET, modules=("nn", "run_q3"),
          available=nist36_missing, figures=figure_nist36_curves, provides="q3_network"),
    Check("3.1", "NIST36 history: one value per epoch, averaged losses, the loss falls", 1,
          nist36_task, judge_nist36_history, nist36_inputs(), budget=TRAIN_BUDGET,
          modules=("nn", "run_q3"), available=nist36_missing),
    Check("3.2", "training at 10x, 1x and 0.1x the learning rate (curves drawn)", 1,
          sweep_task, judge_sweep, sweep_inputs, budget=SWEEP_BUDGET, modules=("nn", "run_q3"),
          available=nist36_missing, figures=figure_sweep),
    Check("3.3", "weight_grid tiles each unit upright, in reading order", 1, weight_grid_task,
          judge_weight_grid, weight_grid_inputs, budget=FAST_BUDGET, modules=("run_q3",)),
    Check("3.3", "first-layer weights before and after training on NIST36 (drawn)", 1,
          nist36_task, judge_trained_weights, nist36_inputs(), budget=TRAIN_BUDGET,
          modules=("nn", "run_q3"), available=nist36_missing, figures=figure_weights,
          uses="q3_network"),
    Check("3.4", "confusion_matrix counts true (rows) against predicted (columns) classes", 1,
          confusion_task, judge_confusion, confusion_inputs, budget=FAST_BUDGET,
          modules=("run_q3",)),
    Check("3.4", "confusion matrix of the trained network on the test set (drawn)", 1,
          nist36_task, judge_test_confusion, nist36_inputs(), budget=TRAIN_BUDGET,
          modules=("nn", "run_q3"), available=nist36_missing, figures=figure_confusion,
          uses="q3_network"),
]  # fmt: skip
