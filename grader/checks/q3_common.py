"""What Q3's checks share: the handout's network trained on NIST36 with the submission's code.

Q3.1 trains it and judges it; Q3.2 trains it at other learning rates; Q3.3 and Q3.4 draw the
network Q3.1 trained. Task side (the submission's process): the training, once per process
(``nist36_task``), through ``run_q3.train`` when the submission has one (the kata layout),
else through ``loop_train``, a plain loop written here over the submission's ``nn.py`` (a flat
submission whose ``run_q3.py`` is the handout's script). Judge side (the grader's process):
what ``train`` returned, validated (``best_params``, ``history_arrays``), and the curves'
drawing. The settings, bars and messages of each question are in its module (``q3_1.py`` ...).
"""

from __future__ import annotations

import time

import numpy as np

from coursedata import load_nist36
from grader.check import Fail, array
from grader.checks.common import row_bias
from grader.implementation import NotProvided

PARAM_KEYS = ("Wlayer1", "blayer1", "Woutput", "boutput")


HISTORY_KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc")


LAYERS = [("layer1", "sigmoid")]
# The handout's network: 1024 pixels, 64 sigmoid hidden units, 36 classes.
IN_SIZE, HIDDEN_SIZE, N_CLASSES = 1024, 64, 36
# How a flat submission (no run_q3.train) was trained, as the messages say it.
LOOP_HOW = "this check's loop over your nn.py ({why})"
# What check_stopped says when this module's loop gave up on slow code.
SLOW_LOOP = (
    "one epoch over NIST36 with your nn.py takes {seconds:.0f} s, so {epochs} epochs would "
    "take {minutes:.0f} minutes (stopped after {stopped}): vectorise forward, backwards and "
    "get_random_batches (no Python loop over the samples)"
)
# What history_arrays says of a history that is not one value per epoch.
HISTORY_DICT = (
    "train's history should be a dict with the keys {keys}, each a list with one value per "
    "epoch; got {got}"
)
PER_EPOCH = (
    "history[{key!r}] has {n} values after {epochs} epochs: append one value per epoch (not "
    "per batch)"
)
NOT_A_PAIR = "train should return the pair (best, history); got {got}."
NO_RETURN = " Did you forget to `return best, history`?"
BEST_DICT = (
    "train's `best` should be a dict with {keys} (copy_parameters of the best epoch's params); "
    "got {got}"
)


# ============================================================================ task side
# Runs in the submission's process: calls the submission and returns plain data.
# Runs in the submission's process: calls the submission and returns plain data.
def _row_bias(sub) -> bool:
    """Whether the submission's ``initialize_weights`` makes ``(1, out)`` biases."""
    return row_bias(sub.load("nn"))


def submission_params(sub, inputs: dict, prefix: str) -> dict:
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


def required_train(sub):
    """``run_q3.train``; :class:`NotProvided` (the check is left out) when absent."""
    train, why = _train_function(sub)
    if train is None:
        raise NotProvided(why)
    return train


def floats(value, ravel: bool = False):
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


def describe_training(result, prefix: str = "") -> dict:
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
                out[prefix + "best_" + key] = floats(best[key])
    if isinstance(history, dict):
        for key in HISTORY_KEYS:
            if key in history:
                out[prefix + "history_" + key] = floats(history[key], ravel=True)
    return out


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
        # the validation set as the handout's script scores it, with the submission's nn.py
        hidden = nn.forward(valid_x, params, "layer1", nn.sigmoid)
        probs = nn.forward(hidden, params, "output", nn.softmax)
        valid_loss, valid_acc = nn.compute_loss_and_acc(valid_y, probs)
        valid_loss, valid_acc = float(valid_loss) / len(valid_x), float(valid_acc)
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


def nist36_training(sub, learning_rate, batch_size, epochs, seed, limit) -> dict:
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
        initial = floats(params.get("Wlayer1"))
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
            out = describe_training(result)
            out["how"] = "run_q3.train"
        else:
            best, history, stopped = loop_train(
                sub, x, y, valid_x, valid_y, params, learning_rate, batch_size, epochs, limit
            )
            out = describe_training((best, history))
            out["how"] = LOOP_HOW.format(why=why)
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
    out = nist36_training(
        sub,
        inputs["learning_rate"],
        inputs["batch_size"],
        inputs["epochs"],
        inputs["seed"],
        inputs["loop_seconds_per_epoch"],
    )
    return out | {f"shared_{k}": v for k, v in out.items() if k not in ("how", "seconds")}


# ============================================================================ judge side
# Runs in the grader's process: re-validates what came back and computes the verdicts.
def evaluate(x, y, params) -> tuple[float, float]:
    """(cross-entropy averaged over the rows, accuracy) of the network ``params``, computed
    independently (the grader's process: the oracle)."""
    from grader import oracle

    flat = {
        k: np.asarray(v, dtype=float).reshape(-1) if k[0] == "b" else v for k, v in params.items()
    }
    probs = oracle.softmax(oracle.mlp_logits(x, flat, LAYERS)[0])
    return oracle.mean_cross_entropy(y, probs), oracle.accuracy(y, probs)


def _returned_pair(out: dict, prefix: str = "") -> None:
    returned = out.get(prefix + "returned")
    if returned != "pair":
        hint = NO_RETURN if returned == "NoneType" else ""
        raise Fail(NOT_A_PAIR.format(got=returned) + hint)


def best_params(out: dict, prefix: str = "", sizes=(IN_SIZE, HIDDEN_SIZE, N_CLASSES)) -> dict:
    """The returned best parameters, validated, biases as 1-D arrays."""
    _returned_pair(out, prefix)
    keys = out.get(prefix + "best_keys", "")
    present = keys.split(",") if not keys.startswith("<") else []
    missing = [k for k in PARAM_KEYS if k not in present]
    if missing:
        got = keys if keys.startswith("<") else f"a dict without {missing}"
        raise Fail(BEST_DICT.format(keys=list(PARAM_KEYS), got=got))
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


def history_arrays(out: dict, epochs: int, prefix: str = "", finite: bool = True) -> dict:
    """The returned history as float arrays of one value per epoch."""
    _returned_pair(out, prefix)
    keys = out.get(prefix + "history_keys", "")
    present = keys.split(",") if not keys.startswith("<") else []
    if not set(HISTORY_KEYS) <= set(present):
        got = keys if keys.startswith("<") else f"the keys {present}"
        raise Fail(HISTORY_DICT.format(keys=list(HISTORY_KEYS), got=got))
    history = {}
    for key in HISTORY_KEYS:
        values = array(
            out, prefix + "history_" + key, f"history[{key!r}]", shape=(None,), finite=False
        )
        if len(values) != epochs:
            raise Fail(PER_EPOCH.format(key=key, n=len(values), epochs=epochs))
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


def check_stopped(inputs: dict, out: dict, prefix: str = "") -> None:
    stopped = out.get(prefix + "stopped_after")
    if stopped is None:
        return
    seconds = float(np.asarray(out.get(prefix + "seconds", 0.0))) / float(stopped)
    epochs = inputs["epochs"]
    minutes = seconds * epochs / 60
    raise Fail(
        SLOW_LOOP.format(seconds=seconds, epochs=epochs, minutes=minutes, stopped=int(stopped))
    )


def draw_curves(ax_acc, ax_loss, history, label="", style="-", color=None):
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for split, dash in (("train", style), ("valid", "--" if style == "-" else ":")):
        name = f"{label}{split}"
        ax_acc.plot(epochs, history[f"{split}_acc"], dash, color=color, label=name)
        ax_loss.plot(epochs, history[f"{split}_loss"], dash, color=color, label=name)


def new_figure(width=11, height=4.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, 2)


def label_axes(ax_acc, ax_loss):
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy, averaged over the data", title="loss")
    for ax in (ax_acc, ax_loss):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
