"""``python -m benchmarks --q6``: the reference solutions on Q6's real datasets, to set the bars.

For each end-to-end bar of Q6.1.3 (CIFAR-10), Q6.1.4 (the SUN scenes) and Q6.2 (Flowers-17,
fine-tuned and from scratch), where its data is present (``python -m coursedata.download q6``),
train the reference with the bar's own epochs and code path (``solutions.run_q6_*``'s
``train_*``, seed 0, on CUDA when there is a GPU, else the CPU) and record the accuracy on the
bar's split and the training time per epoch. The record's ratio is the bar over the
reference's accuracy: the margin a working solution has. Where the data is absent, the record
says "not measured: data absent" (value None) with where the data is expected.
"""

from __future__ import annotations

import os

from .common import ROOT, log, result

#: (record name, the grader's bar as ``module:attribute`` of grader.checks, availability
#: function of grader.checks.q6_data, question, download)
BARS = (
    ("q6.cifar10", "q6_1_3:CIFAR_BAR", "cifar10_available", "Q6.1.3", "cifar10"),
    ("q6.sun", "q6_1_4:SUN_BAR", "sun_available", "Q6.1.4", "sun --sun-url ARCHIVE"),
    ("q6.flowers17_finetune", "q6_2:FINETUNE_BAR", "flowers_available", "Q6.2",
     "flowers17 squeezenet"),
    ("q6.flowers17_scratch", "q6_2:SCRATCH_BAR", "flowers_available", "Q6.2", "flowers17"),
)  # fmt: skip


def _train(name, epochs):
    """Train the reference as the bar's check does; return (accuracy on the bar's split,
    the history)."""
    import importlib

    if name == "q6.cifar10":
        run = importlib.import_module("solutions.run_q6_1_3")
        history = run.train_cifar(epochs=epochs, download=False)[1]
        return history["valid_acc"][-1], history  # validated on the test split
    if name == "q6.sun":
        run = importlib.import_module("solutions.run_q6_1_4")
        history = run.train_scenes(epochs=epochs)[1]
        return history["valid_acc"][-1], history  # validated on the test split
    run = importlib.import_module("solutions.run_q6_2")
    kind = "finetune" if name.endswith("finetune") else "scratch"
    history = run.train_flowers(kind, epochs, download=False)[1]
    return history["test_acc"], history


def run(quick=False, train=_train):
    """The Q6 records: two per bar (accuracy, seconds per epoch), or one saying why not.

    Parameters
    ----------
    quick : bool
        One epoch per bar (checks the code path; the accuracies are not the bars').
    train : callable
        ``train(name, epochs) -> (accuracy, history)``; the tests replace it.

    Returns
    -------
    list of dict
    """
    import importlib

    from grader.checks import q6_data

    records = []
    for name, bar_ref, available, question, fetch in BARS:
        module, _, attribute = bar_ref.partition(":")
        bar = getattr(importlib.import_module(f"grader.checks.{module}"), attribute)
        target = f">= {bar.min_acc:.0%} of the {bar.split} after {bar.epochs} epochs (the bar)"
        reason = getattr(q6_data, available)()
        if reason is not None:
            # "X not found in PATH (missing ...)", the repository's paths relative
            why = reason.removeprefix("not gradable offline: ").split("; ")[0]
            why = why.replace(f"{ROOT}{os.sep}", "")
            records.append(
                result(
                    f"{name}.accuracy",
                    None,
                    "fraction",
                    target=target,
                    note=f"not measured: data absent ({why}); "
                    f"python -m coursedata.download {fetch}",
                    question=question,
                )  # fmt: skip
            )
            continue
        epochs = 1 if quick else bar.epochs
        log(f"  {name}: training the reference for {epochs} epoch(s)")
        acc, history = train(name, epochs)
        seconds = history["seconds"]
        device = history.get("device", "?")
        records.append(
            result(
                f"{name}.accuracy",
                float(acc),
                "fraction",
                ratio=bar.min_acc / acc if acc else None,
                vs="the reference's accuracy",
                target=target,
                met=None if quick else bool(acc >= bar.min_acc),
                note=f"{bar.split}, {epochs} epoch(s) on {device}, seed 0"
                + (" (--quick: not the bar's epochs)" if quick else ""),
                question=question,
                epochs=epochs,
                device=device,
            )  # fmt: skip
        )
        records.append(
            result(
                f"{name}.epoch",
                sum(seconds) / len(seconds),
                "s",
                note=f"training time per epoch on {device} (mean of {len(seconds)})",
                question=question,
                device=device,
            )  # fmt: skip
        )
    return records


def merge(previous, records):
    """``previous`` results (``results.json``'s list) with its ``q6.*`` records replaced by
    ``records``: a Q6 run keeps the other sections' last results."""
    kept = [r for r in previous if not r["name"].startswith("q6.")]
    return kept + list(records)
