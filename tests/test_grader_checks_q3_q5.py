"""The grader's checks of Q3 (``grader/checks/q3_1.py`` ... ``q3_4.py``) and Q5 (``q5_1_1.py``
... ``q5_3_2.py``), with what each part's questions share (``q3_common.py``, ``q5_common.py``).

Fast tier: every fast check passes on the solutions and says "not implemented" on the
untouched kata; realistic wrong answers (the solutions with one function edited, served by a
fake submission) fail the right check with a teaching message; the judges of the slow checks
are fed hand-made results; the grader's own training loop (flat submissions) runs a few
epochs. Slow tier: the grader's Python API grades the solutions on Q3.1 and Q5.3.1 end to end
(full marks, figures written).
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from grading import verdict

from coursedata import load_nist36
from grader.check import Check, Fail
from grader.checks import (
    q3_1,
    q3_2,
    q3_3,
    q3_4,
    q3_common,
    q5_1_1,
    q5_1_2,
    q5_2,
    q5_3_1,
    q5_3_2,
    q5_common,
)
from grader.implementation import Implementation, resolve
from grader.questions import QUESTIONS

# The grader's own tests run in the slow tier (CI, --run-slow): the fast tier is the student's
# quick self-check, and these exercise every graded check against the solutions and mutants.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MODULES = (q3_1, q3_2, q3_3, q3_4, q5_1_1, q5_1_2, q5_2, q5_3_1, q5_3_2)
CHECKS = [c for module in MODULES for c in module.CHECKS]
SLOW_BUDGETS = {q3_1.TRAIN_BUDGET, q3_2.SWEEP_BUDGET, q5_2.TRAIN_BUDGET}
FAST = [c for c in CHECKS if c.budget not in SLOW_BUDGETS]


def _marked(checks):
    # no question markers: the grader's own tests are not a student's progress
    return [pytest.param(c, id=c.name[:50]) for c in checks]


def _check(question: str, fragment: str) -> Check:
    """The check of ``question`` whose name contains ``fragment`` (exactly one)."""
    found = [c for c in CHECKS if c.question == question and fragment in c.name]
    assert len(found) == 1, [c.name for c in found]
    return found[0]


@pytest.fixture(scope="module")
def solutions():
    try:
        return resolve("solutions")
    except Exception as exc:  # a student release ships without solutions/
        pytest.skip(str(exc))


def _fake(base, module: str, source: str, missing: tuple[str, ...] = ()):
    """A submission like ``base`` whose ``module`` has the functions of ``source`` (executed
    in a copy of the module's namespace) and which does not provide ``missing``."""
    original = base.load(module)
    namespace = dict(vars(original))
    exec(compile(textwrap.dedent(source), f"<mutant of {module}>", "exec"), namespace)
    mutant = types.ModuleType(module)
    mutant.__dict__.update(namespace)
    return Implementation.with_modules({module: mutant}, base=base, missing=missing)


def _said(template: str, message: str) -> bool:
    """Whether ``message`` holds the grader's message ``template`` (its ``{fields}`` filled)."""
    parts = re.split(r"\{[^{}]*\}", template)
    return re.search(".*?".join(map(re.escape, parts)), message, re.S) is not None


def _edit(base, module: str, function: str, old: str, new: str):
    """``base`` with one exact edit of ``module.function``'s source (``old`` occurs once)."""
    source = textwrap.dedent(inspect.getsource(getattr(base.load(module), function)))
    assert source.count(old) == 1, f"{old!r} should occur once in {function}"
    return _fake(base, module, source.replace(old, new))


# ----------------------------------------------------------------------------- the modules
def test_check_modules_import_no_submission_code_and_no_answers():
    """The submission's process imports these modules for their tasks: neither submission
    code nor the answers (the oracle, the references) may come with them."""
    modules = ", ".join(m.__name__ for m in MODULES)
    code = (
        f"import sys, {modules}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kata', 'solutions') "
        "or m in ('grader.oracle', 'coursedata.q4_reference')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_checks_belong_to_their_questions_with_unique_names():
    ids = {q.id for q in QUESTIONS}
    for module in MODULES:
        question = module.__name__.removeprefix("grader.checks.q").replace("_", ".")
        assert question in ids
        names = [c.name for c in module.CHECKS]
        assert len(set(names)) == len(names)
        part = module.__name__.split("_")[0]  # grader.checks.q3: its own tasks or shared ones
        for check in module.CHECKS:
            assert check.question == question
            assert check.weight > 0 and check.budget >= 30
            assert check.task_ref.startswith((module.__name__ + ":", part + "_common:"))
    graded = {c.question for c in CHECKS}
    assert graded == {"3.1", "3.2", "3.3", "3.4", "5.1.1", "5.1.2", "5.2", "5.3.1", "5.3.2"}


# ----------------------------------------------------------------------------- solutions, kata
@pytest.mark.parametrize("check", _marked(FAST))
def test_solutions_pass_every_fast_check(check, solutions, tmp_path):
    outcome, message = verdict(check, solutions, tmp_path)
    assert outcome == "passed", message


@pytest.mark.parametrize("check", _marked(CHECKS))
def test_untouched_kata_is_not_implemented(check, tmp_path):
    outcome, message = verdict(check, resolve("kata"), tmp_path)
    assert outcome == "not implemented", message
    assert message.startswith("Q"), message  # names the question and the function


# ----------------------------------------------------------------------------- Q3 mutants
TRAIN_MUTANTS = [
    pytest.param(
        "train fits", "(total_loss / n_seen, n_correct", "(total_loss, n_correct",
        q3_1.SUMMED_LOSS, id="summed-train-loss",
    ),
    pytest.param(
        "copy of the parameters", "best, best_acc = copy_parameters(params), valid_acc",
        "best, best_acc = params, valid_acc", q3_1.NOT_A_COPY, id="best-is-a-reference",
    ),
    pytest.param(
        "history: each", "valid_loss, valid_acc = evaluate(valid_x, valid_y, params)",
        "valid_loss, valid_acc = evaluate(valid_x, valid_y, params)\n"
        "        valid_loss *= len(valid_x)",
        q3_1.VALID_LOSS + q3_1.VALID_LOSS_SUMMED, id="summed-valid-loss",
    ),
    pytest.param(
        "train fits", "    return best, history", "    best, history",
        q3_common.NOT_A_PAIR + q3_common.NO_RETURN, id="no-return",
    ),
    pytest.param(  # a faithful history of a network that never trains earns nothing
        "history: each", 'params[name] -= learning_rate * params["grad_" + name]', "pass",
        q3_1.NOT_UPDATED, id="no-update-history",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fragment", "old", "new", "message"), TRAIN_MUTANTS)
def test_wrong_train_fails_with_its_message(solutions, tmp_path, fragment, old, new, message):
    sub = _edit(solutions, "run_q3", "train", old, new)
    outcome, got = verdict(_check("3.1", fragment), sub, tmp_path)
    assert outcome == "failed" and _said(message, got), got


def test_flat_submission_without_train_leaves_the_small_checks_out(solutions, tmp_path):
    sub = _fake(solutions, "nn", "", missing=("run_q3",))
    for fragment in ("train fits", "copy of the parameters", "history: each"):
        outcome, message = verdict(_check("3.1", fragment), sub, tmp_path)
        assert outcome == "not provided" and "no run_q3.py" in message


def _nist36_check(fragment, epochs, seconds_per_epoch=q3_1.LOOP_SECONDS_PER_EPOCH):
    """A Q3.1 NIST36 check over fewer epochs (the grader's loop is the same)."""
    inputs = q3_1.nist36_inputs(epochs=epochs)() | {"loop_seconds_per_epoch": seconds_per_epoch}
    return replace(_check("3.1", fragment), inputs=lambda: inputs)


def test_flat_submission_trains_with_the_graders_loop_over_its_nn(solutions, tmp_path):
    sub = _fake(solutions, "nn", "", missing=("run_q3",))
    # a generous stop: this test is about the loop, not about the machine's speed
    check = _nist36_check("NIST36 history", epochs=3, seconds_per_epoch=300)
    outcome, message = verdict(check, sub, tmp_path)
    assert outcome == "passed", message
    outcome, message = verdict(_nist36_check("bar", epochs=3, seconds_per_epoch=300), sub, tmp_path)
    assert outcome == "failed", "3 epochs should not reach the bar"
    assert _said(q3_common.LOOP_HOW, message) and "no run_q3.py" in message


def test_graders_loop_stops_slow_code_and_says_to_vectorise(solutions, tmp_path):
    sub = _fake(solutions, "nn", "", missing=("run_q3",))
    check = _nist36_check("bar", epochs=50, seconds_per_epoch=1e-4)
    outcome, message = verdict(check, sub, tmp_path)
    assert outcome == "failed" and _said(q3_common.SLOW_LOOP, message), message
    assert "stopped after 1)" in message


def test_initial_weights_are_a_snapshot_from_before_training(solutions):
    """The solutions update params in place: the initial Wlayer1 must be a copy."""
    inputs = q3_1.nist36_inputs(epochs=2)()
    out = q3_common.nist36_task(solutions, inputs)
    expected = q3_1.xavier_params((1024, 64, 36), seed=q3_1.SEED)["Wlayer1"]
    np.testing.assert_array_equal(out["initial_Wlayer1"], expected)
    assert not np.array_equal(out["best_Wlayer1"], expected)
    q3_3.judge_trained_weights(inputs, out | {"__none__": []})


def test_transposed_weight_tiles_are_named(solutions, tmp_path):
    sub = _edit(
        solutions, "run_q3", "weight_grid", "transpose(2, 1, 3, 0)", "transpose(2, 0, 3, 1)"
    )
    outcome, message = verdict(_check("3.3", "weight_grid"), sub, tmp_path)
    assert outcome == "failed" and _said(q3_3.TRANSPOSED_TILE, message), message


CONFUSION_MUTANTS = [
    pytest.param(
        """
        def confusion_matrix(y, probs):
            counts = np.zeros((y.shape[1], y.shape[1]))
            counts[np.argmax(y, axis=1), np.argmax(probs, axis=1)] += 1
            return counts
        """,
        q3_4.FANCY_INDEX, id="fancy-index-increment",
    ),
    pytest.param(
        """
        def confusion_matrix(y, probs):
            counts = np.zeros((y.shape[1], y.shape[1]))
            np.add.at(counts, (np.argmax(probs, axis=1), np.argmax(y, axis=1)), 1)
            return counts
        """,
        q3_4.TRANSPOSED, id="transposed",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("source", "message"), CONFUSION_MUTANTS)
def test_wrong_confusion_matrix_fails_with_its_message(solutions, tmp_path, source, message):
    sub = _fake(solutions, "run_q3", source)
    outcome, got = verdict(_check("3.4", "confusion_matrix"), sub, tmp_path)
    assert outcome == "failed" and _said(message, got), got


# ----------------------------------------------------------------------------- Q3 slow judges
def _history_out(epochs, **changes):
    """A plausible ``nist36_task`` result: a falling loss and a rising accuracy."""
    t = np.linspace(0, 1, epochs)
    history = {
        "train_loss": 3.0 - 2.5 * t,
        "train_acc": 0.2 + 0.6 * t,
        "valid_loss": 2.4 - 1.7 * t,
        "valid_acc": 0.45 + 0.35 * t,
    }
    history |= changes
    out = {"returned": "pair", "history_keys": ",".join(sorted(history)), "__none__": []}
    out |= {"history_" + k: np.asarray(v, dtype=float) for k, v in history.items()}
    return out


def test_nist36_history_judge_explains_summed_and_flat_losses():
    inputs = q3_1.nist36_inputs()()
    q3_1.judge_nist36_history(inputs, _history_out(50))
    cases = (
        (q3_1.NIST36_SUMMED, _history_out(50, train_loss=np.linspace(99, 20, 50))),
        (q3_1.NIST36_NOT_LEARNING, _history_out(50, train_loss=np.full(50, 3.0))),
        (q3_common.PER_EPOCH, _history_out(334)),
    )
    for template, out in cases:
        with pytest.raises(Fail) as failed:
            q3_1.judge_nist36_history(inputs, out)
        assert _said(template, str(failed.value)), str(failed.value)


def test_a_diverging_learning_rate_is_drawn_not_refused(tmp_path):
    inputs = q3_2.sweep_inputs()
    out = {"__none__": []}
    for i in range(len(q3_2.SWEEP_FACTORS)):
        history = _history_out(q3_2.SWEEP_EPOCHS)
        if i == 0:  # 10x: the loss overflows
            history["history_train_loss"][5:] = np.inf
        out |= {f"lr{i}_{k}": v for k, v in history.items() if k != "__none__"}
    q3_2.judge_sweep(inputs, out)
    [path] = q3_2.figure_sweep(inputs, out, tmp_path)
    assert path.name == "q3_2_learning_rates.png" and path.read_bytes()[:4] == b"\x89PNG"


def _params_out(params, prefix="best_"):
    out = {
        "returned": "pair",
        "best_keys": ",".join(sorted(params)),
        "__none__": [],
        "initial_Wlayer1": np.random.default_rng(1).uniform(-0.1, 0.1, size=(1024, 64)),
    }
    return out | {prefix + k: v for k, v in params.items()}


def test_nist36_bar_judge_computes_the_accuracy_itself():
    inputs = q3_1.nist36_inputs()()
    untrained = q3_1.xavier_params((1024, 64, 36), seed=0)
    with pytest.raises(Fail) as failed:
        q3_1.judge_nist36_bar(inputs, _params_out(untrained) | {"how": "run_q3.train"})
    assert _said(q3_1.BELOW_BAR, str(failed.value)), str(failed.value)
    with pytest.raises(Fail, match=r"best\['blayer1'\]: expected shape \(64,\)"):
        q3_1.judge_nist36_bar(inputs, _params_out(untrained | {"blayer1": np.zeros(36)}))


def test_q3_figures_are_drawn_from_returned_data(tmp_path):
    inputs = q3_1.nist36_inputs()()
    [curves] = q3_1.figure_nist36_curves(inputs, _history_out(50), tmp_path)
    out = _params_out(q3_1.xavier_params((1024, 64, 36), seed=0))
    [weights] = q3_3.figure_weights(inputs, out, tmp_path)
    [confusion] = q3_4.figure_confusion(inputs, out, tmp_path)
    names = [p.name for p in (curves, weights, confusion)]
    assert names == ["q3_1_curves.png", "q3_3_weights.png", "q3_4_confusion.png"]
    for path in (curves, weights, confusion):
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 5000
    assert q3_1.figure_nist36_curves(inputs, {"returned": "NoneType"}, tmp_path) == []


# ----------------------------------------------------------------------------- Q5 mutants
Q5_MUTANTS = [
    pytest.param(
        "5.1.1", "the handout's layers", "init_autoencoder",
        "sizes = (in_size, hidden_size, hidden_size, hidden_size, in_size)",
        "sizes = (in_size, hidden_size, hidden_size, in_size)",
        q5_common.MISSING_PARAMS, id="three-layers",

    ),
    pytest.param(
        "5.1.1", "fresh weights", "init_autoencoder", "params = {}",
        "np.random.seed(0)\n    params = {}", q5_1_1.NOT_FRESH, id="reseeds",

    ),
    pytest.param(
        "5.1.1", "ReLU hidden layers", "autoencoder_forward",
        "h = forward(h, params, name, relu)", "h = forward(h, params, name, sigmoid)",
        list(q5_1_1.FORWARD_VARIANTS)[0], id="sigmoid-hidden-layers"
    ),
    pytest.param(
        "5.1.2", "plain gradient step", "momentum_step", 'params.get("m_" + name, 0.0)',
        'params["m_" + name]', q5_1_2.NO_ACCUMULATOR, id="no-zero-start",

    ),
    pytest.param(
        "5.1.2", "plain gradient step", "momentum_step",
        "params[name] = params[name] + accumulator", "params[name] = params[name] - accumulator",
        q5_1_2.UPHILL, id="ascends"
    ),
    pytest.param(
        "5.1.2", "hand computation", "momentum_step", 'params["m_" + name] = accumulator',
        "pass", q5_1_2.STEPS_DIFFER, id="forgets-the-accumulator",

    ),
    pytest.param(
        "5.2", "total squared error", "autoencoder_forward_backward",
        "return float(np.sum(error**2))", "return float(np.mean(error**2))",
        q5_2.LOSS_WRONG + q5_2.LOSS_AVERAGED,
        id="mean-loss"
    ),
    pytest.param(
        "5.2", "central differences", "autoencoder_forward_backward",
        "backwards(2.0 * error,", "backwards(error,", q5_2.GRADIENT_WRONG + q5_2.GRADIENT_HALF,
        id="half-gradient"
    ),
    pytest.param(
        "5.3.2", "data_range 1", "average_psnr", "reconstruction, data_range=1.0)",
        "reconstruction, data_range=255)", q5_3_2.PSNR_WRONG + q5_3_2.RANGE_HINT,
        id="data-range-255",

    ),
]  # fmt: skip


@pytest.mark.parametrize(("question", "fragment", "function", "old", "new", "message"), Q5_MUTANTS)
def test_wrong_autoencoder_code_fails_with_its_message(
    solutions, tmp_path, question, fragment, function, old, new, message
):
    sub = _edit(solutions, "run_q5", function, old, new)
    outcome, got = verdict(_check(question, fragment), sub, tmp_path)
    assert outcome == "failed" and _said(message, got), got


def test_decay_before_the_first_epoch_is_named(solutions, tmp_path):
    source = """
    def train_autoencoder(x, params, learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE,
                          epochs=EPOCHS, decay_every=DECAY_EVERY, decay=DECAY):
        history = []
        for epoch in range(epochs):
            if epoch % decay_every == 0:
                learning_rate *= decay
            total = 0.0
            for xb, _ in get_random_batches(x, np.ones((len(x), 1)), batch_size):
                total += autoencoder_forward_backward(xb, params)
                momentum_step(params, learning_rate)
            history.append(total)
        return history
    """
    sub = _fake(solutions, "run_q5", source)
    outcome, message = verdict(_check("5.2", "decay_every"), sub, tmp_path)
    assert outcome == "failed" and _said(q5_2.DECAYED_FIRST, message), message
    outcome, message = verdict(_check("5.2", "prototype images"), sub, tmp_path)
    assert outcome == "passed", message  # decayed from the start by 0.9: it still trains


def test_examples_in_row_order_instead_of_class_order_are_named(solutions, tmp_path):
    source = """
    def reconstruction_examples(x, y, params, classes=SHOWN_CLASSES, per_class=2):
        labels = np.argmax(y, axis=1)
        wanted = [CLASSES.index(name) for name in classes]
        indices = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in wanted])
        indices = np.sort(indices)
        return indices, autoencoder_forward(x[indices], params)
    """
    sub = _fake(solutions, "run_q5", source)
    outcome, message = verdict(_check("5.3.1", "in order"), sub, tmp_path)
    assert outcome == "failed" and _said(q5_3_1.WRONG_ORDER, message), message


def test_momentum_updated_in_place_is_accepted(solutions, tmp_path):
    source = """
    def momentum_step(params, learning_rate, momentum=MOMENTUM):
        for name in [k for k in params if "_" not in k]:
            if "m_" + name not in params:
                params["m_" + name] = np.zeros_like(params[name])
            params["m_" + name] *= momentum
            params["m_" + name] -= learning_rate * params["grad_" + name]
            params[name] += params["m_" + name]
    """
    sub = _fake(solutions, "run_q5", source)
    for check in q5_1_2.CHECKS:
        outcome, message = verdict(check, sub, tmp_path)
        assert outcome == "passed", f"{check.name}: {message}"


def test_psnr_of_all_the_pixels_together_is_named(solutions, tmp_path):
    source = """
    def average_psnr(x, reconstructions):
        return float(10 * np.log10(1.0 / np.mean((x - reconstructions) ** 2)))
    """
    sub = _fake(solutions, "run_q5", source)
    for fragment, template in (
        ("not the pixels", q5_3_2.POOLED),
        ("data_range 1", q5_3_2.PSNR_WRONG + q5_3_2.POOLED_HINT),
    ):
        outcome, message = verdict(_check("5.3.2", fragment), sub, tmp_path)
        assert outcome == "failed" and _said(template, message), message


def test_row_biases_are_graded_like_flat_ones(solutions, tmp_path):
    """A submission whose initialize_weights makes (1, out) biases gets them in its shape."""
    sub = _edit(
        solutions, "nn", "initialize_weights", "np.zeros(out_size)", "np.zeros((1, out_size))"
    )
    for check in (_check("5.1.1", "ReLU hidden layers"), _check("5.2", "central differences")):
        outcome, message = verdict(check, sub, tmp_path)
        assert outcome == "passed", message


# ----------------------------------------------------------------------------- Q5 slow judges
def test_nist36_loss_judge_applies_the_ratio_bound(tmp_path):
    falling = {"history": 7.7e5 * (0.28 + 0.72 * np.exp(-np.arange(100) / 15)), "__none__": []}
    q5_2.judge_nist36_loss({}, falling)
    with pytest.raises(Fail) as failed:
        q5_2.judge_nist36_loss({}, {"history": np.linspace(7.7e5, 4e5, 100), "__none__": []})
    assert _said(q5_2.NIST36_RATIO, str(failed.value)), str(failed.value)
    assert f"the bound is {q5_2.LOSS_RATIO}" in str(failed.value)
    [path] = q5_2.figure_nist36_loss({}, falling, tmp_path)
    assert path.name == "q5_2_loss.png" and path.read_bytes()[:4] == b"\x89PNG"


def test_reconstructions_judge_finds_images_of_another_class(tmp_path):
    inputs = q5_3_1.shown_inputs()
    x, _ = load_nist36("valid")
    images = x[inputs["indices"]]
    q5_3_1.judge_shown(inputs, {"reconstructions": images.copy(), "__none__": []})
    swapped = images[[2, 3, 0, 1, *range(4, len(images))]]  # A's and G's exchanged
    with pytest.raises(Fail) as failed:
        q5_3_1.judge_shown(inputs, {"reconstructions": swapped, "__none__": []})
    assert _said(q5_3_1.NEARER_ANOTHER, str(failed.value)) and "(G)" in str(failed.value)
    [path] = q5_3_1.figure_shown(inputs, {"reconstructions": images}, tmp_path)
    assert path.name == "q5_3_1_reconstructions.png"


def test_psnr_bar_judge_computes_the_psnr_itself():
    x, _ = load_nist36("valid")
    q5_3_2.judge_nist36_psnr({}, {"reconstructions": x * 0.98 + 0.01, "__none__": []})
    with pytest.raises(Fail) as failed:
        q5_3_2.judge_nist36_psnr({}, {"reconstructions": np.full_like(x, 0.5), "__none__": []})
    assert _said(q5_3_2.BELOW_BAR, str(failed.value)), str(failed.value)
