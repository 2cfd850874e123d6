"""Q6.1.3: a convolutional network on CIFAR-10 (32x32 colour images, 10 classes).

The data comes through ``torchvision.datasets.CIFAR10``: its ``cifar-10-batches-py/`` folder
is looked for in ``$NRK_CIFAR10_DIR``, else ``data/external/cifar10/``.
``python -m solutions.run_q6_1_3 [--epochs N] [--out DIR] [--no-download]`` downloads it
there when it is missing and the network allows, trains the network, and writes
``q6_1_3.json`` and ``q6_1_3_curves.png`` into DIR (the validation curve is the test split's).
"""

import argparse
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from .q6_train import *

CIFAR10_ENV = "NRK_CIFAR10_DIR"
EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 1e-3


# ----------------------------------------------------------------------------- given
def cifar10_transforms(train):
    """Tensors in [-1, 1]; random horizontal flips for training (given)."""
    steps = [transforms.RandomHorizontalFlip()] if train else []
    steps += [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
    return transforms.Compose(steps)


def cifar10_datasets(root=None, download=False):
    """CIFAR-10's training and test splits through ``torchvision.datasets.CIFAR10`` (given).

    Parameters
    ----------
    root : path-like, optional
        The folder holding (or to receive) ``cifar-10-batches-py/``; default
        ``dataset_root('NRK_CIFAR10_DIR', 'cifar10')``.
    download : bool
        Download into ``root`` when missing (needs the network).

    Returns
    -------
    train, test : torch.utils.data.Dataset
        Items ``(image, label)``: a float tensor (3, 32, 32) and an int in [0, 10).

    Raises
    ------
    DatasetMissing
        The data is not in ``root`` and could not be downloaded; the message says where to
        put it.
    """
    root = Path(root) if root is not None else dataset_root(CIFAR10_ENV, "cifar10")
    try:
        return tuple(
            datasets.CIFAR10(
                root, train=train, transform=cifar10_transforms(train), download=download
            )
            for train in (True, False)
        )
    except (OSError, RuntimeError) as exc:  # not found or corrupted; no network; bad archive
        why = f"the download failed: {exc}" if download else "downloads are off"
        raise DatasetMissing(
            f"CIFAR-10 is not available here: no usable cifar-10-batches-py/ in {root} "
            f"({why}). Put the extracted "
            f"cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html) there "
            "(`python -m coursedata.download cifar10` fetches and checks it), "
            f"or set {CIFAR10_ENV} to the folder holding cifar-10-batches-py/."
        ) from None


# ----------------------------------------------------------------------------- Q6.1.3
def make_cifar_cnn(n_classes=10):
    """Q6.1.3: a convolutional network for CIFAR-10's 3x32x32 images, of your design.

    Returns
    -------
    torch.nn.Module
        Maps x of shape (N, 3, 32, 32) to logits of shape (N, n_classes) (no softmax).
    """

    def block(c_in, c_out):
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]

    return nn.Sequential(
        *block(3, 16), *block(16, 32), *block(32, 64),  # 64 x 4 x 4: light for a CPU
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 4 * 4, 128), nn.ReLU(),
        nn.Linear(128, n_classes),
    )  # fmt: skip


# ----------------------------------------------------------------------------- given
def train_cifar(
    epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=0, root=None, download=False,
    device=None,
):  # fmt: skip
    """Train ``make_cifar_cnn`` on CIFAR-10's training split with Adam, measuring it on the
    test split after each epoch (given).

    Returns
    -------
    model : torch.nn.Module
    history : dict
        As ``q6_train.fit`` returns it (``valid_*`` measured on the test split).

    Raises
    ------
    DatasetMissing
        As ``cifar10_datasets``.
    """
    train, test = cifar10_datasets(root, download)
    generator = seed_everything(seed)
    train_loader = DataLoader(train, batch_size, shuffle=True, generator=generator)
    test_loader = DataLoader(test, 256)
    model = make_cifar_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = fit(model, train_loader, test_loader, optimizer, epochs, device, "Q6.1.3")
    return model, history


def main(argv=None):
    """Train the network on CIFAR-10 and write its curves."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"default {EPOCHS}")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--lr", type=float, default=LEARNING_RATE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help=f"CIFAR-10 folder (default ${CIFAR10_ENV})")
    parser.add_argument("--no-download", dest="download", action="store_false")
    parser.add_argument("--out", default="out", help="output folder (default out/)")
    args = parser.parse_args(argv)
    try:
        _, history = train_cifar(
            args.epochs, args.batch_size, args.lr, args.seed, args.data, args.download
        )
    except NotImplementedError as exc:
        print(f"not implemented yet: {exc}", file=sys.stderr)
        return 1
    except DatasetMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    figure = save_history(history, args.out, "q6_1_3", "Q6.1.3 CNN, CIFAR-10 (valid = test split)")
    print(f"Q6.1.3 {summary(history)}")
    print(f"curves: {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
