"""Run a question's tasks in a separate, sandboxed process and read back what they returned.

The grader's process never imports submission code. For each question it writes the tasks'
inputs (never a check's private, judge-only keys) into a job folder and starts
``python -I grader/child.py JOBDIR``:

* **inside bubblewrap** (``bwrap``) when it can run: new user (an unprivileged uid/gid), pid,
  network, ipc and uts namespaces, ``--die-with-parent``, ``--new-session``; the file system
  is an empty root with, read-only, the system's libraries and Python, the few project files
  the child imports (the child runner, the check modules, ``coursedata``, the kata's given
  ``util.py``), the data the question's tasks read and the files their inputs name; the
  job's inputs read-only and its output folder writable; private, size-capped ``/tmp``,
  ``/dev/shm`` and scratch folder (RAM, gone with the process). No ``solutions/`` (unless it
  is what is graded), no ground truth, no other question's data, no class folder, no
  ``--out``/``--results``. When the question ends its pid namespace dies, and everything the
  submission started with it;
* **reduced** where bubblewrap cannot run (no user namespaces): a plain process in its own
  session, as an unprivileged uid when the grader is root (everything of that uid is killed
  after each question); the report says ``sandbox: reduced (reason)`` and
  ``--require-sandbox`` refuses to grade.

In both modes the child caps its own address space, CPU time and file size before any
submission code runs, and its printed output is read through a pipe, only the tail kept.

Deadlines are the parent's alone. The child announces each check on a pipe (``start i`` /
``done i``); the parent accepts only the next expected line, once, and ends the child on
anything else. A check's budget is the **CPU time** its process tree used (read by the parent
from ``/proc``, so a loaded machine does not cost points); the wall clock (``WALL_FACTOR``
times the budget) only stops runaways that wait or sleep.

Read-back is bounded: every returned file is checked (a regular file, size, ``.npy`` header:
numeric dtype, shape consistent with the size, within the per-check cap) before it is
loaded, and each check is read and judged one at a time.

What a check returned is taken when the child reports it ``done``: the parent moves the
check's files out of the job folder into a folder the child cannot see, and only then lets
the child go on (it waits for the parent's acknowledgement on a second pipe). Whatever the
submission writes later (an ``atexit`` handler, the next check) changes nothing already taken.
Values a task *observed* inside the submission's process (an argument left unchanged) can
still be forged by code in that process: checks resting on them only carry no points
(``Check.feedback``).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import json
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from grader.check import Check

if TYPE_CHECKING:
    from grader.submission import Submission

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "child.py"

# CPU time the child needs beyond its checks' budgets: starting Python, importing numpy and
# the shims, loading the submission.
STARTUP_SECONDS = 60.0
# The wall clock stops only runaways: a check may take WALL_FACTOR times its CPU budget in
# wall time (a sleeper, a process waiting on nothing) before it is stopped.
WALL_FACTOR = 5.0
# Read-back caps, per check: the JSON record and the arrays together.
MAX_RECORD_BYTES = 4 << 20
MAX_ARRAY_BYTES = 256 << 20
MAX_ARRAYS = 512
# The uid/gid the submission runs as inside the sandbox (and, reduced, when the grader is root).
SANDBOX_UID = 65534
# Reduced mode as root: each running child gets its own uid from this range, so that killing
# "everything of that uid" after a question touches no other question.
REDUCED_UIDS = range(61000, 61256)
_free_uids = list(REDUCED_UIDS)
_uid_lock = threading.Lock()
# A progress line is short: longer means the submission is writing on the channel.
MAX_PROGRESS_LINE = 64
_NUMERIC_KINDS = "fiub"
_BWRAP_ENV = "NRK_BWRAP"  # the bubblewrap executable (default: bwrap on PATH)
# Project files the child imports (relative to the project root): the runner, what it
# imports, the check modules (tasks), and the project's coursedata package.
CHILD_FILES = (
    "grader/__init__.py",
    "grader/child.py",
    "grader/check.py",
    "grader/implementation.py",
    "grader/shims.py",
    "grader/pages.py",
    "grader/questions.py",
    # the student release's public face (absent from the instructor's tree: skipped)
    "grader/face.py",
    "grader/face.json",
    "grader/recorded.py",
    "grader/public_expected.npz",
)
CHILD_FOLDERS = ("grader/checks", "coursedata")
# Not bound into the child although in those folders: the answers' builders (the trained Q4.4
# classifier's maker, a backprop of the 1024-64-36 network; the stand-in's maker). The oracle
# (grader/oracle.py) is not bound either: the tasks never use it, the judges do, here.
CHILD_HIDDEN_FILES = ("coursedata/q4_reference.py", "coursedata/build_standin.py")
# The kata's given util.py, used where a flat submission's util.py is the handout's.
GIVEN_FILES = ("kata/__init__.py", "kata/util.py")
# Data files no task reads from the data folder (a task that needs one gets it by path in its
# inputs, bound for that question only): the trained Q4.4 classifier, the photos and their
# ground truth.
HIDDEN_DATA = ("q4_reference_net.npz", "images", "README.md")


@dataclass(frozen=True)
class Limits:
    """Caps on one submission process."""

    memory_mb: int = 8192
    file_mb: int = 1024
    output_kb: int = 64  # printed output kept (the tail)
    time_factor: float = 1.0  # multiplies every check's budget (slow graders, --time-factor)
    # this machine's speed against the reference machine's (grader.calibration), timed at
    # grader start: None until then (1)
    machine_factor: float | None = None
    max_check_seconds: float | None = None  # caps any one check's budget (--timeout)
    tmp_mb: int = 512  # the sandbox's /tmp and scratch folder (RAM), each
    shm_mb: int = 256  # the sandbox's /dev/shm (PyTorch DataLoader workers pass batches there)
    sandbox: str = "auto"  # auto | require (bubblewrap or refuse) | reduced (--no-sandbox)

    @property
    def scale(self) -> float:
        """What every budget is multiplied by: ``time_factor`` times ``machine_factor``."""
        return self.time_factor * (self.machine_factor or 1.0)

    def budget(self, check: Check) -> float:
        """CPU seconds ``check`` may use under these limits."""
        seconds = check.budget * self.scale
        if self.max_check_seconds is not None:
            seconds = min(seconds, self.max_check_seconds)
        return seconds


@dataclass
class Outcome:
    """What came back from one check's task, before judging."""

    status: str  # ok | not implemented | not provided | error | timeout | crashed | not run
    message: str = ""
    out: dict = field(default_factory=dict)
    seconds: float = 0.0
    shims: list[str] = field(default_factory=list)


class SandboxUnavailable(RuntimeError):
    """``--require-sandbox`` and bubblewrap cannot run here (the message says why)."""


# --------------------------------------------------------------------------- the sandbox
@dataclass(frozen=True)
class Mode:
    """How submission processes are isolated here."""

    bwrap: str | None  # the bubblewrap executable, or None: reduced
    reason: str = ""  # why reduced
    uid: int | None = None  # reduced, as root: the unprivileged uid children run as

    @property
    def line(self) -> str:
        """The line the table, results.json and report.html show."""
        if self.bwrap:
            return "sandbox: bubblewrap (namespaces, read-only file system, capped /tmp)"
        return f"sandbox: reduced ({self.reason})"


def sandbox_mode(limits: Limits | None = None) -> Mode:
    """The isolation the submission processes get under ``limits``.

    Raises
    ------
    SandboxUnavailable
        ``limits.sandbox == "require"`` and bubblewrap cannot run here.
    """
    wanted = (limits or Limits()).sandbox
    if wanted == "reduced":
        mode = _reduced("bubblewrap turned off with --no-sandbox")
    else:
        mode = _probe()
    if wanted == "require" and not mode.bwrap:
        raise SandboxUnavailable(
            f"--require-sandbox: bubblewrap cannot run here ({mode.reason}); install the "
            "`bubblewrap` package and allow unprivileged user namespaces, or grade without "
            "--require-sandbox (reduced isolation, reported as such)"
        )
    return mode


@functools.cache
def _probe() -> Mode:
    exe = os.environ.get(_BWRAP_ENV) or shutil.which("bwrap")
    if not exe:
        return _reduced("bubblewrap is not installed (Debian/Ubuntu package `bubblewrap`)")
    try:
        proc = subprocess.run(
            [exe, *_namespace_args(), *_system_binds(), sys.executable, "-I", "-c", "pass"],
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _reduced(f"bubblewrap could not start: {exc}")
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip().splitlines()
        return _reduced(
            "bubblewrap cannot run here: "
            + (why[-1] if why else f"exit status {proc.returncode}")
            + " (user namespaces disabled?)"
        )
    return Mode(exe)


def _reduced(reason: str) -> Mode:
    if os.geteuid() != 0:
        return Mode(None, reason + "; runs as the grader's user, escaped processes not killed")
    try:  # can the unprivileged uid run this Python at all?
        ok = (
            subprocess.run(
                [sys.executable, "-I", "-c", "pass"],
                user=SANDBOX_UID,
                group=SANDBOX_UID,
                extra_groups=[],
                capture_output=True,
                timeout=60,
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        ok = False
    if ok:
        uids = f"{REDUCED_UIDS.start}-{REDUCED_UIDS.stop - 1}"
        return Mode(None, reason + f"; runs as uids {uids}, each killed with all its processes",
                    REDUCED_UIDS.start)  # fmt: skip
    return Mode(None, reason + "; runs as root (the unprivileged uid cannot run this Python)")


def _namespace_args() -> list[str]:
    return [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--uid", str(SANDBOX_UID),
        "--gid", str(SANDBOX_UID),
        "--hostname", "sandbox",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--proc", "/proc",
        "--dev", "/dev",
    ]  # fmt: skip


def python_dirs() -> list[Path]:
    """Where this Python and its packages live (bound read-only into the sandbox)."""
    dirs = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    dirs.add(Path(sys.executable).resolve().parent.parent)
    import site

    for p in site.getsitepackages():
        if Path(p).is_dir():
            dirs.add(Path(p).resolve())
    # package folders a .pth file or PYTHONPATH adds (a virtualenv sharing another
    # environment's PyTorch): the child's Python reads the same .pth and needs them too
    for p in sys.path:
        path = Path(p)
        if ({"site-packages", "dist-packages"} & set(path.parts) and path.is_dir()
                and not _inside(path.resolve(), ROOT)):  # fmt: skip
            dirs.add(path.resolve())
    top = sorted(dirs, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for d in top:
        if d != Path("/") and not any(_inside(d, k) for k in kept):
            kept.append(d)
    return kept


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _system_binds(pythons: list[Path] | None = None) -> list[str]:
    """Read-only: the system's programs and libraries, a few files of /etc, and Python
    (``pythons``, default :func:`python_dirs`)."""
    args = []
    for name in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
                 "nsswitch.conf", "alternatives", "fonts", "ssl/certs"):  # fmt: skip
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    for d in python_dirs() if pythons is None else pythons:
        if not any(_inside(d, Path("/") / n) for n in ("usr", "bin", "lib", "lib64")):
            args += ["--ro-bind", str(d), str(d)]
    return args


def _project_binds(submission: Submission, pythons: list[Path] | None = None) -> list[str]:
    """Read-only: the project files the child imports (and the package graded, if ours)."""
    args = []
    # The project may live inside a folder bound above (a virtualenv in the checkout, a
    # system prefix): hide it, then show only what the child needs.
    if any(_inside(ROOT, d) for d in (python_dirs() if pythons is None else pythons)):
        args += ["--tmpfs", str(ROOT)]
    files = [*CHILD_FILES, *GIVEN_FILES]
    for folder in CHILD_FOLDERS:
        files += [str(p.relative_to(ROOT)) for p in sorted((ROOT / folder).glob("*.py"))]
    files = [f for f in files if f not in CHILD_HIDDEN_FILES]
    for rel in files:
        path = ROOT / rel
        if path.is_file():
            args += ["--ro-bind", str(path), str(path)]
            # their compiled forms, when the grader has them (start-up without compiling)
            for pyc in sorted((path.parent / "__pycache__").glob(f"{path.stem}.*.pyc")):
                args += ["--ro-bind", str(pyc), str(pyc)]
    if submission.package:
        package = str(ROOT / submission.package)
        args += ["--ro-bind", package, package]
    return args


def _data_binds() -> list[str]:
    """Read-only: the course data the tasks load themselves (NIST36, external datasets,
    cached weights), without the answer data (see ``HIDDEN_DATA``)."""
    from coursedata import data_dir

    args, seen = [], set()
    for folder in {data_dir(), ROOT / "data"}:
        if not folder.is_dir() or folder in seen:
            continue
        seen.add(folder)
        for entry in sorted(folder.iterdir()):
            if entry.name in HIDDEN_DATA or entry.is_symlink() and not entry.exists():
                continue
            args += ["--ro-bind", str(entry), str(folder / entry.name)]
    for name, value in _data_env().items():
        if name != "NRK_DATA_DIR" and Path(value).is_dir():
            args += ["--ro-bind", value, value]
    return args


def _data_env() -> dict:
    """Where the data lives (``NRK_DATA_DIR``, ``NRK_CIFAR10_DIR`` ...) and PyTorch's cache
    of pretrained weights (``TORCH_HOME``, else the grader's ``~/.cache/torch`` when it
    exists: the child's home is its scratch folder)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if (name.startswith("NRK_") and name.endswith("_DIR")) or name == "TORCH_HOME"
    }
    if "TORCH_HOME" not in env:
        cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
        torch_home = Path(cache, "torch").expanduser()
        if torch_home.is_dir():
            env["TORCH_HOME"] = str(torch_home)
    return env


def bwrap_prefix(
    submission: Submission,
    limits: Limits | None = None,
    pythons: list[Path] | None = None,
) -> list[str] | None:
    """The bubblewrap command line a question's child starts with (namespaces, the read-only
    system, the project files and data for ``submission``, capped ``/tmp`` and
    ``/dev/shm``), before the job's own binds; None where bubblewrap cannot run. For
    measurements and tests. ``pythons``: the folders of Python bound read-only (default
    :func:`python_dirs`, this Python's)."""
    limits = limits or Limits()
    mode = sandbox_mode(limits)
    if not mode.bwrap:
        return None
    args = [mode.bwrap, *_namespace_args(), *_tmp_mounts(limits), *_system_binds(pythons)]
    return args + _project_binds(submission, pythons) + _data_binds() + ["--remount-ro", "/"]


def _tmp_mounts(limits: Limits) -> list[str]:
    """Private, capped ``/tmp`` and ``/dev/shm``. They come before every bind: Python, the
    project or the data may live under ``/tmp`` (a CI checkout), and a tmpfs mounted after
    their binds would hide them."""
    args = []
    for path, size in (("/tmp", limits.tmp_mb), ("/dev/shm", limits.shm_mb)):
        args += ["--size", str(size << 20), "--tmpfs", path]
    return args


def _input_paths(inputs: list[dict]) -> list[str]:
    """Files a task's inputs name by absolute path (a photo, a classifier): bound read-only
    for this question only."""
    found = set()

    def visit(value):
        if isinstance(value, str) and value.startswith("/") and len(value) < 4096:
            path = Path(value)
            if path.is_file() and not _inside(path, ROOT / "solutions"):
                found.add(str(path))
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)

    for values in inputs:
        for value in values.values():
            visit(value)
    args = []
    for path in sorted(found):
        args += ["--ro-bind", path, path]
    return args


# ------------------------------------------------------------------------- process output
def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _death_reason(returncode: int, limits: Limits, cpu_cap: float) -> str:
    if returncode < 0 or returncode > 128:
        # a direct child (the reduced mode) killed by signal N has returncode -N; bubblewrap
        # reports its child's death by signal N as exit status 128 + N
        name = _signal_name(-returncode if returncode < 0 else returncode - 128)
        if name == "SIGSEGV":
            return "the process crashed with a segmentation fault (SIGSEGV)"
        if name == "SIGXCPU":
            return f"the process used more than its {cpu_cap:.0f} s of CPU time"
        if name == "SIGKILL":
            return (
                "the process was killed (SIGKILL), most often for using more memory than "
                f"the {limits.memory_mb} MB cap"
            )
        if name == "SIGXFSZ":
            return f"the process wrote a file larger than the {limits.file_mb} MB cap"
        return f"the process was killed by {name}"
    return (
        f"the process exited with status {returncode} in the middle of the check "
        "(os._exit or a crash); library code must return values, not exit"
    )


class _Tail(threading.Thread):
    """Reads a pipe to its end, keeping only the last ``limit`` bytes."""

    def __init__(self, pipe, limit: int):
        super().__init__(daemon=True)
        self.pipe, self.limit = pipe, limit
        self.chunks: collections.deque[bytes] = collections.deque()
        self.kept = 0
        self.total = 0

    def run(self):
        while chunk := self.pipe.read1(65536):
            self.total += len(chunk)
            self.chunks.append(chunk)
            self.kept += len(chunk)
            while self.kept - len(self.chunks[0]) >= self.limit:
                self.kept -= len(self.chunks.popleft())

    def text(self) -> str:
        data = b"".join(self.chunks)[-self.limit :]
        text = data.decode("utf-8", errors="replace")
        if self.total > self.limit:
            text = f"[... {self.total - len(data)} bytes of output cut ...]\n" + text
        return text


# ------------------------------------------------------------------------ inputs, outputs
@dataclass(frozen=True)
class JobFiles:
    """The folders of one question's run (see :func:`job_files`)."""

    jobdir: Path  # the inputs (read-only to the child) and, per check, what it returned
    work: Path  # the child's working folder (its copy of a folder submission)
    taken: Path  # what came back, moved out of the child's reach (see ``_Run``)
    task_inputs: list[dict]  # what was written: each check's task inputs, in order


@contextlib.contextmanager
def job_files(checks: list[Check], inputs: list[dict]) -> Iterator[JobFiles]:
    """A question's job folder, as long as the context lasts, holding the files the child
    reads: each check's :meth:`~grader.check.Check.task_inputs` (``in_i.json``,
    ``in_i.npz``), never its private, judge-only keys. :func:`run_question` runs in it."""
    task_inputs = [c.task_inputs(v) for c, v in zip(checks, inputs)]
    with tempfile.TemporaryDirectory(prefix="nrk-q-") as tmp:
        tmp = Path(tmp)
        files = JobFiles(tmp / "job", tmp / "work", tmp / "taken", task_inputs)
        files.jobdir.mkdir()
        files.work.mkdir()
        files.taken.mkdir(mode=0o700)
        for i, values in enumerate(task_inputs):
            write_inputs(files.jobdir, i, values)
        yield files


def write_inputs(jobdir: Path, index: int, inputs: dict) -> None:
    """Write one check's task inputs (arrays to ``.npz``, the rest to JSON) into ``jobdir``."""
    arrays = {k: v for k, v in inputs.items() if isinstance(v, np.ndarray)}
    values = {k: v for k, v in inputs.items() if not isinstance(v, np.ndarray)}
    (jobdir / f"in_{index}.json").write_text(json.dumps(values), encoding="utf-8")
    if arrays:
        np.savez(jobdir / f"in_{index}.npz", **arrays)


class Unreadable(ValueError):
    """What came back breaks the read-back rules (the message says how)."""


def _open_regular(path: Path, limit: int):
    """Open ``path`` for reading only if it is a regular file (no link) of at most ``limit``
    bytes; return the file and its size."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise Unreadable(f"{path.name} could not be opened ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise Unreadable(f"{path.name} is not a regular file")
    if info.st_nlink != 1:  # another name for it could still be written after it was taken
        os.close(fd)
        raise Unreadable(f"{path.name} has {info.st_nlink} names (hard links), not one")
    if info.st_size > limit:
        os.close(fd)
        raise Unreadable(f"{path.name} holds {info.st_size} bytes, over the {limit} cap")
    return os.fdopen(fd, "rb"), info.st_size


def read_array(path: Path, limit: int) -> np.ndarray:
    """A returned ``.npy`` file, its header checked before any data is read: a numeric dtype
    (no objects, no fields), a shape whose bytes match the file, at most ``limit`` bytes."""
    f, size = _open_regular(path, limit + 65536)
    with f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"format version {version}")
        except ValueError as exc:
            raise Unreadable(f"{path.name} is not a valid .npy file ({exc})") from None
        if dtype.hasobject or dtype.names or dtype.kind not in _NUMERIC_KINDS:
            raise Unreadable(f"{path.name} holds {dtype} values, not numbers")
        count = 1
        for n in shape:
            count *= int(n)
        nbytes = count * dtype.itemsize
        if nbytes > limit:
            raise Unreadable(f"{path.name} holds {nbytes} bytes of data, over the {limit} cap")
        if nbytes != size - f.tell():
            raise Unreadable(f"{path.name}: its header says {nbytes} bytes, the file differs")
        data = f.read(nbytes)
    array = np.frombuffer(data, dtype=dtype).copy()
    return array.reshape(shape, order="F" if fortran else "C")


_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def read_outcome(jobdir: Path, index: int, max_bytes: int = MAX_ARRAY_BYTES) -> Outcome | None:
    """What check ``index`` returned, read under the caps (None: no record)."""
    record_path = jobdir / f"out_{index}.json"
    if not os.path.lexists(record_path):
        return None
    try:
        f, _ = _open_regular(record_path, MAX_RECORD_BYTES)
        with f:
            record = json.loads(f.read().decode("utf-8"))
        if not isinstance(record, dict) or record.get("status") not in (
            "ok",
            "not implemented",
            "not provided",
            "error",
        ):
            raise Unreadable("unknown status")
        out = dict(record.get("values") or {}) if record["status"] == "ok" else {}
        out["__none__"] = [str(n) for n in record.get("none") or []]
        names = record.get("arrays") or [] if record["status"] == "ok" else []
        if not isinstance(names, list) or len(names) > MAX_ARRAYS:
            raise Unreadable("a bad list of arrays")
        left = max_bytes
        for k, name in enumerate(names):
            if not isinstance(name, str) or not _ARRAY_NAME.match(name):
                raise Unreadable(f"an array named {str(name)[:40]!r}")
            array = read_array(jobdir / f"out_{index}_{k}.npy", left)
            left -= array.nbytes
            out[name] = array
        return Outcome(
            record["status"],
            str(record.get("message", ""))[:2000],
            out,
            float(record.get("seconds", 0.0) or 0.0),
            [str(s)[:200] for s in (record.get("shims") or [])[:50]],
        )
    except Unreadable as exc:
        return Outcome("error", f"what came back could not be read: {exc}")
    except Exception as exc:  # a garbled record: the submission wrote over it
        return Outcome("error", f"what came back could not be read ({type(exc).__name__})")


def take_outcome(jobdir: Path, index: int, into: Path) -> None:
    """Move what check ``index`` left in ``jobdir`` (``out_i.json``, ``out_i_k.npy``) into
    ``into``, a folder the child cannot reach, entries as they are (a link stays a link, for
    :func:`read_outcome` to refuse); ``into`` is then read like a job folder. A rename:
    nothing is read or copied here, whatever the files hold."""
    names = [f"out_{index}.json"]
    names += [f"out_{index}_{k}.npy" for k in range(MAX_ARRAYS)]
    for name in names:
        source = jobdir / name
        if not os.path.lexists(source):
            if name.endswith(".npy"):  # the arrays are numbered from 0: the first gap ends them
                break
            continue
        target = into / name
        if os.path.lexists(target):
            _remove(target)
        try:
            os.rename(source, target)
        except OSError:  # not movable (a mount point): leave it, read_outcome finds nothing
            pass


# ------------------------------------------------------------------------------- CPU time
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used by ``root`` and its descendants, live and reaped (from ``/proc``)."""
    parents, cpu = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(name)
        parents[pid] = int(fields[1])
        cpu[pid] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    children = collections.defaultdict(list)
    for pid, ppid in parents.items():
        children[ppid].append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0)
        todo += children.get(pid, ())
    return total / _TICK


# ------------------------------------------------------------------------------ questions
def run_question(
    submission: Submission,
    checks: list[Check],
    inputs: list[dict],
    limits: Limits | None = None,
    on_outcome: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Run the tasks of ``checks`` (one question's) against ``submission``.

    Parameters
    ----------
    submission : Submission
        What is graded: a package of this project or a folder
        (:class:`grader.submission.Submission`).
    checks : list of Check
        The checks whose tasks to run, in order.
    inputs : list of dict
        The inputs of each check (arrays and JSON values); only each check's
        :meth:`~grader.check.Check.task_inputs` leave this process.
    limits : Limits
        Caps on each process.
    on_outcome : callable, optional
        ``on_outcome(i, outcome)`` as each check's result is read back (one at a time); the
        returned arrays are dropped after it returns, so only one check's are held at once.

    Returns
    -------
    list of Outcome
        One per check, in order.
    """
    limits = limits or Limits()
    mode = sandbox_mode(limits)
    outcomes: list[Outcome | None] = [None] * len(checks)
    with job_files(checks, inputs) as files:
        jobdir, work, taken = files.jobdir, files.work, files.taken
        task_inputs = files.task_inputs
        uid = _take_uid() if mode.uid is not None else None
        try:
            if uid is not None:
                os.chmod(jobdir.parent, 0o711)
                for path in (jobdir, work):
                    os.chown(path, uid, uid)
            pending = list(range(len(checks)))
            keys = [_work_key(c, v) for c, v in zip(checks, task_inputs)]
            binds = _input_paths(task_inputs)
            reported: set[int] = set()
            while pending:
                before = set(pending)
                run = _Run(submission, checks, pending, jobdir, work, limits, mode, binds, uid,
                           taken)  # fmt: skip
                pending = run.go(outcomes, on_outcome, reported)
                _skip_shared_work(checks, keys, before - set(pending), pending, outcomes)
                pending = [i for i in pending if outcomes[i] is None]
        finally:
            if uid is not None:
                _give_uid(uid)
    final = [o or Outcome("not run", "the check did not run") for o in outcomes]
    if on_outcome:  # what did not come back from a child (timeouts, crashes, skipped)
        for i, outcome in enumerate(final):
            if i not in reported:
                on_outcome(i, outcome)
    return final


def _work_key(check: Check, inputs: dict) -> str:
    """Checks with the same task and inputs share one piece of work (a training run)."""
    digest = hashlib.sha256(check.task_ref.encode())
    for name in sorted(inputs):
        value = inputs[name]
        digest.update(name.encode())
        if isinstance(value, np.ndarray):
            digest.update(np.ascontiguousarray(value).tobytes())
        else:
            digest.update(json.dumps(value, sort_keys=True).encode())
    return digest.hexdigest()


def _skip_shared_work(checks, keys, finished, pending, outcomes) -> None:
    """A check whose shared work timed out or crashed is not run again: it would spend the
    same budget a second time to end the same way."""
    for i in sorted(finished):
        outcome = outcomes[i]
        if outcome is None or outcome.status not in ("timeout", "crashed"):
            continue
        for j in pending:
            if outcomes[j] is None and keys[j] == keys[i]:
                what = "ran out of time" if outcome.status == "timeout" else "crashed"
                outcomes[j] = Outcome(
                    outcome.status,
                    f"not run: it needs the same run as '{checks[i].name}', which {what}: "
                    + outcome.message,
                )


# One check's arrays in the grader's memory at a time, across every question and student.
_READ_BACK = threading.Lock()


class _Run:
    """One child process on the ``pending`` checks of a question."""

    def __init__(self, submission, checks, pending, jobdir, work, limits, mode, binds, uid=None,
                 taken=None):  # fmt: skip
        self.submission, self.checks, self.pending = submission, checks, pending
        self.uid = uid
        # a folder submission: the copy ingested (bound read-only, or copied when reduced)
        self.folder = str(submission.folder) if submission.folder is not None else None
        self.jobdir, self.work, self.limits, self.mode = jobdir, work, limits, mode
        self.binds = binds
        # where each check's files go when the child reports it done (out of its reach)
        self.taken = taken if taken is not None else jobdir.parent / "taken"
        self.budgets = {i: limits.budget(checks[i]) for i in pending}
        self.startup = STARTUP_SECONDS * limits.scale
        self.cpu_cap = self.startup + 2.0 * sum(self.budgets.values())
        # the whole child, whatever it claims: start-up plus every check's budget (wall)
        self.deadline = WALL_FACTOR * (STARTUP_SECONDS * limits.scale + sum(self.budgets.values()))

    # ----------------------------------------------------------------- the command line
    def _job(self, progress_fd: int, ack_fd: int) -> dict:
        """The job line the child reads (``job.json``): the submission, as the child loads it
        (see ``grader/child.py``), its checks and limits."""
        folder = self.folder
        sandboxed = bool(self.mode.bwrap)
        return {
            "root": str(ROOT),
            "jobdir": str(self.jobdir),
            "progress_fd": progress_fd,
            "ack_fd": ack_fd,
            "spec": self.submission.label,
            "package": self.submission.package,
            # inside bubblewrap the child copies the submission into its RAM scratch folder
            "source": folder if sandboxed else None,
            "folder": str(self.work / "submission") if folder else None,
            "limits": {
                "memory_bytes": self.limits.memory_mb << 20,
                "cpu_seconds": int(self.cpu_cap),
                "file_bytes": self.limits.file_mb << 20,
            },
            "checks": [{"index": i, "task": self.checks[i].task_ref} for i in self.pending],
        }

    def _env(self) -> dict:
        home = "/tmp" if self.mode.bwrap else str(self.work)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": home,
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": f"{home}/.matplotlib",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NRK_PROGRESS": "0",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        return env | _data_env()

    def _command(self) -> list[str]:
        python = [sys.executable, "-I", str(CHILD), str(self.jobdir)]
        if not self.mode.bwrap:
            return python
        args = [self.mode.bwrap, *_namespace_args(), *_tmp_mounts(self.limits)]
        args += _system_binds() + _project_binds(self.submission) + _data_binds() + self.binds
        args += ["--size", str(self.limits.tmp_mb << 20), "--tmpfs", str(self.work)]
        if self.folder:
            args += ["--ro-bind", self.folder, self.folder]
        # the job: inputs read-only, the job folder writable for the results
        args += ["--bind", str(self.jobdir), str(self.jobdir)]
        # the files the grader wrote, by name: an earlier child may have left links there
        for i in range(len(self.checks)):
            for name in (f"in_{i}.json", f"in_{i}.npz"):
                entry = self.jobdir / name
                if entry.is_file() and not entry.is_symlink():
                    args += ["--ro-bind", str(entry), str(entry)]
        args += ["--ro-bind", str(self.jobdir / "job.json"), str(self.jobdir / "job.json")]
        args += ["--remount-ro", "/"]
        args += ["--chdir", str(self.work), "--clearenv"]
        for name, value in self._env().items():
            args += ["--setenv", name, value]
        return args + ["--", *python]

    def _popen(self, write_fd: int, ack_fd: int) -> subprocess.Popen:
        extra = {}
        if self.uid is not None:
            extra = {"user": self.uid, "group": self.uid, "extra_groups": []}
        folder = self.folder
        if not self.mode.bwrap and folder:  # reduced: a scratch copy on disk
            copy = self.work / "submission"
            if not copy.exists():
                shutil.copytree(folder, copy, symlinks=True)
                if self.uid is not None:
                    for path in [copy, *copy.rglob("*")]:
                        os.chown(path, self.uid, self.uid, follow_symlinks=False)
        return subprocess.Popen(
            self._command(),
            cwd=self.work,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(write_fd, ack_fd),
            **extra,
        )

    # ----------------------------------------------------------------------- running
    def go(self, outcomes, on_outcome, reported) -> list[int]:
        """Run the child; fill ``outcomes``; return the checks left to run."""
        for name in os.listdir(self.jobdir):  # what an earlier child left
            if name.startswith("out_"):
                _remove(self.jobdir / name)
        self.taken.mkdir(mode=0o700, exist_ok=True)
        read_fd, write_fd = os.pipe()  # progress: child -> grader
        ack_read, ack_write = os.pipe()  # "taken, go on": grader -> child
        try:
            job = json.dumps(self._job(write_fd, ack_read))
            (self.jobdir / "job.json").write_text(job, encoding="utf-8")
            proc = self._popen(write_fd, ack_read)
        except BaseException:
            os.close(read_fd)
            os.close(ack_write)
            raise
        finally:
            os.close(write_fd)
            os.close(ack_read)
        try:
            tail = _Tail(proc.stdout, self.limits.output_kb << 10)
            tail.start()
            state = self._watch(proc, read_fd, ack_write)
            tail.join(timeout=5)
        finally:
            os.close(read_fd)
            os.close(ack_write)
        return self._collect(proc, state, tail.text(), outcomes, on_outcome, reported)

    def _watch(self, proc, read_fd, ack_fd) -> dict:
        """Follow the child's progress until it exits or is stopped; always kill it. At each
        ``done i``: take check ``i``'s files (:func:`take_outcome`), then let the child on."""
        order = list(self.pending)
        state = {"done": [], "current": None, "killed": None, "violation": ""}
        buffer = b""
        launched = time.monotonic()
        since_wall = launched
        since_cpu = 0.0
        next_cpu = 0.0
        try:
            while True:
                ready, _, _ = select.select([read_fd], [], [], 0.1)
                if ready:
                    chunk = os.read(read_fd, 4096)
                    if not chunk and proc.poll() is not None:
                        break
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        position = len(state["done"])
                        expected = (
                            f"done {state['current']}"
                            if state["current"] is not None
                            else (f"start {order[position]}" if position < len(order) else "")
                        )
                        if line.decode("ascii", errors="replace") != expected:
                            state["violation"] = line[:MAX_PROGRESS_LINE].decode(
                                "ascii", errors="replace"
                            )
                            state["killed"] = "protocol"
                            return state
                        if state["current"] is None:
                            state["current"] = order[position]
                        else:
                            take_outcome(self.jobdir, state["current"], self.taken)
                            state["done"].append(state["current"])
                            state["current"] = None
                            try:
                                os.write(ack_fd, b"\n")
                            except OSError:  # the child is gone: its exit is read below
                                pass
                        # a new phase: a check, or the time between checks
                        since_wall = time.monotonic()
                        since_cpu = tree_cpu_seconds(proc.pid)
                    if len(buffer) > MAX_PROGRESS_LINE:
                        state["violation"] = buffer[:MAX_PROGRESS_LINE].decode(
                            "ascii", errors="replace"
                        )
                        state["killed"] = "protocol"
                        return state
                    if not chunk:
                        time.sleep(0.05)
                elif proc.poll() is not None:
                    break
                now = time.monotonic()
                if now - launched > self.deadline:
                    state["killed"] = "deadline"
                    return state
                current = state["current"]
                # between checks (start-up, importing the submission): the start-up budget
                budget = self.startup if current is None else self.budgets[current]
                if now - since_wall > WALL_FACTOR * budget:
                    state["killed"] = "wall" if current is not None else "startup"
                    return state
                if now >= next_cpu:
                    next_cpu = now + 0.5
                    used = tree_cpu_seconds(proc.pid) - since_cpu
                    if used > budget:
                        state["killed"] = "cpu" if current is not None else "startup"
                        return state
        finally:
            self._kill(proc)
        return state

    def _kill(self, proc) -> None:
        """End the child and everything it started, whatever happened."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:  # bubblewrap's pid namespace dies with it; a reduced child's group goes too
            proc.kill()
        except OSError:
            pass
        if self.uid is not None:
            kill_uid(self.uid)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass

    def _collect(self, proc, state, output, outcomes, on_outcome, reported) -> list[int]:
        done = state["done"]
        for i in done:
            with _READ_BACK:
                outcome = read_outcome(self.taken, i) or Outcome("error", "no record came back")
                for name in os.listdir(self.taken):  # judged: its files are not needed
                    if name == f"out_{i}.json" or name.startswith(f"out_{i}_"):
                        _remove(self.taken / name)
                outcomes[i] = outcome
                if on_outcome:
                    on_outcome(i, outcome)
                    reported.add(i)
                    outcome.out = {}
        left = [i for i in self.pending if i not in done]
        if not left:
            return []
        current = state["current"]
        killed = state["killed"]
        returncode = proc.returncode
        if killed == "protocol":
            culprit = current if current is not None else left[0]
            outcomes[culprit] = Outcome(
                "crashed",
                "the submission's process wrote on the grader's progress channel "
                f"({state['violation']!r}); the check was stopped and counts as failed",
            )
            return [i for i in left if i != culprit]
        if killed in ("deadline", "startup") or current is None:
            # Died (or hung) before its next check started: nothing to gain from another try.
            if killed == "deadline":
                reason = (
                    "the submission's process ran past its deadline "
                    f"({self.deadline:.0f} s for start-up and every check)"
                )
            elif killed == "startup":
                reason = (
                    "the submission's process was stopped while starting (importing the "
                    f"submission) after its {self.startup:.0f} s start-up budget: look for "
                    "work done at import time (training, loading data) outside functions"
                )
            else:
                reason = "the submission's process could not start" + (
                    f": {_death_reason(returncode, self.limits, self.cpu_cap)}"
                    if returncode
                    else ""
                )
            for i in left:
                outcomes[i] = Outcome("crashed", _with_output(reason, output))
            return []
        budget = self.budgets[current]
        if killed == "cpu":
            outcomes[current] = Outcome(
                "timeout",
                f"stopped after using {budget:.0f} s of CPU time, its time budget; correct "
                "code, even with Python loops, takes far less: look for an endless loop or "
                "far more work than needed",
                seconds=budget,
            )
        elif killed == "wall":
            outcomes[current] = Outcome(
                "timeout",
                f"stopped after {WALL_FACTOR * budget:.0f} s of waiting ({WALL_FACTOR:g} "
                f"times its {budget:.0f} s time budget) with the CPU mostly idle: look for "
                "a sleep, input() or a wait on something that never comes",
                seconds=WALL_FACTOR * budget,
            )
        else:
            reason = _death_reason(returncode, self.limits, self.cpu_cap)
            outcomes[current] = Outcome("crashed", _with_output(reason, output))
        return [i for i in left if i != current]


def _take_uid() -> int:
    with _uid_lock:
        if not _free_uids:
            raise RuntimeError("more questions at once than reduced-mode uids")
        return _free_uids.pop(0)


def _give_uid(uid: int) -> None:
    kill_uid(uid)
    with _uid_lock:
        _free_uids.append(uid)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def kill_uid(uid: int) -> int:
    """SIGKILL every process of ``uid`` (reduced mode, as root); return how many."""
    killed = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            os.kill(int(name), signal.SIGKILL)
            killed += 1
        except OSError:
            continue
    return killed


def _with_output(reason: str, output: str) -> str:
    output = output.strip()
    if not output:
        return reason
    last = "\n".join(output.splitlines()[-8:])
    return f"{reason}. Last output:\n{last}"
