"""Build the bundled NIST36-format stand-in ``data/nist36_standin.npz``.

The stand-in is real NIST Special Database 19 handwriting (via the official EMNIST "byclass"
test file, Cohen et al. 2017) reshaped into the official NIST36 layout, so that the kata runs
without the course's ``data.zip``. See ``data/README.md`` for the provenance.

Processing of each 28x28 upright EMNIST glyph (ink 255 on background 0):

1. pad 2 background pixels on every side -> 32x32;
2. invert, so the ink is dark on white: the float pixel is ``1 - g / 255`` in [0, 1], stored as
   ``uint8(round(255 * pixel)) == 255 - g`` (the loader divides by 255);
3. store the row transposed like NIST36: ``row = upright.T.ravel()``, so that
   ``row.reshape(32, 32).T`` is upright.

Split, per class and deterministically: sort the class's samples by ``byclass_index``, permute
them with ``np.random.default_rng([SEED, class_index]).permutation(n)``, then take the first 50
for test, the next 100 for valid and the rest (300 where the class has 450) for train. Classes
with fewer samples (K 382, Q 413, X 432, G 447) keep the full valid and test budgets and give
the shortfall from train. Within a split the rows are ordered by class (``CLASSES`` order), then
by ``byclass_index``.

The npz is written with fixed zip timestamps, so a rebuild is byte-identical (given the same
zlib). Run::

    python -m coursedata.build_standin [--source PATH] [--out data/nist36_standin.npz]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from coursedata.nist36 import CLASSES, DATA_DIR, SPLITS, STANDIN_NAME

__all__ = [
    "SEED",
    "SPLIT_BUDGET",
    "DEFAULT_SOURCE",
    "glyphs_to_nist36_rows",
    "split_indices",
    "build_arrays",
    "write_npz",
    "build_standin",
    "main",
]

#: Seed of the per-class permutations (the course number).
SEED = 16720
#: Samples per class in valid and test; train takes the rest of the class (300 of 450).
SPLIT_BUDGET = {"test": 50, "valid": 100}
#: Where the EMNIST-derived source lives on the course machines (override with
#: ``--source`` or the ``NRK_EMNIST36`` environment variable).
DEFAULT_SOURCE = DATA_DIR.parent.parent / "shared" / "data" / "emnist36" / "emnist36_dev.npz"

_PAD = 2
_GLYPH = 28
_SIDE = _GLYPH + 2 * _PAD  # 32
# Fixed zip entry timestamp (the earliest a zip can store) for byte-reproducible output.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# zlib's default level, as numpy.savez_compressed uses (level 9 is 9x slower for 1% smaller).
_ZLIB_LEVEL = 6


def default_source() -> Path:
    """Return the source path: ``$NRK_EMNIST36`` if set, else :data:`DEFAULT_SOURCE`.

    Returns
    -------
    pathlib.Path
        Path of ``emnist36_dev.npz``.
    """
    env = os.environ.get("NRK_EMNIST36")
    return Path(env) if env else DEFAULT_SOURCE


def load_source(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read and check the EMNIST-derived source file.

    Parameters
    ----------
    path : pathlib.Path
        ``emnist36_dev.npz`` with ``images`` (N, 28, 28) uint8 upright, ink 255 on 0,
        ``labels`` (N,) uint8 in 0..35 (``CLASSES`` order), ``byclass_index`` (N,) int and
        ``classes`` (36,).

    Returns
    -------
    images : numpy.ndarray, shape (N, 28, 28), uint8
    labels : numpy.ndarray, shape (N,), uint8
    byclass_index : numpy.ndarray, shape (N,), int64
    """
    if not path.is_file():
        raise FileNotFoundError(
            f"EMNIST source {path} not found; pass --source PATH or set NRK_EMNIST36"
        )
    with np.load(path, allow_pickle=False) as src:
        images, labels = src["images"], src["labels"]
        index, classes = src["byclass_index"].astype(np.int64), src["classes"]
    n = len(labels)
    if images.shape != (n, _GLYPH, _GLYPH) or images.dtype != np.uint8:
        raise ValueError(
            f"{path}: expected images uint8 (N, 28, 28), got {images.dtype} {images.shape}"
        )
    if index.shape != (n,) or len(np.unique(index)) != n:
        raise ValueError(f"{path}: expected {n} distinct byclass_index values")
    if "".join(classes.tolist()) != CLASSES or labels.max() >= len(CLASSES):
        raise ValueError(f"{path}: expected labels 0..35 for classes {CLASSES}")
    return images, labels.astype(np.uint8), index


def glyphs_to_nist36_rows(images: np.ndarray) -> np.ndarray:
    """Pad, invert and transpose upright EMNIST glyphs into NIST36 rows.

    Parameters
    ----------
    images : numpy.ndarray, shape (N, 28, 28), uint8
        Upright glyphs, ink 255 on background 0.

    Returns
    -------
    numpy.ndarray, shape (N, 1024), uint8
        ``255 - g`` (dark ink on white), each row ``upright.T.ravel()`` of the padded 32x32
        image, so ``row.reshape(32, 32).T / 255`` is the upright NIST36 image.
    """
    padded = np.pad(images, ((0, 0), (_PAD, _PAD), (_PAD, _PAD)), constant_values=0)
    inverted = (255 - padded).astype(np.uint8)
    return np.ascontiguousarray(inverted.transpose(0, 2, 1)).reshape(len(images), _SIDE**2)


def split_indices(
    labels: np.ndarray, byclass_index: np.ndarray, seed: int = SEED
) -> dict[str, np.ndarray]:
    """Split sample positions per class into train / valid / test.

    Parameters
    ----------
    labels : numpy.ndarray, shape (N,)
        Class index of each sample, 0..35.
    byclass_index : numpy.ndarray, shape (N,)
        Row of each sample in the official EMNIST byclass test file (distinct).
    seed : int
        Seed of the per-class permutations.

    Returns
    -------
    dict of str to numpy.ndarray
        For ``"train"``, ``"valid"`` and ``"test"``, positions into ``labels``, ordered by
        class, then by ``byclass_index``.
    """
    chunks: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    need = sum(SPLIT_BUDGET.values())
    for c in range(len(CLASSES)):
        members = np.flatnonzero(labels == c)
        members = members[np.argsort(byclass_index[members], kind="stable")]
        if len(members) <= need:
            raise ValueError(f"class {CLASSES[c]!r} has {len(members)} samples, need > {need}")
        shuffled = members[np.random.default_rng([seed, c]).permutation(len(members))]
        n_test, n_valid = SPLIT_BUDGET["test"], SPLIT_BUDGET["valid"]
        parts = {
            "test": shuffled[:n_test],
            "valid": shuffled[n_test : n_test + n_valid],
            "train": shuffled[n_test + n_valid :],
        }
        for split, part in parts.items():
            chunks[split].append(part[np.argsort(byclass_index[part], kind="stable")])
    return {split: np.concatenate(chunks[split]) for split in SPLITS}


def build_arrays(source: Path, seed: int = SEED) -> dict[str, np.ndarray]:
    """Compute every array of the stand-in npz.

    Parameters
    ----------
    source : pathlib.Path
        The EMNIST-derived ``emnist36_dev.npz``.
    seed : int
        Seed of the per-class permutations.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{split}_data`` (N, 1024) uint8, ``{split}_labels`` (N,) uint8 class indices,
        ``{split}_source_index`` (N,) int32 rows of the EMNIST byclass test file, for each
        split, and ``classes`` (36,) the characters.
    """
    images, labels, index = load_source(source)
    rows = glyphs_to_nist36_rows(images)
    arrays: dict[str, np.ndarray] = {}
    for split, pos in split_indices(labels, index, seed).items():
        arrays[f"{split}_data"] = rows[pos]
        arrays[f"{split}_labels"] = labels[pos].astype(np.uint8)
        arrays[f"{split}_source_index"] = index[pos].astype(np.int32)
    arrays["classes"] = np.array(list(CLASSES))
    return arrays


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as a compressed npz with fixed timestamps (reproducible bytes).

    Same format as :func:`numpy.savez_compressed` (readable with :func:`numpy.load`); written
    to a temporary file first and moved into place.

    Parameters
    ----------
    path : pathlib.Path
        Output file.
    arrays : mapping of str to numpy.ndarray
        Arrays to store, in the order given (no object arrays).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=False)
            zf.writestr(info, buf.getvalue(), compresslevel=_ZLIB_LEVEL)
    os.replace(tmp, path)


def build_standin(source: Path, out: Path, seed: int = SEED) -> dict[str, np.ndarray]:
    """Build the stand-in from ``source`` and write it to ``out``.

    Parameters
    ----------
    source : pathlib.Path
        The EMNIST-derived ``emnist36_dev.npz``.
    out : pathlib.Path
        Output npz path.
    seed : int
        Seed of the per-class permutations.

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays written (see :func:`build_arrays`).
    """
    arrays = build_arrays(source, seed)
    write_npz(out, arrays)
    return arrays


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m coursedata.build_standin", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help=f"emnist36_dev.npz (default: $NRK_EMNIST36 or {DEFAULT_SOURCE})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DATA_DIR / STANDIN_NAME,
        help="output npz (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="default: %(default)s")
    args = parser.parse_args(argv)
    source = args.source or default_source()
    try:
        arrays = build_standin(source, args.out, args.seed)
    except (FileNotFoundError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    counts = ", ".join(f"{s} {len(arrays[f'{s}_labels'])}" for s in SPLITS)
    print(f"source {source} sha256 {_sha256(source)}")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {_sha256(args.out)})")
    print(f"rows: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
