"""Which face of the checks this copy of the grader runs, and at which hint level.

The instructors' tree and the Gradescope zip run the *full* face: every check, judged by the
oracle. A student release runs the *public* face (``grader/face.json``, written when it was
built): its oracle holds only the expected values of the public checks' fixed inputs
(:mod:`grader.recorded`), so checks on other inputs are reported as hidden.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

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


HINTS_VARIABLE = "NRK_HINTS"


def hint_level() -> str:
    """How much a failed check's message says: ``$NRK_HINTS`` (set by ``--hints``), else the
    level this copy was built with (``face.json``), else ``nudge``."""
    level = os.environ.get(HINTS_VARIABLE) or settings()["hints"]
    return level if level in HINT_LEVELS else "nudge"


def is_public() -> bool:
    """Whether this is a student release (the public face)."""
    return settings()["face"] == "public"


# ----------------------------------------------------------------------------- inputs
# The full face draws each check's random inputs from other seeds than the public face (whose
# expected values the release stores): a function that only looks the public values up, or
# fits them, fails there. Not a secret: knowing the inputs without the oracle gives nothing.
HIDDEN_SEED = 104_729
# Questions are graded in threads: while one makes hidden inputs (numpy's seeding patched),
# no other may draw random numbers in this process (judges hold it too).
RANDOM_LOCK = threading.RLock()


def _shift(seed):
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed) + HIDDEN_SEED
    if isinstance(seed, (list, tuple)) and all(isinstance(s, (int, np.integer)) for s in seed):
        return [*map(int, seed), HIDDEN_SEED]
    return seed


@contextmanager
def hidden_seeds():
    """While active, ``np.random.default_rng(s)``, ``np.random.RandomState(s)`` and
    ``np.random.seed(s)`` draw from the hidden face's seeds (``s`` shifted)."""
    real_rng, real_state, real_seed = np.random.default_rng, np.random.RandomState, np.random.seed

    class RandomState(real_state):
        def __init__(self, seed=None):
            super().__init__(_shift(seed))

    np.random.default_rng = lambda seed=None: real_rng(_shift(seed))
    np.random.RandomState = RandomState
    np.random.seed = lambda seed=None: real_seed(_shift(seed))
    try:
        yield
    finally:
        np.random.default_rng, np.random.RandomState = real_rng, real_state
        np.random.seed = real_seed


def make_inputs(check) -> dict:
    """``check.inputs()`` of this face: the public face's fixed seeds in a student release,
    the hidden face's (:func:`hidden_seeds`) in the instructors' grader and on Gradescope."""
    if check.inputs is None:
        return {}
    with RANDOM_LOCK:
        if is_public():
            return check.inputs()
        with hidden_seeds():
            return check.inputs()
