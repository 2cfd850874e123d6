"""Run the test suite's checks for some questions against an implementation, in a subprocess.

The submission's code runs only in that child process; the grader reads back plain JSON
records (one per check) written by the suite's ``--results-json`` option.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.questions import Question

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


@dataclass
class CheckRun:
    """What one run of the checks produced."""

    records: list[dict]
    shims: list[str]
    error: str = ""  # why the run produced no usable records, if it did not


def run_checks(
    impl_spec: str,
    questions: list[Question],
    timeout: float = 1800,
    figures_dir: str | Path | None = None,
    extra_args: list[str] | None = None,
) -> CheckRun:
    """Run the checks of ``questions`` against ``impl_spec`` and return their records.

    The slow tier (end-to-end checks on real data) is included. Hypothesis runs with the
    derandomized ``ci`` profile, so a grade is reproducible. Figures that checks produce go
    to ``figures_dir`` when given.
    """
    markers = " or ".join(q.marker for q in questions)
    with tempfile.TemporaryDirectory(prefix="nrk-grade-") as tmp:
        results = Path(tmp) / "records.json"
        command = [
            sys.executable, "-m", "pytest", str(TESTS),
            "--impl", impl_spec, "-m", markers, "--run-slow",
            "-q", "-p", "no:cacheprovider", "--no-header",
            "--results-json", str(results),
        ]  # fmt: skip
        if figures_dir is not None:
            command += ["--figures-dir", str(Path(figures_dir).resolve())]
        command += list(extra_args or [])
        # One BLAS thread: grading is reproducible in time and several submissions can be graded
        # side by side without oversubscribing the cores.
        env = os.environ | {
            "HYPOTHESIS_PROFILE": "ci",
            "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
        try:
            proc = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return CheckRun([], [], f"the checks did not finish within {timeout:.0f} s")
        if not results.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            return CheckRun(
                [], [], f"the checks stopped early (exit {proc.returncode}):\n" + "\n".join(tail)
            )
        payload = json.loads(results.read_text(encoding="utf-8"))
    return CheckRun(payload["tests"], payload.get("shims", []))
