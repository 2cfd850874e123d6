"""Q6.1.3: a convolutional network on CIFAR-10 (32x32 colour images, 10 classes).

The data comes through ``torchvision.datasets.CIFAR10``: its ``cifar-10-batches-py/`` folder
is looked for in ``$NRK_CIFAR10_DIR``, else ``data/external/cifar10/``.
``python -m solutions.run_q6_1_3 [--epochs N] [--out DIR] [--no-download]`` downloads it
there when it is missing and the network allows, trains the network, and writes
``q6_1_3.json`` and ``q6_1_3_curves.png`` into DIR (the validation curve is the test split's).
"""

import sys
from pathlib import Path

from torch import nn
from torchvision import datasets, transforms

from coursedata.scripts import run_script, training_parser

from .q6_train import *
from .run_q6_1_2 import _block

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
    return nn.Sequential(
        *_block(3, 16), *_block(16, 32), *_block(32, 64),  # 64 x 4 x 4: light for a CPU
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

    Returns ``(model, history)`` as ``q6_train.fit_on_splits`` does (``valid_*`` measured on
    the test split); raises ``DatasetMissing`` as ``cifar10_datasets`` does.
    """
    train, test = cifar10_datasets(root, download)
    return fit_on_splits(
        make_cifar_cnn, train, test, epochs, batch_size, lr, seed, device, "Q6.1.3"
    )


def main(argv=None):
    """Train the network on CIFAR-10 and write its curves."""
    parser = training_parser(__doc__, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE)
    parser.add_argument("--data", default=None, help=f"CIFAR-10 folder (default ${CIFAR10_ENV})")
    parser.add_argument("--no-download", dest="download", action="store_false")
    needs = (make_cifar_cnn, train_epoch, evaluate)
    return run_script(parser, argv, __name__, _run, *needs, errors=(DatasetMissing,))


def _run(args):
    _, history = train_cifar(
        args.epochs, args.batch_size, args.lr, args.seed, args.data, args.download
    )
    report(history, args.out, "q6_1_3", "Q6.1.3 CNN, CIFAR-10 (valid = test split)")


if __name__ == "__main__":
    sys.exit(main())
