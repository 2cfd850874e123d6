"""Run a question's tasks in a separate, capped process and read back what they returned.

The grader's process never imports submission code. For each question it writes the tasks'
inputs into a job folder and starts ``python -I grader/child.py JOBDIR`` with:

* the working directory a scratch copy of the submission (never the grader's folder);
* caps the child sets on itself before any submission code runs: address space
  (``RLIMIT_AS``), CPU time (``RLIMIT_CPU``), file size (``RLIMIT_FSIZE``), no core dumps;
* a wall-clock budget per check: a check running past it is killed (with anything it
  started) and reported with how long it ran against which budget;
* its printed output read through a pipe and only the tail kept, however much it prints.

When the child dies in a check (segfault, ``os._exit``, the memory cap, a timeout), that
check fails with the reason and a fresh child goes on with the question's remaining checks.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.check import Check

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "child.py"

# Time the child needs beyond its checks' budgets: starting Python, importing numpy and the
# shims, loading the submission.
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """Caps on one submission process."""

    memory_mb: int = 8192
    file_mb: int = 1024
    output_kb: int = 64  # printed output kept (the tail)
    time_factor: float = 1.0  # multiplies every check's budget (slow graders, --time-factor)
    max_check_seconds: float | None = None  # caps any one check's budget (--timeout)

    def budget(self, check: Check) -> float:
        """Seconds ``check`` may run under these limits."""
        seconds = check.budget * self.time_factor
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


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _death_reason(returncode: int, limits: Limits, cpu_cap: float) -> str:
    if returncode < 0:
        name = _signal_name(returncode)
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


def _write_inputs(jobdir: Path, index: int, inputs: dict) -> None:
    arrays = {k: v for k, v in inputs.items() if isinstance(v, np.ndarray)}
    values = {k: v for k, v in inputs.items() if not isinstance(v, np.ndarray)}
    (jobdir / f"in_{index}.json").write_text(json.dumps(values), encoding="utf-8")
    if arrays:
        np.savez(jobdir / f"in_{index}.npz", **arrays)


def _read_outcome(jobdir: Path, index: int) -> Outcome | None:
    record_path = jobdir / f"out_{index}.json"
    if not record_path.exists():
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("status") not in (
            "ok",
            "not implemented",
            "not provided",
            "error",
        ):
            raise ValueError("unknown status")
        out = dict(record.get("values") or {}) if record["status"] == "ok" else {}
        if not isinstance(out, dict):
            raise ValueError("values is not a dict")
        out["__none__"] = [str(n) for n in record.get("none") or []]
        npz = jobdir / f"out_{index}.npz"
        if npz.exists() and record["status"] == "ok":
            with np.load(npz, allow_pickle=False) as data:
                out.update({k: np.asarray(data[k]) for k in data.files})
        return Outcome(
            record["status"],
            str(record.get("message", ""))[:2000],
            out,
            float(record.get("seconds", 0.0) or 0.0),
            [str(s) for s in record.get("shims") or []],
        )
    except Exception as exc:  # a garbled record: the submission wrote over it
        return Outcome("error", f"what came back could not be read ({type(exc).__name__})")


def _started(jobdir: Path) -> tuple[int | None, set[int]]:
    """The check running now (started, not done) and the set of finished ones."""
    current, done = None, set()
    try:
        lines = (jobdir / "progress").read_text(encoding="utf-8", errors="replace").split("\n")
    except FileNotFoundError:
        return None, done
    for line in lines:
        verb, _, index = line.partition(" ")
        if not index.isdigit():
            continue
        if verb == "start":
            current = int(index)
        elif verb == "done":
            done.add(int(index))
            if current == int(index):
                current = None
    return current, done


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _scratch(spec: dict, into: Path) -> dict:
    """Copy a flat submission into ``into`` (the child's working directory)."""
    if spec.get("folder"):
        copy = into / "submission"
        shutil.copytree(
            spec["folder"],
            copy,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git", "__MACOSX"),
            symlinks=False,
        )
        return spec | {"folder": str(copy)}
    return spec


def run_question(
    spec: dict,
    checks: list[Check],
    inputs: list[dict],
    limits: Limits | None = None,
) -> list[Outcome]:
    """Run the tasks of ``checks`` (one question's) against the submission ``spec``.

    Parameters
    ----------
    spec : dict
        ``{"spec": label, "package": "kata"}`` or ``{"spec": label, "folder": path}``.
    checks : list of Check
        The checks whose tasks to run, in order.
    inputs : list of dict
        The inputs of each check (arrays and JSON values).
    limits : Limits
        Caps on each process.

    Returns
    -------
    list of Outcome
        One per check, in order.
    """
    limits = limits or Limits()
    outcomes: list[Outcome | None] = [None] * len(checks)
    with tempfile.TemporaryDirectory(prefix="nrk-q-") as tmp:
        tmp = Path(tmp)
        jobdir = tmp / "job"
        work = tmp / "work"
        jobdir.mkdir()
        work.mkdir()
        child_spec = _scratch(spec, work)
        for i, (check, values) in enumerate(zip(checks, inputs)):
            _write_inputs(jobdir, i, check.task_inputs(values))
        pending = list(range(len(checks)))
        keys = [_work_key(c, c.task_inputs(v)) for c, v in zip(checks, inputs)]
        while pending:
            before = set(pending)
            pending = _run_child(child_spec, checks, pending, jobdir, work, limits, outcomes)
            _skip_shared_work(checks, keys, before - set(pending), pending, outcomes)
            pending = [i for i in pending if outcomes[i] is None]
    return [o or Outcome("not run", "the check did not run") for o in outcomes]


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


def _run_child(spec, checks, pending, jobdir, work, limits, outcomes) -> list[int]:
    """Start one child on ``pending`` checks; fill ``outcomes``; return what is left to run."""
    budgets = {i: limits.budget(checks[i]) for i in pending}
    cpu_cap = STARTUP_SECONDS + 2.0 * sum(budgets.values())
    (jobdir / "progress").write_text("", encoding="utf-8")
    job = {
        "root": str(ROOT),
        "jobdir": str(jobdir),
        "spec": spec["spec"],
        "package": spec.get("package"),
        "folder": spec.get("folder"),
        "limits": {
            "memory_bytes": limits.memory_mb << 20,
            "cpu_seconds": int(cpu_cap),
            "file_bytes": limits.file_mb << 20,
        },
        "checks": [{"index": i, "task": checks[i].task_ref} for i in pending],
    }
    (jobdir / "job.json").write_text(json.dumps(job), encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(work / ".matplotlib"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NRK_PROGRESS": "0",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # where the data lives (NRK_DATA_DIR, NRK_CIFAR10_DIR ...) and cached weights
    for name, value in os.environ.items():
        if (name.startswith("NRK_") and name.endswith("_DIR")) or name == "TORCH_HOME":
            env[name] = value
    proc = subprocess.Popen(
        [sys.executable, "-I", str(CHILD), str(jobdir)],
        cwd=spec.get("folder") or work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    tail = _Tail(proc.stdout, limits.output_kb << 10)
    tail.start()
    launched = time.monotonic()
    running, running_since = None, launched
    killed_for = None
    while proc.poll() is None:
        time.sleep(0.05)
        current, _ = _started(jobdir)
        now = time.monotonic()
        if current != running:
            running, running_since = current, now
        if running is None:
            if now - launched > STARTUP_SECONDS * limits.time_factor + sum(budgets.values()):
                killed_for = "startup"
                _kill(proc)
        elif now - running_since > budgets[running]:
            killed_for = running
            _kill(proc)
    # Whatever the child started and left behind (a forked writer, a sleeper) goes too.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    tail.join(timeout=5)
    current, done = _started(jobdir)
    output = tail.text()
    for i in pending:
        if i in done:
            outcomes[i] = _read_outcome(jobdir, i) or Outcome("error", "no record came back")
    left = [i for i in pending if i not in done]
    if not left:
        return []
    if killed_for == "startup" or current is None:
        # Died before its first check started: nothing to gain from another try.
        reason = (
            "the submission's process could not start"
            + (f" (it ran past {STARTUP_SECONDS:.0f} s)" if killed_for == "startup" else "")
            + (f": {_death_reason(proc.returncode, limits, cpu_cap)}" if proc.returncode else "")
        )
        for i in left:
            outcomes[i] = Outcome("crashed", _with_output(reason, output))
        return []
    if killed_for == current:
        budget = budgets[current]
        outcomes[current] = Outcome(
            "timeout",
            f"stopped after running {budget:.0f} s, its time budget; correct code, even with "
            "Python loops, takes far less: look for an endless loop or far more work than "
            "needed",
            seconds=budget,
        )
    else:
        reason = _death_reason(proc.returncode, limits, cpu_cap)
        outcomes[current] = Outcome("crashed", _with_output(reason, output))
    return [i for i in left if i != current]


def _with_output(reason: str, output: str) -> str:
    output = output.strip()
    if not output:
        return reason
    last = "\n".join(output.splitlines()[-8:])
    return f"{reason}. Last output:\n{last}"
