"""Q4.2 findLetters (q4.py): the grader's own Q4.2 checks, run in this process.

Graded (``test_graded``): what the handout asks, on the handout's inputs: the boxes of the
four sample photos (checked by eye in ``data/images/character_boxes.json``; ``--photos DIR
--truth FILE`` for an instructor's own), ``bw`` on those photos (black ink 0 on white paper 1)
and a small edge case, a page with a single letter as large as the photos'. These are the
checks ``grader/checks/q4_2.py`` grades with, bars and messages included: a findLetters that
passes them all gets Q4.2's full points, and one that fails one loses that check's points
with the same message.

Feedback (``test_feedback``, no points, as in the grader): robustness beyond the handout
(generated pages with smaller letters under uneven light, blank pages, punctuation dots,
0.6x/2.5x the resolution, RGBA/grayscale/float input, and in the slow tier harder pages with
shadows and rotation). A feedback check that does not pass is shown as a warning with its
message; it never fails the self-check.

A found box *finds* a character when their IoU is at least 0.5 (``q4_2.MATCH_IOU``), or when
each box holds the other's centre; the matching is one to one.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from grading import verdict
from pages import make_page

from grader import shims
from grader.checks import q4_2
from grader.checks.photos import PhotoOptions


class Feedback(UserWarning):
    """A Q4.2 feedback check that did not pass: teaching feedback, no points."""


def _options(config) -> PhotoOptions:
    """The photos of the graded checks: ``--photos``/``--truth`` or the samples."""
    photos, truth = config.getoption("--photos"), config.getoption("--truth")
    if photos and not Path(photos).is_dir():
        raise pytest.UsageError(f"--photos {photos}: not a folder of photos")
    return PhotoOptions(
        photos=Path(photos) if photos else None, truth=Path(truth) if truth else None
    )


def _q42(config, feedback: bool):
    return [c for c in q4_2.checks(_options(config)) if c.feedback == feedback]


def pytest_generate_tests(metafunc):
    for name, feedback in (("graded_check", False), ("feedback_check", True)):
        if name in metafunc.fixturenames:
            checks = _q42(metafunc.config, feedback)
            metafunc.parametrize(
                name, checks, ids=[re.sub(r"[^a-z0-9]+", "-", c.name.lower())[:60] for c in checks]
            )


def run(check, request, tmp_path) -> tuple[str, str]:
    """The check's verdict on the implementation under test, as the grader reaches it (a
    flat submission with the grader's shims for old NumPy and scikit-image); not gradable
    here: a skip; not implemented: NOT IMPLEMENTED; not provided: a skip."""
    reason = check.available() if check.available else None
    if reason:
        pytest.skip(f"not gradable here: {reason}")
    impl = request.config.nrk_impl
    if impl.folder is not None:  # a flat submission: the grader's shims for old libraries
        shims.install()
    outcome, message = verdict(check, impl, tmp_path)
    if outcome == "not implemented":
        raise NotImplementedError(message)
    if outcome == "not provided":
        pytest.skip(message)
    return outcome, message


@pytest.mark.q4_2
def test_graded(graded_check, request, tmp_path):
    outcome, message = run(graded_check, request, tmp_path)
    if outcome != "passed":
        pytest.fail(f"{graded_check.name}: {message}", pytrace=False)


@pytest.mark.q4_2
def test_feedback(feedback_check, request, tmp_path):
    outcome, message = run(feedback_check, request, tmp_path)
    if outcome != "passed":
        warnings.warn(Feedback(f"Q4.2 {feedback_check.name} (no points): {message}"), stacklevel=1)


# ----------------------------------------------------------------------------- slow feedback
HEAVY = dict(
    lines=(2, 5),
    words=(1, 4),
    letters=(1, 6),
    height=(18, 48),
    rotation=2.5,
    lighting=0.3,
    blur=1.2,
    jpeg=60,
    dots=3,
)


@pytest.mark.q4_2
@pytest.mark.slow
def test_feedback_harder_pages_with_shadows_uneven_light_and_rotation(q4):
    found = total = boxes = 0
    for seed in range(200, 230):
        p = make_page(seed, **(HEAVY | {"shadows": seed % 2 == 0}))
        bboxes = np.asarray(q4.findLetters(p.image)[0], dtype=float).reshape(-1, 4)
        found, total, boxes = (
            found + len(q4_2.pairs(p.boxes, bboxes)),
            total + len(p.boxes),
            (boxes + len(bboxes)),
        )
    recall, precision = q4_2.RECALL, q4_2.PRECISION
    if found < recall * total or found < precision * boxes:
        warnings.warn(
            Feedback(
                f"Q4.2 feedback (no points): 30 harder generated pages (shadow grids, uneven "
                f"light, rotation up to 2.5 deg, blur, JPEG): {found}/{total} characters got a "
                f"box (expected >= {recall:.0%}), {found}/{boxes} boxes are characters "
                f"(expected >= {precision:.0%})"
            ),
            stacklevel=1,
        )
