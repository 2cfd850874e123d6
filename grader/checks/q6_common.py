"""Grader-side helpers shared by the Q6 question modules: the end-to-end ``Bar``, the judges
of a trained network (its accuracy on a split, its history) and of a network's logits, and
the figures drawn from a returned history.

The question modules (``q6_1_1.py`` ... ``q6_2.py``) hold each question's bars, messages and
checks; the self-check (``tests/test_q6_*.py``) imports them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.check import Check, Fail, array, number
from grader.checks.torchnets import HISTORY_KEYS

#: Where a bar not yet measured on the real data says it comes from (docs/questions.md).
PROVISIONAL = "provisional, not measured on the real data (python -m benchmarks --q6)"

NO_SOFTMAX = (
    "the network's outputs are probabilities (each row sums to 1): it ends with a softmax. "
    "Return the logits: F.cross_entropy applies the (log-)softmax itself"
)
NO_CONV = "a convolutional network needs convolutions: no nn.Conv2d found"
N_CLASSES_HINT = "Size the last layer with the n_classes argument."
LOSS_NOT_LOWERED = (
    "training did not lower the loss: {first:.4f} after the first epoch, {last:.4f} after the "
    "last (history['train_loss'])"
)


@dataclass(frozen=True)
class Bar:
    """An end-to-end bar, the one definition the self-check (``tests/test_q6_*.py``) and the
    grader both apply: after ``epochs`` epochs of the question's ``train_*`` the network
    classifies at least ``min_acc`` of ``split`` correctly.

    Attributes
    ----------
    epochs : int
    min_acc : float
    split : str
        The split whose accuracy is measured, in words (``"Flowers-17 test split"``).
    hint : str
        For the message when it is missed: the chance level, what to check.
    source : str
        Where the number comes from: measured (and on what), or provisional.
    """

    epochs: int
    min_acc: float
    split: str
    hint: str
    source: str

    def missed(self, acc: float, what: str, epochs=None, min_acc=None) -> str:
        """The message when ``what`` (``"train_cnn"``) trained ``epochs`` epochs (the
        bar's own by default) classifies only ``acc`` of the split correctly."""
        epochs = self.epochs if epochs is None else epochs
        min_acc = self.min_acc if min_acc is None else min_acc
        return (
            f"after {epochs} epochs of {what} the network classifies {acc:.1%} of the "
            f"{self.split} correctly; expected at least {min_acc:.0%} ({self.hint})"
        )


def seeded(seed):
    return np.random.default_rng(seed)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy of ``logits`` (N, C) against class indices (N,)."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]


def is_probabilities(logits: np.ndarray) -> bool:
    """Whether each row is non-negative and sums to 1 (a softmax at the end)."""
    return bool((logits >= 0).all() and np.allclose(logits.sum(axis=1), 1.0, atol=1e-3))


def judge_logits(out, what, n, n_classes):
    logits = array(out, "logits", what, shape=(n, n_classes))
    if is_probabilities(logits):
        raise Fail(NO_SOFTMAX)
    return logits


def judge_custom(out, what, expected, hint):
    if out.get("custom_error"):
        raise Fail(f"{what} raised {out['custom_error']}. {hint}")
    got = array(out, "custom_shape", what, kind="iu")
    if tuple(got.tolist()) != expected:
        raise Fail(
            f"{what}: expected logits of shape {expected}, got {tuple(got.tolist())}. {hint}"
        )


def image_batch_inputs(shape, n=4, seed=63):
    def make():
        return {"x": seeded(seed).random((n, *shape)).astype(np.float32)}

    return make


def judge_cnn(what, n, n_classes, custom):
    """A judge of ``cnn_task``: logits (n, n_classes) that are no probabilities, ``custom``
    (n, k) logits for ``what(n_classes=k)``, and at least one convolution."""

    def judge(inputs, out):
        judge_logits(out, f"{what}()(x) for x of shape {inputs['x'].shape}", n, n_classes)
        judge_custom(out, f"{what}(n_classes={custom[1]})(x)", custom, N_CLASSES_HINT)
        if number(out, "n_conv", "the number of nn.Conv2d layers") < 1:
            raise Fail(f"{what}(): {NO_CONV}")

    return judge


def training_inputs(bar: Bar, seed=0, **more):
    """The inputs of a training task: ``bar``'s epochs and bar, the seed, and ``more``
    (callables are called when the inputs are made)."""

    def make():
        return {"epochs": bar.epochs, "min_acc": bar.min_acc, "seed": seed} | {
            k: (v() if callable(v) else v) for k, v in more.items()
        }

    return make


def judge_accuracy(labels_of, what, bar: Bar):
    """A judge: the accuracy of the returned logits on ``bar.split`` against
    ``labels_of(inputs, out)`` reaches ``inputs['min_acc']`` (``bar.min_acc``)."""
    split = bar.split

    def judge(inputs, out):
        labels = labels_of(inputs, out)
        logits = array(out, "logits", f"the trained network's logits on the {split}")
        if logits.ndim != 2 or len(logits) != len(labels):
            raise Fail(
                f"the trained network gave logits of shape {logits.shape} for the {len(labels)} "
                f"images of the {split}: expected ({len(labels)}, number of classes)"
            )
        if logits.shape[1] <= labels.max():
            raise Fail(
                f"the trained network outputs {logits.shape[1]} logits per image; the {split} "
                f"has labels up to {labels.max()}"
            )
        acc = float(np.mean(logits.argmax(axis=1) == labels))
        if acc < float(inputs["min_acc"]):
            raise Fail(bar.missed(acc, what, inputs["epochs"], float(inputs["min_acc"])))

    return judge


def judge_history(labels_of, split, measured="valid_acc"):
    """A judge: the history has one plausible value per epoch, and its accuracy on ``split``
    (``history[measured]``, its last value) is the returned logits' accuracy."""

    def judge(inputs, out):
        epochs = int(inputs["epochs"])
        history = {
            key: array(out, f"history_{key}", f"history[{key!r}]", shape=(epochs,))
            for key in HISTORY_KEYS
        }
        for key in ("train_acc", "valid_acc"):
            if ((history[key] < 0) | (history[key] > 1)).any():
                raise Fail(
                    f"history[{key!r}] holds {np.round(history[key], 3).tolist()}: accuracies "
                    "are fractions in [0, 1] (train_epoch and evaluate return correct / seen)"
                )
        for key in ("train_loss", "valid_loss"):
            if (history[key] <= 0).any():
                raise Fail(f"history[{key!r}] holds {history[key].tolist()}: losses are positive")
        first, last = history["train_loss"][0], history["train_loss"][-1]
        if epochs >= 2 and not last < first:
            raise Fail(LOSS_NOT_LOWERED.format(first=first, last=last))
        labels = labels_of(inputs, out)
        logits = array(out, "logits", f"the trained network's logits on the {split}")
        if logits.shape != (len(labels), logits.shape[-1]) or logits.shape[1] <= labels.max():
            raise Fail(f"the trained network's logits on the {split} have shape {logits.shape}")
        own = float(np.mean(logits.argmax(axis=1) == labels))
        if measured == "valid_acc":
            reported = float(history["valid_acc"][-1])
        else:
            reported = number(out, f"history_{measured}", f"history[{measured!r}]")
        if abs(reported - own) > 1.5 / len(labels):
            raise Fail(
                f"the history says {reported:.4f} accuracy on the {split} after the last epoch, "
                f"but the trained network classifies {own:.4f} of it correctly: evaluate's "
                "accuracy is off (eval mode, all samples counted, correct / seen)"
            )
        if measured == "valid_acc":
            loss = float(cross_entropy(logits.astype(np.float64), labels).mean())
            if not np.isclose(history["valid_loss"][-1], loss, rtol=2e-3):
                raise Fail(
                    f"the history's last validation loss is {history['valid_loss'][-1]:.4f}, "
                    f"but the trained network's mean cross-entropy on the {split} is {loss:.4f}: "
                    "evaluate's loss is off (the mean per sample, each batch weighted by its size)"
                )

    return judge


def curves(name, title):
    """A figures function: loss and accuracy per epoch from the returned history."""

    def figures(inputs, out, out_dir):
        from matplotlib.figure import Figure

        try:
            history = {
                key: array(out, f"history_{key}", key, shape=(None,)) for key in HISTORY_KEYS
            }
        except Fail:
            return []
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        fig = Figure(figsize=(10, 4), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, what, label in zip(axes, ("loss", "acc"), ("cross-entropy loss", "accuracy")):
            ax.plot(epochs, history[f"train_{what}"], "--o", label="train")
            ax.plot(epochs, history[f"valid_{what}"], "-o", label="validation")
            ax.set(xlabel="epoch", ylabel=label, title=label)
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        fig.suptitle(f"{title} (drawn by the grader from the returned history)")
        path = Path(out_dir) / f"{name}_curves.png"
        fig.savefig(path, dpi=100)
        return [path]

    return figures


def training_checks(
    question, trains, bar: Bar, data, weights, task, labels_of, inputs, budget, modules,
    figure, available=None, what=None,
):  # fmt: skip
    """A question's two end-to-end checks of its ``train_*`` function ``trains``: the trained
    network reaches ``bar`` on ``data`` (weight ``weights[0]``, drawing ``figure``, a
    ``(name, title)`` pair for :func:`curves`), and the returned history is plausible and
    agrees with it (``weights[1]``). ``what`` names the training in the accuracy message
    (default ``trains``)."""
    split = bar.split.split()[-2]  # "validation" or "test"
    common = dict(budget=budget, modules=modules, available=available)
    return [
        Check(question, f"{trains} reaches {bar.min_acc:.0%} {split} accuracy on {data} "
              f"({bar.epochs} epochs)", weights[0],
              task, judge_accuracy(labels_of, what or trains, bar), inputs,
              figures=curves(*figure), **common),
        Check(question, "the training history is plausible and agrees with the trained network",
              weights[1], task, judge_history(labels_of, bar.split), inputs, **common),
    ]  # fmt: skip
