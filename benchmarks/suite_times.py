"""Wall time of the fast test tier, the whole suite and a full grade of the solutions, each
run as a subprocess from the repository root, with the load average before and after.

They run in the environment the benchmark command was started with (OpenBLAS overrides
included: the tests keep them), plus ``MPLBACKEND=Agg``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import ROOT, load_average, log, result, timed

PYTEST = [sys.executable, "-m", "pytest", "--impl", "solutions", "-q", "-p", "no:cacheprovider"]
DURATIONS = "--durations=20"  # the slowest tests, listed in the log (output only)

SUMMARY = re.compile(r"^Total: |\b\d+ (passed|failed)\b")

# (name, command, target seconds, target in words)
COMMANDS = (
    ("suite.fast_tier", [*PYTEST, DURATIONS], 15.0, "<= 15 s"),
    ("suite.whole", [*PYTEST, "--run-slow", DURATIONS], 300.0, "<= 5 min"),
    ("suite.grade", [sys.executable, "-m", "grader", "--impl", "solutions"], 120.0, "<= 2 min"),
)


def run(out_dir, env=None, timeout=3600, commands=COMMANDS):
    """Time each command once (they take minutes).

    Parameters
    ----------
    out_dir : str or Path
        Receives each command's output, ``<name>.log`` (pytest's with the 20 slowest tests).
    env : dict, optional
        The environment (default: this process's).
    timeout : float
        Seconds before a command is stopped (then recorded as failed).
    commands : sequence of (str, list of str, float, str)

    Returns
    -------
    records : list of dict
    """
    env = dict(os.environ if env is None else env)
    env.setdefault("MPLBACKEND", "Agg")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, command, target_s, target in commands:
        logfile = out_dir / f"{name}.log"
        with tempfile.TemporaryDirectory() as tmp:
            if "grader" in command:
                command = [*command, "--out", tmp]
            before = load_average()
            log(f"  {name}: {' '.join(command[1:])} (load {before}) ...")
            seconds, (rc, summary) = timed(lambda c=command, f=logfile: _run(c, env, timeout, f))
        log(f"  {name}: {seconds:.1f} s, exit {rc}: {summary}")
        out.append(
            result(
                name,
                seconds,
                "s",
                target=target,
                met=bool(rc == 0 and seconds <= target_s),
                note=f"exit {rc}: {summary}; load {before} before; OPENBLAS_NUM_THREADS="
                f"{env.get('OPENBLAS_NUM_THREADS', 'unset')}",
                rc=rc,
                load_before=before,
                command=" ".join(["python", *command[1:]]),
                openblas_num_threads=env.get("OPENBLAS_NUM_THREADS"),
            )
        )
    return out


def _run(command, env, timeout, logfile):
    """Run ``command``; its exit code and last non-empty output line."""
    try:
        proc = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        output, rc = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = exc.output or ""
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        rc = "timeout"
    logfile.write_text(output)
    lines = [line.strip().strip("= ") for line in output.splitlines() if line.strip()]
    # pytest's closing line ("120 passed, 3 skipped in 40.1s"), the grader's "Total: 95/100"
    summaries = [line for line in lines if SUMMARY.search(line)]
    summary = (summaries or lines or [""])[-1]
    return rc, summary[:200]
