"""Find what to grade, without importing it: a package of this project, a folder, or a zip.

A submission in the handout's layout holds ``nn.py`` (with ``util.py``, ``q4.py``,
``run_q2.py`` ...). Students zip it in many ways: the files at the top, inside one folder
(``hw5/python/nn.py``), with macOS's ``__MACOSX`` copies. The shallowest folder holding
``nn.py`` is the submission.
"""

from __future__ import annotations

import contextlib
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.implementation import PACKAGES, ImplementationError, resolve

# A zip whose files add up to more than this is refused (a zip bomb, or a dataset zipped in).
MAX_UNZIPPED_MB = 200
IGNORED_DIRS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints"}


@dataclass
class Submission:
    """What the sandbox needs: a label and either a package name or a folder."""

    label: str
    package: str | None = None
    folder: Path | None = None

    def spec(self) -> dict:
        spec = {"spec": self.label}
        if self.package:
            spec["package"] = self.package
        else:
            spec["folder"] = str(self.folder)
        return spec

    @property
    def sources(self) -> list[Path]:
        """The submission's own Python files (empty for this project's packages)."""
        if self.folder is None:
            return []
        return sorted(p for p in self.folder.rglob("*.py") if not (IGNORED_DIRS & set(p.parts)))


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


def safe_extract(archive: Path, into: Path) -> None:
    """Unpack ``archive`` into ``into``, refusing paths that escape it, links, and bombs."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise ImplementationError(f"{archive.name} is not a readable zip file") from None
    with zf:
        members = zf.infolist()
        total = sum(m.file_size for m in members)
        if total > MAX_UNZIPPED_MB << 20:
            raise ImplementationError(
                f"{archive.name} unpacks to {total >> 20} MB; a submission is code and small "
                f"figures (limit {MAX_UNZIPPED_MB} MB): leave datasets and weights out"
            )
        for member in members:
            path = PurePosixPath(member.filename.replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts:
                raise ImplementationError(f"{archive.name}: unsafe path {member.filename!r}")
            if stat.S_ISLNK(member.external_attr >> 16):
                continue  # links are not copied
            if IGNORED_DIRS & set(path.parts):
                continue
            target = into.joinpath(*path.parts)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, open(target, "wb") as dst:
                dst.write(src.read())


@contextlib.contextmanager
def open_submission(spec: str | None):
    """Resolve ``spec`` (``kata``, ``solutions``, a folder or a ``.zip``) to a Submission.

    A zip is unpacked into a temporary folder that lives as long as the context.

    Raises
    ------
    ImplementationError
        With what was expected.
    """
    if spec in PACKAGES or spec is None:
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
            safe_extract(path, Path(tmp))
            folder = find_layout_folder(Path(tmp))
            yield Submission(path.name, folder=folder)
        return
    if path.is_dir() and not (path / "nn.py").is_file():
        with contextlib.suppress(ImplementationError):
            path = find_layout_folder(path)
    impl = resolve(str(path))
    yield Submission(str(spec), folder=impl.folder)
