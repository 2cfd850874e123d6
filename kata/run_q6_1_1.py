"""Q6.1.1: Q3's fully connected network (1024 -> 64 sigmoid -> 36) in PyTorch, on NIST36.

``python -m kata.run_q6_1_1 [--epochs N] [--out DIR]`` trains it with the shared loop
(``q6_train.fit``, whose ``train_epoch`` and ``evaluate`` you also write for Q6.1.1) and
writes ``q6_1_1.json`` (per-epoch loss and accuracy) and ``q6_1_1_curves.png`` into DIR.
"""

import sys

import torch
from torch import nn

from coursedata.scripts import run_script, training_parser

from .q6_train import *

EPOCHS = 15
BATCH_SIZE = 32
LEARNING_RATE = 1e-3


# ----------------------------------------------------------------------------- Q6.1.1
def make_fc_network(n_in=1024, n_hidden=64, n_classes=36):
    """Q6.1.1: the fully connected network of Q3, as a ``torch.nn.Module``.

    ``n_in -> n_hidden`` (sigmoid) ``-> n_classes``. It returns logits: no softmax at the
    end, ``F.cross_entropy`` applies it.

    Parameters
    ----------
    n_in, n_hidden, n_classes : int

    Returns
    -------
    torch.nn.Module
        Maps x of shape (N, n_in) to logits of shape (N, n_classes).
    """
    # Hint: nn.Sequential(nn.Linear(...), nn.Sigmoid(), nn.Linear(...)): no softmax at the end.
    raise NotImplementedError("Q6.1.1 make_fc_network")


# ----------------------------------------------------------------------------- given
def train_fc(epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=0, device=None):
    """Train ``make_fc_network`` on NIST36's training split with Adam, validating on its
    validation split (given).

    Returns ``(model, history)``: the trained network and ``q6_train.fit``'s history.
    """
    seed_everything(seed)
    model = make_fc_network()
    loaders = nist36_loaders(batch_size, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = fit(model, loaders["train"], loaders["valid"], optimizer, epochs, device, "Q6.1.1")
    return model, history


def main(argv=None):
    """Train the network and write its curves."""
    parser = training_parser(__doc__, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE)
    needs = (make_fc_network, train_epoch, evaluate)
    return run_script(parser, argv, __name__, _run, *needs)


def _run(args):
    _, history = train_fc(args.epochs, args.batch_size, args.lr, args.seed)
    report(history, args.out, "q6_1_1", "Q6.1.1 fully connected network, NIST36")


if __name__ == "__main__":
    sys.exit(main())
