"""Q4.2 findLetters (q4.py): feedback beyond the graded checks, in the slow tier.

The graded checks of Q4.2 (the boxes of the four sample photos, ``bw`` on them, a page with
a single letter, and the feedback checks on generated pages) run in the self-check as in the
grader: ``tests/test_graded_checks.py`` (``pytest -m q4_2``), bars and messages from
``grader/checks/q4_2.py``. A feedback check that does not pass is shown as a warning with its
message; it never fails the self-check.

Here, in the slow tier: harder generated pages (shadows, uneven light, rotation), feedback
only. A found box *finds* a character when their IoU is at least 0.5 (``q4_2.MATCH_IOU``),
or when each box holds the other's centre; the matching is one to one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pages import make_page

from grader.checks import q4_2


class Feedback(UserWarning):
    """A Q4.2 feedback check that did not pass: teaching feedback, no points."""


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
