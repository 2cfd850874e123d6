"""Installed size of each environment: the student's (Q1-Q5, no PyTorch) and PyTorch's (Q6).

Computed from the distributions installed here: the project's requirements with the extras
of each environment (``tox.ini``: ``lean`` = test and lint; ``shared`` = those and torch), and
theirs, recursively, each counted once by the files it installed. Where tox has built the
environments (``.tox/lean``, ``.tox/shared``), their size on disk is recorded too.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
from pathlib import Path

from .common import ROOT, log, result

PROJECT = "nn-recognition-kata"
#: tox.ini's environments: (record name, extras, tox's folder)
ENVIRONMENTS = (
    ("lean", ("test", "lint"), ".tox/lean"),
    ("torch", ("test", "lint", "torch"), ".tox/shared"),
)
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wanted(requirement: str, extras) -> str | None:
    """The distribution a requirement string asks for, given the extras; None if not wanted."""
    try:
        from packaging.requirements import Requirement

        req = Requirement(requirement)
        if req.marker is not None:
            envs = [{"extra": e} for e in (extras or ("",))]
            if not any(req.marker.evaluate(env) for env in envs):
                return None
        return _canonical(req.name)
    except ImportError:  # no packaging: requirements of an extra only when it is asked for
        name, _, marker = requirement.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", marker)
        if extra and extra.group(1) not in extras:
            return None
        if marker.strip() and not extra:
            return None  # a platform marker we cannot evaluate: leave it out
        match = _NAME.match(name)
        return _canonical(match.group(1)) if match else None


def closure(extras) -> dict[str, md.Distribution]:
    """The installed distributions the project needs with ``extras``, by canonical name."""
    installed = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name:
            installed.setdefault(_canonical(name), dist)
    todo, found = [(_canonical(PROJECT), tuple(extras))], {}
    while todo:
        name, wanted_extras = todo.pop()
        dist = installed.get(name)
        if dist is None or name in found:
            continue
        found[name] = dist
        for requirement in dist.requires or ():
            dep = _wanted(requirement, wanted_extras)
            if dep and dep not in found:
                todo.append((dep, ()))
    return found


def dist_bytes(dist: md.Distribution) -> int:
    total = 0
    for file in dist.files or ():
        try:
            total += os.path.getsize(dist.locate_file(file))
        except OSError:
            pass
    return total


def folder_bytes(folder: Path) -> int:
    total = 0
    for path, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(path, name)).st_size
            except OSError:
                pass
    return total


def run():
    """One record per environment (MB), and its folder's size where tox built it."""
    out = []
    sizes = {}
    for name, extras, folder in ENVIRONMENTS:
        dists = closure(extras)
        if _canonical(PROJECT) not in dists:
            log(f"  install.{name}: the project is not installed here (pip install -e .)")
            return out
        if "torch" in extras and "torch" not in dists:
            log(f"  install.{name}: PyTorch is not installed here (pip install -e '.[torch]')")
            continue
        size = sum(dist_bytes(d) for n, d in dists.items() if n != _canonical(PROJECT))
        sizes[name] = size
        has_torch = "torch" in dists
        biggest = sorted(dists.items(), key=lambda kv: -dist_bytes(kv[1]))[:4]
        big = ", ".join(f"{n} {dist_bytes(d) / 1e6:.0f}" for n, d in biggest)
        lean = name == "lean"
        out.append(
            result(
                f"install.{name}",
                round(size / 1e6, 1),
                "MB",
                ratio=None if lean else size / max(sizes["lean"], 1),
                vs=None if lean else "the lean environment",
                target="no PyTorch (Q1-Q5)" if lean else None,
                met=(not has_torch) if lean else None,
                note=f"extras {','.join(extras)}: {len(dists) - 1} distributions"
                f"{', PyTorch included' if has_torch else ', no PyTorch'}; largest (MB): {big}",
            )
        )
        log(f"  install.{name}: {size / 1e6:.0f} MB ({len(dists) - 1} distributions)")
        on_disk = ROOT / folder
        if on_disk.is_dir():
            out.append(
                result(
                    f"install.{name}.tox_folder",
                    round(folder_bytes(on_disk) / 1e6, 1),
                    "MB",
                    note=f"{folder} on disk (tox -e {'kata' if lean else 'solutions'})",
                )
            )
    return out
