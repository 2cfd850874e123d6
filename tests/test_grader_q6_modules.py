"""The Q6 check modules import without PyTorch and without the answers.

A fresh interpreter imports every Q6 module of ``grader/checks/`` (the question modules and
their helpers) with torch hidden: they load, hold their checks, and neither torch nor
torchvision, the oracle (``grader.oracle``), the Q4 reference builder nor ``solutions`` is
imported; a task then fails as the grader reads "not gradable here: needs PyTorch". Fast tier:
no torch needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_TORCH = ROOT / "benchmarks" / "no_torch"  # its sitecustomize.py hides PyTorch
Q6_MODULES = ("q6_1_1", "q6_1_2", "q6_1_3", "q6_1_4", "q6_2", "q6_common", "q6_data", "torchnets")
ANSWERS = ("grader.oracle", "coursedata.q4_reference", "solutions")

# run where PyTorch is hidden (benchmarks/no_torch/sitecustomize.py first on PYTHONPATH)
PROBE = """
import importlib, json, sys

assert importlib.util.find_spec("torch") is None  # this interpreter has no PyTorch
from grader.checks import question_checks
from grader.questions import QUESTIONS
from grader.scoring import MISSING_TORCH

for name in MODULES:
    importlib.import_module("grader.checks." + name)
checks = {q.id: len(question_checks(q.id)) for q in QUESTIONS if q.id.startswith("6.")}
from grader.checks.q6_1_1 import CHECKS
try:
    CHECKS[0].task(None, CHECKS[0].inputs())
    raised = ""
except ModuleNotFoundError as exc:
    raised = f"{type(exc).__name__}: {exc}"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "solutions")
                or m in ("grader.oracle", "coursedata.q4_reference"))
print(json.dumps({"checks": checks, "loaded": loaded, "raised": raised,
                  "not_gradable": bool(MISSING_TORCH.match(raised))}))
"""


def test_every_q6_question_has_its_module():
    from grader.checks import question_module
    from grader.questions import QUESTIONS

    for question in (q for q in QUESTIONS if q.id.startswith("6.")):
        module = question_module(question.id)
        assert module.__name__ == "grader.checks.q" + question.id.replace(".", "_")
        assert module.CHECKS and {c.question for c in module.CHECKS} == {question.id}


def test_q6_check_modules_import_without_torch_or_answers():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(NO_TORCH), str(ROOT)]))
    code = f"MODULES = {Q6_MODULES!r}\n{PROBE}"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["loaded"] == [], f"importing the Q6 check modules loaded {found['loaded']}"
    assert found["checks"] == {"6.1.1": 7, "6.1.2": 4, "6.1.3": 3, "6.1.4": 4, "6.2": 7}
    assert found["raised"] and found["not_gradable"], found["raised"]
