"""Generated pages of handwriting as the Q4 checks' inputs (``grader/pages.py`` draws them).

Each page's image goes to the submission's process; what was drawn on it (the characters'
boxes, the punctuation dots, the ink, the letter height, the text) is judge-only
(:func:`pages_private`, ``Check.private``).
"""

from __future__ import annotations

import functools

from grader.pages import blank_page, make_page

# Generated pages like the test suite's fast tier: a few short lines, moderate nuisances.
FAST = dict(lines=(1, 3), words=(1, 3), letters=(1, 4), height=(22, 36), lighting=0.15)

PAGE_ANSWERS = ("truth", "dots", "ink", "height")  # per page: what was drawn on it


@functools.lru_cache(maxsize=128)
def page(seed: int, **options):
    """``make_page(seed, **options)``, made once per process."""
    return make_page(seed, **options)


def pages_inputs(specs, keep_bw=False):
    """Inputs: ``image_i`` and what was drawn on it, for each ``(seed, options)`` (a blank
    page where ``options`` has ``blank=True``)."""

    def make():
        inputs = {"n": len(specs), "keep_bw": keep_bw, "texts": []}
        for i, (seed, options) in enumerate(specs):
            options = dict(options)
            blank = options.pop("blank", False)
            p = blank_page(seed, **options) if blank else page(seed, **options)
            inputs[f"image_{i}"] = p.image
            inputs[f"truth_{i}"] = p.boxes
            inputs[f"dots_{i}"] = p.dots
            inputs[f"ink_{i}"] = p.ink_mask
            inputs[f"height_{i}"] = p.letter_height
            inputs["texts"].append(" / ".join(p.text) or "(blank)")
        return inputs

    return make


def pages_private(specs, *extra) -> tuple[str, ...]:
    """The judge-only keys of :func:`pages_inputs` (and ``extra``): what was drawn."""
    drawn = tuple(f"{key}_{i}" for i in range(len(specs)) for key in PAGE_ANSWERS)
    return (*drawn, "texts", *extra)
