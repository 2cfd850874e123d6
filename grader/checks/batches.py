"""Task-side plumbing of the Q2.4 batch checks: rows that name their sample, and what a
judge needs to know of the batches a submission returned (it decides nothing)."""

from __future__ import annotations

import numpy as np


def rows(n, d, c):
    """Rows that identify their sample: x[i, 0] = i and y[i, :] = 10 i."""
    ids = np.arange(n, dtype=float)
    return ids[:, None] + np.linspace(0, 0.5, d)[None, :], np.repeat(ids[:, None], c, axis=1) * 10


def summarise_batches(batches, prefix, out):
    """What the judge needs of a list of batches: sizes, widths and the ids of the rows."""
    if batches is None:
        out[prefix + "sizes"] = None
        return
    sizes, y_sizes, widths, x_ids, y_ids = [], [], [], [], []
    for i, batch in enumerate(batches):
        try:
            bx, by = batch
        except (TypeError, ValueError):
            out[prefix + "not_a_pair"] = f"batch {i} is {type(batch).__name__} {batch!r}"[:300]
            return
        bx, by = np.asarray(bx), np.asarray(by)
        sizes.append(len(bx) if bx.ndim else -1)
        y_sizes.append(len(by) if by.ndim else -1)
        widths.append([bx.shape[1] if bx.ndim == 2 else -1, by.shape[1] if by.ndim == 2 else -1])
        if bx.ndim == 2 and by.ndim == 2 and len(bx) == len(by) and bx.shape[1] and by.shape[1]:
            x_ids.append(bx[:, 0])
            y_ids.append(by[:, 0])
    out[prefix + "sizes"] = np.array(sizes, dtype=np.int64)
    out[prefix + "y_sizes"] = np.array(y_sizes, dtype=np.int64)
    out[prefix + "widths"] = np.array(widths, dtype=np.int64).reshape(-1, 2)
    out[prefix + "x_ids"] = np.concatenate(x_ids) if x_ids else np.zeros(0)
    out[prefix + "y_ids"] = np.concatenate(y_ids) if y_ids else np.zeros(0)
