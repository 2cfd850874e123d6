"""The handout's scripts as a student runs them: ``python -m MODULE ARGS`` from the project's
root in a fresh interpreter, headless (Agg), numpy's BLAS and torch on one thread; and tiny
NIST36 files in the official format for them to read (``$NRK_DATA_DIR``)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ONE_THREAD = {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_module(
    module: str, *args: str, timeout: float = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """``python -m module *args``; its output captured as text; ``env`` added to the
    environment."""
    environment = os.environ | ONE_THREAD | (env or {})
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=environment,
    )  # fmt: skip


def write_official(folder: Path, n: int = 5, splits=("train", "valid", "test"), **override):
    """Write tiny fake nist36_{split}.mat files (random rows, ``n`` per split) into
    ``folder``; ``override`` replaces a split's dict. Returns what was written per split."""
    import scipy.io

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    written = {}
    for split in splits:
        content = override.get(split) or {
            f"{split}_data": rng.random((n, 1024)),
            f"{split}_labels": np.eye(36)[rng.integers(0, 36, n)],
        }
        scipy.io.savemat(folder / f"nist36_{split}.mat", content)
        written[split] = content
    return written
