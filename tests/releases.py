"""The student release, built once per test session (instructors only: not in the release)."""

import zipfile
from pathlib import Path

import pytest

from grader.packaging import RELEASE_FOLDER, build_release


def unzip(archive: Path, into: Path) -> Path:
    """Unpack like unzip(1): with the permission bits the zip records."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, into))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)
    return into


@pytest.fixture(scope="session")
def release_zip(tmp_path_factory) -> Path:
    """The release of this checkout's HEAD (``python -m grader release``)."""
    tmp = tmp_path_factory.mktemp("release")
    return build_release(tmp / f"{RELEASE_FOLDER}.zip", allow_dirty=True)


@pytest.fixture(scope="session")
def release_tree(release_zip, tmp_path_factory) -> Path:
    """The release, unpacked (read it, don't change it: copy it first)."""
    return unzip(release_zip, tmp_path_factory.mktemp("unpacked")) / RELEASE_FOLDER
