"""Q6.2: fine-tuning SqueezeNet 1.1 on Flowers-17, against a network of your design trained
from scratch.

Flowers-17 (17 flower species, 80 images each) is read with ``torchvision``'s
``ImageFolder`` from three split folders, ``train/``, ``val/`` and ``test/``, each with one
folder per class; it is looked for in ``$NRK_FLOWERS17_DIR``, else
``data/external/flowers17/``. SqueezeNet's ImageNet weights come from torch's local hub
cache (``--download`` fetches them where the network allows).
``python -m solutions.run_q6_2 [--epochs N] [--scratch-epochs M] [--out DIR]`` trains both
and writes ``q6_2_finetune.json``, ``q6_2_scratch.json``, their curves and
``q6_2_comparison.png`` into DIR, and prints both test accuracies.
"""

import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, models, transforms

from coursedata.scripts import run_script, training_parser

from .q6_train import *
from .run_q6_1_2 import _block

FLOWERS_ENV = "NRK_FLOWERS17_DIR"
SPLITS = ("train", "val", "test")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SIZE = 224
EPOCHS = 5
SCRATCH_EPOCHS = 30
BATCH_SIZE = 32
LEARNING_RATE = 1e-3


# ----------------------------------------------------------------------------- given
def flowers17_datasets(root=None, train_transform=None, eval_transform=None):
    """Flowers-17's three splits as ``ImageFolder`` datasets (given).

    Parameters
    ----------
    root : path-like, optional
        The folder holding ``train/``, ``val/`` and ``test/``, each with one folder per
        class; default ``dataset_root('NRK_FLOWERS17_DIR', 'flowers17')``.
    train_transform : callable, optional
        For ``train``.
    eval_transform : callable, optional
        For ``val`` and ``test``.

    Returns
    -------
    dict of str to torchvision.datasets.ImageFolder
        ``{'train': ..., 'val': ..., 'test': ...}``, with the same classes in each.

    Raises
    ------
    DatasetMissing
        A split folder is missing, saying where the data is expected.
    ValueError
        The splits do not have the same class folders.
    """
    root = Path(root) if root is not None else dataset_root(FLOWERS_ENV, "flowers17")
    missing = [f"{split}/" for split in SPLITS if not (root / split).is_dir()]
    if missing:
        raise DatasetMissing(
            f"Flowers-17 is not available here: {root} lacks {', '.join(missing)}. "
            "`python -m coursedata.download flowers17` downloads and splits it there; or "
            "put the dataset there as train/, val/ and test/ folders, each with one folder "
            f"of images per class, or set {FLOWERS_ENV} to that folder."
        )
    found = {
        split: datasets.ImageFolder(
            root / split, train_transform if split == "train" else eval_transform
        )
        for split in SPLITS
    }
    if any(found[split].classes != found["train"].classes for split in SPLITS):
        raise ValueError(
            f"Flowers-17 in {root}: the splits' class folders differ: "
            + "; ".join(f"{split}: {found[split].classes}" for split in SPLITS)
        )
    return found


# ----------------------------------------------------------------------------- Q6.2
def flowers_transforms(train, size=IMAGE_SIZE):
    """Q6.2: the image transform for SqueezeNet (and your scratch network) on Flowers-17.

    PIL image -> float tensor (3, size, size), normalised with ImageNet's statistics
    (``IMAGENET_MEAN``, ``IMAGENET_STD``: what the pretrained features expect). For
    training, some random augmentation (e.g. a random resized crop and horizontal flip);
    for evaluation, deterministic (e.g. resize then centre crop).

    Parameters
    ----------
    train : bool
    size : int

    Returns
    -------
    callable
        PIL image -> Tensor of shape (3, size, size).
    """
    if train:
        steps = [
            transforms.RandomResizedCrop(size, scale=(0.5, 1.0)),
            transforms.RandomHorizontalFlip(),
        ]
    else:
        steps = [transforms.Resize(size * 8 // 7), transforms.CenterCrop(size)]
    return transforms.Compose(
        [*steps, transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    )


def finetune_squeezenet(weights=None, n_classes=17):
    """Q6.2: SqueezeNet 1.1 with frozen features and a new classifier for ``n_classes``.

    Build ``torchvision.models.squeezenet1_1(weights=weights)``, freeze all its parameters
    (``requires_grad = False``), then replace ``classifier[1]`` (512 -> 1000 classes) by a new
    ``nn.Conv2d(512, n_classes, kernel_size=1)``, the only part left to train.

    Parameters
    ----------
    weights : torchvision.models.SqueezeNet1_1_Weights or None
        ImageNet weights (``q6_train.squeezenet_weights()``); None for random ones (tests).
    n_classes : int

    Returns
    -------
    torch.nn.Module
        Maps x of shape (N, 3, H, W) to logits of shape (N, n_classes).
    """
    model = models.squeezenet1_1(weights=weights)
    for parameter in model.parameters():
        parameter.requires_grad = False
    model.classifier[1] = nn.Conv2d(512, n_classes, kernel_size=1)
    return model


def finetune_optimizer(model, lr=LEARNING_RATE):
    """Q6.2: an optimiser over the new classifier's parameters only.

    Parameters
    ----------
    model : torch.nn.Module
        From ``finetune_squeezenet``.
    lr : float

    Returns
    -------
    torch.optim.Optimizer
        Whose parameter groups hold exactly ``model.classifier[1]``'s weight and bias.
    """
    return torch.optim.Adam(model.classifier[1].parameters(), lr=lr)


def make_flowers_cnn(n_classes=17):
    """Q6.2: a convolutional network of your design, trained from scratch on Flowers-17.

    Returns
    -------
    torch.nn.Module
        Maps x of shape (N, 3, 224, 224) to logits of shape (N, n_classes) (no softmax).
    """
    return nn.Sequential(
        *_block(3, 16, stride=2), *_block(16, 32), *_block(32, 64), *_block(64, 128),  # 128 x 7 x 7
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(128, n_classes),
    )  # fmt: skip


# ----------------------------------------------------------------------------- given
def flowers_loaders(root=None, batch_size=BATCH_SIZE, seed=0):
    """DataLoaders of the three splits through ``flowers_transforms`` (given)."""
    splits = flowers17_datasets(root)  # first: says where the data goes when it is missing
    for split, data in splits.items():
        data.transform = flowers_transforms(split == "train")
    generator = torch.Generator().manual_seed(seed)
    return {
        split: DataLoader(data, batch_size, shuffle=split == "train", generator=generator)
        for split, data in splits.items()
    }


def train_flowers(
    kind="finetune", epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=0,
    root=None, download=False, device=None,
):  # fmt: skip
    """Train on Flowers-17's training split, validating on ``val`` (given).

    ``kind='finetune'``: ``finetune_squeezenet`` with ImageNet weights and
    ``finetune_optimizer``; ``kind='scratch'``: ``make_flowers_cnn`` with Adam over all its
    parameters.

    Returns
    -------
    model : torch.nn.Module
    history : dict
        As ``q6_train.fit`` returns it, plus ``'test_acc'``: the final test accuracy.

    Raises
    ------
    DatasetMissing
        Flowers-17 (or, to fine-tune, the ImageNet weights) is not available.
    """
    loaders = flowers_loaders(root, batch_size, seed)
    n_classes = len(loaders["train"].dataset.classes)
    seed_everything(seed)
    if kind == "finetune":
        model = finetune_squeezenet(squeezenet_weights(download), n_classes)
        optimizer = finetune_optimizer(model, lr)
    else:
        model = make_flowers_cnn(n_classes)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = fit(
        model, loaders["train"], loaders["val"], optimizer, epochs, device, f"Q6.2 {kind}"
    )
    history["test_acc"] = evaluate(model, loaders["test"], device)[1]
    return model, history


def main(argv=None):
    """Fine-tune SqueezeNet, train the scratch network, write and compare their curves."""
    parser = training_parser(
        __doc__,
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        lr=LEARNING_RATE,
        epochs_help="fine-tuning epochs",
    )
    parser.add_argument(
        "--scratch-epochs", type=int, default=SCRATCH_EPOCHS, help=f"default {SCRATCH_EPOCHS}"
    )
    parser.add_argument("--data", default=None, help=f"Flowers-17 folder (default ${FLOWERS_ENV})")
    parser.add_argument("--download", action="store_true", help="fetch SqueezeNet's weights")
    needs = (
        flowers_transforms,
        finetune_squeezenet,
        finetune_optimizer,
        make_flowers_cnn,
        train_epoch,
        evaluate,
    )
    return run_script(parser, argv, __name__, _run, *needs, errors=(DatasetMissing,))


def _run(args):
    histories = {}
    for kind, epochs in (("finetune", args.epochs), ("scratch", args.scratch_epochs)):
        _, histories[kind] = train_flowers(
            kind, epochs, args.batch_size, args.lr, args.seed, args.data, args.download
        )
        save_history(histories[kind], args.out, f"q6_2_{kind}", f"Q6.2 {kind}, Flowers-17")
        print(f"Q6.2 {kind}: {summary(histories[kind])}; test {histories[kind]['test_acc']:.3f}")
    path = plot_histories(histories, Path(args.out) / "q6_2_comparison.png", "Flowers-17")
    print(f"comparison: {path}")


if __name__ == "__main__":
    sys.exit(main())
