"""The question modules of ``grader/checks/`` hold no answers (issue 13): importing one leaves
the oracle and the references out of the process, and the Q2 tasks (and the fast Q3, Q5 ones)
run with them blocked.

The submission's process imports the check modules for their tasks; a module that imported
:mod:`grader.oracle` at module level would carry the answers into it. Each module is imported
in a process of its own, forked from one interpreter that has imported only the third-party
libraries the checks use (none of them holds an answer): the imports of NumPy, SciPy and
scikit-image are paid once instead of once a module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import sandbox
from grader.checks import question_checks
from grader.questions import QUESTIONS

ROOT = Path(__file__).resolve().parent.parent
CHECKS_DIR = ROOT / "grader" / "checks"
ANSWERS = ("grader.oracle", "grader.q4_reference", "coursedata.q4_reference", "solutions")
# Every part is split into question modules (issue 13): every module of grader/checks/.
MODULES = sorted(
    f"grader.checks.{path.stem}" for path in CHECKS_DIR.glob("*.py") if path.stem != "__init__"
)
Q2_MODULES = [m for m in MODULES if m.startswith("grader.checks.q2_")]
# "No module over about 400 lines" (issue 13): a question's module, or a helper by topic.
MAX_MODULE_LINES = 420


def _python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


# One interpreter imports the libraries, then forks a child a module: the child imports the
# module and writes the answers' modules it finds in sys.modules (or its traceback) to a pipe.
IMPORT_EACH = """
import importlib, json, os, sys, traceback
modules, answers, libraries = (json.loads(a) for a in sys.argv[1:4])
for library in libraries:
    importlib.import_module(library)
assert not [m for m in sys.modules if m.split(".")[0] in ("grader", "coursedata", "solutions")]
found = {}
for module in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            reply = sorted(m for m in sys.modules
                           if any(m == a or m.startswith(a + ".") for a in answers))
        except BaseException:
            reply = {"error": traceback.format_exc()}
        os.write(write, json.dumps(reply).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        found[module] = json.loads(f.read() or b'{"error": "the child wrote nothing"}')
    os.waitpid(pid, 0)
print(json.dumps(found))
"""
# third-party only: an answer imported by one of these would be found all the same
LIBRARIES = ("numpy", "scipy.ndimage", "scipy.special", "skimage.measure", "matplotlib")


def test_every_q2_question_has_its_module():
    ids = [q.id for q in QUESTIONS if q.id.startswith("2.")]
    expected = {"grader.checks.q" + i.replace(".", "_") for i in ids if question_checks(i)}
    assert expected == set(Q2_MODULES)


def test_no_check_module_is_over_about_400_lines():
    sizes = {
        p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in CHECKS_DIR.glob("*.py")
    }
    over = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not over, (
        f"over {MAX_MODULE_LINES} lines: {over}; move a coherent part into a helper module "
        "by topic (boxes.py, photos.py, generated.py ...)"
    )


def test_importing_a_check_module_imports_no_answers():
    """Every module of grader/checks/, each in its own forked child (one test: the
    interpreter that forks them is started once, on one pytest-xdist worker)."""
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork (POSIX)")
    proc = _python(IMPORT_EACH, *(json.dumps(x) for x in (MODULES, ANSWERS, LIBRARIES)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(found) == MODULES
    failed = {m: f["error"] for m, f in found.items() if "error" in f}
    assert not failed, "\n".join(f"importing {m} failed:\n{e}" for m, e in failed.items())
    offenders = {m: f for m, f in found.items() if f}
    assert not offenders, "\n".join(
        f"importing {m} imports {f}: import the oracle inside the judge (or inputs()) that "
        "needs it, never at module level"
        for m, f in offenders.items()
    )


# Every Q2 task against the solutions, in a process where the answers cannot be imported
# (as the grader's child, after its task modules are imported): then judged here.
RUN_BLOCKED = """
import importlib, json, sys
blocked = tuple(json.loads(sys.argv[2]))

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked if b != "solutions"):
            raise ImportError(name + " is blocked")
        return None

sys.meta_path.insert(0, Blocked())
from grader import child
from grader.implementation import resolve

impl = resolve("solutions")
jobs = json.loads(sys.argv[1])
for job in jobs:
    record = child.run_check({"jobdir": job["jobdir"], "limits": {}},
                             {"index": 0, "task": job["task"]}, impl)
    with open(job["jobdir"] + "/out_0.json", "w", encoding="utf-8") as f:
        json.dump(record, f)
"""


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / "solutions" / "nn.py").is_file(), reason="student release: no solutions/"
)
def test_the_q2_tasks_run_without_the_answers(tmp_path):
    from grader.checks import script_q2_5

    # the script checks are left out for the solutions' run_q2.py; they run the handout's
    # script through the sandbox, answers blocked, in tests/test_grader_script_q2_5.py
    script_only = {c.name for c in script_q2_5.CHECKS}
    checks = [
        c
        for q in QUESTIONS
        if q.id.startswith("2.")
        for c in question_checks(q.id)
        if c.name not in script_only
    ]
    _run_blocked(checks, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / "solutions" / "nn.py").is_file(), reason="student release: no solutions/"
)
@pytest.mark.parametrize("part", ["3.", "5."])
def test_the_fast_q3_q5_tasks_run_without_the_answers(part, tmp_path):
    """Q3's and Q5's checks that do not train on NIST36 (those run the same task code:
    ``q3_common.nist36_task``, ``q5_common.trained``, over minutes)."""
    checks = [
        c
        for q in QUESTIONS
        if q.id.startswith(part)
        for c in question_checks(q.id)
        if c.budget < 900 and not (c.available and c.available())
    ]
    assert checks
    _run_blocked(checks, tmp_path)


def _run_blocked(checks, tmp_path):
    """Run ``checks``' tasks on the solutions in a process where the answers are blocked,
    then judge them here: all pass."""
    jobs, made = [], []
    for i, check in enumerate(checks):
        jobdir = tmp_path / f"job{i}"
        jobdir.mkdir()
        inputs = check.inputs() if check.inputs else {}
        sandbox.write_inputs(jobdir, 0, check.task_inputs(inputs))
        jobs.append({"jobdir": str(jobdir), "task": check.task_ref})
        made.append((check, inputs, jobdir))
    proc = _python(RUN_BLOCKED, json.dumps(jobs), json.dumps(ANSWERS), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bad = []
    for check, inputs, jobdir in made:
        outcome = sandbox.read_outcome(jobdir, 0)
        if outcome.status != "ok":
            bad.append(f"{check.question} {check.name}: {outcome.status} {outcome.message}")
            continue
        try:
            check.judge(inputs, outcome.out)
        except AssertionError as exc:  # Fail
            bad.append(f"{check.question} {check.name}: failed: {exc}")
    assert not bad, "\n".join(bad)
