"""The grader's budgets scale with the machine it runs on (issue 11: the same code, the same
grade under load): ``grader.calibration`` times a reference workload before any submission
runs, and every check's CPU budget is multiplied by how much slower it ran than on the
reference machine (never by less than 1). How the factor moves with memory contention and
CPU hogs is measured by ``python -m benchmarks --only calibration``, not here."""

from pathlib import Path

import pytest

from grader import calibration
from grader.check import Check
from grader.sandbox import Limits

ROOT = Path(__file__).resolve().parent.parent
CHECK = Check("2.2.2", "probe", 1, lambda sub, inputs: {}, lambda inputs, out: None, budget=60)


def test_every_budget_is_scaled_by_the_machine_and_the_instructors_factor():
    assert Limits().budget(CHECK) == 60  # not timed yet: the budgets as written
    assert Limits(machine_factor=2.5).budget(CHECK) == 150
    assert Limits(time_factor=2, machine_factor=1.5).budget(CHECK) == 180
    # the instructor's --timeout stays a hard cap on any one check
    assert Limits(machine_factor=3, max_check_seconds=4).budget(CHECK) == 4


@pytest.mark.parametrize(("seconds", "factor"), [(0.5, 1.0), (1.0, 1.0), (2.0, 2.0), (3.3, 3.3)])
def test_a_slower_machine_gets_proportionally_more_time_a_faster_one_keeps_the_budgets(
    monkeypatch, seconds, factor
):
    monkeypatch.setattr(calibration, "measure", lambda: seconds * calibration.REFERENCE_CPU_SECONDS)
    calibration.machine_factor.cache_clear()
    try:
        assert calibration.machine_factor() == pytest.approx(factor)
    finally:
        calibration.machine_factor.cache_clear()


def test_the_measure_is_a_positive_cpu_time():
    assert 0 < calibration.measure() < 60


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="student release: no solutions/")
def test_grading_times_the_machine_first_and_the_report_says_so(tmp_path, monkeypatch):
    from grader.__main__ import grade_one, select

    monkeypatch.setattr(calibration, "machine_factor", lambda: 1.5)
    result, error = grade_one("solutions", select("2.2.2"), Limits(), out=tmp_path / "out")
    assert not error
    assert result.limits.machine_factor == 1.5
    assert result.scores[0].score == result.scores[0].max_score
    assert "times 1.5: this machine ran" in (tmp_path / "out" / "report.html").read_text()

    def untimed():
        raise AssertionError("an explicit machine_factor is not measured again")

    monkeypatch.setattr(calibration, "machine_factor", untimed)
    result, error = grade_one("solutions", select("2.2.2"), Limits(machine_factor=1.0))
    assert not error and result.limits.machine_factor == 1.0


@pytest.mark.slow
def test_the_child_gets_the_scaled_budget(tmp_path):
    """An endless loop at import is stopped at its check's budget times both factors."""
    from grader.__main__ import grade_one, select
    from grader.checks import question_checks

    sub = tmp_path / "loop"
    sub.mkdir()
    (sub / "nn.py").write_text("while True:\n    pass\n", encoding="utf-8")
    limits = Limits(memory_mb=2048, time_factor=0.05, machine_factor=2.0)
    result, _ = grade_one(str(sub), select("2.2.2"), limits)
    (score,) = result.scores
    assert score.score == 0
    scaled = {f"using {limits.budget(c):.0f} s of CPU time" for c in question_checks("2.2.2")}
    unscaled = {f"using {Limits(time_factor=0.05).budget(c):.0f} s of CPU time"
                for c in question_checks("2.2.2")}  # fmt: skip
    assert scaled.isdisjoint(unscaled), "pick factors whose budgets read differently"
    assert any(text in score.feedback for text in scaled), score.feedback
