"""Q2.4 get_random_batches."""

import numpy as np
import pytest
from checks import assert_unchanged, snapshot
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.q2_4


def _data(n, d, c):
    """Rows that identify their sample: x[i] and y[i] both encode i."""
    ids = np.arange(n, dtype=float)
    x = ids[:, None] + np.linspace(0, 0.5, d)[None, :]
    y = np.repeat(ids[:, None], c, axis=1) * 10.0
    return x, y


def _batches(nn, x, y, batch_size):
    batches = nn.get_random_batches(x, y, batch_size)
    assert batches is not None, "get_random_batches returned None: return the list of batches"
    batches = list(batches)
    for i, batch in enumerate(batches):
        assert len(batch) == 2, f"batch {i} should be a pair (batch_x, batch_y), got {batch!r}"
    return [(np.asarray(bx), np.asarray(by)) for bx, by in batches]


@given(
    n=st.integers(1, 40),
    d=st.integers(1, 4),
    c=st.integers(1, 4),
    extra=st.integers(0, 3),
    data=st.data(),
)
def test_batches_partition_the_data(nn, n, d, c, extra, data):
    batch_size = data.draw(st.integers(1, n + extra), label="batch_size")
    x, y = _data(n, d, c)
    before = snapshot(x, y)
    batches = _batches(nn, x, y, batch_size)
    assert_unchanged(before, [x, y], ["x", "y"], "get_random_batches")

    sizes = [len(bx) for bx, _ in batches]
    short = [s for s in sizes if s != batch_size]
    leftover = n % batch_size
    assert len(short) <= 1 and all(s == leftover for s in short), (
        f"with N = {n} and batch_size = {batch_size}, every batch should have {batch_size} "
        f"rows (one may have the {leftover} left over); got batch sizes {sizes}. "
        "batch_size is the number of rows per batch, not the number of batches."
    )
    seen = []
    for bx, by in batches:
        assert bx.shape[1:] == (d,) and by.shape[1:] == (c,), (
            f"batches keep the columns: x rows have {d} values, y rows {c}; got "
            f"{bx.shape} and {by.shape}"
        )
        assert len(bx) == len(by), "each batch has as many x rows as y rows"
        ids = bx[:, 0].round().astype(int)
        assert np.array_equal(by[:, 0], ids * 10.0), (
            "x and y rows must stay paired: shuffle them with the same indices"
        )
        seen.extend(ids.tolist())
    assert len(seen) == len(set(seen)), "a sample appeared twice: each belongs to one batch"
    missing = n - len(seen)
    assert missing == 0 or (missing == leftover and not short), (
        f"{missing} of {n} samples are in no batch; only the {leftover} left over by a "
        "partial last batch may be dropped"
    )
    for i in range(len(batches)):
        for j in range(i + 1, len(batches)):
            assert not np.shares_memory(batches[i][0], batches[j][0]), (
                f"batches {i} and {j} share memory: index with an array of indices "
                "(x[idx]) to get independent copies"
            )


def test_order_is_random(nn):
    x, y = _data(100, 2, 3)
    orders = [
        tuple(np.concatenate([bx[:, 0] for bx, _ in _batches(nn, x, y, 10)]).round())
        for _ in range(3)
    ]
    assert orders[0] != tuple(np.arange(100.0)), (
        "the batches follow the data's order: shuffle the indices (np.random.permutation)"
    )
    assert len(set(orders)) > 1, (
        "three calls gave the same order: draw a fresh permutation each call (don't reseed "
        "inside get_random_batches)"
    )
