"""Q2.5 written inline in the handout's ``run_q2.py`` script (``grader/checks/script_q2_5.py``).

A student who fills the handout's starter ``run_q2.py`` writes the gradient checker as
module-level code: no ``numerical_gradients`` function for Q2.5's other checks to call. The
script checks run it and judge what it leaves (``params`` and its numerical gradients, the
snapshot ``params_orig``, the data ``x``, ``y``) against the grader's own gradient.

``tests/mutants/script/run_q2.py`` is such a script, correct, in the handout's shape; the
wrong ones below are realistic edits of it. The grade runs go through the sandbox (slow tier);
the judges are also tested on values made here (fast tier).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from grading import verdict

from grader import oracle
from grader.check import Fail
from grader.checks import question_checks, script_q2_5
from grader.checks.script_q2_5 import (
    GRADIENT_TOLERANCE,
    NO_SNAPSHOT,
    NOT_RESTORED,
    TOY_SHAPES,
    TRAINED_AFTER,
    UNCHANGED,
    judge_script_gradients,
    judge_script_restored,
)
from grader.grade import grade_question
from grader.implementation import resolve
from grader.questions import QUESTIONS
from grader.sandbox import Limits
from grader.submission import open_submission

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tests" / "mutants"
SCRIPT = MUTANTS / "script" / "run_q2.py"
STUDENT_NN = MUTANTS / "student" / "nn.py"
Q2_5 = next(q for q in QUESTIONS if q.id == "2.5")

# the student's central difference, as the fixture writes it
CENTRAL = "params['grad_' + k][idx] = (loss_plus - loss_minus) / (2 * eps)"
RESTORE = "        v[idx] = old\n        params['grad_'"
# the second forward pass of each entry: h1 recomputed with w - eps
MINUS_H1 = "        v[idx] = old - eps\n        h1 = forward(x, params, 'layer1')\n"
Q25_LOOP_START = "    for idx in np.ndindex(v.shape):\n"

# name -> (edits of the correct script, a fragment of the failure message)
WRONG = {
    "divides_by_eps": (
        [(CENTRAL, "params['grad_' + k][idx] = (loss_plus - loss_minus) / eps")],
        "differ from the exact gradient",
    ),
    "one_sided": (
        [
            (CENTRAL, "params['grad_' + k][idx] = (loss_plus - loss_minus) / eps"),
            ("        v[idx] = old - eps\n", "        v[idx] = old\n"),
        ],
        "differ from the exact gradient",
    ),
    "stale_hidden_layer": (  # the minus side reuses h1 of the plus side
        [(MINUS_H1, "        v[idx] = old - eps\n")],
        "differ from the exact gradient",
    ),
    "not_restored": (  # w + eps, then w - eps ... and never back: the later entries'
        [(RESTORE, "        params['grad_'")],  # gradients drift too (2.6e-4 on Wlayer1)
        "restore each entry",
    ),
    "unfilled_starter": (  # the handout's Q2.5 block as given: comments only
        [(Q25_LOOP_START, "    continue\n" + Q25_LOOP_START)],
        "still backprop's",
    ),
    "no_snapshot": (
        [
            ("params_orig = copy.deepcopy(params)\n", "params_orig = params\n"),
        ],
        "keeps no copy of params",
    ),
    "crashes": (
        [("total_error = 0\n", "total_error = 0\nraise ValueError('oops')\n")],
        "did not run to its end",
    ),
}


def _moved_before_training() -> str:
    """Q2.5's block (backprop on all the data, the snapshot, the checker, the error loop)
    moved before the training loop: "you can do this before or after training"."""
    text = SCRIPT.read_text(encoding="utf-8")
    start = text.index("# backprop on all the data, to compare with\n")
    block = text[start:]
    at = text.index("# Q 2.4\n")
    return text[:at] + block + "\n" + text[at:start]


def _in_a_main_function() -> str:
    """Everything after the imports inside ``def main():``, called under the main guard."""
    lines = SCRIPT.read_text(encoding="utf-8").splitlines()
    top = [line for line in lines[:5] if line.startswith(("import", "from", "#"))]
    body = [("    " + line) if line.strip() else "" for line in lines[len(top) :]]
    tail = ['if __name__ == "__main__":', "    main()"]
    return "\n".join([*top, "def main():", *body, *tail]) + "\n"


def _trains_after() -> str:
    """The handout's order, then more training after the error loop."""
    return SCRIPT.read_text(encoding="utf-8") + (
        "for itr in range(50):\n"
        "    for xb, yb in get_random_batches(x, y, 5):\n"
        "        h1 = forward(xb, params, 'layer1')\n"
        "        probs = forward(h1, params, 'output', softmax)\n"
        "        backwards(backwards(probs - yb, params, 'output', linear_deriv), params,\n"
        "                  'layer1', sigmoid_deriv)\n"
        "        for k in ['Wlayer1', 'blayer1', 'Woutput', 'boutput']:\n"
        "            params[k] -= 1e-3 * params['grad_' + k]\n"
    )


def _edited(edits) -> str:
    text = SCRIPT.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"stale edit: {old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def _folder(tmp_path: Path, name: str, run_q2: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(STUDENT_NN, folder / "nn.py")
    (folder / "run_q2.py").write_text(run_q2, encoding="utf-8")
    return folder


def _checks():
    """Q2.5's checks with the script ones (once, whether or not the question lists them)."""
    checks = question_checks("2.5")
    names = {c.name for c in checks}
    return checks + [c for c in script_q2_5.CHECKS if c.name not in names]


def _grade(folder: Path):
    with open_submission(str(folder)) as submission:
        score, _, _ = grade_question(submission, Q2_5, Limits(), checks=_checks())
    return score


def _table(score) -> str:
    return "\n".join(
        f"  [{c.outcome}] {c.points:g}/{c.max_points:g} {c.name}: {c.message[:300]}"
        for c in score.checks
    )


# ----------------------------------------------------------------------------- fixtures
@pytest.mark.parametrize("name", sorted(WRONG))
def test_every_wrong_edit_applies(name):
    edits, _ = WRONG[name]
    assert _edited(edits) != SCRIPT.read_text(encoding="utf-8")


def test_the_fixture_is_a_script_without_numerical_gradients():
    from grader.implementation import is_import_safe

    assert not is_import_safe(SCRIPT)
    assert "def numerical_gradients" not in SCRIPT.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- which checks
@pytest.mark.parametrize("package", ["kata", "solutions"])
def test_the_script_checks_leave_packages_to_the_other_checks(package, tmp_path):
    if package == "solutions" and not (ROOT / "solutions").is_dir():
        pytest.skip("student release: no solutions/")
    for check in script_q2_5.CHECKS:
        outcome, message = verdict(check, resolve(package), tmp_path)
        assert outcome == "not provided" and "numerical_gradients" in message, message


def test_script_checks_weigh_the_questions_points_and_belong_to_it():
    assert {c.question for c in script_q2_5.CHECKS} == {"2.5"}
    points = [c for c in script_q2_5.CHECKS if not c.feedback]
    assert [c.name for c in points] == [script_q2_5.NAME_GRADIENTS]  # values the judge checks
    assert all(c.weight > 0 for c in script_q2_5.CHECKS)
    # what params hold after the loop is observed in the submission's process: feedback only
    assert [c.name for c in script_q2_5.CHECKS if c.feedback] == [script_q2_5.NAME_RESTORED]
    assert all(c.budget >= 120 for c in script_q2_5.CHECKS)  # 500 epochs run first


# ----------------------------------------------------------------------------- judges
def _toy_out(seed=0, n=40, grads=None, snapshot=True, snapshot_grads=None):
    """What the task returns for a script whose params and data are made here."""
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=s) for k, s in TOY_SHAPES.items()}
    x = rng.normal(size=(n, 2))
    y = np.eye(4)[rng.integers(0, 4, size=n)]
    exact = oracle.mlp_gradients(x, y, params, [("layer1", "sigmoid")])
    grads = exact if grads is None else grads(exact)
    out = {"has_params": np.array(1), "n_data": np.array(1), "d0_x": x, "d0_y": y}
    for k in TOY_SHAPES:
        out["p_" + k], out["p_grad_" + k] = params[k], np.asarray(grads[k], dtype=float)
    out["n_snapshots"] = np.array(int(snapshot))
    if snapshot:
        old = exact if snapshot_grads is None else snapshot_grads
        for k in TOY_SHAPES:
            out["s0_" + k], out["s0_grad_" + k] = params[k].copy(), old[k] + 1e-9
    return out


def _fails(judge, out) -> str:
    with pytest.raises(Fail) as info:
        judge({"seed": 0}, out)
    return str(info.value)


def test_judges_pass_gradients_within_the_tolerance():
    near = 1 + GRADIENT_TOLERANCE / 10
    noisy = _toy_out(grads=lambda g: {k: v * near for k, v in g.items()})
    for judge in (judge_script_gradients, judge_script_restored):
        judge({}, _toy_out())
        judge({}, noisy)


def test_an_averaged_loss_is_not_failed_again_here():
    """The loss averaged over the batch is Q2.2.3's mistake: Q2.5's checker is right."""
    judge_script_gradients({}, _toy_out(grads=lambda g: {k: v / 40 for k, v in g.items()}))


def test_judges_fail_wrong_gradients_with_how_to_compute_them():
    out = _toy_out(grads=lambda g: {k: 2 * v for k, v in g.items()})
    for judge in (judge_script_gradients, judge_script_restored):
        assert "differ from the exact gradient" in _fails(judge, out)
    zero_layer1 = _toy_out(grads=lambda g: g | {"Wlayer1": 0 * g["Wlayer1"]})
    assert "grad_Wlayer1" in _fails(judge_script_gradients, zero_layer1)


def test_backprops_gradients_left_in_place_earn_nothing():
    out = _toy_out()
    for k in TOY_SHAPES:
        out["s0_grad_" + k] = out["p_grad_" + k].copy()
    for judge in (judge_script_gradients, judge_script_restored):
        assert _fails(judge, out).startswith(UNCHANGED[:40])


def test_no_snapshot_and_parameters_changed_after_the_check_are_said():
    assert _fails(judge_script_gradients, _toy_out(snapshot=False)) == NO_SNAPSHOT
    out = _toy_out()
    out["s0_Woutput"] = out["s0_Woutput"] + 0.5
    assert _fails(judge_script_gradients, out) == TRAINED_AFTER


def test_parameters_left_off_by_eps_fail_the_restore_check_only():
    out = _toy_out()
    out["p_Wlayer1"] = out["p_Wlayer1"] - 1e-6
    judge_script_gradients({}, out)
    message = _fails(judge_script_restored, out)
    assert message.startswith(NOT_RESTORED.split("{")[0])


def test_a_script_that_stopped_or_left_nothing_fails_saying_so():
    assert "did not run to its end" in _fails(judge_script_gradients, {"error": "ValueError: x"})
    assert "no `params` dict" in _fails(judge_script_gradients, {"has_params": np.array(0)})


# ----------------------------------------------------------------------------- grades
@pytest.mark.slow
def test_a_correct_inline_gradient_check_earns_q25s_points(tmp_path):
    score = _grade(_folder(tmp_path, "right", SCRIPT.read_text(encoding="utf-8")))
    assert (score.score, score.max_score) == (5, 5), _table(score)
    script_checks = {c.name for c in script_q2_5.CHECKS}
    for result in score.checks:  # the function checks are left out, the script's carry it
        expected = "passed" if result.name in script_checks else "not provided"
        assert result.outcome == expected, _table(score)


def _main_guarded() -> str:
    """The fixture with its work under ``if __name__ == "__main__":`` (imports stay on top)."""
    lines = SCRIPT.read_text(encoding="utf-8").splitlines()
    top = [line for line in lines[:5] if line.startswith(("import", "from", "#"))]
    body = [("    " + line) if line.strip() else "" for line in lines[len(top) :]]
    return "\n".join([*top, 'if __name__ == "__main__":', *body]) + "\n"


def test_a_main_guarded_script_is_a_script(tmp_path):
    from grader.implementation import has_main_block, is_import_safe

    assert not has_main_block(SCRIPT) and not is_import_safe(SCRIPT)
    guarded = tmp_path / "run_q2.py"
    guarded.write_text(_main_guarded(), encoding="utf-8")
    assert has_main_block(guarded) and is_import_safe(guarded)


ACCEPTED = {
    "main_guarded": _main_guarded,  # import-safe, yet a script: the function checks left out
    "before_training": _moved_before_training,
    "trains_after": _trains_after,
    "in_a_main_function": _in_a_main_function,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_a_correct_inline_gradient_check_in_another_arrangement_earns_q25s_points(name, tmp_path):
    score = _grade(_folder(tmp_path, name, ACCEPTED[name]()))
    assert (score.score, score.max_score) == (5, 5), _table(score)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_inline_gradient_check_does_not(name, tmp_path):
    edits, fragment = WRONG[name]
    score = _grade(_folder(tmp_path, name, _edited(edits)))
    assert score.max_score == 5
    messages = " ".join(c.message for c in score.checks if c.outcome == "failed")
    assert fragment.lower() in messages.lower(), _table(score)
    assert score.score == 0, _table(score)


@pytest.mark.slow
def test_a_script_defining_numerical_gradients_is_graded_by_the_function_checks(tmp_path):
    if not (ROOT / "solutions").is_dir():
        pytest.skip("student release: no solutions/")
    solution = (ROOT / "solutions" / "run_q2.py").read_text(encoding="utf-8")
    solution = solution.replace("from .nn import", "from nn import")
    solution = solution.replace("from .util import", "from util import")
    score = _grade(_folder(tmp_path, "function", solution + "\nprint('trains at import')\n"))
    assert (score.score, score.max_score) == (5, 5), _table(score)
    script_checks = {c.name for c in script_q2_5.CHECKS}
    assert all(c.outcome == "not provided" for c in score.checks if c.name in script_checks)


def test_the_scripts_plt_show_never_blocks(tmp_path, monkeypatch):
    """The handout's run_q2.py ends its training with plt.show(): under an interactive
    backend named in the environment, the task still runs it with Agg and returns."""
    import matplotlib

    monkeypatch.setenv("MPLBACKEND", "TkAgg")
    before = matplotlib.get_backend()
    matplotlib.use("svg", force=True)  # another backend already chosen in this process
    shows = "\nimport matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()\n"
    folder = _folder(tmp_path, "shows", SCRIPT.read_text(encoding="utf-8") + shows)
    from grader.implementation import resolve

    impl = resolve(str(folder))
    try:
        out = script_q2_5.script_task(impl, script_q2_5.script_inputs())
    finally:  # the flat modules of this folder, out of this test process
        impl.unload()
        chosen = matplotlib.get_backend()
        matplotlib.use(before, force=True)
    assert "error" not in out, out.get("error")
    assert chosen.lower() == "agg"


def test_a_script_that_asks_for_a_window_or_waits_still_returns(tmp_path, monkeypatch):
    """A script that picks an interactive backend itself, pauses on its figure and shows it
    blocking: nothing opens, nothing waits, the Q2.5 values still come back."""
    import matplotlib

    waited = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: waited.append(seconds) or real_sleep(0))
    before = matplotlib.get_backend()
    asks = (
        "\nimport matplotlib\nmatplotlib.use('TkAgg')\nimport matplotlib.pyplot as plt\n"
        "plt.switch_backend('TkAgg')\nplt.plot([0, 1])\nplt.pause(30)\nplt.show(block=True)\n"
    )
    folder = _folder(tmp_path, "asks", SCRIPT.read_text(encoding="utf-8") + asks)
    impl = resolve(str(folder))
    try:  # each of Q2.5's script checks, its task in this process (the grader's round trip)
        verdicts = {c.name: verdict(c, impl, tmp_path) for c in script_q2_5.CHECKS}
    finally:
        impl.unload()
        chosen = matplotlib.get_backend()
        matplotlib.use(before, force=True)
    assert all(v == ("passed", "") for v in verdicts.values()), verdicts
    assert chosen.lower() == "agg"
    assert sum(waited) < 1, f"the script waited {sum(waited):.0f} s"


def test_a_script_that_draws_earns_q25s_points_in_the_graders_process(tmp_path):
    """The grader's child is a fresh process: pyplot's backend is not resolved yet when the
    script's first figure asks for it (an in-process test after other figures cannot see
    this). A script that plots its training curve, saves it to a file and shows it keeps
    Q2.5's points (nothing blocks: a wait would run past the check's budget)."""
    draws = (
        "\nimport matplotlib.pyplot as plt\nplt.figure()\nplt.plot([0, 1])\n"
        "plt.savefig('q2_4_loss.png')\nplt.show()\n"
    )
    score = _grade(_folder(tmp_path, "draws", SCRIPT.read_text(encoding="utf-8") + draws))
    assert (score.score, score.max_score) == (5, 5), _table(score)
