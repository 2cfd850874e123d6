"""Q6.1.4: a convolutional network on the SUN scene subset of the course's bag-of-words
homework, to compare with that homework's result.

The data is that homework's ``data/`` folder: the images in one folder per scene and four
list files, ``train_files.txt`` / ``test_files.txt`` (one image path per line, relative to the
folder) and ``train_labels.txt`` / ``test_labels.txt`` (one integer label per line, in the
same order). It is looked for in ``$NRK_SUN_DIR``, else ``data/external/sun/``.
``python -m kata.run_q6_1_4 [--epochs N] [--out DIR] [--bow-accuracy A]`` trains the
network and writes ``q6_1_4.json`` and ``q6_1_4_curves.png`` into DIR (the validation curve
is the test split's); ``--bow-accuracy`` is your bag-of-words test accuracy, to compare.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from coursedata.progress import bar as progress_bar
from coursedata.scripts import run_script, training_parser

from .q6_train import *

SUN_ENV = "NRK_SUN_DIR"
SPLITS = ("train", "test")
IMAGE_SIZE = 64
EPOCHS = 30
BATCH_SIZE = 32
LEARNING_RATE = 1e-3


# ----------------------------------------------------------------------------- Q6.1.4
def read_sun_split(root, split):
    """Q6.1.4: the image paths and labels of one split, from its two list files.

    ``<root>/<split>_files.txt`` holds one image path per line, relative to ``root``;
    ``<root>/<split>_labels.txt`` one integer label per line, in the same order. Blank lines
    (e.g. a final newline) are not entries.

    Parameters
    ----------
    root : path-like
        The dataset folder.
    split : str
        ``'train'`` or ``'test'``.

    Returns
    -------
    paths : list of pathlib.Path
        ``root / line`` for each line of the files list.
    labels : ndarray of int64, shape (N,)

    Raises
    ------
    ValueError
        The two files have different numbers of entries.
    """
    # Hint: Path(root) / f'{split}_files.txt': read_text().splitlines(), drop blank lines, join
    # each to root; np.loadtxt(..., dtype=np.int64, ndmin=1) reads the labels.
    raise NotImplementedError("Q6.1.4 read_sun_split")


# ----------------------------------------------------------------------------- given
class SunScenes(Dataset):
    """One split of the SUN subset, its images resized to ``image_size`` squares and kept in
    memory (given). Items ``(image, label)``: a float tensor (3, S, S) in [-1, 1] and an int;
    ``train=True`` flips images horizontally at random."""

    def __init__(self, root, split, image_size=IMAGE_SIZE, train=False):
        paths, labels = read_sun_split(root, split)
        reading = progress_bar(paths, f"reading {split}", leave=False)
        self.images = torch.stack([_load_image(p, image_size) for p in reading])
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.train = train

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = self.images[i].float() / 127.5 - 1.0
        if self.train and torch.rand(()) < 0.5:
            image = image.flip(-1)
        return image, self.labels[i]


def _load_image(path, size):
    with Image.open(path) as image:
        image = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


def sun_datasets(root=None, image_size=IMAGE_SIZE):
    """The training and test splits of the SUN subset (given).

    Parameters
    ----------
    root : path-like, optional
        Default ``dataset_root('NRK_SUN_DIR', 'sun')``.
    image_size : int

    Returns
    -------
    train, test : SunScenes

    Raises
    ------
    DatasetMissing
        A list file is missing, saying where the data is expected.
    """
    root = Path(root) if root is not None else dataset_root(SUN_ENV, "sun")
    names = [f"{split}_{what}.txt" for split in SPLITS for what in ("files", "labels")]
    missing = [name for name in names if not (root / name).is_file()]
    if missing:
        raise DatasetMissing(
            f"the SUN scene subset is not available here: {root} lacks {', '.join(missing)}. "
            "Copy the bag-of-words homework's data/ folder there (the scene folders and "
            f"{', '.join(names)}; `python -m coursedata.download sun --sun-url ARCHIVE` "
            f"installs the course's archive), or set {SUN_ENV} to that folder."
        )
    return (
        SunScenes(root, "train", image_size, train=True),
        SunScenes(root, "test", image_size, train=False),
    )


# ----------------------------------------------------------------------------- Q6.1.4
def make_scene_cnn(n_classes=8):
    """Q6.1.4: a convolutional network for the scenes, of your design.

    Returns
    -------
    torch.nn.Module
        Maps x of shape (N, 3, 64, 64) to logits of shape (N, n_classes) (no softmax).
    """
    # Hint: Conv2d blocks as in Q6.1.3; nn.AdaptiveAvgPool2d(1) + nn.Flatten() before the last
    # nn.Linear makes the network work for any image size.
    raise NotImplementedError("Q6.1.4 make_scene_cnn")


# ----------------------------------------------------------------------------- given
def train_scenes(
    epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=0, root=None,
    image_size=IMAGE_SIZE, device=None,
):  # fmt: skip
    """Train ``make_scene_cnn`` on the training split with Adam, measuring it on the test
    split after each epoch (given).

    Returns ``(model, history)`` as ``q6_train.fit_on_splits`` does (``valid_*`` measured on
    the test split); raises ``DatasetMissing`` as ``sun_datasets`` does.
    """
    train, test = sun_datasets(root, image_size)
    return fit_on_splits(
        lambda: make_scene_cnn(int(train.labels.max()) + 1),
        train,
        test,
        epochs,
        batch_size,
        lr,
        seed,
        device,
        "Q6.1.4",
    )


def main(argv=None):
    """Train the network on the scenes, write its curves, compare with bag-of-words."""
    parser = training_parser(__doc__, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE)
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE)
    parser.add_argument("--data", default=None, help=f"SUN folder (default ${SUN_ENV})")
    parser.add_argument(
        "--bow-accuracy", type=float, default=None, help="your bag-of-words test accuracy"
    )
    needs = (read_sun_split, make_scene_cnn, train_epoch, evaluate)
    return run_script(parser, argv, __name__, _run, *needs, errors=(DatasetMissing,))


def _run(args):
    _, history = train_scenes(
        args.epochs, args.batch_size, args.lr, args.seed, args.data, args.image_size
    )
    history["bow_accuracy"] = args.bow_accuracy
    report(history, args.out, "q6_1_4", "Q6.1.4 CNN, SUN scenes (valid = test)")
    if args.bow_accuracy is not None:
        print(
            f"test accuracy: CNN {history['valid_acc'][-1]:.3f} vs "
            f"bag-of-words {args.bow_accuracy:.3f}"
        )


if __name__ == "__main__":
    sys.exit(main())
