"""The student's self-check is fair: it counts only checks of the student's code.

A student runs ``pytest`` in a fresh clone on ``kata/``. Tests of the project itself (kata and
solutions are twins, an untouched stub raises NotImplementedError, the untouched scripts say
so, the grader, packaging, data) carry no question marker and belong to the maintainers'
suite (``--impl solutions`` or ``--maintainer``): on a completed kata they would fail for the
student's good work, and on an untouched one pass before the student wrote a line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.packaging import project_files
from grader.questions import QUESTIONS

ROOT = Path(__file__).resolve().parent.parent
HAS_SOLUTIONS = (ROOT / "solutions" / "nn.py").is_file()
needs_solutions = pytest.mark.skipif(not HAS_SOLUTIONS, reason="student release: no solutions/")
# Tests about the kata's own state: none of them is a check of the student's code.
KATA_STATE_FILES = ("tests/test_conformance.py", "tests/test_scripts.py")


def _student_env(root: Path) -> dict:
    """A student's environment: no CI, no implementation chosen, this tree first on the
    path; hypothesis derandomised so that the test is repeatable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "NRK_IMPL", "PYTEST_ADDOPTS") and not k.startswith("NRK_Q4")
    }
    env.update(HYPOTHESIS_PROFILE="ci", PYTHONPATH=str(root), MPLBACKEND="Agg")
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", NRK_PROGRESS="0")
    return env


def _pytest(root: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=_student_env(root),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _completed_kata(tmp_path: Path) -> Path:
    """A scratch copy of this project (as a fresh clone has it) whose kata/ is completed
    with the references: what a student who did everything right holds."""
    clone = tmp_path / "clone"
    for rel in project_files(ROOT):
        if rel.startswith((".tox/", ".venv")):
            continue
        target = clone / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    for source in sorted((ROOT / "solutions").glob("*.py")):
        if source.name != "__init__.py":
            shutil.copy2(source, clone / "kata" / source.name)
    return clone


@pytest.mark.slow
@needs_solutions
def test_a_kata_completed_with_the_solutions_passes_the_students_self_check(tmp_path):
    clone = _completed_kata(tmp_path)
    proc = _pytest(clone)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the self-check of a completed kata did not pass:\n{out[-6000:]}"
    bad = sorted({m.group(0) for m in re.finditer(r"\b(failed|failures?|errors?)\b", out, re.I)})
    assert not bad, f"the self-check of a completed kata says {bad}:\n{out[-6000:]}"
    summary = out[out.index("progress by handout question") :]
    for qid in ("2.1.2", "2.2.2", "2.2.3", "2.3", "2.4", "2.5", "3.1", "4.2", "5.2"):
        line = re.search(rf"^\s+Q{re.escape(qid)}\s.*$", summary, re.M)
        assert line, f"Q{qid} is missing from the progress summary:\n{summary}"
        passed, total = map(int, re.search(r"(\d+)/(\d+) passed", line.group(0)).groups())
        assert passed == total > 0, line.group(0)
    questions = {q.id for q in QUESTIONS}
    shown = set(re.findall(r"^\s+Q([\d.]+)\s", summary, re.M))
    assert shown <= questions | {"1"}, shown


@pytest.mark.slow
def test_the_students_self_check_leaves_out_the_projects_own_tests():
    """On kata, the kata's own state is not the student's progress: the tests that assert it
    is untouched (or that kata and solutions are twins) are not run; --maintainer runs them."""
    student = _pytest(ROOT, *KATA_STATE_FILES, "-q", timeout=600)
    out = student.stdout + student.stderr
    assert student.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, out[-3000:]
    assert re.search(r"\b\d+ deselected\b", out) and not re.search(r"\bpassed\b", out), out
    maintainer = _pytest(ROOT, *KATA_STATE_FILES, "-q", "--maintainer", "-k", "stub", timeout=600)
    out = maintainer.stdout + maintainer.stderr
    assert maintainer.returncode == 0 and re.search(r"\b[1-9]\d* passed\b", out), out[-3000:]
