"""Hint levels (issue 14 item 3): ``--hints full|nudge|none``.

A failed check says what is wrong at every level; ``nudge`` (the default) adds which handout
question to reread, ``full`` also the formula. One mechanism (:class:`grader.check.Fail`'s
``reread`` and ``formula``), for the grader, the Gradescope zip and the release.
"""

import json
import zipfile

import numpy as np
import pytest

from grader.check import Fail, close, render
from grader.checks import q2_2_3
from grader.face import hint_level
from grader.packaging import build_gradescope_zip


def test_each_level_shows_its_parts():
    fail = Fail("grad_W is wrong", reread="Q2.3", formula="grad_W = X.T @ delta_pre")
    assert render(fail.message, level="none") == "grad_W is wrong"
    nudge = render(fail.message, reread=fail.reread, formula=fail.formula, level="nudge")
    assert nudge == "grad_W is wrong (Reread Q2.3.)"
    full = render(fail.message, reread=fail.reread, formula=fail.formula, level="full")
    assert full == "grad_W is wrong grad_W = X.T @ delta_pre (Reread Q2.3.)"


@pytest.mark.parametrize("level", ["full", "nudge", "none"])
def test_str_of_a_failure_follows_the_level(level, monkeypatch):
    monkeypatch.setenv("NRK_HINTS", level)
    assert hint_level() == level
    with pytest.raises(Fail) as failed:
        close(np.ones(3), np.zeros(3), "softmax(x)", formula="exp(x) / sum exp(x)", reread="Q2.2.2")
    text = str(failed.value)
    assert "softmax(x) differs from the expected values" in text  # what is wrong: always
    assert ("exp(x) / sum exp(x)" in text) == (level == "full")
    assert ("Reread Q2.2.2" in text) == (level != "none")


def test_the_default_level_is_nudge(monkeypatch):
    monkeypatch.delenv("NRK_HINTS", raising=False)
    assert hint_level() == "nudge"


@pytest.mark.parametrize("level", ["full", "nudge", "none"])
def test_a_graded_check_spells_the_formula_out_at_full_only(level, monkeypatch):
    """Q2.2.3's summed loss, answered with the mean: the grader's own message."""
    monkeypatch.setenv("NRK_HINTS", level)
    [check] = [c for c in q2_2_3.CHECKS if c.judge is q2_2_3.judge_loss]
    inputs = check.inputs()
    y, probs = inputs["y"], inputs["probs"]
    mean = -np.mean(np.log(probs[np.arange(len(y)), y.argmax(1)]))
    with pytest.raises(Fail) as failed:
        out = {"loss": np.array(mean), "acc": np.array(0.0), "probs_after": probs, "y_after": y}
        check.judge(inputs, out)
    text = str(failed.value)
    assert q2_2_3.SUM_NOT_MEAN in text  # what is wrong, at every level
    assert ("-sum_i log" in text) == (level == "full")
    assert ("Reread Q2.2.3" in text) == (level != "none")


@pytest.mark.parametrize("level", ["full", "none"])
def test_the_gradescope_zip_carries_its_hint_level(level, tmp_path):
    archive = build_gradescope_zip(tmp_path / "autograder.zip", hints=level)
    with zipfile.ZipFile(archive) as zf:
        face = json.loads(zf.read("grader/face.json"))
    assert face == {"face": "full", "hints": level}
    with pytest.raises(ValueError, match="nudge"):
        build_gradescope_zip(tmp_path / "bad.zip", hints="loud")


def test_the_grader_command_takes_hints(monkeypatch):
    from grader.__main__ import parse_args, use_photos

    monkeypatch.delenv("NRK_HINTS", raising=False)
    use_photos(parse_args(["--hints", "full"]))
    assert hint_level() == "full"
    with pytest.raises(SystemExit):
        parse_args(["--hints", "loud"])
