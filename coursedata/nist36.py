"""The one loader of the NIST36 data, the sample photos and their ground truth.

Everything that needs the data (kata, solutions, tests, grader) goes through this module.

Which NIST36 data is used, in the data directory (``data/`` of the repository, or
``$NRK_DATA_DIR``, or an explicit ``data_dir`` argument):

* the official ``nist36_train.mat``, ``nist36_valid.mat`` and ``nist36_test.mat`` when all
  three are there (``python -m coursedata.download`` fetches them);
* otherwise the bundled stand-in ``nist36_standin.npz`` (real NIST SD19 handwriting via EMNIST,
  in the same format; see ``data/README.md``);
* only some of the official files is an error naming the missing ones.

Either way :func:`load_nist36` returns what the handout's code expects: ``x`` float64
(N, 1024) in [0, 1], dark ink on white, each row a 32x32 image stored transposed
(``row.reshape(32, 32).T`` is upright), and ``y`` float64 one-hot (N, 36) in the class order
``A..Z`` then ``0..9``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

__all__ = [
    "CLASSES",
    "DATA_DIR",
    "SPLITS",
    "DataError",
    "data_dir",
    "official_paths",
    "load_nist36",
    "nist36_source",
    "load_sample_images",
    "load_ground_truth",
    "clear_cache",
]

#: The 36 classes in label order: one-hot column ``i`` is ``CLASSES[i]``.
CLASSES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: The splits, as named in the official file names and keys.
SPLITS = ("train", "valid", "test")
#: The repository's ``data/`` directory (the default data directory).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: Environment variable that overrides :data:`DATA_DIR`.
DATA_DIR_ENV = "NRK_DATA_DIR"
#: File name of the bundled stand-in inside the data directory.
STANDIN_NAME = "nist36_standin.npz"
#: Image side and row length of a NIST36 sample.
SIDE = 32
N_PIXELS = SIDE * SIDE
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
GROUND_TRUTH_NAME = "ground_truth.json"

logger = logging.getLogger(__name__)

# Caches keyed by (path, mtime_ns, size), so a replaced file is read again.
_STANDIN_CACHE: dict[tuple[str, int, int], dict[str, np.ndarray]] = {}
_MAT_CACHE: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}
_LOGGED: set[str] = set()


class DataError(ValueError):
    """The data is missing, unreadable or not in the expected format (the message says why)."""


def data_dir() -> Path:
    """Return the data directory: ``$NRK_DATA_DIR`` if set, else :data:`DATA_DIR`.

    Returns
    -------
    pathlib.Path
        The directory holding the NIST36 files and ``images/``.
    """
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else DATA_DIR


def _resolve_dir(directory: str | os.PathLike[str] | None) -> Path:
    return Path(directory).expanduser() if directory is not None else data_dir()


def official_paths(directory: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Return where the official files are expected, per split.

    Parameters
    ----------
    directory : path-like, optional
        Data directory; default :func:`data_dir`.

    Returns
    -------
    dict of str to pathlib.Path
        ``{"train": <dir>/nist36_train.mat, "valid": ..., "test": ...}``.
    """
    base = _resolve_dir(directory)
    return {split: base / f"nist36_{split}.mat" for split in SPLITS}


def _official_available(base: Path) -> bool:
    """True if all three official files exist; DataError if only some do."""
    paths = official_paths(base)
    missing = [p.name for p in paths.values() if not p.is_file()]
    if not missing:
        return True
    if len(missing) == len(paths):
        return False
    present = [p.name for p in paths.values() if p.is_file()]
    raise DataError(
        f"incomplete official NIST36 data in {base}: found {', '.join(present)} but "
        f"{', '.join(missing)} missing. Expected all three nist36_{{train,valid,test}}.mat "
        "(run `python -m coursedata.download`) or none of them (to use the bundled stand-in)."
    )


def nist36_source(data_dir: str | os.PathLike[str] | None = None) -> str:
    """Say, in one line, which NIST36 data :func:`load_nist36` uses.

    Parameters
    ----------
    data_dir : path-like, optional
        Data directory; default :func:`data_dir` (``$NRK_DATA_DIR`` or the repo's ``data/``).

    Returns
    -------
    str
        A human sentence naming the official files' directory, or the bundled stand-in and
        how to get the official files.

    Raises
    ------
    DataError
        If only some of the official files are present.
    """
    base = _resolve_dir(data_dir)
    if _official_available(base):
        return f"NIST36: using the official files nist36_{{train,valid,test}}.mat in {base}."
    return (
        f"NIST36: using the bundled stand-in {base / STANDIN_NAME} (real NIST SD19 handwriting "
        "via EMNIST, same format); for the official files run `python -m coursedata.download` "
        f"or put nist36_{{train,valid,test}}.mat in {base}."
    )


def _cache_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def _check_shapes(path: Path, split: str, x: np.ndarray, y: np.ndarray) -> None:
    """Raise DataError unless x is (N, 1024) and y is (N, 36) with the same N > 0."""
    expected = f"expected {split}_data N x {N_PIXELS} and {split}_labels N x {len(CLASSES)}"
    if x.ndim != 2 or x.shape[1] != N_PIXELS or x.shape[0] == 0:
        raise DataError(f"{path}: {split}_data has shape {x.shape}; {expected} (N > 0)")
    if y.ndim != 2 or y.shape[1] != len(CLASSES):
        raise DataError(f"{path}: {split}_labels has shape {y.shape}; {expected} one-hot")
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"{path}: {x.shape[0]} images but {y.shape[0]} labels; {expected} with the same N"
        )


def _check_values(path: Path, split: str, x: np.ndarray, y: np.ndarray) -> None:
    """Raise DataError unless x is in [0, 1] and y is one-hot."""
    if not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0:
        raise DataError(
            f"{path}: {split}_data has values in [{np.nanmin(x):g}, {np.nanmax(x):g}]"
            f"{' and NaN/inf' if not np.isfinite(x).all() else ''}; expected pixels in [0, 1]"
        )
    bad = ~(np.isin(y, (0.0, 1.0)).all(axis=1) & (y.sum(axis=1) == 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}: {split}_labels is not one-hot ({int(bad.sum())} bad rows, first row "
            f"{row}); expected each row to be 35 zeros and a single 1"
        )


def _read_mat(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate one official ``nist36_{split}.mat`` (cached)."""
    key = _cache_key(path)
    if key in _MAT_CACHE:
        return _MAT_CACHE[key]
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises many types for a bad file
        raise DataError(
            f"cannot read {path} as a MATLAB .mat file ({type(exc).__name__}: {exc}); expected "
            f"the official nist36_{split}.mat, re-download it with `python -m coursedata.download`"
        ) from exc
    keys = (f"{split}_data", f"{split}_labels")
    missing = [k for k in keys if k not in mat]
    if missing:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(f"{path}: missing key(s) {missing}; expected {list(keys)}, found {found}")
    try:
        x = np.asarray(mat[keys[0]], dtype=np.float64)
        y = np.asarray(mat[keys[1]], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: {keys} are not numeric arrays ({exc})") from exc
    _check_shapes(path, split, x, y)
    _check_values(path, split, x, y)
    _MAT_CACHE.clear()  # keep at most the last file: the official train set is ~88 MB
    _MAT_CACHE[key] = (x, y)
    return x, y


def _standin_keys() -> list[str]:
    return [f"{s}_{part}" for s in SPLITS for part in ("data", "labels")] + ["classes"]


def _read_standin(path: Path) -> dict[str, np.ndarray]:
    """Read and validate the whole stand-in npz once (cached; ~16 MB of uint8)."""
    if not path.is_file():
        raise DataError(
            f"bundled NIST36 stand-in {path} not found and no official files there; expected "
            f"{STANDIN_NAME} (rebuild with `python -m coursedata.build_standin`) or "
            "nist36_{train,valid,test}.mat (`python -m coursedata.download`)"
        )
    key = _cache_key(path)
    if key in _STANDIN_CACHE:
        return _STANDIN_CACHE[key]
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:  # zipfile/numpy raise many types for a bad file
        raise DataError(
            f"cannot read {path} as a numpy .npz file ({type(exc).__name__}: {exc}); expected "
            "the bundled stand-in, restore it from git or rebuild it with "
            "`python -m coursedata.build_standin`"
        ) from exc
    missing = [k for k in _standin_keys() if k not in arrays]
    if missing:
        raise DataError(f"{path}: missing arrays {missing}; expected {_standin_keys()}")
    if "".join(arrays["classes"].tolist()) != CLASSES:
        raise DataError(f"{path}: classes {arrays['classes'].tolist()}; expected {CLASSES!r}")
    for split in SPLITS:
        data, labels = arrays[f"{split}_data"], arrays[f"{split}_labels"]
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != N_PIXELS:
            raise DataError(
                f"{path}: {split}_data is {data.dtype} {data.shape}; expected uint8 N x {N_PIXELS}"
            )
        if labels.shape != (data.shape[0],) or labels.max(initial=0) >= len(CLASSES):
            raise DataError(
                f"{path}: {split}_labels has shape {labels.shape}; expected "
                f"{data.shape[0]} class indices in 0..{len(CLASSES) - 1}"
            )
    _STANDIN_CACHE.clear()
    _STANDIN_CACHE[key] = arrays
    return arrays


def clear_cache() -> None:
    """Forget the cached files (they are re-read anyway when they change on disk)."""
    _STANDIN_CACHE.clear()
    _MAT_CACHE.clear()
    _LOGGED.clear()


def load_nist36(
    split: str, data_dir: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load one NIST36 split.

    Uses the official ``nist36_{split}.mat`` files when all three are in the data directory,
    else the bundled stand-in (see :func:`nist36_source`, logged once at INFO level).

    Parameters
    ----------
    split : {"train", "valid", "test"}
        Which split.
    data_dir : path-like, optional
        Data directory; default :func:`data_dir` (``$NRK_DATA_DIR`` or the repo's ``data/``).

    Returns
    -------
    x : numpy.ndarray, shape (N, 1024), float64
        Images in [0, 1], dark ink (near 0) on white (1); each row is a 32x32 image stored
        transposed like the official files: ``x[i].reshape(32, 32).T`` is upright.
    y : numpy.ndarray, shape (N, 36), float64
        One-hot labels; column ``j`` is class ``CLASSES[j]``.

    Raises
    ------
    DataError
        Unknown split, missing/partial/corrupt files, or data not in the expected format.

    Examples
    --------
    >>> x, y = load_nist36("valid")
    >>> x.shape[1], y.shape[1]
    (1024, 36)
    """
    if split not in SPLITS:
        raise DataError(f"unknown NIST36 split {split!r}; expected one of {', '.join(SPLITS)}")
    base = _resolve_dir(data_dir)
    source = nist36_source(base)
    if source not in _LOGGED:
        _LOGGED.add(source)
        logger.info(source)
    if _official_available(base):
        x, y = _read_mat(official_paths(base)[split], split)
        return x.copy(), y.copy()
    arrays = _read_standin(base / STANDIN_NAME)
    x = arrays[f"{split}_data"].astype(np.float64) / 255.0
    y = np.eye(len(CLASSES), dtype=np.float64)[arrays[f"{split}_labels"]]
    return x, y


def load_sample_images(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """List the sample photos of handwritten text (``<data_dir>/images/*.jpg``).

    Parameters
    ----------
    data_dir : path-like, optional
        Data directory; default :func:`data_dir`.

    Returns
    -------
    list of pathlib.Path
        The photos (``.jpg``, ``.jpeg``, ``.png``), sorted by name.

    Raises
    ------
    DataError
        If the directory is missing or holds no photo.
    """
    folder = _resolve_dir(data_dir) / "images"
    photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise DataError(
            f"no sample photos ({', '.join(IMAGE_SUFFIXES)}) in {folder}; expected "
            "01_list.jpg ... 04_deep.jpg (`python -m coursedata.download`)"
        )
    return photos


def load_ground_truth(path: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Read the text written in each sample photo.

    Parameters
    ----------
    path : path-like, optional
        The JSON file; default ``<data_dir()>/images/ground_truth.json``. Its schema:
        ``{"images": {"<photo file name>": ["<line of text>", ...], ...}, ...}``.

    Returns
    -------
    dict of str to list of str
        Photo file name -> its lines of handwriting, top to bottom (words separated by single
        spaces; only the characters of :data:`CLASSES` count as characters).

    Raises
    ------
    DataError
        If the file is missing, not JSON, or does not follow the schema.
    """
    path = Path(path) if path is not None else data_dir() / "images" / GROUND_TRUTH_NAME
    schema = 'expected {"images": {"<photo>.jpg": ["LINE OF TEXT", ...], ...}}'
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read ground truth {path} ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); {schema}") from exc
    images = doc.get("images") if isinstance(doc, dict) else None
    if not isinstance(images, dict) or not images:
        raise DataError(f"{path}: no non-empty 'images' object at the top level; {schema}")
    for name, lines in images.items():
        if not (isinstance(lines, list) and lines and all(isinstance(s, str) for s in lines)):
            raise DataError(
                f"{path}: images[{name!r}] is {lines!r}; {schema} (a non-empty "
                "list of strings per photo)"
            )
    return {name: list(lines) for name, lines in images.items()}
