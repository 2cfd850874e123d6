"""Choosing the implementation under test: --impl kata|solutions|DIR (grader.implementation)."""

import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from grader.implementation import (
    Implementation,
    ImplementationError,
    NotProvided,
    NotSubmitted,
    is_handout_util,
    is_import_safe,
    resolve,
)

ROOT = Path(__file__).resolve().parent.parent
needs_solutions = pytest.mark.skipif(
    not (ROOT / "solutions").is_dir(), reason="student release: no solutions/"
)

HANDOUT_UTIL = """\
import numpy as np
def linear(x):
    return x
def linear_deriv(post_act):
    return np.ones_like(post_act)
def tanh(x):
    return np.tanh(x)
def tanh_deriv(post_act):
    return 1-post_act**2
def relu(x):
    return np.maximum(x,0)
def relu_deriv(x):
    return (x > 0).astype(np.float)
"""


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("source", "safe"),
    [
        ('"""doc"""\nimport numpy as np\nfrom nn import *\nN = 3\ndef f():\n    pass\n', True),
        ("def main():\n    pass\nif __name__ == '__main__':\n    main()\n", True),
        ("import numpy as np\nx = np.zeros(3)\n", False),  # computes at import
        ("for i in range(3):\n    pass\n", False),
        ("train()\n", False),
    ],
)
def test_run_scripts_are_imported_only_when_import_safe(tmp_path, source, safe):
    assert is_import_safe(_write(tmp_path / "run_q2.py", source)) is safe


@needs_solutions
def test_the_reference_run_q2_is_import_safe():
    assert is_import_safe(ROOT / "solutions" / "run_q2.py")
    assert is_import_safe(ROOT / "kata" / "run_q2.py")


@needs_solutions
def test_resolve_names_what_it_expected(tmp_path):
    assert resolve("solutions").package == "solutions"
    with pytest.raises(ImplementationError, match="no such folder"):
        resolve(str(tmp_path / "missing"))
    (tmp_path / "q4.py").write_text("")
    with pytest.raises(ImplementationError, match="has no nn.py.*q4.py"):
        resolve(str(tmp_path))


def test_an_implementation_of_given_modules_loads_the_rest_from_its_base():
    """``Implementation.with_modules``: the tests' stand-in for a submission (a mutant
    module among the base's), with what the check tasks use: ``load``, ``label``, ``shims``."""
    base = resolve("kata")
    nn = types.ModuleType("nn")
    impl = Implementation.with_modules({"nn": nn}, base=base, missing=("run_q4",))
    assert impl.load("nn") is nn
    assert impl.load("util") is base.load("util")
    assert impl.load("util").__name__ == "kata.util"
    with pytest.raises(NotProvided, match=r"kata \(stand-in\) has no run_q4.py") as info:
        impl.load("run_q4")
    assert not isinstance(info.value, NotSubmitted)  # left out, not scored 0
    assert impl.label == "kata (stand-in)" and impl.shims is base.shims
    impl.unload()  # given modules stay given
    assert impl.load("nn") is nn

    alone = Implementation.with_modules({"nn": nn}, label="mutant")
    assert alone.label == "mutant" and alone.shims == []
    assert alone.load("nn") is nn
    with pytest.raises(NotProvided, match="mutant has no util.py"):
        alone.load("util")
    with pytest.raises(ValueError, match="both given and missing"):
        Implementation.with_modules({"nn": nn}, missing=("nn",))


def _util_checks(tmp_path, util_text):
    sub = tmp_path / "submission"
    sub.mkdir()
    _write(sub / "util.py", util_text)
    _write(sub / "nn.py", "import numpy as np\nfrom util import *\n")
    out = tmp_path / "records.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_util.py", "--impl", str(sub), "-q",
         "-p", "no:cacheprovider", "--maintainer", "--results-json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:]
    payload = json.loads(out.read_text())
    assert payload["tests"] and all(t["outcome"] == "passed" for t in payload["tests"])
    return payload


@pytest.mark.slow
def test_the_handouts_own_util_is_replaced_by_the_projects(tmp_path):
    """The handout's util.py (np.float, gone in NumPy 2) is not the student's work: the
    project's copy stands in for it, so no shim is needed."""
    assert is_handout_util(_write(tmp_path / "util.py", HANDOUT_UTIL))
    assert _util_checks(tmp_path, HANDOUT_UTIL)["shims"] == []


@pytest.mark.slow
def test_a_students_own_util_is_kept_and_shimmed_for_numpy_2(tmp_path):
    edited = HANDOUT_UTIL + "def softplus(x):\n    return np.log1p(np.exp(x)).astype(np.float)\n"
    assert not is_handout_util(_write(tmp_path / "util.py", edited))
    assert "np.float" in _util_checks(tmp_path, edited)["shims"]


def _load_in_a_fresh_process(folder, code):
    """Run ``code`` with ``impl = resolve(folder)`` in a new process (flat modules are
    imported under their own names, once per process); return its last printed line."""
    program = f"from grader.implementation import *\nimpl = resolve({str(folder)!r})\n{code}"
    proc = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


SCRIPT_RUN_Q2 = """\
import numpy as np
from nn import *
STEPS = 3
def numerical_gradients(params, loss_fn, eps=1e-6):
    return {"calls": STEPS}
params = {"W": np.zeros((3, 2))}
print("training at import")
raise SystemExit("the handout's script trains here")
"""


def test_a_script_is_graded_on_its_functions_without_running_its_top_level(tmp_path):
    """The handout's run_q2.py trains at import: its definitions are loaded (imports,
    functions, literal constants) and its training is not run."""
    _write(tmp_path / "nn.py", "import numpy as np\n")
    _write(tmp_path / "run_q2.py", SCRIPT_RUN_Q2)
    assert not is_import_safe(tmp_path / "run_q2.py")
    code = (
        "run_q2 = impl.load('run_q2')\n"
        "print(run_q2.numerical_gradients({}, None), hasattr(run_q2, 'params'))"
    )
    assert _load_in_a_fresh_process(tmp_path, code) == "{'calls': 3} False"


def test_unload_lets_a_second_flat_folder_load_in_the_same_process(tmp_path):
    """Flat modules are imported under their own names: a second folder's run_q2 is refused
    while the first is loaded, and loads once the first is unloaded."""
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, steps in ((first, 3), (second, 4)):
        folder.mkdir()
        _write(folder / "nn.py", "import numpy as np\n")
        _write(folder / "run_q2.py", SCRIPT_RUN_Q2.replace("STEPS = 3", f"STEPS = {steps}"))
    code = (
        "impl.load('run_q2')\n"
        f"other = resolve({str(second)!r})\n"
        "try:\n    other.load('run_q2')\n    refused = False\n"
        "except ImplementationError:\n    refused = True\n"
        "impl.unload()\n"
        "print(refused, other.load('run_q2').numerical_gradients({}, None))\n"
    )
    assert _load_in_a_fresh_process(first, code) == "True {'calls': 4}"


def test_a_script_keeps_no_statement_writing_into_what_it_computed(tmp_path):
    """The handout's toy data: ``y = np.zeros(...)`` computes (dropped), then
    ``y[np.arange(n), y_idx] = 1`` assigns a literal into it. Kept, that line raised
    NameError and cost every run_q2 check; dropped, a missing function says so."""
    _write(tmp_path / "nn.py", "import numpy as np\n")
    _write(
        tmp_path / "run_q2.py",
        """\
        import numpy as np
        LEARNING_RATE = 1e-3
        y_idx = np.array([0, 1, 1])
        y = np.zeros((3, 2))
        y[np.arange(3), y_idx] = 1
        y.flags.writeable = False
        config: dict = {}
        config["eps"] = 1e-6
        def f():
            return LEARNING_RATE
        """,
    )
    code = """\
run_q2 = impl.load('run_q2')
try:
    run_q2.train
except ScriptLacks as exc:
    print(run_q2.f(), hasattr(run_q2, 'y'), str(exc)[:40])
"""
    out = _load_in_a_fresh_process(tmp_path, code)
    assert out == "0.001 False run_q2.py is a script without a function"


def test_missing_files_and_functions_are_not_submitted(tmp_path):
    _write(tmp_path / "nn.py", "import numpy as np\ndef sigmoid(x):\n    return x\n")
    _write(tmp_path / "run_q2.py", SCRIPT_RUN_Q2)
    code = """\
out = []
for name in ("q4", "run_q5"):
    try:
        impl.load(name)
    except NotSubmitted as exc:
        out.append(str(exc))
nn, run_q2 = impl.load("nn"), impl.load("run_q2")
out.append(str(getattr(nn, "softmax", None)))  # getattr with a default still works
try:
    nn.softmax
except NotSubmitted as exc:
    out.append(str(exc))
try:
    run_q2.train
except ScriptLacks as exc:
    out.append(str(exc))
print(" | ".join(out))
"""
    out = _load_in_a_fresh_process(tmp_path, code).split(" | ")
    assert out[:3] == ["not submitted: q4.py", "not submitted: run_q5.py", "None"]
    assert out[3] == "not submitted: nn.softmax (nn.py defines no softmax)"
    assert out[4].startswith("run_q2.py is a script without a function train()")
