"""Q2.4 get_random_batches."""

import numpy as np
import pytest
from checks import assert_unchanged, snapshot
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.q2_4 import (
    BATCH_SIZE_IS_ROWS,
    EVERY_BATCH,
    FEWER_THAN_BATCH_SIZE,
    FRESH_ORDER,
    NO_BATCHES,
    NOT_SHUFFLED,
    PARTIAL_BATCH,
    SAME_ROWS,
    SAMPLE_TWICE,
    SHARED_MEMORY,
    STAY_PAIRED,
)

pytestmark = pytest.mark.q2_4


def _data(n, d, c):
    """Rows that identify their sample: x[i] and y[i] both encode i."""
    ids = np.arange(n, dtype=float)
    x = ids[:, None] + np.linspace(0, 0.5, d)[None, :]
    y = np.repeat(ids[:, None], c, axis=1) * 10.0
    return x, y


def _batches(nn, x, y, batch_size):
    return _as_batches(nn.get_random_batches(x, y, batch_size))


def _as_batches(batches):
    assert batches is not None, "get_random_batches returned None: return the list of batches"
    batches = list(batches)
    for i, batch in enumerate(batches):
        assert len(batch) == 2, f"batch {i} should be a pair (batch_x, batch_y), got {batch!r}"
    return [(np.asarray(bx), np.asarray(by)) for bx, by in batches]


def _check_partition(batches, n, d, c, batch_size):
    """Sizes, columns, pairing, every sample once (the leftover may be dropped), no aliasing."""
    sizes = [len(bx) for bx, _ in batches]
    short = [s for s in sizes if s != batch_size]
    leftover = n % batch_size
    assert len(short) <= 1 and all(s == leftover for s in short), (
        f"with N = {n} and batch_size = {batch_size}, {EVERY_BATCH.format(batch_size=batch_size)} "
        f"(one may have the {leftover} left over); got batch sizes {sizes}. "
        f"{BATCH_SIZE_IS_ROWS}"
    )
    seen = []
    for bx, by in batches:
        assert bx.shape[1:] == (d,) and by.shape[1:] == (c,), (
            f"batches keep the columns: x rows have {d} values, y rows {c}; got "
            f"{bx.shape} and {by.shape}"
        )
        assert len(bx) == len(by), SAME_ROWS
        ids = bx[:, 0].round().astype(int)
        assert np.array_equal(by[:, 0], ids * 10.0), STAY_PAIRED
        seen.extend(ids.tolist())
    assert len(seen) == len(set(seen)), SAMPLE_TWICE
    missing = n - len(seen)
    assert missing == 0 or (missing == leftover and not short), (
        f"{missing} of {n} samples are in no batch; " + PARTIAL_BATCH.format(leftover=leftover)
    )
    for i in range(len(batches)):
        for j in range(i + 1, len(batches)):
            assert not np.shares_memory(batches[i][0], batches[j][0]), (
                f"batches {i} and {j} share memory: {SHARED_MEMORY}"
            )


@given(
    n=st.integers(4, 60),
    d=st.integers(1, 4),
    c=st.integers(1, 4),
    data=st.data(),
)
def test_batches_partition_the_data(nn, n, d, c, data):
    """Realistic sizes: N at least 4 x batch_size (the edge cases have their own tests)."""
    batch_size = data.draw(st.integers(1, n // 4), label="batch_size")
    x, y = _data(n, d, c)
    before = snapshot(x, y)
    batches = _batches(nn, x, y, batch_size)
    assert_unchanged(before, [x, y], ["x", "y"], "get_random_batches")
    assert sum(len(bx) for bx, _ in batches), (
        f"{NO_BATCHES} (N = {n}, batch_size = {batch_size}: expected {n // batch_size} batches "
        f"of {batch_size} rows, got {len(batches)} holding no rows)"
    )
    _check_partition(batches, n, d, c, batch_size)


@given(n=st.integers(1, 9), extra=st.integers(1, 5))
def test_edge_case_fewer_samples_than_batch_size(nn, n, extra):
    """N < batch_size: one batch of all N samples, or none when the leftover is dropped."""
    batch_size = n + extra
    x, y = _data(n, 2, 1)
    try:
        result = nn.get_random_batches(x, y, batch_size)
    except NotImplementedError:
        raise  # the kata's stub: reported as not implemented
    except Exception as exc:  # noqa: BLE001 - the student's error, explained
        pytest.fail(
            f"get_random_batches(x, y, {batch_size}) with N = {n} raised "
            f"{type(exc).__name__}: {exc}. {FEWER_THAN_BATCH_SIZE}",
            pytrace=False,
        )
    batches = _as_batches(result)
    sizes = [len(bx) for bx, _ in batches]
    assert sizes in ([], [n]), (
        f"with N = {n} and batch_size = {batch_size}: expected one batch of all {n} samples, "
        f"or none when the leftover partial batch is dropped; got batches of sizes {sizes}. "
        f"{FEWER_THAN_BATCH_SIZE}"
    )
    _check_partition(batches, n, 2, 1, batch_size)


@pytest.mark.parametrize(("n", "batch_size"), [(12, 1), (1, 1), (10, 10), (7, 7)])
def test_edge_case_batch_size_one_or_n(nn, n, batch_size):
    """One-row batches, and a single batch holding every sample."""
    x, y = _data(n, 3, 2)
    _check_partition(_batches(nn, x, y, batch_size), n, 3, 2, batch_size)


def test_order_is_random(nn):
    x, y = _data(100, 2, 3)
    orders = [
        tuple(np.concatenate([bx[:, 0] for bx, _ in _batches(nn, x, y, 10)]).round())
        for _ in range(3)
    ]
    assert orders[0] != tuple(np.arange(100.0)), NOT_SHUFFLED
    assert len(set(orders)) > 1, f"three calls gave the same order: {FRESH_ORDER}"
