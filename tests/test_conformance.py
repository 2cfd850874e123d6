"""kata/ and solutions/ are twins: same names, signatures and docstrings; kata stands alone."""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from grader.questions import NEEDS_PYTORCH

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.stem for p in (ROOT / "kata").glob("*.py") if p.stem != "__init__")
TASK = re.compile(r"^Q([\d.]+):")

solutions_missing = importlib.util.find_spec("solutions") is None
needs_solutions = pytest.mark.skipif(solutions_missing, reason="student release: no solutions/")
OPTIONAL = {"torch", "torchvision"}  # Q6's extra: pip install -e '.[torch]'


def _importable(qualified):
    """The module, or None when it needs an optional package that is not installed."""
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in OPTIONAL:
            return None
        raise


def _import(qualified):
    module = _importable(qualified)
    if module is None:
        pytest.skip(f"{qualified}: {NEEDS_PYTORCH}")
    return module


def _own_functions(module):
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isfunction(obj)
        and obj.__module__ == module.__name__
        and not name.startswith("_")
    }


def _signature(fn):
    """The signature as text, with function defaults by name (not by address)."""
    params = [
        p.replace(default=_Named(p.default.__name__)) if inspect.isfunction(p.default) else p
        for p in inspect.signature(fn).parameters.values()
    ]
    return str(inspect.Signature(params))


class _Named:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


def _tasks(module):
    """(name, question id) of each function whose docstring starts with a question id."""
    for name, fn in _own_functions(module).items():
        match = TASK.match(inspect.getdoc(fn) or "")
        if match:
            yield name, match.group(1)


def test_kata_has_the_handout_modules():
    assert {"nn", "util", "run_q2"} <= set(MODULES)


@needs_solutions
@pytest.mark.parametrize("name", MODULES)
def test_twins_have_the_same_public_functions(name):
    kata = _import(f"kata.{name}")
    sol = _import(f"solutions.{name}")
    kata_fns, sol_fns = _own_functions(kata), _own_functions(sol)
    assert sorted(kata_fns) == sorted(sol_fns), f"{name}.py: kata and solutions differ"
    for fn_name in kata_fns:
        k, s = kata_fns[fn_name], sol_fns[fn_name]
        assert _signature(k) == _signature(s), f"{name}.{fn_name}: signatures differ"
        assert inspect.getdoc(k) == inspect.getdoc(s), f"{name}.{fn_name}: docstrings differ"
    assert inspect.getdoc(kata).replace("kata", "solutions") == inspect.getdoc(sol)


@needs_solutions
def test_solutions_module_list_matches():
    sol = sorted(p.stem for p in (ROOT / "solutions").glob("*.py") if p.stem != "__init__")
    assert sol == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_kata_tasks_raise_not_implemented_naming_the_question(name):
    module = _import(f"kata.{name}")
    for fn_name, qid in _tasks(module):
        source = inspect.getsource(getattr(module, fn_name))
        assert f'raise NotImplementedError("Q{qid} {fn_name}")' in source, (
            f"kata.{name}.{fn_name} should raise NotImplementedError('Q{qid} {fn_name}')"
        )


def test_every_q2_question_has_a_kata_task():
    from grader.questions import QUESTIONS

    modules = [m for m in (_importable(f"kata.{name}") for name in MODULES) if m is not None]
    ids = {qid for module in modules for _, qid in _tasks(module)}
    missing = {q.id for q in QUESTIONS if q.id.startswith("2.")} - ids
    assert not missing, f"no kata task names question(s) {sorted(missing)}"


def test_stubs_raise_when_called():
    import kata.nn as nn

    with pytest.raises(NotImplementedError, match=r"^Q2\.2\.2 softmax$"):
        nn.softmax(None)


@pytest.mark.parametrize("path", sorted((ROOT / "kata").rglob("*.py")), ids=lambda p: p.name)
def test_kata_never_imports_solutions(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        assert not any(n == "solutions" or n.startswith("solutions.") for n in names), (
            f"{path.name} imports solutions: students get a release without it"
        )
