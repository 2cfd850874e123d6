"""Download the official NIST36 files (and the sample photos) from the course's handout URLs,
and Q6's datasets.

Optional: without them the kata uses the bundled stand-in (see ``data/README.md``). Needs the
``download`` extra (``pip install -e '.[download]'``: pooch and tqdm)::

    python -m coursedata.download [--dest DIR] [--timeout S] [--only data.zip|images.zip]
    python -m coursedata.download q6 [--sun-url URL|PATH] [--sun-sha256 HEX]
    python -m coursedata.download cifar10 flowers17 squeezenet sun ...

``q6`` installs CIFAR-10, Flowers-17, SqueezeNet 1.1's ImageNet weights and (given its source)
the SUN scene subset where Q6.1.3, Q6.1.4 and Q6.2 look for them: see
:mod:`coursedata.external` for where each comes from and how it is verified.

Each archive is downloaded with :func:`pooch.retrieve` (sha256-verified where a hash is
published, with a progress bar) into ``<dest>/downloads/``; then the wanted members are
extracted into ``<dest>`` (photos into ``<dest>/images``), each verified against its published
sha256. Extraction is all-or-nothing: members are written to temporary files and moved into
place only once all of them verify. Members already present with the right hash are not
downloaded again. Offline, it fails fast (short connect timeout, no retries) and says how to
install the files by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from coursedata.nist36 import data_dir

__all__ = [
    "DEFAULT_TIMEOUT",
    "REMOTES",
    "ChecksumError",
    "DownloadError",
    "Remote",
    "download",
    "extract",
    "fetch",
    "main",
    "sha256_of",
]

#: Connect timeout in seconds (reads may pause up to max(timeout, READ_TIMEOUT) seconds).
DEFAULT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
_BASE_URL = "http://www.cs.cmu.edu/~lkeselma/16720a_data"
#: Default of the ``sha256`` arguments: take the hash from :data:`REMOTES`.
FROM_TABLE = "from-table"


@dataclass(frozen=True)
class Remote:
    """One downloadable archive.

    Attributes
    ----------
    url : str
        Where to download it.
    sha256 : str or None
        The archive's sha256 (None: no published hash; only the members are verified).
    members : dict of str to str
        File name (basename inside the zip) -> sha256 of each file to extract.
    subdir : str
        Folder, relative to the destination, that receives the members.
    """

    url: str
    sha256: str | None
    members: dict[str, str] = field(default_factory=dict)
    subdir: str = ""


#: The one table of URLs and hashes (sha256 values as published; see data/README.md).
REMOTES: dict[str, Remote] = {
    "data.zip": Remote(
        url=f"{_BASE_URL}/data.zip",
        sha256="3a0adb5ea27e61d43e6ab8f3d3d96ee867e5721234794b0fa33b3416235e6fa1",
        members={
            "nist36_train.mat": "e34d2eb6301f7f83fc2b28bb07c1c1742099f319b1415d282c8f7b5a68a9394b",
            "nist36_valid.mat": "941c15d9682438673da199b7cedf66ffe0eb003ec02a7ff60b1073e87bb0e66b",
            "nist36_test.mat": "92d7fc9ea1d13594f48fbc2205bba2eb077c62acf6011c44709a9e06314256a4",
        },
    ),
    "images.zip": Remote(
        url=f"{_BASE_URL}/images.zip",
        sha256=None,
        members={
            "01_list.jpg": "30937d02f89b6aab490b231340901b61309b090a88269e2e6617cad6da9230b4",
            "02_letters.jpg": "1187b79093ad73ff6fb2e14a800923b496e84b406433ee545bab716862bec6f6",
            "03_haiku.jpg": "524a81dbbf5a63697037a79a258ab51b85b518945d9f684fa1244a40921430dc",
            "04_deep.jpg": "7f7b13dafeb706dbc0f3132f27db5c1afb94bfc5ee0ef3aa485b15a26b51ecab",
        },
        subdir="images",
    ),
}


class DownloadError(RuntimeError):
    """A download or an extraction failed (the message says what to do)."""


class ChecksumError(DownloadError):
    """A downloaded or extracted file does not have its published sha256."""


def _require_pooch() -> ModuleType:
    """Import pooch (and check tqdm, for the progress bar) or explain how to install them."""
    try:
        import pooch
        import tqdm  # noqa: F401  (pooch's progress bar needs it)
    except ImportError as exc:
        raise DownloadError(
            f"coursedata.download needs pooch and tqdm ({exc}); install them with "
            "`pip install -e '.[download]'`. The bundled NIST36 stand-in works without them."
        ) from exc
    return pooch


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manual_hint(name: str, url: str, install_dir: Path | None, archive_dir: Path) -> str:
    """How to install an archive's files by hand (for the error messages)."""
    remote = REMOTES.get(name)
    if remote is None:  # Q6's archives (coursedata.external)
        return (
            f"To install by hand: download {url} where you have access, put it in "
            f"{archive_dir} as {name} and rerun this command (it then only checks and installs "
            f"it into {install_dir}); see data/README.md."
        )
    files = ", ".join(remote.members)
    if install_dir is None:
        install_dir = data_dir() / remote.subdir
    return (
        f"To install by hand: download {url} where you have access and unzip {files} into "
        f"{install_dir} (or put {name} in {archive_dir} and rerun this command). "
        "Meanwhile the bundled NIST36 stand-in keeps working."
    )


def fetch(
    name: str,
    dest: str | os.PathLike[str],
    *,
    url: str | None = None,
    sha256: str | None = FROM_TABLE,
    timeout: float = DEFAULT_TIMEOUT,
    install_dir: Path | None = None,
    known_hash: str | None = None,
) -> Path:
    """Download one archive to ``dest/name`` with pooch (verified, progress bar, no retries).

    Parameters
    ----------
    name : str
        File name to save as (a key of :data:`REMOTES` for the defaults).
    dest : path-like
        Folder for the archive (created if needed). A file already there with the expected
        hash is not downloaded again.
    url : str, optional
        Default ``REMOTES[name].url``.
    sha256 : str or None, optional
        Expected sha256; ``None`` skips the archive check. Default ``REMOTES[name].sha256``.
    timeout : float
        Connect timeout in seconds (reads may pause up to ``max(timeout, 60)`` s).
    install_dir : pathlib.Path, optional
        Where the members belong, named in the error messages; default the data directory.
    known_hash : str, optional
        pooch's form, ``"md5:HEX"`` or ``"sha256:HEX"``; when given, it replaces ``sha256``.

    Returns
    -------
    pathlib.Path
        The downloaded archive.

    Raises
    ------
    DownloadError
        If the server cannot be reached (fast: no retries) or answers with an error.
    ChecksumError
        If the download does not have the expected sha256 (nothing is kept).
    """
    pooch = _require_pooch()
    import requests

    remote = REMOTES.get(name)
    url = url if url is not None else (remote.url if remote else None)
    if url is None:
        raise DownloadError(f"no URL for {name!r}; known archives: {', '.join(REMOTES)}")
    if sha256 == FROM_TABLE:
        sha256 = remote.sha256 if remote else None
    if known_hash is not None:
        sha256 = known_hash
    folder = Path(dest)
    created = not folder.exists()
    downloader = pooch.HTTPDownloader(
        progressbar=True, timeout=(timeout, max(timeout, READ_TIMEOUT))
    )
    try:
        path = pooch.retrieve(
            url, known_hash=sha256, fname=name, path=folder, downloader=downloader, progressbar=True
        )
    except requests.exceptions.RequestException as exc:
        raise DownloadError(
            f"could not download {name} from {url} ({type(exc).__name__}: {exc}). "
            f"{_manual_hint(name, url, install_dir, folder)}"
        ) from exc
    except ValueError as exc:  # pooch's hash mismatch (the temporary file is removed)
        raise ChecksumError(
            f"checksum mismatch for {name} downloaded from {url}: {exc} Nothing was kept; "
            f"retry, or check the URL. {_manual_hint(name, url, install_dir, folder)}"
        ) from exc
    finally:
        if created and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return Path(path)


def _find_member(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    """The zip entry whose basename is ``name`` (archives may nest files in a folder)."""
    hits = [
        i
        for i in zf.infolist()
        if not i.is_dir()
        and Path(i.filename).name == name
        and not i.filename.startswith("__MACOSX")
    ]
    return hits[0] if hits else None


def extract(
    archive: str | os.PathLike[str], dest: str | os.PathLike[str], members: Mapping[str, str]
) -> list[Path]:
    """Extract and verify ``members`` of a zip into ``dest``, all or nothing.

    Parameters
    ----------
    archive : path-like
        The zip file.
    dest : path-like
        Folder that receives the files (created if needed), flat (zip folders are dropped).
    members : mapping of str to str
        Basename of each wanted file -> its expected sha256.

    Returns
    -------
    list of pathlib.Path
        The extracted files, in the order of ``members``.

    Raises
    ------
    DownloadError
        If the archive is not a readable zip or lacks a member.
    ChecksumError
        If a member does not have its sha256; then no file is written to ``dest``.
    """
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            for name, expected in members.items():
                info = _find_member(zf, name)
                if info is None:
                    raise DownloadError(f"{archive} has no {name}; expected {', '.join(members)}")
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
                staged.append((Path(tmp), folder / name))
                with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                actual = sha256_of(tmp)
                if actual != expected:
                    raise ChecksumError(
                        f"checksum mismatch for {name} in {archive}: sha256 {actual}, expected "
                        f"{expected}. Nothing was extracted; delete the archive and download it "
                        "again."
                    )
        for tmp, final in staged:
            os.replace(tmp, final)
    except zipfile.BadZipFile as exc:
        raise DownloadError(
            f"{archive} is not a valid zip file ({exc}); delete it and download it again"
        ) from exc
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return [final for _, final in staged]


def _all_present(folder: Path, members: Mapping[str, str]) -> bool:
    return all((folder / n).is_file() and sha256_of(folder / n) == h for n, h in members.items())


def download(
    name: str,
    dest: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    sha256: str | None = FROM_TABLE,
    members: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    force: bool = False,
) -> list[Path]:
    """Download one archive of :data:`REMOTES` and install its verified members.

    Parameters
    ----------
    name : str
        ``"data.zip"`` or ``"images.zip"`` (or any name when ``url`` and ``members`` are given).
    dest : path-like, optional
        Data directory; default :func:`coursedata.nist36.data_dir`. The archive is kept in
        ``dest/downloads/`` and the members go to ``dest/<subdir>``.
    url, sha256 : optional
        Override ``REMOTES[name]`` (``sha256=None``: do not check the archive).
    members : mapping of str to str, optional
        Override the members to extract (basename -> sha256).
    timeout : float
        Connect timeout in seconds.
    force : bool
        Download even if all members are already present and verified.

    Returns
    -------
    list of pathlib.Path
        The installed files.

    Raises
    ------
    DownloadError, ChecksumError
        See :func:`fetch` and :func:`extract`.
    """
    remote = REMOTES.get(name)
    if members is None:
        if remote is None:
            raise DownloadError(f"unknown archive {name!r}; known: {', '.join(REMOTES)}")
        members = remote.members
    base = Path(dest) if dest is not None else data_dir()
    target = base / (remote.subdir if remote else "")
    if not force and _all_present(target, members):
        print(f"{name}: {', '.join(members)} already in {target} (sha256 verified)")
        return [target / n for n in members]
    if sha256 == FROM_TABLE:
        sha256 = remote.sha256 if remote else None
    archive = fetch(
        name, base / "downloads", url=url, sha256=sha256, timeout=timeout, install_dir=target
    )
    try:
        paths = extract(archive, target, members)
    except DownloadError:
        if sha256 is None:  # unverified archive: do not reuse it on the next run
            archive.unlink(missing_ok=True)
        raise
    print(f"{name}: installed {', '.join(p.name for p in paths)} in {target}")
    return paths


#: What ``python -m coursedata.download WHAT`` takes besides the NIST36 archives.
Q6_NAMES = ("cifar10", "flowers17", "squeezenet", "sun")
CHOICES = ("nist36", "q6", *Q6_NAMES)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (1 on a failed download)."""
    parser = argparse.ArgumentParser(
        prog="python -m coursedata.download", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "what",
        nargs="*",
        metavar="WHAT",
        help="nist36 (the default: the official NIST36 files and the photos), q6 (all of: "
        f"{', '.join(Q6_NAMES)}) or one of those",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        help=f"data directory (default: $NRK_DATA_DIR or {data_dir()}); Q6's datasets then go "
        "to DEST/external/NAME (default: $NRK_<NAME>_DIR or data/external/NAME)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="connect timeout in seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        choices=sorted(REMOTES),
        action="append",
        help="nist36: download only this archive (repeatable; default: all)",
    )
    parser.add_argument("--force", action="store_true", help="download even if installed")
    parser.add_argument(
        "--sun-url",
        default=None,
        metavar="URL|PATH",
        help="the SUN scene subset's archive (the bag-of-words homework's data/ folder, as a "
        "URL, a local .zip/.tar.gz or a folder); default $NRK_SUN_URL. No public copy is known",
    )
    parser.add_argument(
        "--sun-sha256", default=None, metavar="HEX", help="its sha256 (default $NRK_SUN_SHA256)"
    )
    args = parser.parse_args(argv)
    unknown = [w for w in args.what if w not in CHOICES]
    if unknown:
        parser.error(f"unknown {', '.join(unknown)}: choose among {', '.join(CHOICES)}")
    wanted = list(dict.fromkeys(args.what or ["nist36"]))
    failed = {}
    if "nist36" in wanted:
        try:
            for name in args.only or list(REMOTES):
                download(name, args.dest, timeout=args.timeout, force=args.force)
        except DownloadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed["nist36"] = str(exc)
    q6 = [n for n in Q6_NAMES if n in wanted or "q6" in wanted]
    if q6:
        try:
            _require_pooch()
        except DownloadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        from coursedata import external

        failed |= external.install(
            q6, args.dest, timeout=args.timeout, force=args.force, sun_source=args.sun_url,
            sun_sha256=args.sun_sha256, log=lambda line: print(line, file=sys.stderr),
        )  # fmt: skip
    if failed:
        print(f"not installed: {', '.join(failed)} (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
