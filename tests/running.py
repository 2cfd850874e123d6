"""The handout's scripts as a student runs them: ``python -m MODULE ARGS`` from the project's
root in a fresh interpreter, headless (Agg), numpy's BLAS and torch on one thread."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE_THREAD = {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_module(module: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m module *args``; its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ | ONE_THREAD,
    )  # fmt: skip
