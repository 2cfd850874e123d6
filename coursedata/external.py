"""Q6's external datasets: where they live, and their verified download.

Where: each dataset has a folder, ``$NRK_<NAME>_DIR`` when that variable is set, else
``<data dir>/external/<name>/`` (the data dir being ``data/`` or ``$NRK_DATA_DIR``): the place
``q6_train.dataset_root`` and the grader's Q6 checks look (:func:`dataset_root`, one definition
for the download and the grader). SqueezeNet 1.1's ImageNet weights live in torch's hub cache
(:func:`torch_home`).

Download: ``python -m coursedata.download q6`` (or ``cifar10``, ``sun``, ``flowers17``,
``squeezenet``) calls the installers here. Same contract as the NIST36 download: each archive is
downloaded with pooch (verified, fast failure offline, kept in ``<data dir>/downloads/`` so a
rerun does not fetch it again), extracted into a staging folder beside its destination, checked,
and only then moved into place (all or nothing); an installed, verified dataset is not
installed again. Where the archives come from and how each is verified:

* CIFAR-10: ``torchvision.datasets.CIFAR10``'s own URL and md5 (the archive's, then each
  batch's, checked by torchvision's own class, which also extracts it).
* Flowers-17: the publisher's archives (Oxford VGG, ``17flowers.tgz`` and ``datasplits.mat``),
  checked against their md5 as public torchvision-style loaders record them: VGG publishes no
  checksum and no sha256 is published anywhere we found (``sha256`` stays ``None`` until a
  maintainer records it; the command prints each archive's sha256). The images are split as the
  handout's ``flowers_partition.py`` does: ``datasplits.mat``'s second split (``trn2``,
  ``val2``, ``tst2``) into ``train/``, ``val/`` and ``test/``, one folder per class named by its
  label ``0`` .. ``16`` (image ``k`` has label ``(k - 1) // 80``).
* SUN scenes: no public copy of the bag-of-words homework's ``data/`` folder is known, so there
  is no default URL: give the course's archive (``--sun-url URL``, or a local zip, tar or
  folder; ``--sun-sha256`` to verify it) and its layout is checked (the four list files, one
  label per listed image, every listed image present).
* SqueezeNet 1.1: torchvision's URL; verified by the sha256 prefix in its file name (torch
  hub's own convention, ``squeezenet1_1-b8a52dc0.pth``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from coursedata.download import ChecksumError, DownloadError, fetch, sha256_of
from coursedata.nist36 import data_dir

__all__ = [
    "CIFAR10",
    "DATASETS",
    "FLOWERS17",
    "SQUEEZENET",
    "SUN",
    "Location",
    "dataset_root",
    "install",
    "install_cifar10",
    "install_flowers17",
    "install_squeezenet",
    "install_sun",
    "torch_home",
]


# ============================================================================ where
@dataclass(frozen=True)
class Location:
    """Where one external dataset is looked for.

    Attributes
    ----------
    env_var : str
        The environment variable naming its folder when set.
    name : str
        Its folder under ``<data dir>/external/`` otherwise.
    title : str
        Its name in messages.
    """

    env_var: str
    name: str
    title: str

    def root(self, base: str | os.PathLike[str] | None = None) -> Path:
        """The folder: ``<base>/external/<name>`` when ``base`` (a data dir) is given, else
        :func:`dataset_root`."""
        if base is not None:
            return Path(base) / "external" / self.name
        return dataset_root(self.env_var, self.name)


CIFAR10 = Location("NRK_CIFAR10_DIR", "cifar10", "CIFAR-10")
SUN = Location("NRK_SUN_DIR", "sun", "the SUN scene subset")
FLOWERS17 = Location("NRK_FLOWERS17_DIR", "flowers17", "Flowers-17")


def dataset_root(env_var: str, name: str) -> Path:
    """Where an external dataset is looked for (as ``q6_train.dataset_root`` does it).

    Parameters
    ----------
    env_var : str
        The variable naming the folder when set (e.g. ``NRK_CIFAR10_DIR``).
    name : str
        The folder under ``<data dir>/external/`` otherwise.

    Returns
    -------
    pathlib.Path
    """
    value = os.environ.get(env_var)
    if value:
        return Path(value).expanduser()
    return data_dir() / "external" / name


def torch_home() -> Path:
    """``torch.hub``'s home (``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else
    ``~/.cache/torch``), computed without importing torch."""
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    return Path(os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))).expanduser()


@dataclass(frozen=True)
class Weights:
    """A pretrained checkpoint in torch's hub cache (``<torch home>/hub/checkpoints/``)."""

    url: str
    hash_prefix: str  # the first hex digits of its sha256, as its file name carries them

    @property
    def filename(self) -> str:
        return PurePosixPath(self.url).name

    def path(self, home: str | os.PathLike[str] | None = None) -> Path:
        return Path(home or torch_home()) / "hub" / "checkpoints" / self.filename


SQUEEZENET = Weights(
    "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth", hash_prefix="b8a52dc0"
)


# ============================================================================ the archives
@dataclass(frozen=True)
class Archive:
    """One downloadable file: where from, and what verifies it (``md5`` or ``sha256``)."""

    url: str
    md5: str | None = None
    sha256: str | None = None

    @property
    def filename(self) -> str:
        return PurePosixPath(self.url).name

    @property
    def known_hash(self) -> str | None:
        """pooch's ``known_hash``: the sha256 when recorded, else the md5, else None."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        return f"md5:{self.md5}" if self.md5 else None


_VGG = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17"
#: Flowers-17 from its publisher. md5 values as recorded by public torchvision-style loaders
#: (two independent ones agree); no sha256 is published: None until a maintainer records the
#: one the command prints.
FLOWERS17_ARCHIVES = {
    "images": Archive(f"{_VGG}/17flowers.tgz", md5="b59a65d8d1a99cd66944d474e1289eab"),
    "splits": Archive(f"{_VGG}/datasplits.mat", md5="4828cddfd0d803c5abbdebcb1e148a1e"),
}
FLOWERS17_CLASSES = 17
FLOWERS17_PER_CLASS = 80
#: The handout's split (its flowers_partition.py): datasplits.mat's second one.
FLOWERS17_SPLIT = {"train": "trn2", "val": "val2", "test": "tst2"}
FLOWERS17_MANIFEST = ".nrk-flowers17.json"

SUN_SPLITS = ("train", "test")
SUN_LISTS = tuple(f"{s}_{what}.txt" for s in SUN_SPLITS for what in ("files", "labels"))
SUN_URL_ENV, SUN_SHA256_ENV = "NRK_SUN_URL", "NRK_SUN_SHA256"

CIFAR10_FOLDER = "cifar-10-batches-py"


# ============================================================================ helpers
def _say(message: str) -> None:
    print(message, flush=True)


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """A default socket timeout for libraries that open URLs without one (torchvision)."""
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


@contextlib.contextmanager
def _staging(dest: Path) -> Iterator[Path]:
    """A fresh folder beside ``dest`` (same file system: the final move is a rename), removed
    afterwards whatever happens."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _move_into_place(built: Path, dest: Path, force: bool) -> None:
    """Rename ``built`` to ``dest``; an existing ``dest`` is replaced only with ``force``
    (removed once the new one is in place)."""
    old = None
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        if not force:
            raise DownloadError(
                f"{dest} exists but does not hold a complete, verified copy: remove it, or pass "
                "--force to replace it"
            )
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
    elif dest.exists():
        dest.rmdir()
    os.replace(built, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _archive_dir(base: str | os.PathLike[str] | None) -> Path:
    return (Path(base) if base is not None else data_dir()) / "downloads"


def _fetch(archive: Archive, base, timeout: float, install_dir: Path) -> Path:
    return fetch(
        archive.filename,
        _archive_dir(base),
        url=archive.url,
        sha256=None,
        known_hash=archive.known_hash,
        timeout=timeout,
        install_dir=install_dir,
    )


def _safe_member(name: str) -> bool:
    """A relative path with no ``..``: safe to extract under a folder."""
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and not name.startswith("\\")


# ============================================================================ CIFAR-10
def _cifar10_class():
    try:
        from torchvision.datasets import CIFAR10 as dataset_class
    except ImportError as exc:
        raise DownloadError(
            f"CIFAR-10 comes through torchvision ({exc}): pip install -e '.[torch]'"
        ) from exc
    return dataset_class


def cifar10_ready(root: Path) -> bool:
    """Whether ``root/cifar-10-batches-py`` passes torchvision's own integrity check (every
    batch's md5) and its metadata loads."""
    dataset_class = _cifar10_class()
    try:
        for train in (True, False):
            dataset_class(root, train=train, download=False)
    except (RuntimeError, OSError, ValueError, KeyError, EOFError):
        return False
    return True


def install_cifar10(
    base: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 10.0,
    force: bool = False,
) -> Path:
    """Download CIFAR-10 where Q6.1.3 reads it, through ``torchvision.datasets.CIFAR10``.

    The archive (``CIFAR10.url``) is fetched into the downloads folder and checked against
    ``CIFAR10.tgz_md5``; torchvision's own class then extracts it in a staging folder and
    checks each batch's md5; the checked ``cifar-10-batches-py/`` is moved into place.

    Parameters
    ----------
    base : path-like, optional
        A data dir: install into ``<base>/external/cifar10`` and keep the archive in
        ``<base>/downloads``. Default: :data:`CIFAR10`'s folder (``$NRK_CIFAR10_DIR`` or
        ``<data dir>/external/cifar10``) and ``<data dir>/downloads``.
    timeout : float
        Connect timeout in seconds.
    force : bool
        Reinstall even when a verified copy is there.

    Returns
    -------
    pathlib.Path
        The folder holding ``cifar-10-batches-py/`` (what ``cifar10_datasets`` takes).

    Raises
    ------
    DownloadError, ChecksumError
    """
    dataset_class = _cifar10_class()
    root = CIFAR10.root(base)
    if not force and cifar10_ready(root):
        _say(f"CIFAR-10: already in {root / CIFAR10_FOLDER} (torchvision's md5 checks pass)")
        return root
    archive = Archive(dataset_class.url, md5=dataset_class.tgz_md5)
    path = _fetch(archive, base, timeout, root / CIFAR10_FOLDER)
    with _staging(root / CIFAR10_FOLDER) as staging:
        link = staging / dataset_class.filename
        try:
            link.symlink_to(path.resolve())
        except OSError:
            shutil.copyfile(path, link)
        try:
            with _socket_timeout(max(timeout, 60.0)):
                # the archive is there and verified: torchvision only extracts and checks
                for train in (True, False):
                    dataset_class(staging, train=train, download=True)
        except (RuntimeError, OSError, tarfile.TarError) as exc:
            path.unlink(missing_ok=True)
            raise ChecksumError(
                f"CIFAR-10: {path.name} did not extract into batches that pass torchvision's "
                f"md5 checks ({exc}); it was deleted: rerun to download it again"
            ) from exc
        _move_into_place(staging / CIFAR10_FOLDER, root / CIFAR10_FOLDER, force=True)
    if not cifar10_ready(root):
        raise DownloadError(f"CIFAR-10 in {root} does not load after installing")
    _say(f"CIFAR-10: installed {root / CIFAR10_FOLDER}")
    return root


# ============================================================================ Flowers-17
def _flowers17_expected(splits_file: Path) -> dict[str, list[int]]:
    """The handout's split from ``datasplits.mat``: ``{split: sorted 1-based image numbers}``,
    checked (disjoint, every image of the dataset in exactly one split, every class in each)."""
    import numpy as np
    import scipy.io

    try:
        mat = scipy.io.loadmat(splits_file)
    except (ValueError, OSError, NotImplementedError) as exc:
        raise DownloadError(f"{splits_file} is not a readable .mat file ({exc})") from exc
    total = FLOWERS17_CLASSES * FLOWERS17_PER_CLASS
    split, seen = {}, set()
    for name, key in FLOWERS17_SPLIT.items():
        if key not in mat:
            raise DownloadError(f"{splits_file.name} has no {key}; it holds {sorted(mat)}")
        numbers = np.asarray(mat[key]).ravel()
        if not np.all(numbers == np.round(numbers)) or numbers.min() < 1 or numbers.max() > total:
            raise DownloadError(f"{splits_file.name}: {key} holds values outside 1..{total}")
        numbers = sorted(int(n) for n in numbers)
        classes = {(n - 1) // FLOWERS17_PER_CLASS for n in numbers}
        if len(set(numbers)) != len(numbers) or seen & set(numbers):
            raise DownloadError(f"{splits_file.name}: {key} repeats images")
        if len(classes) != FLOWERS17_CLASSES:
            raise DownloadError(
                f"{splits_file.name}: {key} covers {len(classes)} of the 17 classes"
            )
        seen |= set(numbers)
        split[name] = numbers
    if len(seen) != total:
        raise DownloadError(
            f"{splits_file.name}: {', '.join(FLOWERS17_SPLIT.values())} hold {len(seen)} of the "
            f"{total} images"
        )
    return split


def _flowers17_layout(split: dict[str, list[int]]) -> dict[str, str]:
    """Relative path under the dataset folder -> image file name, for every image."""
    layout = {}
    for name, numbers in split.items():
        for n in numbers:
            image = f"image_{n:04d}.jpg"
            layout[f"{name}/{(n - 1) // FLOWERS17_PER_CLASS}/{image}"] = image
    return layout


def flowers17_ready(root: Path) -> bool:
    """Whether ``root`` holds the complete install its manifest describes (each image's
    sha256, recorded when it was extracted from the md5-verified archive)."""
    manifest = root / FLOWERS17_MANIFEST
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    expected = FLOWERS17_CLASSES * FLOWERS17_PER_CLASS
    if len(recorded) != expected:
        return False
    return all((root / rel).is_file() and sha256_of(root / rel) == h for rel, h in recorded.items())


def install_flowers17(
    base: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 10.0,
    force: bool = False,
    archives: dict[str, Archive] | None = None,
) -> Path:
    """Download Flowers-17 from its publisher and lay it out as Q6.2 reads it.

    ``17flowers.tgz`` (1360 images, ``jpg/image_0001.jpg`` .. ``image_1360.jpg``, 80 per class
    in class order) and ``datasplits.mat`` are fetched and checked against their md5; the
    images are extracted as ``train/``, ``val/`` and ``test/`` (``trn2``, ``val2``, ``tst2``,
    as the handout's ``flowers_partition.py`` splits them), one folder per class named by its
    label, with a manifest of every image's sha256 for later checks.

    Parameters
    ----------
    base : path-like, optional
        A data dir (as for :func:`install_cifar10`); default :data:`FLOWERS17`'s folder.
    timeout : float
    force : bool
        Reinstall even when a verified copy is there, replacing what is there.
    archives : dict, optional
        Override :data:`FLOWERS17_ARCHIVES` (``'images'``, ``'splits'``): the tests' server.

    Returns
    -------
    pathlib.Path
        The dataset folder.
    """
    archives = archives or FLOWERS17_ARCHIVES
    root = FLOWERS17.root(base)
    if not force and flowers17_ready(root):
        _say(f"Flowers-17: already in {root} (every image's sha256 verified)")
        return root
    images = _fetch(archives["images"], base, timeout, root)
    splits_file = _fetch(archives["splits"], base, timeout, root)
    for path in (images, splits_file):
        _say(f"Flowers-17: {path.name} verified (md5); its sha256 is {sha256_of(path)}")
    layout = _flowers17_layout(_flowers17_expected(splits_file))
    wanted = {image: rel for rel, image in layout.items()}
    with _staging(root) as staging:
        built = staging / root.name
        found = {}
        try:
            with tarfile.open(images) as tar:
                for member in tar:
                    name = PurePosixPath(member.name).name
                    if not member.isfile() or name not in wanted or name in found:
                        continue
                    target = built / wanted[name]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                    found[name] = wanted[name]
        except (tarfile.TarError, OSError, EOFError) as exc:
            images.unlink(missing_ok=True)
            raise ChecksumError(
                f"Flowers-17: {images.name} is not a readable tar archive ({exc}); it was "
                "deleted: rerun to download it again"
            ) from exc
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise DownloadError(
                f"Flowers-17: {images.name} lacks {len(missing)} of the {len(wanted)} images "
                f"datasplits.mat lists (e.g. {', '.join(missing[:3])})"
            )
        manifest = {
            "about": "Flowers-17 as coursedata.external installed it: datasplits.mat's "
            f"{', '.join(FLOWERS17_SPLIT.values())} from {archives['images'].url}",
            "files": {rel: sha256_of(built / rel) for rel in sorted(found.values())},
        }
        (built / FLOWERS17_MANIFEST).write_text(json.dumps(manifest, indent=0), encoding="utf-8")
        _move_into_place(built, root, force)
    counts = ", ".join(f"{s} {len(n)}" for s, n in _flowers17_expected(splits_file).items())
    _say(f"Flowers-17: installed {root} ({counts} images)")
    return root


# ============================================================================ SUN scenes
def _find_sun_folder(top: Path) -> Path | None:
    """The folder at or under ``top`` (3 levels at most) holding ``train_files.txt``."""
    for folder, dirs, files in os.walk(top):
        if "train_files.txt" in files:
            return Path(folder)
        depth = len(Path(folder).relative_to(top).parts)
        dirs[:] = [] if depth >= 3 else sorted(d for d in dirs if d != "__MACOSX")
    return None


def check_sun(folder: Path) -> dict[str, int]:
    """Check the layout Q6.1.4 reads: the four list files, one integer label per listed image,
    every listed image present inside ``folder``.

    Returns
    -------
    dict of str to int
        Images per split.

    Raises
    ------
    DownloadError
        Naming the first problem found.
    """
    missing = [name for name in SUN_LISTS if not (folder / name).is_file()]
    if missing:
        raise DownloadError(f"the SUN folder {folder} lacks {', '.join(missing)}")
    counts = {}
    for split in SUN_SPLITS:
        text = (folder / f"{split}_files.txt").read_text(encoding="utf-8")
        files = [line.strip() for line in text.splitlines() if line.strip()]
        labels_text = (folder / f"{split}_labels.txt").read_text(encoding="utf-8")
        labels = [line.strip() for line in labels_text.splitlines() if line.strip()]
        if len(files) != len(labels):
            raise DownloadError(
                f"SUN: {split}_files.txt lists {len(files)} images but {split}_labels.txt "
                f"{len(labels)} labels"
            )
        bad = [label for label in labels if not re.fullmatch(r"\d+", label)]
        if bad:
            raise DownloadError(f"SUN: {split}_labels.txt holds non-integer labels: {bad[:3]}")
        unsafe = [f for f in files if not _safe_member(f)]
        absent = [f for f in files if _safe_member(f) and not (folder / f).is_file()]
        if unsafe or absent:
            raise DownloadError(
                f"SUN: {split}_files.txt lists {len(unsafe) + len(absent)} images that are not "
                f"in {folder} (e.g. {', '.join((unsafe + absent)[:3])})"
            )
        counts[split] = len(files)
    return counts


def _extract_any(source: Path, into: Path) -> None:
    """Extract a zip or tar archive (members with absolute paths or ``..`` refused), or copy
    a folder, into ``into``."""
    if source.is_dir():
        shutil.copytree(source, into / source.name)
        return
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            bad = [n for n in zf.namelist() if not _safe_member(n)]
            if bad:
                raise DownloadError(f"{source.name} holds unsafe paths: {bad[:3]}")
            zf.extractall(into)
        return
    if tarfile.is_tarfile(source):
        with tarfile.open(source) as tar:
            members = tar.getmembers()
            bad = [m.name for m in members if not _safe_member(m.name)]
            bad += [m.name for m in members if not (m.isfile() or m.isdir())]
            if bad:
                raise DownloadError(f"{source.name} holds unsafe members: {bad[:3]}")
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(into, members=members, **safe)  # members checked above too
        return
    raise DownloadError(f"{source} is neither a zip nor a tar archive nor a folder")


def install_sun(
    base: str | os.PathLike[str] | None = None,
    *,
    source: str | os.PathLike[str] | None = None,
    sha256: str | None = None,
    timeout: float = 10.0,
    force: bool = False,
) -> Path:
    """Install the SUN scene subset (the bag-of-words homework's ``data/`` folder).

    No public copy is known, so there is no default source: ``source`` (else
    ``$NRK_SUN_URL``) is the course's archive, a URL or a local zip, tar or folder, verified
    with ``sha256`` (else ``$NRK_SUN_SHA256``) when given. The folder holding
    ``train_files.txt`` inside it is checked (:func:`check_sun`) and moved into place.

    Returns
    -------
    pathlib.Path
        The dataset folder.

    Raises
    ------
    DownloadError
        No source given (saying how to give one), or a bad archive or layout.
    """
    root = SUN.root(base)
    with contextlib.suppress(DownloadError):
        if not force and (counts := check_sun(root)):
            _say(f"SUN: already in {root} ({counts['train']} training, {counts['test']} test)")
            return root
    source = source or os.environ.get(SUN_URL_ENV) or None
    sha256 = sha256 or os.environ.get(SUN_SHA256_ENV) or None
    if source is None:
        raise DownloadError(
            "SUN: no public copy of the scene subset (the bag-of-words homework's data/ "
            "folder) is known, so nothing to download by default. Give the course's copy: "
            f"--sun-url URL (or a local .zip, .tar.gz or folder; ${SUN_URL_ENV}), with "
            f"--sun-sha256 HEX to verify it (${SUN_SHA256_ENV}); or copy that folder (the scene "
            f"folders and {', '.join(SUN_LISTS)}) to {root} yourself, or set {SUN.env_var}."
        )
    text = str(source)
    if re.match(r"^(https?|ftp)://", text):
        name = PurePosixPath(text.split("?")[0]).name or "sun-data"
        path = fetch(
            f"sun-{name}", _archive_dir(base), url=text, sha256=None,
            known_hash=f"sha256:{sha256}" if sha256 else None, timeout=timeout,
            install_dir=root,
        )  # fmt: skip
    else:
        path = Path(text).expanduser()
        if not path.exists():
            raise DownloadError(f"SUN: {path} does not exist")
        if sha256 and path.is_file() and sha256_of(path) != sha256.lower():
            raise ChecksumError(
                f"checksum mismatch for {path}: sha256 {sha256_of(path)}, expected {sha256}"
            )
    if path.is_file():
        _say(f"SUN: {path.name} sha256 {sha256_of(path)}")
    downloaded_unverified = path.is_file() and not sha256 and path.parent == _archive_dir(base)
    with _staging(root) as staging:
        try:
            _extract_any(path, staging)
            folder = _find_sun_folder(staging)
            if folder is None:
                raise DownloadError(f"SUN: {path} holds no train_files.txt (the homework's data/)")
            counts = check_sun(folder)
        except (DownloadError, zipfile.BadZipFile, tarfile.TarError) as exc:
            if downloaded_unverified:  # do not reuse it on the next run
                path.unlink(missing_ok=True)
            if isinstance(exc, DownloadError):
                raise
            raise DownloadError(f"SUN: {path.name} is not a readable archive ({exc})") from exc
        _move_into_place(folder, root, force)
    _say(f"SUN: installed {root} ({counts['train']} training, {counts['test']} test images)")
    return root


# ============================================================================ SqueezeNet
def install_squeezenet(
    home: str | os.PathLike[str] | None = None,
    *,
    weights: Weights | None = None,
    timeout: float = 10.0,
    force: bool = False,
) -> Path:
    """Download SqueezeNet 1.1's ImageNet weights into torch's hub cache (Q6.2, Q6.3).

    Verified by the sha256 prefix its file name carries (torch hub's ``check_hash``).

    Parameters
    ----------
    home : path-like, optional
        Torch's home; default :func:`torch_home`.

    Returns
    -------
    pathlib.Path
        ``<home>/hub/checkpoints/squeezenet1_1-b8a52dc0.pth``.
    """
    weights = weights or SQUEEZENET
    path = weights.path(home)
    if not force and path.is_file() and sha256_of(path).startswith(weights.hash_prefix):
        _say(f"SqueezeNet 1.1: already in {path} (sha256 prefix {weights.hash_prefix})")
        return path
    if force:
        path.unlink(missing_ok=True)
    # pooch writes a temporary file and renames it: no partial file is ever left at ``path``
    got = fetch(
        weights.filename, path.parent, url=weights.url, sha256=None, timeout=timeout,
        install_dir=path.parent,
    )  # fmt: skip
    digest = sha256_of(got)
    if not digest.startswith(weights.hash_prefix):
        got.unlink(missing_ok=True)
        raise ChecksumError(
            f"checksum mismatch for {weights.filename} from {weights.url}: sha256 {digest} does "
            f"not start with {weights.hash_prefix}; it was deleted: rerun to download it again"
        )
    _say(f"SqueezeNet 1.1: installed {path}")
    return path


# ============================================================================ all of Q6
#: ``python -m coursedata.download NAME``: the installers, in the order ``q6`` runs them.
DATASETS: dict[str, Callable[..., Path]] = {
    "cifar10": install_cifar10,
    "flowers17": install_flowers17,
    "squeezenet": install_squeezenet,
    "sun": install_sun,
}


def install(
    names, base=None, *, timeout: float = 10.0, force: bool = False, sun_source=None,
    sun_sha256=None, log: Callable[[str], None] = print,
):  # fmt: skip
    """Install each of ``names`` (keys of :data:`DATASETS`); one failing does not stop the
    others.

    Returns
    -------
    dict of str to str
        The error message of each that failed (empty: all installed).
    """
    failed = {}
    for name in names:
        kwargs = {"timeout": timeout, "force": force}
        if name == "sun":
            kwargs |= {"source": sun_source, "sha256": sun_sha256}
        try:  # the weights always go to torch's cache, where torch and the grader look
            DATASETS[name](None if name == "squeezenet" else base, **kwargs)
        except (DownloadError, OSError) as exc:  # OSError: a full disk, no permission ...
            failed[name] = str(exc)
            log(f"error: {name}: {exc}")
    return failed
