"""The grader's sandbox: start-up overhead per question, and the grader's peak memory while a
submission returns far too much.

* ``sandbox.startup.bwrap``: bubblewrap's own start-up, the child's command line (its
  namespaces and ~100 read-only binds) running ``/bin/true``, less ``/bin/true`` alone
  (target <= 0.3 s): what the sandbox adds to each child, without Python's start-up noise.
* ``sandbox.startup.overhead``: one small question (Q2.2.2's softmax on a flat submission,
  one check) run through :func:`grader.sandbox.run_question` inside bubblewrap and without
  it (``--no-sandbox``), median of the repeats; the difference is what bubblewrap costs
  each question (target <= 0.3 s).
* ``sandbox.memory.hostile_return``: a fresh grader process grades a ``softmax`` that
  returns 400 MB; its peak resident memory (``VmHWM``), target <= 300 MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from .common import ROOT, alternating_median_times, log, median_time, result

STARTUP_TARGET_S = 0.3
MEMORY_TARGET_MB = 300
STUDENT = ROOT / "tests" / "mutants" / "student" / "nn.py"
HUGE = "\n\ndef softmax(x):\n    return np.zeros((20000, 20000), dtype=np.uint8)\n"


def _question(folder: Path, sandbox: str):
    import numpy as np

    from grader.check import Check
    from grader.checks.q2_2_2 import softmax_task
    from grader.sandbox import Limits, run_question
    from grader.submission import Submission

    check = Check("2.2.2", "softmax", 1, softmax_task, lambda i, o: None, budget=60)
    limits = Limits(sandbox=sandbox)

    def once():
        submission = Submission("bench", folder=folder)
        (outcome,) = run_question(submission, [check], [{"x": np.eye(3)}], limits)
        assert outcome.status == "ok", outcome.message

    return once


def records(bwrap_s, reduced_s, peak_mb, mode_line, repeat, own_s=None) -> list[dict]:
    """The section's records from its measurements (``bwrap_s`` None: no bubblewrap;
    ``own_s``: bubblewrap's own start-up)."""
    out = []
    if own_s is not None:
        out.append(
            result(
                "sandbox.startup.bwrap",
                round(own_s, 3),
                "s",
                target=f"<= {STARTUP_TARGET_S:g} s per question",
                met=bool(own_s <= STARTUP_TARGET_S),
                note=f"the child's bubblewrap command line running /bin/true, less /bin/true "
                f"alone, median of {repeat}",
            )
        )
    if bwrap_s is not None:
        overhead = bwrap_s - reduced_s
        out.append(
            result(
                "sandbox.startup.overhead",
                round(overhead, 3),
                "s",
                ratio=bwrap_s / reduced_s if reduced_s else None,
                vs="no sandbox",
                target=f"<= {STARTUP_TARGET_S:g} s per question",
                met=bool(overhead <= STARTUP_TARGET_S),
                note=f"one small question: {bwrap_s:.2f} s in bubblewrap, {reduced_s:.2f} s "
                f"without, median of {repeat}",
            )
        )
    out.append(result("sandbox.startup.reduced", round(reduced_s, 3), "s", note=mode_line))
    if peak_mb is not None:
        out.append(
            result(
                "sandbox.memory.hostile_return",
                round(peak_mb, 1),
                "MB",
                target=f"<= {MEMORY_TARGET_MB} MB",
                met=bool(peak_mb <= MEMORY_TARGET_MB),
                note="the grader's peak resident memory while a softmax returns 400 MB",
            )
        )
    return out


# The process's own peak resident memory in kB. VmHWM, not ``ru_maxrss``: after exec,
# ``ru_maxrss`` starts from the memory of the process that started this one (a test worker
# that has trained networks makes a small grader read as 1.2 GB).
PRINT_PEAK_KB = (
    'print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")))'
)


def peak_memory_mb(folder: Path, sandbox: str = "auto") -> float:
    """Peak resident memory of a fresh grader process grading ``folder`` on Q2.2.2."""
    script = textwrap.dedent(
        f"""
        from grader.run import grade_one
        from grader.__main__ import select
        from grader.sandbox import Limits
        grade_one({str(folder)!r}, select("2.2.2"), Limits(memory_mb=2048, sandbox={sandbox!r}))
        {PRINT_PEAK_KB}
        """
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=900, check=True,
    )  # fmt: skip
    return int(proc.stdout.split()[-1]) / 1024


def run(repeat=5, warmup=1) -> list[dict]:
    from grader.sandbox import Limits, bwrap_prefix, sandbox_mode
    from grader.submission import Submission

    mode = sandbox_mode(Limits())
    with tempfile.TemporaryDirectory(prefix="nrk-bench-") as tmp:
        folder = Path(tmp) / "student"
        folder.mkdir()
        (folder / "nn.py").write_text(STUDENT.read_text())
        if mode.bwrap:  # in turn, so that a shared machine's load falls on both sides
            bwrap_s, reduced_s = alternating_median_times(
                [_question(folder, "auto"), _question(folder, "reduced")], repeat, warmup, 0.0
            )
            log(f"  one question: {bwrap_s:.2f} s in bubblewrap, {reduced_s:.2f} s without")
        else:
            bwrap_s, reduced_s = None, median_time(_question(folder, "reduced"), repeat, warmup)[0]
            log(f"  one question: {reduced_s:.2f} s (no bubblewrap here: {mode.line})")
        own_s = None
        prefix = bwrap_prefix(Submission("bench", folder=folder))
        if prefix:
            sandboxed, plain = alternating_median_times(
                [
                    lambda: subprocess.run([*prefix, "--", "/bin/true"], check=True),
                    lambda: subprocess.run(["/bin/true"], check=True),
                ],
                max(repeat, 5),
                warmup,
                0.0,
            )
            own_s = sandboxed - plain
            log(f"  bubblewrap's own start-up: {own_s:.3f} s")
        huge = Path(tmp) / "huge"
        huge.mkdir()
        (huge / "nn.py").write_text(STUDENT.read_text() + HUGE)
        peak = peak_memory_mb(huge)
        log(f"  the grader's peak memory on a 400 MB return: {peak:.0f} MB")
    return records(bwrap_s, reduced_s, peak, mode.line, repeat, own_s)
