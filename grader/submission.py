"""Find what to grade, without importing it: a package of this project, a folder, or a zip.

A submission in the handout's layout holds ``nn.py`` (with ``util.py``, ``q4.py``,
``run_q2.py`` ...). Students zip it in many ways: the files at the top, inside one folder
(``hw5/python/nn.py``), with macOS's ``__MACOSX`` copies. The shallowest folder holding
``nn.py`` is the submission.

Folders and zips are ingested once, safely, into a private copy that everything else reads:
a walk with ``lstat`` keeps regular files and real folders only (links, FIFOs, sockets and
devices are skipped and listed in the report), under caps on the number of files and their
total size.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.implementation import ENV_VAR, PACKAGES, ImplementationError, resolve

# A zip whose files add up to more than this is refused (a zip bomb, or a dataset zipped in);
# so is a folder.
MAX_UNZIPPED_MB = 200
MAX_FILES = 2000
# The library scan reads at most this much of each source file.
MAX_SOURCE_BYTES = 1 << 20
IGNORED_DIRS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints"}


@dataclass
class Submission:
    """What is graded, as the grader's process knows it (it never imports it): a label and
    either a package of this project or a folder in the handout's layout. This is what
    :func:`grader.sandbox.run_question` takes; the submission's process loads it as a
    :class:`grader.implementation.Implementation`."""

    label: str
    package: str | None = None
    folder: Path | None = None
    skipped: list[str] = field(default_factory=list)  # entries not ingested, with why

    def __post_init__(self) -> None:
        if (self.package is None) == (self.folder is None):
            raise ValueError(
                f"Submission {self.label!r}: give either a package or a folder, not "
                + ("both" if self.package is not None else "neither")
            )
        if self.package is not None and self.package not in PACKAGES:
            raise ValueError(f"Submission {self.label!r}: no package {self.package!r}")
        if self.folder is not None:
            self.folder = Path(self.folder)

    @property
    def sources(self) -> list[Path]:
        """The submission's own Python files (empty for this project's packages): regular
        files of at most ``MAX_SOURCE_BYTES``."""
        if self.folder is None:
            return []
        return sorted(
            p
            for p in self.folder.rglob("*.py")
            if not (IGNORED_DIRS & set(p.parts))
            and p.is_file()
            and not p.is_symlink()
            and p.stat().st_size <= MAX_SOURCE_BYTES
        )


def find_layout_folder(top: Path) -> Path:
    """The shallowest folder under ``top`` holding ``nn.py``.

    Raises
    ------
    ImplementationError
        There is none, with what was found instead.
    """
    found = sorted(
        (
            p.parent
            for p in top.rglob("nn.py")
            if not (IGNORED_DIRS & set(p.relative_to(top).parts))
        ),
        key=lambda p: (len(p.parts), str(p)),
    )
    if not found:
        names = sorted(p.name for p in top.iterdir())[:20]
        raise ImplementationError(
            f"no nn.py in {top.name}: expected the handout's layout (nn.py, util.py, q4.py, "
            f"run_q2.py ...). It holds: {names}"
        )
    return found[0]


def safe_extract(archive: Path, into: Path) -> list[str]:
    """Unpack ``archive`` into ``into``, refusing paths that escape it, links, and bombs;
    return the entries left out (links), with why."""
    skipped = []
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise ImplementationError(f"{archive.name} is not a readable zip file") from None
    with zf:
        members = zf.infolist()
        total = sum(m.file_size for m in members)
        if len(members) > MAX_FILES:
            raise ImplementationError(
                f"{archive.name} holds {len(members)} entries; a submission is code and a few "
                f"figures (limit {MAX_FILES} files)"
            )
        if total > MAX_UNZIPPED_MB << 20:
            raise ImplementationError(
                f"{archive.name} unpacks to {total >> 20} MB; a submission is code and small "
                f"figures (limit {MAX_UNZIPPED_MB} MB): leave datasets and weights out"
            )
        for member in members:
            path = PurePosixPath(member.filename.replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts:
                raise ImplementationError(f"{archive.name}: unsafe path {member.filename!r}")
            kind = stat.S_IFMT(member.external_attr >> 16)
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                skipped.append(f"{member.filename} (a link or special file)")
                continue  # links are not copied
            if IGNORED_DIRS & set(path.parts):
                continue
            target = into.joinpath(*path.parts)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                skipped.append(f"{member.filename} (a folder of that name exists)")
                continue
            with zf.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return skipped


def safe_copy(source: Path, into: Path) -> list[str]:
    """Copy the folder ``source`` into ``into`` (created), walking with ``lstat``: regular
    files and real folders only; return what was left out, with why.

    Over the caps (``MAX_FILES`` files, ``MAX_UNZIPPED_MB`` in all), the Python files are
    kept first (shallowest first), then the rest while it fits; what does not fit is left
    out and listed.
    """
    skipped, found, walked = [], [], 0
    todo = [source]
    while todo:
        folder = todo.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            skipped.append(f"{folder.relative_to(source)}/ (unreadable: {exc.strerror})")
            continue
        for name in names:
            walked += 1
            if walked > 50 * MAX_FILES:
                skipped.append(f"everything after {walked - 1} entries (too many to read)")
                todo = []
                break
            if name in IGNORED_DIRS:
                continue
            path = folder / name
            try:
                info = os.lstat(path)
            except OSError:
                continue
            rel = path.relative_to(source)
            if stat.S_ISDIR(info.st_mode):
                todo.append(path)
            elif stat.S_ISREG(info.st_mode):
                found.append((rel, info.st_size))
            else:
                what = "a link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
                skipped.append(f"{rel} ({what})")
    found.sort(key=lambda f: (f[0].suffix != ".py", len(f[0].parts), str(f[0])))
    files = total = 0
    over = 0
    into.mkdir(parents=True, exist_ok=True)
    for rel, size in found:
        if files + 1 > MAX_FILES or total + size > MAX_UNZIPPED_MB << 20:
            over += 1
            continue
        if _copy_regular(source / rel, into / rel):
            files += 1
            total += size
        else:
            skipped.append(f"{rel} (not a regular file when read)")
    if over:
        skipped.append(
            f"{over} file(s) over the caps of {MAX_FILES} files and {MAX_UNZIPPED_MB} MB "
            "(a submission is code and a few figures: leave datasets and weights out)"
        )
    return skipped


def _copy_regular(path: Path, dest: Path) -> bool:
    """Copy ``path`` only if, opened without following links, it is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return True


@contextlib.contextmanager
def open_submission(spec: str | None):
    """Resolve ``spec`` (``kata``, ``solutions``, a folder or a ``.zip``; default
    ``$NRK_IMPL``, else ``kata``) to a Submission.

    A zip is unpacked into a temporary folder that lives as long as the context.

    Raises
    ------
    ImplementationError
        With what was expected.
    """
    if spec is None:
        spec = os.environ.get(ENV_VAR) or "kata"  # as resolve() chooses
    if spec in PACKAGES:
        impl = resolve(spec)
        yield Submission(impl.label, package=impl.package)
        return
    path = Path(spec).expanduser()
    if not path.exists():
        raise ImplementationError(
            f"--impl {spec!r}: expected 'kata', 'solutions', a folder or a .zip in the "
            "handout's layout (nn.py, util.py, q4.py ...), but there is no such file or folder"
        )
    if path.is_file() and path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="nrk-zip-") as tmp:
            skipped = safe_extract(path, Path(tmp))
            folder = find_layout_folder(Path(tmp))
            yield Submission(path.name, folder=folder, skipped=skipped)
        return
    if not path.is_dir():
        raise ImplementationError(
            f"--impl {spec!r}: expected 'kata', 'solutions', a folder or a .zip in the "
            "handout's layout (nn.py, util.py, q4.py ...)"
        )
    with tempfile.TemporaryDirectory(prefix="nrk-sub-") as tmp:
        copy = Path(tmp) / "submission"
        skipped = safe_copy(path.resolve(), copy)
        folder = copy
        if not (copy / "nn.py").is_file():
            with contextlib.suppress(ImplementationError):
                folder = find_layout_folder(copy)
        try:
            impl = resolve(str(folder))
        except ImplementationError as exc:
            raise ImplementationError(str(exc).replace(str(folder), str(spec))) from None
        yield Submission(str(spec), folder=impl.folder, skipped=skipped)
