"""Q3.1 (scored): ``run_q3.train``, and the handout's network trained on NIST36.

Fast checks call ``run_q3.train`` on small synthetic data made here (well-separated clusters,
a network that must unlearn its start, histories of a few epochs). The slow checks train the
handout's network on NIST36 (``q3_common.nist36_task``: ``run_q3.train``, or for a flat
submission the grader's own loop over its ``nn.py``) with the settings below; the grader
computes the best parameters' accuracy on the **validation** split (``BAR_SPLIT``) itself and
holds it to the bar of the data in use (official NIST36 or the bundled stand-in).
Q3.3 and Q3.4 draw the network this training returns (``provides="q3_network"``). What
``train`` must return (the pair, ``best``'s keys and shapes, one history value per epoch)
and the slow-code stop are read by ``q3_common`` (``best_params``, ``history_arrays``,
``check_stopped``), shared with Q3.2-Q3.4, with their messages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coursedata import load_nist36
from grader.check import Check, Fail, array
from grader.checks.nist36 import nist36_missing, official_data
from grader.checks.q3_common import (
    N_CLASSES,
    PARAM_KEYS,
    best_params,
    check_stopped,
    describe_training,
    draw_curves,
    evaluate,
    floats,
    history_arrays,
    label_axes,
    new_figure,
    nist36_task,
    required_train,
    submission_params,
)

# The NIST36 training: the settings the bars were measured with (Q3.2-Q3.4 train the same way).
LEARNING_RATE, BATCH_SIZE, EPOCHS, SEED = 5e-3, 32, 50, 0
# The split whose accuracy the bar is on (the test split is Q3.4's confusion matrix).
BAR_SPLIT = "valid"
# The bar for the best parameters' validation accuracy. Official NIST36: the handout's 75%.
# The bundled stand-in: the reference solutions reach 0.792-0.794 (numpy seeds 0, 1, 2), so
# the bar there is 0.77, two points below.
OFFICIAL_THRESHOLD = 0.75
STANDIN_THRESHOLD = 0.77
# The grader's loop (flat submissions) stops when an epoch takes longer than this: 50 epochs
# would take over 10 minutes, and vectorised code takes well under a second.
LOOP_SECONDS_PER_EPOCH = 12.0
# Budgets: a correct solution with Python loops over the samples takes minutes on NIST36.
FAST_BUDGET = 60
TRAIN_BUDGET = 900

# The fast checks' bars. Clusters: an untrained network's cross-entropy is log(4) = 1.4 per
# sample, so a first epoch above UNTRAINED_LOSS is summed; after CLUSTER_EPOCHS the loss is
# below CLUSTER_LOSS_RATIO of the first and the accuracies reach these.
CLUSTER_EPOCHS = 40
UNTRAINED_LOSS = 5.0
CLUSTER_LOSS_RATIO = 0.25
CLUSTER_TRAIN_ACC, CLUSTER_VALID_ACC = 0.95, 0.9
# The misleading start: the validation accuracy falls by at least this from its best epoch.
UNLEARN_DROP = 0.5
# A history's values against the grader's evaluation of the same parameters.
ACC_ATOL = 1e-9
LOSS_RTOL = 1e-6
# Small histories (3 classes, log(3) = 1.1 per sample): a training loss this high is summed.
HISTORY_MAX_LOSS = 10.0
# NIST36: the losses stay below twice an untrained network's log(36) (else summed), and the
# training loss ends below this fraction of the first epoch's (the references: below 0.2).
NIST36_LOSS_RATIO = 0.5

TRAINING_HINT = (
    "Check that the loss and gradients are sums over the batch and that every parameter is "
    "updated after every batch."
)
SUMMED_LOSS = (
    "the first epoch's training loss is {loss:.1f}; with 4 classes an untrained network's "
    "cross-entropy is about log(4) = 1.4 per sample: average the loss over the samples (sum "
    "the batch losses, divide by the number of samples), don't just sum it"
)
NOT_LEARNING = (
    "the training loss went from {first:.3f} to only {last:.3f} in {epochs} epochs on "
    "well-separated clusters: update every parameter with W <- W - learning_rate * grad_W "
    "after each batch"
)
CLUSTER_ACCURACY = (
    "after {epochs} epochs on well-separated clusters the training accuracy is {train:.2f} "
    "and the validation accuracy {valid:.2f}; expected >= {train_bar} and >= {valid_bar}"
)
NOT_IN_PLACE = "train should train `params` in place (update params[k], as in Q2.4)"
NOT_UPDATED = (
    "train left params as they were{setting}: each batch, update every parameter in place, "
    "params[k] -= learning_rate * params['grad_' + k]"
)
NOT_UNLEARNED = (
    "this network starts out predicting the validation labels (accuracy 1), and training on "
    "the real labels should make it unlearn them, but the validation accuracy per epoch is "
    "{per_epoch}: does train update params after every batch and evaluate the validation set "
    "after every epoch?"
)
NOT_A_COPY = (
    "the returned `best` parameters score {acc:.3f} on the validation set, but the best epoch "
    "of the history scored {best:.3f} (per epoch: {per_epoch}). Keep a copy of the parameters "
    "at the end of the epoch with the highest validation accuracy (copy_parameters: a "
    "reference to params would follow later updates)."
)
BEST_LOSS = (
    "history['valid_loss'] of the best epoch(s) is {losses}, but the returned `best` "
    "parameters have a validation cross-entropy of {loss:.6f} averaged over the data"
)
BEST_LOSS_SUMMED = ": it looks summed, average it"
VALID_ACC = (
    "history['valid_acc'][-1] is {got:.4f}{setting}, but the trained params score {acc:.4f} on "
    "the validation data: after each epoch, evaluate the validation set with the current "
    "params and append its accuracy"
)
VALID_LOSS = (
    "history['valid_loss'][-1] is {got:.6f}{setting}; the trained params' validation "
    "cross-entropy averaged over the {n} samples is {loss:.6f}."
)
VALID_LOSS_SUMMED = " It is the sum over the samples: divide by their number."
TRAIN_LOSS_SUMMED = (
    "history['train_loss'] = {losses}{setting}: average the training loss over the samples "
    "of the epoch (an untrained network's cross-entropy is about log(3) = 1.1)"
)
NIST36_SUMMED = (
    "history[{key!r}] reaches {largest:.4g}; an untrained network's cross-entropy is about "
    "log(36) = 3.6 per sample: average the loss over the samples (sum the batches' losses, "
    "divide by the number of samples)"
)
NIST36_NOT_LEARNING = (
    "over {epochs} epochs the training loss went from {first:.3f} to {last:.3f}; the "
    "reference solutions end below 0.2 of the first epoch's (the bound is {bound} of it). "
    + TRAINING_HINT
)
BELOW_BAR = (
    "trained with {how} ({learning_rate:g} learning rate, batches of {batch_size}, {epochs} "
    "epochs, {minutes:.1f} min), the best parameters reach a validation accuracy of {acc:.4f} "
    "on {data}; expected >= {threshold} (the reference solutions reach about 0.79 on the "
    "stand-in). " + TRAINING_HINT
)


# ============================================================================ task side
def train_cases_task(sub, inputs):
    """Call ``run_q3.train`` on each small case ``c<i>_`` of ``inputs`` (the keys below)."""
    train = required_train(sub)
    out = {}
    for i in range(inputs["n_cases"]):
        p = f"c{i}_"
        params = submission_params(sub, inputs, p + "init_")
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
        out.update(describe_training(result, p))
        for key in PARAM_KEYS:
            out[p + "after_" + key] = floats(params.get(key))
    return out


# ============================================================================ judge side
# ----------------------------------------------------------------------------- fast
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


def clusters(seed, n_per_class=12, n_classes=4, dim=16, spread=0.35, sample=0):
    """Gaussian clusters in ``dim`` dimensions: ``(x, y one-hot)``. The clusters depend on
    ``seed``; ``sample`` draws other points of the same clusters (a validation set)."""
    centres = np.random.default_rng(seed).normal(size=(n_classes, dim))
    centres *= 2.5 / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    noise = np.random.default_rng([seed, sample + 1]).normal(size=(len(labels), dim))
    return centres[labels] + spread * noise, np.eye(n_classes)[labels]


def xavier_params(sizes, seed) -> dict:
    """What ``np.random.seed(seed)`` then Xavier ``initialize_weights`` per layer draws (the
    grader's process: the inputs)."""
    from grader import oracle

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
    x, y = clusters(seed=1)
    valid_x, valid_y = clusters(seed=1, n_per_class=6, sample=1)
    inputs = {"n_cases": 1}
    _case(inputs, 0, x, y, valid_x, valid_y, xavier_params((16, 8, 4), 0), 0.1, 5, CLUSTER_EPOCHS)
    return inputs


def judge_clusters(inputs, out):
    epochs = inputs["c0_epochs"]
    history = history_arrays(out, epochs, "c0_")
    loss, acc, valid_acc = history["train_loss"], history["train_acc"], history["valid_acc"]
    if loss[0] >= UNTRAINED_LOSS:
        raise Fail(SUMMED_LOSS.format(loss=loss[0]))
    if loss[-1] >= CLUSTER_LOSS_RATIO * loss[0]:
        raise Fail(NOT_LEARNING.format(first=loss[0], last=loss[-1], epochs=epochs))
    if acc[-1] < CLUSTER_TRAIN_ACC or valid_acc[-1] < CLUSTER_VALID_ACC:
        raise Fail(CLUSTER_ACCURACY.format(
            epochs=epochs, train=acc[-1], valid=valid_acc[-1], train_bar=CLUSTER_TRAIN_ACC,
            valid_bar=CLUSTER_VALID_ACC))  # fmt: skip
    after = _after(out, "c0_", (16, 8, 4))
    if all(np.array_equal(after[k], inputs["c0_init_" + k]) for k in PARAM_KEYS):
        raise Fail(NOT_IN_PLACE)


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
    history = history_arrays(out, inputs["c0_epochs"], "c0_")
    best = best_params(out, "c0_", (4, 4, 4))
    valid_acc = history["valid_acc"]
    per_epoch = np.round(valid_acc, 2).tolist()
    if valid_acc[-1] > valid_acc.max() - UNLEARN_DROP:
        raise Fail(NOT_UNLEARNED.format(per_epoch=per_epoch))
    loss, acc = evaluate(inputs["c0_valid_x"], inputs["c0_valid_y"], best)
    if abs(acc - valid_acc.max()) > ACC_ATOL:
        raise Fail(NOT_A_COPY.format(acc=acc, best=valid_acc.max(), per_epoch=per_epoch))
    best_epochs = np.flatnonzero(np.isclose(valid_acc, valid_acc.max(), atol=ACC_ATOL))
    losses = history["valid_loss"][best_epochs]
    if not np.any(np.isclose(losses, loss, rtol=LOSS_RTOL)):
        summed = np.any(np.isclose(losses, loss * len(inputs["c0_valid_x"]), rtol=LOSS_RTOL))
        raise Fail(
            BEST_LOSS.format(losses=np.round(losses, 6).tolist(), loss=loss)
            + (BEST_LOSS_SUMMED if summed else "")
        )


# (seed, epochs, batch size) of the history cases
HISTORY_CASES = ((0, 1, 3), (1, 3, 7), (2, 4, 15), (3, 2, 4))


def history_inputs():
    inputs = {"n_cases": len(HISTORY_CASES)}
    for i, (seed, epochs, batch_size) in enumerate(HISTORY_CASES):
        x, y = clusters(seed, n_per_class=5, n_classes=3, dim=6, spread=1.0)
        valid_x, valid_y = clusters(seed, n_per_class=4, n_classes=3, dim=6, spread=1.0, sample=1)
        params = xavier_params((6, 5, 3), seed)
        _case(inputs, i, x, y, valid_x, valid_y, params, 0.05, batch_size, epochs, seed)
    return inputs


def judge_history(inputs, out):
    for i in range(inputs["n_cases"]):
        p = f"c{i}_"
        epochs, batch_size = inputs[p + "epochs"], inputs[p + "batch_size"]
        setting = f" ({epochs} epoch(s), batches of {batch_size})"
        history = history_arrays(out, epochs, p)
        after = _after(out, p, (6, 5, 3))
        if all(
            np.array_equal(after[k], np.ravel(inputs[p + "init_" + k]))
            if k.startswith("b")
            else np.array_equal(after[k], inputs[p + "init_" + k])
            for k in PARAM_KEYS
        ):
            # a history of an untrained network: no points for bookkeeping alone
            raise Fail(NOT_UPDATED.format(setting=setting))
        n = len(inputs[p + "valid_x"])
        loss, acc = evaluate(inputs[p + "valid_x"], inputs[p + "valid_y"], after)
        got_acc, got_loss = history["valid_acc"][-1], history["valid_loss"][-1]
        if abs(got_acc - acc) > ACC_ATOL:
            raise Fail(VALID_ACC.format(got=got_acc, setting=setting, acc=acc))
        if not np.isclose(got_loss, loss, rtol=LOSS_RTOL):
            summed = np.isclose(got_loss, loss * n, rtol=LOSS_RTOL)
            hint = VALID_LOSS_SUMMED if summed else ""
            raise Fail(VALID_LOSS.format(got=got_loss, setting=setting, n=n, loss=loss) + hint)
        if np.any(history["train_loss"] >= HISTORY_MAX_LOSS):
            losses = np.round(history["train_loss"], 3).tolist()
            raise Fail(TRAIN_LOSS_SUMMED.format(losses=losses, setting=setting))


# ----------------------------------------------------------------------------- NIST36
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
    check_stopped(inputs, out)
    best = best_params(out)
    x, y = load_nist36(BAR_SPLIT)
    _, acc = evaluate(x, y, best)
    official = official_data()
    threshold = OFFICIAL_THRESHOLD if official else STANDIN_THRESHOLD
    if acc < threshold:
        raise Fail(BELOW_BAR.format(
            how=out.get("how", "run_q3.train"), learning_rate=inputs["learning_rate"],
            batch_size=inputs["batch_size"], epochs=inputs["epochs"],
            minutes=float(np.asarray(out.get("seconds", 0.0))) / 60, acc=acc,
            data="official NIST36" if official else "the bundled NIST36 stand-in",
            threshold=threshold))  # fmt: skip


def judge_nist36_history(inputs, out):
    check_stopped(inputs, out)
    history = history_arrays(out, inputs["epochs"])
    bound = 2 * np.log(N_CLASSES)
    for key in ("train_loss", "valid_loss"):
        if history[key].max() > bound:
            raise Fail(NIST36_SUMMED.format(key=key, largest=history[key].max()))
    loss = history["train_loss"]
    if loss[-1] >= NIST36_LOSS_RATIO * loss[0]:
        raise Fail(NIST36_NOT_LEARNING.format(epochs=inputs["epochs"], first=loss[0],
                                              last=loss[-1], bound=NIST36_LOSS_RATIO))  # fmt: skip


def figure_nist36_curves(inputs, out, out_dir):
    try:
        history = history_arrays(out, inputs["epochs"], finite=False)
    except Fail:
        return []
    fig, (ax_acc, ax_loss) = new_figure()
    draw_curves(ax_acc, ax_loss, history)
    label_axes(ax_acc, ax_loss)
    fig.suptitle(
        f"Q3.1 training on NIST36 (learning rate {inputs['learning_rate']:g}, batches of "
        f"{inputs['batch_size']}; {out.get('how', 'run_q3.train')})",
        fontsize=9,
    )
    path = Path(out_dir) / "q3_1_curves.png"
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
]  # fmt: skip
