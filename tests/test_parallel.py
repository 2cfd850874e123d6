"""The suite's parallel run (tox: ``-n auto --dist loadgroup``) keeps each group on one worker.

Tests that share costly work (Q3.1's and Q5.2's trainings in ``test_graded_checks.py``, the
built student release, a module's trained network) carry an ``xdist_group`` mark; a release
of pytest-xdist and pytest that stops honouring it fails nothing, it only redoes that work on
every worker. This test runs a tiny suite of grouped tests on two workers and reads which
worker ran each.
"""

import os
import subprocess
import sys

import pytest

GROUPED = """
import os
import pytest

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("i", range(6))
def test_grouped(i):
    with open(os.environ["NRK_WORKERS_LOG"], "a") as f:
        f.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")

@pytest.mark.parametrize("i", range(6))
def test_free(i):
    pass
"""


@pytest.mark.slow
def test_a_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED, encoding="utf-8")
    log = tmp_path / "workers.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NRK_IMPL"))}
    env["NRK_WORKERS_LOG"] = str(log)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    workers = log.read_text().split()
    assert len(workers) == 6 and workers[0].startswith("gw"), workers
    assert len(set(workers)) == 1, (
        f"the grouped tests ran on {sorted(set(workers))}: this pytest-xdist and pytest do not "
        "honour xdist_group under --dist loadgroup (see pyproject.toml's test extra)"
    )
