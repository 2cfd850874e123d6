"""The handout's scripts run as modules: ``python -m kata.run_q2`` / ``solutions.run_q2``."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(module, *args):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.skipif(importlib.util.find_spec("solutions") is None, reason="no solutions/")
def test_reference_toy_experiment_prints_loss_and_accuracy():
    proc = _run("solutions.run_q2", "--max-iters", "101", "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    assert "itr: 100" in proc.stdout and "Q2.4 final loss" in proc.stdout
    assert "Q2.5 total" in proc.stdout


def test_untouched_kata_says_what_is_not_implemented():
    proc = _run("kata.run_q2")
    assert proc.returncode == 1
    assert "not implemented yet: Q2.1.2 initialize_weights" in proc.stderr
