"""Tiny stand-ins for Q6's external datasets, in each one's real layout, shared by the
self-check (``tests/test_q6_*.py``) and the grader's tests (``test_grader_checks_q6.py``).

Each ``write_*`` makes its dataset under ``root`` with random pixels and returns ``root``.
"""

from __future__ import annotations

import pickle

import numpy as np
from PIL import Image

SUN_SCENES = ("aquarium", "desert", "kitchen")
FLOWERS = ("bluebell", "daisy", "tulip")


def write_cifar(root, n_train=8, n_test=10, seed=0):
    """A tiny CIFAR-10 folder in the official pickled format (md5 sums will not match)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = n_test if name == "test_batch" else n_train
        batch = {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, n).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {"label_names": [f"class{i}" for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return root


def write_sun(root, per_split=None, classes=SUN_SCENES, seed=0):
    """A tiny SUN-like folder: JPEGs of various sizes in one folder per scene, and the four
    list files (paths relative to ``root``, integer labels; a final newline).
    ``per_split``: images per scene in each split (default 2 to train, 1 to test)."""
    per_split = per_split or {"train": 2, "test": 1}
    rng = np.random.default_rng(seed)
    for split, n in per_split.items():
        files, labels = [], []
        for label, scene in enumerate(classes):
            (root / scene).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = rng.integers(40, 90, size=2)
                name = f"{scene}/sun_{split}_{i}.jpg"
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / name)
                files.append(name)
                labels.append(label)
        (root / f"{split}_files.txt").write_text("\n".join(files) + "\n")
        (root / f"{split}_labels.txt").write_text("\n".join(map(str, labels)) + "\n")
    return root


def write_flowers(root, classes=FLOWERS, per_class=2, seed=0):
    """A tiny Flowers-17-like tree: train/, val/, test/, one folder of JPEGs per class."""
    rng = np.random.default_rng(seed)
    for split in ("train", "val", "test"):
        for flower in classes:
            folder = root / split / flower
            folder.mkdir(parents=True)
            for i in range(per_class):
                h, w = rng.integers(60, 120, size=2)
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"image_{i:04d}.jpg")
    return root


def write_squeezenet_weights(torch_home):
    """Random SqueezeNet 1.1 weights where torch.hub's cache holds the ImageNet ones."""
    import torch
    from torchvision import models

    from grader.checks.q6_data import SQUEEZENET_FILE

    path = torch_home / "hub" / "checkpoints" / SQUEEZENET_FILE
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(models.squeezenet1_1(weights=None).state_dict(), path)
    return path
