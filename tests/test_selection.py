"""Which tests a run imports: a mistyped question marker is an error, and files that cannot
hold a selected test are not imported (``grader/selection.py``, used by ``conftest.py``)."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.questions import QUESTIONS
from grader.selection import (
    can_skip_file,
    marker_names,
    selects,
    unknown_marker_message,
    unknown_markers,
)

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
KNOWN = {"slow", "q1", "parametrize", *(q.marker for q in QUESTIONS)}


@pytest.mark.parametrize(
    "expression, unknown",
    [
        ("q2_2_2", []),
        ("q2_2_2 or (q2_3 and not slow)", []),
        ("q2.2.2", ["q2.2.2"]),
        ("q9_9 or q2_3", ["q9_9"]),
        ("", []),
    ],
)
def test_unknown_markers(expression, unknown):
    assert unknown_markers(expression, KNOWN) == unknown


def test_the_message_suggests_the_marker_and_lists_the_questions():
    message = unknown_marker_message("q2.2.2", ["q2.2.2"], KNOWN)
    assert "did you mean q2_2_2?" in message
    assert "q2_1_2, q2_2_1, q2_2_2" in message and "q6_2" in message


def test_marker_names_of_ini_lines():
    assert marker_names(["slow: text", "q2_3: Q2.3 backwards", "skipif(condition): x"]) == {
        "slow",
        "q2_3",
        "skipif",
    }


def _pytest(*args):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_mistyped_marker_is_a_usage_error_naming_the_valid_ones():
    proc = _pytest("-m", "q2.2.2", "--collect-only", "-q")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "did you mean q2_2_2?" in proc.stderr and "q3_1" in proc.stderr, proc.stderr


def test_files_without_a_selected_marker_are_skipped():
    softmax = TESTS / "test_nn_softmax.py"
    assert not can_skip_file(softmax, "q2_2_2", run_slow=False)
    assert not can_skip_file(softmax, "", run_slow=False)
    assert can_skip_file(softmax, "q2_3", run_slow=False)
    assert can_skip_file(softmax, "q2_3 or (q4_2 and q2_2_1)", run_slow=False)
    assert not can_skip_file(softmax, "q2_3 or q2_2_2", run_slow=False)
    # "not": a test without the marker may match, so the file is read
    assert not can_skip_file(softmax, "not q2_2_2", run_slow=False)


def test_all_slow_files_are_skipped_only_without_the_slow_tier():
    grader_q6 = TESTS / "test_grader_checks_q6.py"
    assert can_skip_file(grader_q6, "", run_slow=False)
    assert not can_skip_file(grader_q6, "", run_slow=True)
    assert not can_skip_file(grader_q6, "slow", run_slow=True)
    assert can_skip_file(grader_q6, "q2_2_2", run_slow=True)


def test_dynamic_markers_and_other_files_are_always_read(tmp_path):
    dynamic = tmp_path / "test_dynamic.py"
    # (the text is assembled so that this file's own markers stay readable)
    dynamic.write_text("import pytest\npytestmark = getattr(pytest." + 'mark, "q2_" + "3")\n')
    assert not can_skip_file(dynamic, "q2_2_2", run_slow=False)
    helper = tmp_path / "strategies.py"
    helper.write_text("x = 1\n")
    assert not can_skip_file(helper, "q2_2_2", run_slow=False)


def test_one_question_does_not_import_pytorch_or_the_other_questions_tests():
    code = textwrap.dedent(
        """
        import sys, pytest
        pytest.main(["-q", "--collect-only", "-p", "no:cacheprovider", "-m", "q2_2_2"])
        heavy = ("torch", "torchvision", "matplotlib.pyplot", "skimage")
        heavy = [m for m in heavy if m in sys.modules]
        tests = sorted(m for m in sys.modules if m.startswith("test_"))
        print("HEAVY", heavy, "TESTS", tests)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("HEAVY"))
    assert line == "HEAVY [] TESTS ['test_graded_checks', 'test_nn_softmax']", (
        proc.stdout[-3000:] + proc.stderr
    )


def test_one_question_loads_only_its_own_graded_checks():
    """``tests/test_graded_checks.py`` loads the checks of the questions ``-m`` can select."""
    code = textwrap.dedent(
        """
        import sys, pytest
        pytest.main(["-q", "--collect-only", "-p", "no:cacheprovider", "-m", "q2_2_2"])
        print("CHECKS", sorted(m for m in sys.modules if m.startswith("grader.checks.q")))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    ids = [x for x in proc.stdout.splitlines() if x.startswith("tests/")]
    graded = [i for i, x in enumerate(ids) if "test_graded_check[q2_2_2-" in x]
    assert graded and graded == list(range(len(graded))) and len(ids) > len(graded), (
        "the graded checks of Q2.2.2 are collected first, before its properties:\n"
        + proc.stdout[-3000:]
        + proc.stderr
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("CHECKS"))
    loaded = ast.literal_eval(line.removeprefix("CHECKS "))
    assert "grader.checks.q2_2_2" in loaded, loaded
    assert all(m.startswith("grader.checks.q2_") for m in loaded), loaded  # no Q4's skimage


@pytest.mark.parametrize(
    "expression, markers, selected",
    [
        ("q2_2_2", {"q2_2_2"}, True),
        ("q2_2_2", {"q2_3"}, False),
        ("q2_2_2 and not slow", {"q2_2_2", "slow"}, False),
        ("not slow", {"q4_2"}, True),
        ("(q2_3 or q4_2) and not q4_2", {"q4_2"}, False),
        ("", {"q4_2"}, True),
    ],
)
def test_selects_evaluates_the_expression_on_a_tests_markers(expression, markers, selected):
    assert selects(expression, markers) is selected


def _collected(*args) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "--run-slow",
         "--impl=solutions", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {line for line in proc.stdout.splitlines() if "::" in line}


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="student release: no solutions/")
def test_only_the_full_grade_of_the_solutions_stands_in_for_their_costliest_graded_checks():
    """Q3.2's, the autoencoder's and Q6.1.2's end-to-end graded checks of the solutions leave
    the run only where the full grade (which trains them through the grader) is in it; Q3.1's
    and Q6.1.1's stay, and nothing else is left out."""
    alone = _collected("tests/test_graded_checks.py")
    with_grade = _collected("tests/test_graded_checks.py", "tests/test_grader.py")
    left_out = alone - with_grade
    assert {n.split("[")[1].split("-")[0] for n in left_out} == {
        "q3_2",
        "q5_2",
        "q5_3_1",
        "q5_3_2",
        "q6_1_2",
    }, sorted(left_out)
    assert len(left_out) == 6, sorted(left_out)  # the end-to-end ones only
    assert any("q3_1-training-on-nist36" in n for n in with_grade)
    assert not any("q3_2-training" in n for n in with_grade)
    assert any("q6_1_1-train-fc" in n for n in with_grade)
