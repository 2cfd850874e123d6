"""Student-style ``findLetters`` (Q4.2) and the grade a careful TA gives each.

Each folder here holds one ``q4.py`` written the handout's way (``rgb2gray``, a denoise step,
one global ``threshold_otsu``, morphology with ``square(k)`` or ``disk(k)``, ``label``,
``regionprops``, a fixed minimum area, boxes ``[minr, minc, maxr, maxc]``), tuned on the four
sample photos as a student would. ``CATALOG`` registers them, in one place, with the grade a
TA grading the handout's question gives: points for finding the letters of the sample photos
(and a page with one letter, at the photos' size), one point for ``bw``; nothing for
robustness the handout never asked for (uneven light, blank pages, other resolutions,
RGBA/float input), which is feedback only.

``materialise`` writes a fixture as a flat-layout submission: its ``q4.py``, the correct
student ``nn.py`` of ``tests/mutants/student`` and a ``run_q4.py`` (the reference's, or the
kata's unfilled one, imports made flat). ``tests/test_mutants_q4.py`` grades them with the
grader and asserts these grades. Nothing here is named ``test_*.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
STUDENT_NN = HERE.parent / "student" / "nn.py"


@dataclass(frozen=True)
class Q4Fixture:
    name: str  # its folder here
    description: str
    q42: float  # the TA's grade on Q4.2, out of 10
    # the TA's grade on Q4.4, out of 8, handed in with ``run_q4``'s run_q4.py (None: not
    # graded here): 5 of the 8 points read the photos through findLetters
    q44: float | None
    run_q4: str = "solutions"  # whose run_q4.py it is handed in with: solutions or kata
    shims: tuple[str, ...] = ()  # fragments of the shims the grader must report using


CATALOG = (
    Q4Fixture(
        "otsu",
        "Gaussian denoise, rgb2gray, one global Otsu threshold, closing with square(7), "
        "label, regionprops, area >= 400: right on the four photos",
        q42=10,
        q44=8,
    ),
    Q4Fixture(
        "old_skimage",
        "the same pipeline for scikit-image 0.16 / NumPy 1.17: gaussian(multichannel=), "
        "rgb2grey, closing(selem=disk(4)), label(neighbors=8), np.float",
        q42=10,
        q44=None,
        shims=("multichannel", "rgb2grey", "selem", "neighbors", "np.float"),
    ),
    Q4Fixture(
        "inverted",
        "a photo-perfect global-Otsu findLetters that returns bw inverted (ink 1 on paper 0)",
        q42=9,
        q44=None,  # the reference's crops expect ink 0: its own run_q4 would crop its bw
    ),
    Q4Fixture(
        "finds_nothing",
        "builds its boxes in `boxes` but returns the starter's empty `bboxes`; bw is right",
        q42=0,
        q44=3,  # crop_letters, group_lines, word_gaps are run_q4's own work; the photos: 0
    ),
    Q4Fixture(
        "starter",
        "the handout's unfilled starter: returns [] and None (with the kata's unfilled run_q4)",
        q42=0,
        q44=0,
        run_q4="kata",
    ),
)

BY_NAME = {fixture.name: fixture for fixture in CATALOG}


def materialise(fixture: Q4Fixture, folder: Path) -> Path:
    """Write ``fixture`` as a flat-layout submission in ``folder``; return ``folder``."""
    from grader.packaging import flatten_imports

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "q4.py").write_text((HERE / fixture.name / "q4.py").read_text(), encoding="utf-8")
    (folder / "nn.py").write_text(STUDENT_NN.read_text(encoding="utf-8"), encoding="utf-8")
    run_q4 = (ROOT / fixture.run_q4 / "run_q4.py").read_text(encoding="utf-8")
    (folder / "run_q4.py").write_text(flatten_imports(run_q4, fixture.run_q4), encoding="utf-8")
    return folder
