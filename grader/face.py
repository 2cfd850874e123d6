"""Which face of the checks this copy of the grader runs, and at which hint level.

The instructors' tree and the Gradescope zip run the *full* face: every check, judged by the
oracle. A student release runs the *public* face (``grader/face.json``, written when it was
built): its oracle holds only the expected values of the public checks' fixed inputs
(:mod:`grader.recorded`), so checks on other inputs are reported as hidden.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

FACE_FILE = Path(__file__).resolve().with_name("face.json")
HINT_LEVELS = ("full", "nudge", "none")
PUBLIC_NOTE = "public checks: your final grade also runs hidden checks"


@lru_cache(maxsize=1)
def settings() -> dict:
    """``{"face": "full" | "public", "hints": "full" | "nudge" | "none"}``."""
    values = {"face": "full", "hints": "nudge"}
    if FACE_FILE.is_file():
        try:
            values.update(json.loads(FACE_FILE.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    return values


def is_public() -> bool:
    """Whether this is a student release (the public face)."""
    return settings()["face"] == "public"
