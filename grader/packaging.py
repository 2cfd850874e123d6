"""The course's artifacts: Gradescope's ``autograder.zip``, the handout's deliverables zip and
the student release.

* :func:`build_gradescope_zip`: ``setup.sh`` and ``run_autograder`` (from
  ``grader/gradescope/``) at the top, beside the grader and what it needs (``grader/``,
  ``coursedata/``, ``kata/``, ``data/``, ``pyproject.toml``, ``README.md``); Gradescope unpacks
  it into ``/autograder/source``.
* :func:`export_kata`: the handout's flat files (``nn.py``, ``util.py``, ``q4.py``,
  ``run_q2.py`` ...) with their package imports (``from .nn import *``) rewritten to the
  handout's flat ones (``from nn import *``): a zip the grader grades as a student's upload.
* :func:`build_release`: the committed tree of a git ref (``git archive``, default ``HEAD``;
  never the working copy) less :data:`INSTRUCTOR_ONLY`, in a zip with one top folder,
  ``nn-recognition-kata/``; it refuses while ``kata/`` differs from that ref.

The Gradescope zip's files are those git knows (tracked, plus new files it does not ignore),
or, without git, the tree less what ``.gitignore`` names. Zips are reproducible: sorted
entries, a fixed timestamp, the permission bits of each file.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "gradescope"
RELEASE_FOLDER = "nn-recognition-kata"

# What Gradescope's image needs to grade: the grader, the data loader, the project's util.py
# (used when a submission lacks one), the bundled data, and the files pip installs it from.
GRADESCOPE_PATHS = ("pyproject.toml", "README.md", "grader/", "coursedata/", "kata/", "data/")
GRADESCOPE_SCRIPTS = ("setup.sh", "run_autograder")

# Left out of the student release:
# * solutions/: the reference implementations;
# * .ci/: CI runs the test suite and the grader on solutions/, which a release lacks;
# * tests/mutants/ and tests/test_mutants.py: the mutant suite's catalog holds complete,
#   correct Q2 answers in the handout's format (mutants/student/nn.py, mutants/loops/nn.py)
#   beside the wrong ones; the suite tests the grader's checks, not a student's work;
# * tests/test_grader*.py: the grader's own tests (its checks against solutions/, the mutants
#   and hostile submissions); they carry question markers, so in a release they would count
#   in the student's progress summary as passed checks of questions not yet started;
# * tests/test_packaging.py: tests these artifacts, which are built from the instructors' tree;
# * and every other test module that needs tests/mutants/ (it imports ``mutants`` or names the
#   folder; see :func:`uses_mutants`).
# Patterns as fnmatch reads them ("*" crosses folders).
INSTRUCTOR_ONLY = (
    "solutions/*",
    ".ci/*",
    "tests/mutants/*",
    "tests/test_mutants.py",
    "tests/test_grader*.py",
    "tests/test_packaging.py",
    # the benchmarks time the solutions (and compare them with PyTorch)
    "benchmarks/*",
    "tests/test_benchmarks.py",
    # the maintainer's builder of data/q4_reference_net.npz: a complete Q2.3/Q2.4 backprop
    "coursedata/q4_reference.py",
    # the release's own templates (its README.md is rendered from one)
    "grader/release/*",
    # the leak test and its helpers (they build releases and need solutions/)
    "tests/test_release_leak.py",
    "tests/leak_runner.py",
    "tests/releases.py",
)

# The student's README, rendered into the release as README.md (the instructors' README
# starts with commands that need solutions/).
RELEASE_README = Path(__file__).resolve().parent / "release" / "README.md"
HINT_LEVELS = ("full", "nudge", "none")

# The handout's deliverables, flat at the top of a submission.
HANDOUT_FILES = (
    "nn.py",
    "util.py",
    "q4.py",
    "run_q2.py",
    "run_q3.py",
    "run_q4.py",
    "run_q5.py",
    "q6_train.py",
)
HANDOUT_GLOBS = ("run_q6_*.py",)

# Always skipped, whatever git or .gitignore say.
_NEVER = {".git", "__pycache__", ".DS_Store"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# ----------------------------------------------------------------------------- files
def project_files(root: str | Path = ROOT) -> list[str]:
    """The project's files, as sorted POSIX paths relative to ``root``.

    Parameters
    ----------
    root : path
        The project folder.

    Returns
    -------
    list of str
        With git (``root`` the top of a work tree): the files it tracks plus the new files it
        does not ignore (``git ls-files --cached --others --exclude-standard``), those that
        exist. Without git: every file under ``root`` that ``root/.gitignore`` does not
        ignore. ``.git``, ``__pycache__`` and ``.DS_Store`` never.
    """
    root = Path(root).resolve()
    listed = _git_files(root)
    if listed is None:
        listed = _walk_files(root, _gitignore_patterns(root))
    keep = []
    for rel in listed:
        if _NEVER & set(PurePosixPath(rel).parts):
            continue
        path = root / rel
        if path.is_file() and not path.is_symlink():
            keep.append(rel)
    return sorted(set(keep))


def _git_files(root: Path) -> list[str] | None:
    """What git lists under ``root``, or None when ``root`` is not the top of a work tree."""
    try:
        top = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root:
            return None
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others"]
            + ["--exclude-standard"],
            capture_output=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return [p for p in listed.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def _gitignore_patterns(root: Path) -> list[str]:
    path = root / ".gitignore"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "!"))]


def _ignored(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    """Whether ``rel`` matches one of ``.gitignore``'s (simple) patterns."""
    name = rel.rsplit("/", 1)[-1]
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        pattern = pattern.strip("/") if "/" in pattern.rstrip("/") else pattern.rstrip("/")
        if dir_only and not is_dir:
            continue
        if "/" in pattern:  # anchored at the root
            if fnmatch.fnmatchcase(rel, pattern.lstrip("/")):
                return True
        elif fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def _walk_files(root: Path, patterns: list[str]) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        dirs[:] = sorted(
            d for d in dirs if d not in _NEVER and not _ignored(prefix + d, True, patterns)
        )
        found += [prefix + f for f in files if not _ignored(prefix + f, False, patterns)]
    return found


def uses_mutants(path: str | Path) -> bool:
    """Whether the Python file ``path`` needs ``tests/mutants/`` (left out of releases).

    Parameters
    ----------
    path : path
        A Python file.

    Returns
    -------
    bool
        True when it imports ``mutants`` (``from mutants.catalog import ...``) or holds the
        string ``"mutants"`` (a path such as ``ROOT / "tests" / "mutants"``).
    """
    return _source_uses_mutants(Path(path).read_text(encoding="utf-8", errors="replace"))


def _source_uses_mutants(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mutants":
            return True
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "mutants" for a in node.names
        ):
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value == "mutants" or "tests/mutants" in node.value:
                return True
    return False


def _under(rel: str, prefixes) -> bool:
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in prefixes)


# ----------------------------------------------------------------------------- zips
def _write(zf: zipfile.ZipFile, arcname: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(arcname, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix: unzip restores the permission bits below
    info.external_attr = (stat.S_IFREG | mode) << 16
    zf.writestr(info, data)


def _mode(path: Path) -> int:
    return 0o755 if os.stat(path).st_mode & 0o111 else 0o644


def _new_zip(out_path: str | Path) -> tuple[Path, zipfile.ZipFile]:
    out = Path(out_path).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    return out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9)


# ----------------------------------------------------------------------------- Gradescope
_Q6_DATA_BEFORE = "# Fail the image build now"


def q6_data_setup(setup: str, sun_url: str | None = None, sun_sha256: str | None = None) -> str:
    """``setup.sh`` that also downloads Q6's datasets at build time (``--with-q6-data``).

    The project installs with the ``download`` extra too (pooch), then
    ``python3 -m coursedata.download cifar10 flowers17 squeezenet`` puts CIFAR-10 and
    Flowers-17 into ``/autograder/source/data/external/`` (where the grader looks) and
    SqueezeNet's weights into torch's cache, each verified; a failed download fails the build.
    The SUN subset has no public copy: with ``sun_url`` (the course's archive, and its
    ``sun_sha256``) it is installed too; without, the build says Q6.1.4 stays not gradable.

    Parameters
    ----------
    setup : str
        The ``setup.sh`` template's text.
    sun_url, sun_sha256 : str, optional

    Returns
    -------
    str
    """
    import shlex

    fetch = "python3 -m coursedata.download cifar10 flowers17 squeezenet"
    if sun_url:
        sun = f"python3 -m coursedata.download sun --sun-url {shlex.quote(sun_url)}"
        if sun_sha256:
            sun += f" --sun-sha256 {shlex.quote(sun_sha256)}"
    else:
        sun = (
            'echo "Q6.1.4: no --sun-url given to gradescope-zip (the SUN scene subset has no '
            'public copy); Q6.1.4 stays not gradable"'
        )
    block = (
        "# --with-q6-data: Q6's datasets, downloaded and verified now, at build time, where the\n"
        "# grader looks (data/external/ here, SqueezeNet's weights in torch's cache); the image\n"
        "# keeps the installed data, not the archives.\n"
        f'cd "$SOURCE"\n{fetch}\n{sun}\nrm -rf "$SOURCE/data/downloads"\n\n'
    )
    setup = setup.replace('"$SOURCE[torch]"', '"$SOURCE[torch,download]"')
    if _Q6_DATA_BEFORE in setup:
        return setup.replace(_Q6_DATA_BEFORE, block + _Q6_DATA_BEFORE, 1)
    return setup.rstrip("\n") + "\n\n" + block


def build_gradescope_zip(
    out_path: str | Path = "autograder.zip",
    *,
    with_q6_data: bool = False,
    sun_url: str | None = None,
    sun_sha256: str | None = None,
    hints: str = "nudge",
) -> Path:
    """Build Gradescope's ``autograder.zip`` from this project.

    At the top: ``setup.sh`` (installs Python 3 when absent and bubblewrap, the sandbox of
    each question's submission process, then ``pip install
    "/autograder/source[torch]"``: the dependencies of ``pyproject.toml``, PyTorch's CPU
    wheels) and ``run_autograder`` (grades ``/autograder/submission`` into
    ``/autograder/results/results.json``; ``AUTOGRADER_ROOT`` and ``NRK_QUESTIONS`` change
    the root and the questions), both executable; beside them ``pyproject.toml`` (which finds
    its packages, so it installs without ``solutions/``), ``README.md``, ``grader/``,
    ``coursedata/``, ``kata/`` and ``data/``. Neither ``solutions/`` nor ``tests/``: the
    grader needs neither.

    Parameters
    ----------
    out_path : path
        The zip to write (its folder is created).
    with_q6_data : bool
        ``setup.sh`` also downloads Q6's datasets at build time (:func:`q6_data_setup`).
    sun_url, sun_sha256 : str, optional
        With ``with_q6_data``: the SUN subset's archive and its sha256.
    hints : str
        The hint level of the messages students read (``grader/face.json`` in the zip):
        ``nudge`` (what is wrong and which question to reread), ``full`` or ``none``.

    Returns
    -------
    pathlib.Path
        The zip written.
    """
    if hints not in HINT_LEVELS:
        raise ValueError(f"hints {hints!r}: expected one of {', '.join(HINT_LEVELS)}")
    files = [
        f
        for f in project_files(ROOT)
        if _under(f, GRADESCOPE_PATHS) and not f.startswith("grader/gradescope/")
    ]
    out, zf = _new_zip(out_path)
    with zf:
        for script in GRADESCOPE_SCRIPTS:
            data = (TEMPLATES / script).read_bytes()
            if script == "setup.sh" and with_q6_data:
                data = q6_data_setup(data.decode("utf-8"), sun_url, sun_sha256).encode("utf-8")
            _write(zf, script, data, 0o755)
        for rel in files:
            if rel == "grader/face.json":
                continue
            data = (ROOT / rel).read_bytes()
            _write(zf, rel, data, _mode(ROOT / rel))
        face = {"face": "full", "hints": hints}  # the hidden face, at this hint level
        _write(zf, "grader/face.json", json.dumps(face).encode("utf-8"))
    return out


# ----------------------------------------------------------------------------- export
def handout_files(folder: str | Path) -> list[Path]:
    """The handout's deliverables present in ``folder`` (``kata/`` or ``solutions/``).

    Parameters
    ----------
    folder : path
        A folder of this project's layout.

    Returns
    -------
    list of pathlib.Path
        ``nn.py``, ``util.py``, ``q4.py``, ``run_q2.py`` ... ``q6_train.py`` and every
        ``run_q6_*.py``, those that exist, in that order.
    """
    folder = Path(folder)
    found = [folder / name for name in HANDOUT_FILES if (folder / name).is_file()]
    for pattern in HANDOUT_GLOBS:
        found += sorted(folder.glob(pattern))
    return found


def flatten_imports(source: str, package: str) -> str:
    """Rewrite a module of ``package`` to the handout's flat imports.

    ``from .util import *`` and ``from package.util import *`` become ``from util import *``;
    ``from . import nn`` becomes ``import nn``; ``import package.nn as nn`` becomes
    ``import nn as nn``; ``python -m package.run_q3`` in the text becomes
    ``python run_q3.py``.

    Parameters
    ----------
    source : str
        The module's text.
    package : str
        The package it belongs to (``kata``).

    Returns
    -------
    str
        The text with flat imports.

    Raises
    ------
    ValueError
        An import reaches above the package (``from ..x``) or the rewrite left one behind.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    pkg = re.escape(package)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or _in_package(node.module, package)):
            if node.level > 1:
                raise ValueError(f"line {node.lineno}: an import above the package (from ..)")
            i = node.lineno - 1
            if node.level and not node.module:  # from . import nn  ->  import nn
                new = re.sub(r"\bfrom\s+\.\s+import\b", "import", lines[i], count=1)
            elif node.level:  # from .nn import x  ->  from nn import x
                new = re.sub(r"\bfrom\s+\.", "from ", lines[i], count=1)
            else:  # from kata.nn import x  ->  from nn import x;  from kata import nn
                new = re.sub(rf"\bfrom\s+{pkg}\.", "from ", lines[i], count=1)
                new = re.sub(rf"\bfrom\s+{pkg}\s+import\b", "import", new, count=1)
            lines[i] = new
        elif isinstance(node, ast.Import) and any(_in_package(a.name, package) for a in node.names):
            i = node.lineno - 1
            lines[i] = re.sub(rf"\b{pkg}\.(\w)", r"\1", lines[i])
    text = "".join(lines)
    text = re.sub(rf"python -m {pkg}\.(\w+)", r"python \1.py", text)
    left = [
        n.lineno
        for n in ast.walk(ast.parse(text))
        if (isinstance(n, ast.ImportFrom) and (n.level or _in_package(n.module, package)))
        or (isinstance(n, ast.Import) and any(_in_package(a.name, package) for a in n.names))
    ]
    if left:
        raise ValueError(f"package imports left on lines {left}")
    return text


def _in_package(module: str | None, package: str) -> bool:
    return bool(module) and (module == package or module.startswith(package + "."))


def export_kata(out_zip: str | Path = "submission.zip", impl: str = "kata") -> Path:
    """Pack the handout's deliverables of ``impl`` into a flat zip, gradable as an upload.

    Parameters
    ----------
    out_zip : path
        The zip to write (its folder is created).
    impl : str
        ``"kata"`` (the student's work) or ``"solutions"`` (to test the grader).

    Returns
    -------
    pathlib.Path
        The zip written: ``nn.py``, ``util.py``, ``q4.py``, ``run_q2.py``-``run_q5.py``,
        ``q6_train.py`` and ``run_q6_*.py`` at its top, importing each other flat
        (``from util import *``), as in the handout.

    Raises
    ------
    FileNotFoundError
        ``impl`` is not a folder of this project holding ``nn.py``.
    """
    folder = ROOT / impl
    if not (folder / "nn.py").is_file():
        raise FileNotFoundError(
            f"{folder} holds no nn.py: export takes 'kata' or 'solutions' "
            "(student releases have no solutions/)"
        )
    out, zf = _new_zip(out_zip)
    with zf:
        for path in handout_files(folder):
            text = flatten_imports(path.read_text(encoding="utf-8"), impl)
            _write(zf, path.name, text.encode("utf-8"))
    return out


# ----------------------------------------------------------------------------- release
class ReleaseError(RuntimeError):
    """The release cannot be built as asked; the message says why and what to do."""


def _git(root: Path, *args: str, binary: bool = False, timeout: float = 120):
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ReleaseError(f"git {' '.join(args)} could not run: {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise ReleaseError(f"git {' '.join(args)} failed: {err}")
    return proc.stdout if binary else proc.stdout.decode("utf-8", "surrogateescape")


def committed_tree(root: str | Path = ROOT, ref: str = "HEAD") -> dict[str, tuple[bytes, int]]:
    """The files of ``ref`` (``git archive``), never the working tree.

    Parameters
    ----------
    root : path
        A git work tree.
    ref : str
        A commit, branch or tag.

    Returns
    -------
    dict
        ``{path: (bytes, mode)}``, POSIX paths, modes 0o644 or 0o755; symbolic links and
        ``.git``/``__pycache__`` entries skipped.

    Raises
    ------
    ReleaseError
        ``root`` is not a git work tree, or ``ref`` names no commit.
    """
    root = Path(root).resolve()
    _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    data = _git(root, "archive", "--format=tar", ref, binary=True, timeout=300)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if not member.isfile() or _NEVER & set(PurePosixPath(member.name).parts):
                continue
            mode = 0o755 if member.mode & 0o111 else 0o644
            files[member.name] = (tar.extractfile(member).read(), mode)
    return files


def kata_changes(root: str | Path = ROOT, ref: str = "HEAD") -> list[str]:
    """Files under ``kata/`` whose working copy differs from ``ref``: changed, staged, deleted
    or new (and not ignored)."""
    root = Path(root).resolve()
    changed = _git(root, "diff", "--name-only", ref, "--", "kata/").split("\n")
    new = _git(root, "ls-files", "--others", "--exclude-standard", "--", "kata/").split("\n")
    return sorted({f for f in changed + new if f})


def release_files(
    root: str | Path = ROOT, ref: str = "HEAD", *, allow_dirty: bool = False
) -> dict[str, tuple[bytes, int]]:
    """What the student release holds: the committed tree of ``ref`` less the instructors'
    files (:data:`INSTRUCTOR_ONLY`, test modules that need the mutants, zips at the top).

    Raises
    ------
    ReleaseError
        ``kata/`` differs from ``ref`` (someone tried the kata in this checkout: the
        release is built from ``ref``, so those edits would silently not ship, or an answer
        would, once committed) and ``allow_dirty`` is false; or git cannot read ``ref``.
    """
    root = Path(root).resolve()
    if not allow_dirty:
        changes = kata_changes(root, ref)
        if changes:
            shown = ", ".join(changes[:8]) + (" ..." if len(changes) > 8 else "")
            raise ReleaseError(
                f"kata/ differs from {ref}: {shown}. A release is built from the committed "
                f"tree ({ref}), never from the working copy: commit or restore these files "
                "(git restore kata/), or pass --allow-dirty to build from "
                f"{ref} anyway."
            )
    tree = committed_tree(root, ref)
    return {
        rel: entry
        for rel, entry in sorted(tree.items())
        if not any(fnmatch.fnmatchcase(rel, pattern) for pattern in INSTRUCTOR_ONLY)
        and not ("/" not in rel and rel.endswith(".zip"))
        and not (
            rel.startswith("tests/")
            and rel.endswith(".py")
            and _source_uses_mutants(entry[0].decode("utf-8", "replace"))
        )
    }


def public_face(root: str | Path, ref: str, hints: str = "nudge") -> dict:
    """The files that make the release the student's (``grader/release/build.py`` run in a
    copy of ``ref``'s whole tree, so the expected values come from that commit's oracle):
    ``{path: (bytes, mode)}``; empty when ``ref`` has no such builder."""
    if hints not in HINT_LEVELS:
        raise ReleaseError(f"hints {hints!r}: expected one of {', '.join(HINT_LEVELS)}")
    tree = committed_tree(root, ref)
    if "grader/release/build.py" not in tree:
        return {}
    with tempfile.TemporaryDirectory(prefix="nrk-release-") as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "out"
        for rel, (data, mode) in tree.items():
            path = src / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        env = {k: v for k, v in os.environ.items() if k not in ("NRK_IMPL", "PYTHONPATH")}
        env |= {"PYTHONPATH": str(src), "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run(
            [sys.executable, "-m", "grader.release.build", str(out), "--hints", hints],
            cwd=src, env=env, capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise ReleaseError(f"recording the public checks failed:\n{proc.stderr[-3000:]}")
        return {
            p.relative_to(out).as_posix(): (p.read_bytes(), 0o644)
            for p in sorted(out.rglob("*"))
            if p.is_file()
        }


def points_table() -> str:
    """The handout's points per question, as the release README's Markdown table."""
    from grader.questions import QUESTIONS

    rows = ["| question | points | what |", "|---|---|---|"]
    for q in QUESTIONS:
        if q.written:
            points = "write-up"
        else:
            points = f"{q.points}" + (" extra credit" if q.extra_credit else "")
        rows.append(f"| Q{q.id} | {points} | {q.title} |")
    core = sum(q.points for q in QUESTIONS if not q.extra_credit and not q.written)
    extra = sum(q.points for q in QUESTIONS if q.extra_credit)
    rows.append(f"| total | {core} (+ {extra} extra credit) | |")
    return "\n".join(rows)


def release_readme(hints: str = "nudge", template: str | None = None) -> str:
    """The student's README: :data:`RELEASE_README` with the points table and hint level."""
    text = RELEASE_README.read_text(encoding="utf-8") if template is None else template
    return text.replace("<!-- points -->", points_table()).replace("<!-- hints -->", hints)


def build_release(
    out_zip: str | Path = f"{RELEASE_FOLDER}.zip",
    *,
    ref: str = "HEAD",
    allow_dirty: bool = False,
    root: str | Path | None = None,
    hints: str = "nudge",
) -> Path:
    """Build the student bundle from the committed tree of ``ref``, in one top folder.

    Parameters
    ----------
    out_zip : path
        The zip to write (its folder is created).
    ref : str
        The commit to build from (``git archive``), default ``HEAD``.
    allow_dirty : bool
        Build even when ``kata/`` differs from ``ref`` (the working copy never ships).
    root : path, optional
        The project's git work tree (default: this project, :data:`ROOT`).
    hints : str
        The hint level of the release's messages: ``full``, ``nudge`` or ``none``.

    Returns
    -------
    pathlib.Path
        The zip written: :func:`release_files` under ``nn-recognition-kata/``
        (``pyproject.toml`` finds its packages, so ``pip install -e .`` and tox work without
        ``solutions/``).

    Raises
    ------
    ReleaseError
        See :func:`release_files`.
    """
    root = ROOT if root is None else root
    files = release_files(root, ref, allow_dirty=allow_dirty)
    files.update(public_face(root, ref, hints))
    out, zf = _new_zip(out_zip)
    with zf:
        for rel, (data, mode) in files.items():
            _write(zf, f"{RELEASE_FOLDER}/{rel}", data, mode)
    return out
