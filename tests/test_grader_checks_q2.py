"""The graded Q2 checks (``grader/checks/q2_*.py``) judge right: run in-process with ``verdict``.

* the solutions pass every Q2 check and the untouched kata is "not implemented" everywhere;
* each mutant of ``tests/mutants/catalog.py`` fails a check of every Q2 question that must
  catch it, with the catalog's teaching message, and the accepted variants pass every check;
* wrong ``run_q2.py`` functions (edits of the solution's) fail the Q2.4/Q2.5 checks;
* a flat submission whose ``run_q2.py`` is a script makes the run_q2 checks "not provided".

Mutants are flat ``nn.py`` files that import ``util`` by its plain name: each is loaded under
a unique module name (the project's ``kata.util`` standing in for ``util`` while it imports)
and handed to the tasks by ``Implementation.with_modules`` (a stand-in submission).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from grading import verdict
from mutants.catalog import BY_NAME, CATALOG, STUDENT, fail, materialise, stub_source

from grader import oracle
from grader.checks import question_checks, script_q2_5
from grader.implementation import Implementation, resolve
from grader.questions import BY_MARKER, QUESTIONS

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
HAS_SOLUTIONS = (SOLUTIONS / "nn.py").exists()
Q2 = [q for q in QUESTIONS if q.id.startswith("2.")]
Q2_CHECKS = [c for q in Q2 for c in question_checks(q.id)]
MARKER = {q.id: q.marker for q in Q2}
# The grader's own tests run in the slow tier (CI, --run-slow): the fast tier is the student's
# quick self-check, and these exercise every graded check against the solutions and mutants.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # mutants overflow exp
]
needs_solutions = pytest.mark.skipif(not HAS_SOLUTIONS, reason="student release: no solutions/")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50]


# Q2.5's checks of a run_q2.py written as the handout's script (tests/test_grader_script_q2_5.py):
# left out ("not provided") for the packages and any run_q2.py with numerical_gradients.
SCRIPT_ONLY = {c.name for c in script_q2_5.CHECKS}
PACKAGE_CHECKS = [c for c in Q2_CHECKS if c.name not in SCRIPT_ONLY]


def _check_params(checks=PACKAGE_CHECKS):
    # No question markers: they would count these tests in the student's progress summary.
    return [pytest.param(c, id=f"{c.question}-{_slug(c.name)}") for c in checks]


def _checks_of(question_id: str):
    return [c for c in Q2_CHECKS if c.question == question_id]


def _flat_nn(path: Path, label: str) -> types.ModuleType:
    """Import a flat-layout ``nn.py`` under a unique name, ``util`` being the project's."""
    util = importlib.import_module("kata.util")
    spec = importlib.util.spec_from_file_location(f"_q2_mutant_{_slug(label)}_nn", path)
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("util")
    sys.modules["util"] = util
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            sys.modules.pop("util", None)
        else:
            sys.modules["util"] = saved
    return module


def _run_q2(nn: types.ModuleType, label: str, edits=(), source=None) -> types.ModuleType:
    """The solution's run_q2.py (optionally edited), or ``source``, on top of ``nn``'s
    functions."""
    if source is None:
        source = (SOLUTIONS / "run_q2.py").read_text(encoding="utf-8")
    for old, new in edits:
        assert source.count(old) == 1, f"{label}: {old!r} should occur once in run_q2.py"
        source = source.replace(old, new)
    for line in (
        "from .nn import *\n",
        "from .util import *\n",
        "from nn import *\n",
        "from util import *\n",
    ):
        source = source.replace(line, "")
    module = types.ModuleType(f"_q2_run_q2_{_slug(label)}")
    util = importlib.import_module("kata.util")
    module.__dict__.update({k: getattr(util, k) for k in util.__all__})
    module.__dict__.update({k: v for k, v in vars(nn).items() if not k.startswith("_")})
    exec(compile(source, f"{label}/run_q2.py", "exec"), module.__dict__)
    return module


def _variant(name: str, tmp_path: Path) -> Implementation:
    if name == "student":
        path = STUDENT
    else:
        path = materialise(VARIANTS[name], tmp_path / name) / "nn.py"
    nn = _flat_nn(path, name)
    modules = {"nn": nn, "util": importlib.import_module("kata.util")}
    if name != "student" and "run_q2" in VARIANTS[name].stubs:
        modules["run_q2"] = _run_q2(nn, name, source=stub_source("run_q2"))
    elif HAS_SOLUTIONS:
        modules["run_q2"] = _run_q2(nn, name)
    return Implementation.with_modules(modules, label=name)


def _verdicts(checks, impl, tmp_path):
    return [(c, *verdict(c, impl, tmp_path)) for c in checks]


def _describe(results) -> str:
    return "\n".join(f"  {o.upper()} [{c.question}] {c.name}: {m[:400]}" for c, o, m in results)


# ----------------------------------------------------------------------------- baselines
@needs_solutions
@pytest.mark.parametrize("check", _check_params())
def test_solutions_pass(check, tmp_path):
    outcome, message = verdict(check, resolve("solutions"), tmp_path)
    assert outcome == "passed", f"the solutions fail [{check.question}] {check.name}: {message}"


@pytest.mark.parametrize("check", _check_params())
def test_kata_is_not_implemented(check, tmp_path):
    outcome, message = verdict(check, resolve("kata"), tmp_path)
    assert outcome == "not implemented", f"{outcome}: {message}"
    assert message.startswith("Q2."), (
        f"the kata's NotImplementedError names its question: {message}"
    )


def test_every_q2_question_has_weighted_checks():
    for question in Q2:
        checks = _checks_of(question.id)
        assert len(checks) >= 3, f"Q{question.id} needs several sub-checks, has {len(checks)}"
        assert all(c.weight > 0 and c.budget > 0 for c in checks)
        assert len({c.name for c in checks}) == len(checks), "check names are unique"
        for check in checks:
            run_q2_tasks = ("train_task", "known_task", "toy_gradient_task", "script_task")
            uses_run_q2 = check.task.__name__ in run_q2_tasks
            assert ("run_q2" in check.modules) == uses_run_q2, check.name


@pytest.mark.parametrize("check", _check_params([c for c in Q2_CHECKS if c.inputs]))
def test_inputs_are_deterministic(check):
    first, second = check.inputs(), check.inputs()
    assert first.keys() == second.keys()
    for key, value in first.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, second[key]), key
        else:
            assert value == second[key], key


def test_the_large_batch_check_has_a_generous_budget():
    (large,) = [c for c in _checks_of("2.4") if "10,800" in c.name]
    assert large.budget >= 180, "a splitter with Python loops taking 45 s must still pass"


# ----------------------------------------------------------------------------- catalog
# More realistic mistakes, beyond the catalog's (which the pytest checks share).
EXTRA = (
    fail(
        "sigmoid_exp_ratio",
        "sigmoid as exp(x) / (1 + exp(x)) everywhere: inf / inf = NaN for large x",
        [("res[pos] = 1.0 / (1.0 + np.exp(-x[pos]))",
          "res[pos] = np.exp(x[pos]) / (1.0 + np.exp(x[pos]))")],
        {"q2_2_1": "inf / inf"},
    ),
    fail(
        "forward_without_bias",
        "forward forgets the bias: activation(X @ W)",
        [("pre_act = np.dot(X, W) + b", "pre_act = np.dot(X, W)")],
        {"q2_2_1": "add the bias"},
    ),
    fail(
        "loss_wrong_sign",
        "the loss without its minus sign",
        [("loss = -np.sum(", "loss = np.sum(")],
        {"q2_2_3": "wrong sign"},
    ),
    fail(
        "backwards_hardcodes_sigmoid_deriv",
        "backwards ignores its activation_deriv argument and always uses sigmoid_deriv",
        [("d = delta * activation_deriv(post_act)", "d = delta * sigmoid_deriv(post_act)")],
        {"q2_3": "central differences"},
    ),
    fail(
        "batches_shuffles_only_the_batches",
        "get_random_batches cuts the data in order and shuffles the list of batches",
        [
            ("    np.random.shuffle(idx)\n", ""),
            ("    return batches",
             "    return [batches[i] for i in np.random.permutation(len(batches))]"),
        ],
        {"q2_4": "not only the order of the batches"},
    ),
)  # fmt: skip
VARIANTS = {**BY_NAME, **{v.name: v for v in EXTRA}}
MUTANTS = [
    v
    for v in (*CATALOG, *EXTRA)
    if v.expect == "fail" and any(m in MARKER.values() for m in v.caught_by)
]
ACCEPTED = ["student", *(v.name for v in CATALOG if v.expect == "pass")]


@pytest.mark.parametrize("variant", MUTANTS, ids=lambda v: v.name)
def test_mutant_fails_the_question_that_must_catch_it(variant, tmp_path):
    sub = _variant(variant.name, tmp_path)
    for marker, fragment in variant.caught_by.items():
        if marker not in BY_MARKER:
            continue  # q1: the theory tests, not graded here
        results = _verdicts(_checks_of(BY_MARKER[marker].id), sub, tmp_path)
        failed = [m for _, o, m in results if o == "failed"]
        assert failed, (
            f"mutant {variant.name} ({variant.description}) passes Q{BY_MARKER[marker].id}:\n"
            + _describe(results)
        )
        assert any(fragment.lower() in m.lower() for m in failed), (
            f"mutant {variant.name} fails Q{BY_MARKER[marker].id}, but no message says "
            f"{fragment!r}:\n" + _describe(results)
        )


# Mostly right answers keep most of the question's points: the checks that fail them, exactly.
PARTIAL = {
    "xavier_reseeded": ("2.1.2", ["each call draws fresh weights"]),
    "accuracy_is_a_count": ("2.2.3", ["the accuracy is the fraction of rows predicted right"]),
    "loss_averaged": ("2.2.3", ["the loss is the cross-entropy summed over the batch"]),
    "grad_b_averaged": ("2.3", ["grad_b matches central differences (sigmoid and linear layers)"]),
    "grad_W_averaged": ("2.3", ["grad_W matches central differences (sigmoid and linear layers)"]),
    "backwards_grad_X_transposed": ("2.3", ["the returned grad_X matches central differences"]),
    "xavier_wrong_bound": ("2.1.2", ["Var(W) = 2 / (in + out), centred on 0"]),
    "forward_without_bias": ("2.2.1", ["forward returns sigmoid(X @ W + b)"]),
    "sigmoid_exp_ratio": ("2.2.1", ["sigmoid stays finite and in [0, 1] for |x| up to 1000"]),
    "batches_reseeded": ("2.4", ["each call draws a new order"]),
    "batches_count_not_size": ("2.4", [
        "batches have batch_size rows (one smaller leftover allowed)",
        "splits 10,800 samples of 1024 values (NIST36's training set) in time",
        "edge case: fewer samples than batch_size (N = 7, batch_size 10)",
        "edge case: batch_size 1 and batch_size N (one-row batches, one batch)"]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PARTIAL))
def test_a_mostly_right_answer_fails_only_its_own_checks(name, tmp_path):
    question, expected = PARTIAL[name]
    results = _verdicts(_checks_of(question), _variant(name, tmp_path), tmp_path)
    # run_q2: solutions only; the feedback checks carry no points
    ran = [(c, o) for c, o, _ in results if o != "not provided" and not c.feedback]
    failed = sorted(c.name for c, o in ran if o != "passed")
    assert failed == sorted(expected), _describe(results)
    weights = {c.name: c.weight for c, _ in ran}
    kept = 1 - sum(weights[n] for n in failed) / sum(weights.values())
    assert failed and kept >= 0.5, f"{name} keeps {kept:.0%} of Q{question}:\n" + _describe(results)


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_variant_passes_every_check(name, tmp_path):
    """Every check passes, but the feedback checks (no points) the catalog names: those fail
    with its teaching message (code writing into its argument: full points, a note)."""
    variant = VARIANTS.get(name)
    skip = variant.skip if variant else ()  # for time: the np.delete loop
    noted = {
        BY_MARKER[m].id: fragment for m, fragment in (variant.feedback if variant else {}).items()
    }
    # the script layout's Q2.5 checks are "not provided" for a run_q2.py with the function
    checks = [c for c in PACKAGE_CHECKS if c.name not in skip]
    results = _verdicts(checks, _variant(name, tmp_path), tmp_path)
    allowed = {"passed"} if HAS_SOLUTIONS else {"passed", "not provided"}
    bad = [
        r for r in results if r[1] not in allowed and not (r[0].feedback and r[0].question in noted)
    ]
    assert not bad, f"{name} is correct, but:\n" + _describe(bad)
    for question, fragment in noted.items():
        failed = [
            m for c, o, m in results if c.question == question and c.feedback and o == "failed"
        ]
        assert any(fragment.lower() in m.lower() for m in failed), (
            f"{name}: no feedback check of Q{question} says {fragment!r}:\n" + _describe(results)
        )


# ----------------------------------------------------------------------------- run_q2.py
RUN_Q2_MUTANTS = {
    "one_sided_difference": (
        "2.5",
        [
            ("            value[idx] = old - eps\n            minus = loss_fn(params)\n",
             "            value[idx] = old\n            minus = loss_fn(params)\n"),
            ("grad[idx] = (plus - minus) / (2 * eps)", "grad[idx] = (plus - minus) / eps"),
        ],
        "one-sided",
    ),
    "fixed_eps": (
        "2.5",
        [("    grads = {}\n    for key in", "    grads = {}\n    eps = 1e-4\n    for key in")],
        "eps = 0.01",
    ),
    "not_restored": (
        "2.5",
        [("            minus = loss_fn(params)\n            value[idx] = old\n",
          "            minus = loss_fn(params)\n")],
        "restore",
    ),
    "every_key": (
        "2.5",
        [('    for key in [k for k in params if "_" not in k]:',
          '    for key in [k for k in params if not k.startswith("cache")]:')],
        "keys without '_'",
    ),
    "no_update": (
        "2.4",
        [('params[name] -= learning_rate * params["grad_" + name]', "pass")],
        "update them in place",
    ),
    "gradient_ascent": (
        "2.4",
        [('params[name] -= learning_rate * params["grad_" + name]',
          'params[name] += learning_rate * params["grad_" + name]')],
        "W <- W - learning_rate * grad_W",
    ),
    "no_history": ("2.4", [("    return history\n", "    return None\n")], "history"),
}  # fmt: skip


@needs_solutions
@pytest.mark.parametrize("name", sorted(RUN_Q2_MUTANTS))
def test_wrong_run_q2_fails(name, tmp_path):
    question, edits, fragment = RUN_Q2_MUTANTS[name]
    nn = importlib.import_module("solutions.nn")
    sub = Implementation.with_modules({"nn": nn, "run_q2": _run_q2(nn, name, edits)}, label=name)
    results = _verdicts(_checks_of(question), sub, tmp_path)
    failed = [m for _, o, m in results if o == "failed"]
    assert any(fragment.lower() in m.lower() for m in failed), (
        f"{name} should fail Q{question} saying {fragment!r}:\n" + _describe(results)
    )
    passed = [c for c, o, _ in results if o == "passed"]
    assert passed, f"{name} is wrong in one way only, yet fails every check:\n" + _describe(results)


def test_a_script_run_q2_is_not_provided(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    (folder / "nn.py").write_text("import numpy as np\n", encoding="utf-8")
    (folder / "run_q2.py").write_text(
        "from nn import *\nparams = {}\nprint('training...')\n", encoding="utf-8"
    )
    impl = resolve(str(folder))
    try:
        verdicts = [
            (check.name, *verdict(check, impl, tmp_path))
            for check in PACKAGE_CHECKS
            if "run_q2" in check.modules
        ]
    finally:  # this folder's flat modules out of the test process
        impl.unload()
    for name, outcome, message in verdicts:
        assert outcome == "not provided" and "script" in message, (name, outcome, message)


def test_a_row_bias_is_handed_over_in_its_convention(tmp_path):
    """The Q2.3 tasks probe initialize_weights: a (1, out) bias gets a (1, out) grad_b."""
    sub = _variant("bias_row", tmp_path)
    (shapes,) = [c for c in _checks_of("2.3") if c.name.startswith("stores grad_W")]
    assert verdict(shapes, sub, tmp_path) == ("passed", "")
    # The handout's convention, (out,), with a (1, out) grad_b: caught by the shape check.
    wrong = types.ModuleType("row_grad_b")
    solution = _variant("student", tmp_path).load("nn")
    wrong.__dict__.update({k: v for k, v in vars(solution).items() if not k.startswith("__")})

    def backwards(delta, params, name="", activation_deriv=solution.sigmoid_deriv):
        grad_X = solution.backwards(delta, params, name, activation_deriv)
        params["grad_b" + name] = params["grad_b" + name].reshape(1, -1)
        return grad_X

    wrong.backwards = backwards
    sub = Implementation.with_modules({"nn": wrong}, label="row_grad_b")
    outcome, message = verdict(shapes, sub, tmp_path)
    assert outcome == "failed" and "it must have the shape of" in message, message


def _replaced(nn: types.ModuleType, **functions) -> types.ModuleType:
    module = types.ModuleType(f"{nn.__name__}_replaced")
    module.__dict__.update({k: v for k, v in vars(nn).items() if not k.startswith("__")})
    module.__dict__.update(functions)
    return module


def test_wrong_values_earn_nothing(tmp_path):
    """Checks of a side effect (in place, restored) or of shapes give nothing to wrong values:
    NaN probabilities, zero gradients."""
    student = _variant("student", tmp_path).load("nn")

    def nan_softmax(x):
        return np.full(np.shape(x), np.nan)

    def zero_backwards(delta, params, name="", activation_deriv=None):
        params["grad_W" + name] = np.zeros(np.shape(params["W" + name]))
        params["grad_b" + name] = np.zeros(np.shape(params["b" + name]))
        return np.zeros((len(delta), np.shape(params["W" + name])[0]))

    modules = {"nn": _replaced(student, softmax=nan_softmax, backwards=zero_backwards)}
    expected = {"2.2.2": [], "2.3": []}
    if HAS_SOLUTIONS:
        nn = importlib.import_module("solutions.nn")
        edit = ('grads["grad_" + key] = grad', 'grads["grad_" + key] = np.zeros(value.shape)')
        modules["run_q2"] = _run_q2(nn, "zero_gradients", [edit])
        expected["2.5"] = []
    wrong = Implementation.with_modules(modules, label="wrong")
    for question, passing in expected.items():
        results = _verdicts(_checks_of(question), wrong, tmp_path)
        passed = [c.name for c, o, _ in results if o == "passed"]
        assert passed == passing, _describe(results)


# ----------------------------------------------------------------------------- no vacuous passes
def test_batch_checks_use_realistic_sizes_and_edge_cases_weigh_little():
    """Main checks: N >= 4 x batch_size. Edge cases (N < batch_size, batch_size 1 or N): their
    own small checks, each after a normal case that must give batches."""
    edges = 0
    for check in _checks_of("2.4"):
        if check.task.__name__ not in ("batches_task", "batches_edge_task"):
            continue
        cases = check.inputs()["cases"]
        if check.name.startswith("edge case"):
            edges += 1
            assert check.weight <= 0.25, check.name
            n, _, _, batch_size = cases[0]
            assert n >= 4 * batch_size, f"{check.name}: first a normal case"
        else:
            assert all(n >= 4 * b for n, _, _, b in cases), check.name
    assert edges == 2


def test_softmax_checks_ask_for_probabilities_that_are_not_one_hot():
    """A hard max (the one-hot of each row's argmax) earns no softmax check."""
    for check in _checks_of("2.2.2"):
        probs = oracle.softmax(check.inputs()["x"])
        second = np.sort(probs, axis=1)[:, -2]
        assert np.all(second > 1e-3), f"{check.name}: some rows are (nearly) one-hot"


def test_the_unfilled_starter_earns_nothing_on_q2(tmp_path):
    """The handout's starter (functions that `pass` or return None, batches = []): 0 points."""
    sub = _variant("starter", tmp_path)
    results = _verdicts(Q2_CHECKS, sub, tmp_path)
    passed = [(c, o, m) for c, o, m in results if o == "passed"]
    assert not passed, _describe(passed)
