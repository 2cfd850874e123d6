"""Q6: the small training and evaluation loop shared by every part of Q6 (PyTorch).

``fit`` trains a model for some epochs and measures it after each one: on CUDA when there is
a GPU, otherwise on the CPU, with a progress bar (quiet when the output is not a terminal).
It calls the two functions you write in Q6.1.1, ``train_epoch`` and ``evaluate``, and returns
the per-epoch history that ``save_history`` writes as a JSON file and a figure of the curves.

Everything else is given: seeding, the NIST36 loaders (through ``coursedata``), where the
external datasets are looked for (``dataset_root``) and the clear error raised when they are
missing (``DatasetMissing``), and SqueezeNet 1.1's ImageNet weights from the local cache
(``squeezenet_weights``).
"""

import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset, default_collate

import coursedata
from coursedata import external
from coursedata.progress import bar as progress_bar

HISTORY_KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")


class DatasetMissing(FileNotFoundError):
    """An external dataset (or pretrained weights) is not here; the message says where to put
    it and which environment variable points to it."""


# ----------------------------------------------------------------------------- given
def pick_device():
    """The device to train on: CUDA when a GPU is available, else the CPU (given).

    Returns
    -------
    torch.device
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed=0):
    """Seed Python's, numpy's and torch's random generators (given).

    Returns
    -------
    torch.Generator
        A generator seeded with ``seed``, for a ``DataLoader``'s shuffling.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def dataset_root(env_var, name):
    """Where an external dataset is looked for (given).

    Parameters
    ----------
    env_var : str
        Environment variable that, when set, names the folder (e.g. ``NRK_CIFAR10_DIR``).
    name : str
        The folder's name under ``<data dir>/external/`` otherwise (e.g. ``'cifar10'``), the
        data dir being the repository's ``data/`` or ``$NRK_DATA_DIR``.

    Returns
    -------
    pathlib.Path
    """
    return external.dataset_root(env_var, name)


def random_shift(images, pad=2):
    """Shift each image of a batch by up to ``pad`` pixels in each direction, at random,
    repeating the border (given): a cheap augmentation for small images.

    Parameters
    ----------
    images : Tensor, shape (N, C, H, W)
    pad : int

    Returns
    -------
    Tensor, shape (N, C, H, W)
    """
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    dy = torch.randint(0, 2 * pad + 1, (n, 1, 1))
    dx = torch.randint(0, 2 * pad + 1, (n, 1, 1))
    rows = dy + torch.arange(h).view(1, h, 1)
    cols = dx + torch.arange(w).view(1, 1, w)
    return padded[torch.arange(n).view(n, 1, 1), :, rows, cols].permute(0, 3, 1, 2)


def nist36_loaders(
    batch_size=64, transform=None, seed=0, splits=("train", "valid"), shift=0
):  # fmt: skip
    """DataLoaders of NIST36 from ``coursedata.load_nist36`` (given).

    Parameters
    ----------
    batch_size : int
    transform : callable, optional
        Applied once to each split's whole ``x`` (a float32 tensor of shape (N, 1024)), e.g.
        Q6.1.2's ``nist36_images``; None keeps the (N, 1024) rows.
    seed : int
        Seeds the training split's shuffling.
    splits : tuple of str
        Which of ``'train'``, ``'valid'``, ``'test'``; only ``'train'`` is shuffled.
    shift : int
        When positive, training batches of images go through ``random_shift(x, shift)``.

    Returns
    -------
    dict of str to DataLoader
        Batches ``(x, labels)``: ``x`` as ``transform`` makes it, ``labels`` int64 of shape
        (B,) with values in [0, 36).
    """
    loaders = {}
    for split in splits:
        x, y = coursedata.load_nist36(split)
        x = torch.as_tensor(x, dtype=torch.float32)
        if transform is not None:
            x = transform(x)
        labels = torch.as_tensor(np.argmax(y, axis=1), dtype=torch.int64)
        train = split == "train"
        loaders[split] = DataLoader(
            TensorDataset(x, labels),
            batch_size=batch_size,
            shuffle=train,
            generator=torch.Generator().manual_seed(seed) if train else None,
            collate_fn=_Shifted(shift) if train and shift else None,
        )
    return loaders


class _Shifted:
    """A DataLoader's collate_fn: the default batch, its images through ``random_shift``."""

    def __init__(self, pad):
        self.pad = pad

    def __call__(self, samples):
        x, labels = default_collate(samples)
        return random_shift(x, self.pad), labels


# ----------------------------------------------------------------------------- Q6.1.1
def train_epoch(model, loader, optimizer, device=None):
    """Q6.1.1: train ``model`` for one epoch over ``loader``; return its loss and accuracy.

    Put the model in training mode (``model.train()``), then for each batch ``(x, labels)``:
    move both to ``device``, compute the logits ``model(x)`` and the mean cross-entropy
    ``F.cross_entropy(logits, labels)``, zero the gradients, backpropagate and take an
    optimiser step. Accumulate the loss and the number of correct predictions (the logits'
    argmax) as you go, over the samples actually seen: the last batch may be smaller.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch ``x`` to logits of shape (B, C) (no softmax: the loss applies it).
    loader : iterable of (Tensor, Tensor)
        Batches ``(x, labels)``; ``labels`` int64 of shape (B,) with values in [0, C).
    optimizer : torch.optim.Optimizer
        Over the parameters to train.
    device : torch.device or str, optional
        Where to compute; default the device of the model's first parameter.

    Returns
    -------
    loss : float
        The epoch's mean cross-entropy per sample (each batch's mean weighted by its size).
    accuracy : float
        The fraction of the epoch's samples whose logits' argmax is their label, in [0, 1].
    """
    device = device or next(model.parameters()).device
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for x, labels in loader:
        x, labels = x.to(device), labels.to(device)
        logits = model(x)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        correct += (logits.argmax(dim=1) == labels).sum().item()
        seen += len(labels)
    return total_loss / seen, correct / seen


def evaluate(model, loader, device=None):
    """Q6.1.1: the mean cross-entropy and the accuracy of ``model`` over ``loader``.

    Put the model in evaluation mode (``model.eval()``: dropout off, batch norm uses its
    running statistics) and compute without gradients (``torch.no_grad()``). Nothing is
    trained.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch ``x`` to logits of shape (B, C).
    loader : iterable of (Tensor, Tensor)
        Batches ``(x, labels)`` as in ``train_epoch``.
    device : torch.device or str, optional
        Where to compute; default the device of the model's first parameter.

    Returns
    -------
    loss : float
        Mean cross-entropy per sample over the whole loader.
    accuracy : float
        Fraction of the samples classified correctly, in [0, 1].
    """
    device = device or next(model.parameters()).device
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for x, labels in loader:
            x, labels = x.to(device), labels.to(device)
            logits = model(x)
            total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(dim=1) == labels).sum().item()
            seen += len(labels)
    return total_loss / seen, correct / seen


# ----------------------------------------------------------------------------- given
class _Batches:
    """A loader seen through a progress bar; its other attributes (``dataset`` ...) pass
    through."""

    def __init__(self, loader, desc):
        self.loader, self.desc = loader, desc

    def __iter__(self):
        return iter(progress_bar(self.loader, desc=self.desc, leave=False, unit="batch"))

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def fit(
    model, train_loader, valid_loader, optimizer, epochs, device=None, desc="training",
    scheduler=None,
):  # fmt: skip
    """Train ``model`` for ``epochs`` epochs, measuring it after each one (given).

    Each epoch runs ``train_epoch`` over ``train_loader`` then ``evaluate`` over
    ``valid_loader``, behind a progress bar.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device``.
    train_loader, valid_loader : DataLoader
    optimizer : torch.optim.Optimizer
    epochs : int
    device : torch.device or str, optional
        Default ``pick_device()``: CUDA when available, else the CPU.
    desc : str
        The progress bar's label.
    scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        Stepped after each epoch (e.g. ``CosineAnnealingLR(optimizer, epochs)``).

    Returns
    -------
    history : dict
        ``'device'`` (``'cpu'`` or ``'cuda'``), and one value per epoch in each of
        ``'train_loss'``, ``'train_acc'``, ``'valid_loss'``, ``'valid_acc'`` and ``'seconds'``
        (the epoch's training time).
    """
    device = torch.device(device) if device is not None else pick_device()
    model.to(device)
    history = {"device": device.type} | {key: [] for key in HISTORY_KEYS}
    bar = progress_bar(range(epochs), desc=desc, unit="epoch")
    for _ in bar:
        start = time.perf_counter()
        batches = _Batches(train_loader, "train")
        train_loss, train_acc = train_epoch(model, batches, optimizer, device)
        seconds = time.perf_counter() - start
        valid_loss, valid_acc = evaluate(model, valid_loader, device)
        if scheduler is not None:
            scheduler.step()
        values = (train_loss, train_acc, valid_loss, valid_acc, seconds)
        for key, value in zip(HISTORY_KEYS, values):
            history[key].append(float(value))
        bar.set_postfix(loss=f"{train_loss:.3f}", acc=f"{train_acc:.3f}", valid=f"{valid_acc:.3f}")
    return history


def plot_histories(histories, path, title=""):
    """Plot loss and accuracy per epoch of one or more runs into ``path`` (given).

    Parameters
    ----------
    histories : dict of str to dict
        ``{label: history}`` with histories as ``fit`` returns them; training curves dashed,
        validation curves solid.
    path : path-like
        The image file to write (its folder is created).
    title : str

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for label, history in histories.items():
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        for ax, what in zip(axes, ("loss", "acc")):
            (line,) = ax.plot(epochs, history[f"valid_{what}"], label=f"{label} valid")
            ax.plot(
                epochs,
                history[f"train_{what}"],
                "--",
                color=line.get_color(),
                label=f"{label} train",
            )
    for ax, name in zip(axes, ("cross-entropy loss", "accuracy")):
        ax.set(xlabel="epoch", ylabel=name, title=name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    return path


def save_history(history, out, name, title=""):
    """Write ``<out>/<name>.json`` (the history) and ``<out>/<name>_curves.png`` (given).

    Returns
    -------
    pathlib.Path
        The figure's path.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    return plot_histories({name: history}, out / f"{name}_curves.png", title)


def report(history, out, name, title="", label=None):
    """``save_history`` then print the ``summary`` line (after ``label``, default the
    question in ``title``) and where the curves are (given).

    Returns
    -------
    pathlib.Path
        The figure's path.
    """
    figure = save_history(history, out, name, title)
    print(f"{label or title.split()[0]} {summary(history)}")
    print(f"curves: {figure}")
    return figure


def fit_on_splits(
    make_model, train, test, epochs, batch_size, lr, seed=0, device=None, desc="training"
):  # fmt: skip
    """Train ``make_model()`` with Adam on the dataset ``train`` (shuffled batches of
    ``batch_size``), measuring it on ``test`` after each epoch (given).

    Returns
    -------
    model : torch.nn.Module
    history : dict
        As ``fit`` returns it (``valid_*`` measured on ``test``).
    """
    generator = seed_everything(seed)
    train_loader = DataLoader(train, batch_size, shuffle=True, generator=generator)
    test_loader = DataLoader(test, 256)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return model, fit(model, train_loader, test_loader, optimizer, epochs, device, desc)


def summary(history):
    """One line: the last epoch's accuracies and the mean training time per epoch (given)."""
    return (
        f"after {len(history['train_acc'])} epochs on {history['device']}: "
        f"train accuracy {history['train_acc'][-1]:.3f}, "
        f"validation accuracy {history['valid_acc'][-1]:.3f}, "
        f"{np.mean(history['seconds']):.1f} s per epoch"
    )


def squeezenet_weights(download=False):
    """SqueezeNet 1.1's ImageNet weights, from torch's local hub cache (given).

    Parameters
    ----------
    download : bool
        Fetch them into the cache when they are not there (needs the network).

    Returns
    -------
    torchvision.models.SqueezeNet1_1_Weights
        ``IMAGENET1K_V1``, ready for ``squeezenet1_1(weights=...)`` without a download.

    Raises
    ------
    DatasetMissing
        The weights are not in the cache (and could not be downloaded), saying where to put
        them.
    """
    from torchvision.models import SqueezeNet1_1_Weights

    weights = SqueezeNet1_1_Weights.IMAGENET1K_V1
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if path.is_file():
        return weights
    why = "downloads are off (pass --download where the network allows)"
    if download:
        try:
            weights.get_state_dict(progress=True)
            return weights
        except Exception as exc:  # no network, a proxy, a truncated file ...
            why = f"the download failed ({type(exc).__name__}: {exc})"
    raise DatasetMissing(
        f"SqueezeNet 1.1's ImageNet weights are not available here: expected {path}; {why}. "
        f"Put {path.name} from {weights.url} there, or set TORCH_HOME to a folder whose "
        "hub/checkpoints/ holds it."
    )
