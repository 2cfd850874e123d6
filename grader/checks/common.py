"""Task-side helpers shared by the check modules (they run in the submission's process)."""

from __future__ import annotations

import numpy as np


def row_bias(nn) -> bool:
    """Whether the submission's ``initialize_weights`` makes ``(1, out)`` biases (a
    convention the handout leaves open): parameters handed over then follow it."""
    probe = {}
    try:
        nn.initialize_weights(3, 2, probe, "probe")
        return np.shape(probe.get("bprobe")) == (1, 2)
    except Exception:
        return False
