"""Q6's datasets for the grader: where they live, why a question is not gradable without
them, and the labels the judges read here (never from the submission).

NIST36 comes through ``coursedata``. CIFAR-10, the SUN subset and Flowers-17 (with
SqueezeNet's ImageNet weights) are not bundled: their questions are *not gradable* here until
the data is put where the solutions look for it (``data/external/<name>/`` or the ``NRK_*_DIR``
variables, as ``coursedata.external`` defines them; ``python -m coursedata.download q6`` puts
them there). The ``*_available`` functions are the checks' ``available``: None when present,
else the message that says where to put it.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

import coursedata
from coursedata import external

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
SQUEEZENET_FILE = external.SQUEEZENET.filename
SQUEEZENET_URL = external.SQUEEZENET.url

# One definition, shared with the download (coursedata.external).
dataset_root = external.dataset_root
torch_home = external.torch_home


def cifar10_root() -> Path:
    return external.CIFAR10.root()


def sun_root() -> Path:
    return external.SUN.root()


def flowers_root() -> Path:
    return external.FLOWERS17.root()


CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")
SUN_FILES = tuple(
    f"{split}_{what}.txt" for split in ("train", "test") for what in ("files", "labels")
)
FLOWERS_SPLITS = ("train", "val", "test")


# ================================================================ not gradable without
def cifar10_available() -> str | None:
    """Why Q6.1.3 cannot be graded here, or None when CIFAR-10 is present."""
    folder = cifar10_root() / "cifar-10-batches-py"
    missing = [name for name in CIFAR_FILES if not (folder / name).is_file()]
    if not missing:
        return None
    return (
        f"not gradable offline: CIFAR-10 not found in {folder} (missing {', '.join(missing)}); "
        "`python -m coursedata.download cifar10` puts it there where the network allows; or put "
        "the extracted cifar-10-python.tar.gz there (its cifar-10-batches-py/ folder) or set "
        "NRK_CIFAR10_DIR to the folder holding cifar-10-batches-py/"
    )


def sun_available() -> str | None:
    """Why Q6.1.4 cannot be graded here, or None when the SUN subset is present."""
    root = sun_root()
    missing = [name for name in SUN_FILES if not (root / name).is_file()]
    if not missing:
        return None
    return (
        f"not gradable offline: the SUN scene subset not found in {root} (missing "
        f"{', '.join(missing)}); put the bag-of-words homework's data/ folder there (the scene "
        "folders and the four list files; `python -m coursedata.download sun --sun-url ARCHIVE` "
        "installs the course's copy) or set NRK_SUN_DIR to that folder"
    )


def flowers_available() -> str | None:
    """Why Q6.2 cannot be graded here, or None when Flowers-17 and the weights are present."""
    root = flowers_root()
    missing = [f"{split}/" for split in FLOWERS_SPLITS if not (root / split).is_dir()]
    if missing:
        return (
            f"not gradable offline: Flowers-17 not found in {root} (missing "
            f"{', '.join(missing)}); `python -m coursedata.download flowers17` puts it there "
            "where the network allows; or put it there as train/, val/ and test/ folders, each "
            "with one folder of images per class, or set NRK_FLOWERS17_DIR to that folder"
        )
    weights = torch_home() / "hub" / "checkpoints" / SQUEEZENET_FILE
    if not weights.is_file():
        return (
            f"not gradable offline: SqueezeNet 1.1's ImageNet weights not found at {weights}; "
            "`python -m coursedata.download squeezenet` fetches them where the network allows; "
            f"or put {SQUEEZENET_FILE} from {SQUEEZENET_URL} there, or set TORCH_HOME to a "
            "folder whose hub/checkpoints/ holds it"
        )
    return None


# ================================================================ labels, read here
def nist36_labels(split: str = "valid") -> np.ndarray:
    """NIST36's labels of ``split`` as class indices, shape (N,)."""
    return np.argmax(coursedata.load_nist36(split)[1], axis=1)


def nist36_valid_labels(inputs, out) -> np.ndarray:
    """A judge's labels (``labels_of``): NIST36's validation split."""
    return nist36_labels("valid")


class _ArraysOnly(pickle.Unpickler):
    """Unpickles CIFAR-10's batches: plain containers and numpy arrays, nothing else."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a CIFAR-10 batch")


def cifar10_test_labels(root: str | Path) -> np.ndarray:
    """The labels of CIFAR-10's test split, from ``cifar-10-batches-py/test_batch``."""
    with open(Path(root) / "cifar-10-batches-py" / "test_batch", "rb") as f:
        batch = _ArraysOnly(f, encoding="latin1").load()
    return np.asarray(batch["labels"], dtype=np.int64)


def sun_labels(root: str | Path, split: str = "test") -> np.ndarray:
    """The labels of a SUN split, from ``<split>_labels.txt`` (one integer per line)."""
    return np.loadtxt(Path(root) / f"{split}_labels.txt", dtype=np.int64, ndmin=1)


def image_folder_files(folder: str | Path) -> list[str]:
    """The images of an ``ImageFolder`` split, as ``class/.../file`` paths."""
    folder = Path(folder)
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.glob("*/**/*")
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def image_folder_classes(folder: str | Path) -> list[str]:
    """The class folders of an ``ImageFolder`` split, sorted as it sorts them."""
    return sorted(p.name for p in Path(folder).iterdir() if p.is_dir())
