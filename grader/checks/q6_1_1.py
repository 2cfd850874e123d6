"""Q6.1.1: Q3's fully connected network in PyTorch (``run_q6_1_1.py``) and the training loop
it introduces, ``train_epoch`` and ``evaluate`` (``q6_train.py``).

The network's checks look at ``make_fc_network()`` on a batch: logits (no softmax), layers
sized from the arguments, Linear(1024, 64) -> sigmoid -> Linear(64, 36). The loop's checks run
``train_epoch`` and ``evaluate`` on a softmax-regression model whose expected numbers (mean
loss, accuracy, parameters after SGD) are computed here in numpy. The end-to-end check trains
``train_fc`` and measures the logits on NIST36's validation split against ``FC_BAR``.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

import coursedata
from grader.check import Check, Fail, array, number
from grader.checks.q6_common import (
    Bar,
    cross_entropy,
    judge_custom,
    judge_logits,
    seeded,
    training_checks,
    training_inputs,
)
from grader.checks.q6_data import nist36_valid_labels
from grader.checks.torchnets import (
    as_numpy,
    batches,
    custom_shape,
    linear,
    loss_acc,
    modes,
    network_summary,
    recorder,
    torch_cpu,
    training_run,
)

# ================================================================ the bar, the messages
FC_WHAT = "train_fc (Adam, lr 1e-3, batches of 32)"
# The reference reaches 75.4% on the bundled NIST36 stand-in after these 15 epochs (README, Q6).
FC_BAR = Bar(
    15, 0.70, "NIST36 validation split",
    "check the network and the loop: Q3's network gets about 75%",
    "measured: the reference reaches 75.4% on the bundled NIST36 stand-in",
)  # fmt: skip
FC_PARAMS = 1024 * 64 + 64 + 64 * 36 + 36
FC_PARAMS_MESSAGE = (
    "Q3's network 1024 -> 64 -> 36 has {expected} parameters (two linear layers with biases); "
    "make_fc_network() has {got:.0f}"
)
USES_SIGMOID = (
    "Q3's network (and this question) uses a sigmoid: nn.Linear(1024, 64), nn.Sigmoid(), "
    "nn.Linear(64, 36)"
)
FROM_ARGUMENTS = "Build the layers from the arguments, not from fixed sizes."
# train_epoch and evaluate: the loss within LOSS_RTOL of the mean cross-entropy; the
# parameters after train_epoch within STEP_ATOL of SGD's.
LOSS_RTOL = 1e-4
STEP_ATOL = 1e-5
BATCH_MEANS_HINT = (
    " You averaged the {n_batches} batch means: weight each by its size (the last batch has "
    "{last} samples)."
)
SUMMED_MEANS_HINT = " You summed the batch means: divide by the number of samples."
SUMMED_LOSS_HINT = " That is the summed cross-entropy: divide by the number of samples."
LOSS_MESSAGE = (
    "{what}'s loss {loss:.6f}{setting}: expected the mean cross-entropy per sample over all {n} "
    "samples, {expected:.6f}.{hint}"
)
A_COUNT = "{what} returned the accuracy {acc:g}: return a fraction, not a count"
ACC_MESSAGE = (
    "{what}'s accuracy {acc:g}: expected {correct}/{n} = {fraction:g}, the fraction of samples "
    "whose logits' argmax is their label"
)
NEVER_CALLED = "{what} never called the model"
NOT_TRAINING = (
    "train_epoch ran the model in evaluation mode: call model.train() first (evaluate switches "
    "it to eval mode, and dropout or batch norm behave differently)"
)
SGD_STEPS = (
    "after train_epoch with SGD (lr {lr:g}) over {n} batches, the parameters differ from {n} SGD "
    "steps, each on one batch's mean cross-entropy (zero_grad, loss, backward, step). {hint}"
)
NOT_ZEROED = "The gradients are never zeroed: call optimizer.zero_grad() before each backward."
SUMMED_BATCH = "The loss is summed over the batch: use F.cross_entropy's mean (its default)."
NOT_STEPPED = "The parameters did not change: call loss.backward() and optimizer.step()."
NOT_EVAL = "evaluate ran the model in training mode: call model.eval() (dropout must be off)"
WITH_GRADIENTS = "evaluate computed with gradients enabled: wrap it in `with torch.no_grad():`"
EVALUATE_TRAINS = "evaluate changed the model's parameters: it must train nothing"
NOT_DETERMINISTIC = "evaluate gave different results twice on the same model and data"


# ================================================================ in the submission's process
def fc_network_task(sub, inputs):
    torch = torch_cpu()
    run = sub.load("run_q6_1_1")
    torch.manual_seed(0)
    model = run.make_fc_network()
    out = network_summary(model, inputs["x"], "make_fc_network()(x)")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    out["linear_shapes"] = np.array(
        [[m.in_features, m.out_features] for m in linears], dtype=np.int64
    ).reshape(-1, 2)
    if len(linears) == 2:
        for i, layer in enumerate(linears, 1):
            out[f"w{i}"] = as_numpy(layer.weight, "a Linear layer's weight").astype(np.float64)
            out[f"b{i}"] = (
                None if layer.bias is None else as_numpy(layer.bias, "bias").astype(np.float64)
            )
    make = functools.partial(run.make_fc_network, 10, 7, 3)
    return out | custom_shape(make, inputs["x_custom"], "make_fc_network(10, 7, 3)")


def train_epoch_task(sub, inputs):
    """One ``train_epoch`` of SGD at ``inputs['lr']`` on a softmax-regression model, which
    starts in evaluation mode."""
    torch = torch_cpu()
    q6 = sub.load("q6_train")
    model = recorder(linear(inputs["w"], inputs["b"]))
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=float(inputs["lr"]))
    given = batches(inputs["x"], inputs["labels"], int(inputs["batch_size"]))
    out = loss_acc(q6.train_epoch(model, given, optimizer, "cpu"))
    layer = model.inner
    out["w_after"] = layer.weight.detach().numpy().astype(np.float64)
    out["b_after"] = layer.bias.detach().numpy().astype(np.float64)
    return out | modes(model)


def evaluate_task(sub, inputs):
    """``evaluate`` twice on a dropout + softmax-regression model left in training mode."""
    torch = torch_cpu()
    q6 = sub.load("q6_train")
    torch.manual_seed(0)
    model = recorder(torch.nn.Sequential(torch.nn.Dropout(0.5), linear(inputs["w"], inputs["b"])))
    model.train()
    given = batches(inputs["x"], inputs["labels"], int(inputs["batch_size"]))
    first = loss_acc(q6.evaluate(model, given, "cpu"))
    second = loss_acc(q6.evaluate(model, given, "cpu"))
    layer = model.inner[1]
    out = first | {f"second_{k}": v for k, v in second.items() if k != "returned"}
    out["w_after"] = layer.weight.detach().numpy().astype(np.float64)
    out["b_after"] = layer.bias.detach().numpy().astype(np.float64)
    return out | modes(model)


def fc_training_task(sub, inputs):
    """``train_fc`` for ``inputs['epochs']`` epochs; logits on NIST36's validation split."""
    torch = torch_cpu()
    run = sub.load("run_q6_1_1")
    epochs, seed = int(inputs["epochs"]), int(inputs["seed"])
    return training_run(
        (run.train_fc, epochs, seed),
        "train_fc",
        lambda: run.train_fc(epochs=epochs, seed=seed, device="cpu"),
        lambda: torch.as_tensor(coursedata.load_nist36("valid")[0], dtype=torch.float32),
    )


# ================================================================ in the grader's process
def fc_network_inputs():
    rng = seeded(61)
    return {
        "x": rng.random((8, 1024)).astype(np.float32),
        "x_custom": rng.random((2, 10)).astype(np.float32),
    }


def judge_fc_logits(inputs, out):
    judge_logits(out, "make_fc_network()(x) for x of shape (8, 1024)", 8, 36)
    judge_custom(
        out,
        "make_fc_network(n_in=10, n_hidden=7, n_classes=3)(x) for x of shape (2, 10)",
        (2, 3),
        FROM_ARGUMENTS,
    )


def judge_fc_architecture(inputs, out):
    n_params = number(out, "n_params", "the number of parameters")
    shapes = array(out, "linear_shapes", "the nn.Linear layers", kind="iu")
    if [tuple(s) for s in shapes.tolist()] != [(1024, 64), (64, 36)]:
        found = ", ".join(f"Linear({i}, {o})" for i, o in shapes.tolist()) or "none"
        raise Fail(
            "Q3's network is nn.Linear(1024, 64), a sigmoid, then nn.Linear(64, 36); the "
            f"network's linear layers are: {found}"
        )
    if n_params != FC_PARAMS:
        raise Fail(FC_PARAMS_MESSAGE.format(expected=FC_PARAMS, got=n_params))
    params = {}
    for key in ("w1", "b1", "w2", "b2"):
        params[key] = array(out, key, f"the linear layers' {key[0]} ({key})")
    x = inputs["x"].astype(np.float64)
    logits = array(out, "logits", "make_fc_network()(x)", shape=(8, 36))
    pre = x @ params["w1"].T + params["b1"]
    activations = {
        "a sigmoid": expit(pre),
        "a ReLU": np.maximum(pre, 0.0),
        "a tanh": np.tanh(pre),
        "no activation": pre,
    }
    for name, hidden in activations.items():
        if np.allclose(hidden @ params["w2"].T + params["b2"], logits, rtol=1e-4, atol=1e-4):
            if name == "a sigmoid":
                return
            raise Fail(f"the hidden layer applies {name}; {USES_SIGMOID}")
    raise Fail(
        "make_fc_network()(x) is not Linear(1024, 64) -> sigmoid -> Linear(64, 36) applied to "
        "x in that order (with nothing after the last layer: it returns the logits)"
    )


def loop_inputs(n, batch_size, lr, seed):
    def make():
        rng = seeded(seed)
        return {
            "x": rng.normal(size=(n, 6)).astype(np.float32),
            "labels": rng.integers(0, 3, size=n),
            "w": (0.5 * rng.normal(size=(3, 6))).astype(np.float32),
            "b": (0.1 * rng.normal(size=3)).astype(np.float32),
            "batch_size": batch_size,
            "lr": lr,
        }

    return make


def _batch_slices(n, size):
    return [slice(i, i + size) for i in range(0, n, size)]


def _pair_values(out, what):
    if number(out, "pair", f"{what}'s result") != 1:
        returned = out.get("returned", "something else")
        raise Fail(f"{what} should return a pair (loss, accuracy), got {returned}")
    return number(out, "loss", f"{what}'s loss"), number(out, "acc", f"{what}'s accuracy")


def loss_hint(loss, losses, batch_size) -> str:
    """What a wrong epoch loss is, given the ``losses`` per sample: batch means averaged or
    summed, or the summed cross-entropy ("" when none of them)."""
    n = len(losses)
    slices = _batch_slices(n, batch_size)
    batch_means = [float(losses[s].mean()) for s in slices]
    if np.isclose(loss, np.mean(batch_means), rtol=LOSS_RTOL):
        last = n - (len(slices) - 1) * batch_size
        return BATCH_MEANS_HINT.format(n_batches=len(slices), last=last)
    if np.isclose(loss, np.sum(batch_means), rtol=LOSS_RTOL):
        return SUMMED_MEANS_HINT
    if np.isclose(loss, np.sum(losses), rtol=LOSS_RTOL):
        return SUMMED_LOSS_HINT
    return ""


def _judge_loss_acc(inputs, out, what, loss, acc, setting=""):
    labels = inputs["labels"]
    x, w, b = (inputs[k].astype(np.float64) for k in ("x", "w", "b"))
    logits = x @ w.T + b
    losses = cross_entropy(logits, labels)
    n = len(labels)
    expected = float(losses.mean())
    correct = int((logits.argmax(axis=1) == labels).sum())
    if not np.isclose(loss, expected, rtol=LOSS_RTOL, atol=1e-6):
        hint = loss_hint(loss, losses, int(inputs["batch_size"]))
        raise Fail(
            LOSS_MESSAGE.format(
                what=what, loss=loss, setting=setting, n=n, expected=expected, hint=hint
            )
        )
    if acc == correct and correct > 1:
        raise Fail(A_COUNT.format(what=what, acc=acc))
    if not np.isclose(acc, correct / n, atol=1e-6):
        raise Fail(
            ACC_MESSAGE.format(what=what, acc=acc, correct=correct, n=n, fraction=correct / n)
        )


def judge_train_epoch_numbers(inputs, out):
    loss, acc = _pair_values(out, "train_epoch")
    setting = " (SGD at lr 0: the parameters stay put)"
    _judge_loss_acc(inputs, out, "train_epoch", loss, acc, setting)


def _sgd(inputs, zero_grad=True, reduction="mean", step=True):
    """Softmax regression trained by SGD, one step per batch, in numpy."""
    w, b = inputs["w"].astype(np.float64), inputs["b"].astype(np.float64)
    x, labels, lr = inputs["x"].astype(np.float64), inputs["labels"], float(inputs["lr"])
    gw, gb = np.zeros_like(w), np.zeros_like(b)
    for s in _batch_slices(len(labels), int(inputs["batch_size"])):
        z = x[s] @ w.T + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(p)), labels[s]] -= 1.0
        if reduction == "mean":
            p /= len(p)
        if zero_grad:
            gw, gb = np.zeros_like(w), np.zeros_like(b)
        gw, gb = gw + p.T @ x[s], gb + p.sum(axis=0)
        if step:
            w, b = w - lr * gw, b - lr * gb
    return w, b


def judge_train_epoch_steps(inputs, out):
    training = array(out, "training", "the model's mode at each forward", kind="b")
    if training.size == 0:
        raise Fail(NEVER_CALLED.format(what="train_epoch"))
    if not training.all():
        raise Fail(NOT_TRAINING)
    n_batches = len(_batch_slices(len(inputs["labels"]), int(inputs["batch_size"])))
    w = array(out, "w_after", "the weight after train_epoch", shape=inputs["w"].shape)
    b = array(out, "b_after", "the bias after train_epoch", shape=inputs["b"].shape)

    def matches(reference):
        return np.allclose(w, reference[0], atol=STEP_ATOL) and np.allclose(
            b, reference[1], atol=STEP_ATOL
        )

    if matches(_sgd(inputs)):
        return
    hints = {
        NOT_ZEROED: _sgd(inputs, zero_grad=False),
        SUMMED_BATCH: _sgd(inputs, reduction="sum"),
        NOT_STEPPED: _sgd(inputs, step=False),
    }
    hint = next((h for h, reference in hints.items() if matches(reference)), "")
    raise Fail(SGD_STEPS.format(lr=inputs["lr"], n=n_batches, hint=hint).strip())


def judge_evaluate(inputs, out):
    training = array(out, "training", "the model's mode at each forward", kind="b")
    grads = array(out, "grad_enabled", "whether gradients were on at each forward", kind="b")
    if training.size == 0:
        raise Fail(NEVER_CALLED.format(what="evaluate"))
    if training.any():
        raise Fail(NOT_EVAL)
    if grads.any():
        raise Fail(WITH_GRADIENTS)
    for key in ("w", "b"):
        if not np.array_equal(array(out, f"{key}_after", "a parameter"), inputs[key]):
            raise Fail(EVALUATE_TRAINS)
    loss, acc = _pair_values(out, "evaluate")
    _judge_loss_acc(inputs, out, "evaluate", loss, acc)
    second = (number(out, "second_loss", "loss"), number(out, "second_acc", "accuracy"))
    if second != (loss, acc):
        raise Fail(NOT_DETERMINISTIC)


# ================================================================ the checks
_FC = ("q6_train", "run_q6_1_1")
_LOOP = ("q6_train",)
_NIST = "NIST36 validation split"

CHECKS = [
    Check("6.1.1", "make_fc_network maps rows of 1024 pixels to 36 logits (no softmax)", 0.5,
          fc_network_task, judge_fc_logits, fc_network_inputs, budget=120,
          modules=("run_q6_1_1",)),
    Check("6.1.1", "make_fc_network is Q3's network: Linear(1024, 64), sigmoid, Linear(64, 36)",
          0.5, fc_network_task, judge_fc_architecture, fc_network_inputs, budget=120,
          modules=("run_q6_1_1",)),
    Check("6.1.1", "train_epoch returns the epoch's mean loss per sample and its accuracy", 0.5,
          train_epoch_task, judge_train_epoch_numbers, loop_inputs(10, 4, 0.0, 611),
          budget=120, modules=_LOOP),
    Check("6.1.1", "train_epoch takes one SGD step per batch on its mean loss, in training mode",
          1, train_epoch_task, judge_train_epoch_steps, loop_inputs(12, 4, 0.5, 612),
          budget=120, modules=_LOOP),
    Check("6.1.1", "evaluate: mean loss and accuracy over all samples, in eval mode, no gradients",
          0.5, evaluate_task, judge_evaluate, loop_inputs(11, 4, 0.0, 613), budget=120,
          modules=_LOOP),
    *training_checks("6.1.1", "train_fc", FC_BAR, "NIST36", (1.5, 0.5), fc_training_task,
                     nist36_valid_labels, training_inputs(FC_BAR), 900, _FC,
                     ("q6_1_1", "Q6.1.1 fully connected network, NIST36"), what=FC_WHAT),
]  # fmt: skip
