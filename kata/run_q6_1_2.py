"""Q6.1.2: a convolutional network on NIST36, compared with Q6.1.1's fully connected one.

NIST36 stores each 32x32 image transposed in its row of 1024 values; the network sees it as
an upright 1x32x32 image. ``python -m kata.run_q6_1_2 [--epochs N] [--out DIR]``
trains it and writes ``q6_1_2.json`` and ``q6_1_2_curves.png`` into DIR, and
``q6_1_2_vs_q6_1_1.png`` when DIR holds Q6.1.1's results (run ``run_q6_1_1`` first).
"""

import json
import sys
from pathlib import Path

import torch
from torch import nn

from coursedata.scripts import run_script, training_parser

from .q6_train import *

EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 2e-3


# ----------------------------------------------------------------------------- Q6.1.2
def nist36_images(x):
    """Q6.1.2: NIST36 rows as upright one-channel images.

    Each row holds a 32x32 image stored transposed: ``row.reshape(32, 32).T`` is upright.

    Parameters
    ----------
    x : Tensor or ndarray, shape (N, 1024)

    Returns
    -------
    Tensor, shape (N, 1, 32, 32)
        Same dtype; ``images[i, 0, r, c]`` is pixel (row r, column c) of the upright image.
    """
    # Hint: torch.as_tensor(x), reshape to (N, 32, 32), swap the last two axes (the transpose),
    # then add the channel axis: (N, 1, 32, 32).
    raise NotImplementedError("Q6.1.2 nist36_images")


def make_nist_cnn(n_classes=36):
    """Q6.1.2: a convolutional network for 1x32x32 images, of your design.

    Returns
    -------
    torch.nn.Module
        Maps x of shape (N, 1, 32, 32) to logits of shape (N, n_classes) (no softmax).
    """
    # Hint: nn.Sequential of nn.Conv2d / nn.ReLU / nn.MaxPool2d blocks, then nn.Flatten() and
    # nn.Linear layers; track the shape: each MaxPool2d(2) halves 32x32.
    raise NotImplementedError("Q6.1.2 make_nist_cnn")


# ----------------------------------------------------------------------------- given
def train_cnn(epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=0, device=None):
    """Train ``make_nist_cnn`` on NIST36 (as ``nist36_images``, training images shifted at
    random by up to 2 pixels) with Adam and a cosine learning-rate schedule, validating on
    the validation split (given).

    Returns ``(model, history)``: the trained network and ``q6_train.fit``'s history.
    """
    seed_everything(seed)
    model = make_nist_cnn()
    loaders = nist36_loaders(batch_size, transform=nist36_images, seed=seed, shift=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    train, valid = loaders["train"], loaders["valid"]
    history = fit(model, train, valid, optimizer, epochs, device, "Q6.1.2", scheduler)
    return model, history


def main(argv=None):
    """Train the CNN, write its curves, and compare with Q6.1.1's when they are in --out."""
    parser = training_parser(__doc__, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE)
    needs = (nist36_images, make_nist_cnn, train_epoch, evaluate)
    return run_script(parser, argv, __name__, _run, *needs)


def _run(args):
    _, history = train_cnn(args.epochs, args.batch_size, args.lr, args.seed)
    report(history, args.out, "q6_1_2", "Q6.1.2 CNN, NIST36", "Q6.1.2 CNN")
    fc_file = Path(args.out) / "q6_1_1.json"
    if fc_file.is_file():
        fc = json.loads(fc_file.read_text(encoding="utf-8"))
        print(f"Q6.1.1 FC  {summary(fc)}")
        both = {"Q6.1.1 FC": fc, "Q6.1.2 CNN": history}
        path = plot_histories(both, Path(args.out) / "q6_1_2_vs_q6_1_1.png", "NIST36")
        print(f"comparison: {path}")
    else:
        print(f"(run run_q6_1_1 with --out {args.out} first to compare with the FC network)")


if __name__ == "__main__":
    sys.exit(main())
