"""Shared helpers: result records, timing (median of repeats after warm-up), load average."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_average():
    """The machine's 1-minute load average (``None`` where the OS does not tell)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on Linux
        return None


def result(name, value, unit, ratio=None, vs=None, target=None, met=None, note="", **extra):
    """One benchmark record, as written to ``results.json``.

    Parameters
    ----------
    name : str
        Dotted, stable between runs (``training.numpy.float64.b32.t1.epoch``).
    value : float or int
        The measurement.
    unit : str
        ``"s"``, ``"GFLOP/s"``, ``"passes"`` ...
    ratio : float, optional
        ``value`` over the paired measurement named by ``vs`` (PyTorch, the peak ...).
    vs : str, optional
        What ``ratio`` compares against.
    target : str, optional
        The issue's target for this measurement, in words (``"<= 1.0x PyTorch"``).
    met : bool, optional
        Whether the target is met.
    note : str
        Anything needed to read the number (threads, sizes ...).
    **extra
        Further JSON-able fields (``threads``, ``rc`` ...).

    Returns
    -------
    record : dict
        ``name, value, unit, ratio, vs, target, met, load, note`` and the extras; ``load`` is
        the 1-minute load average when the record is made (just after the measurement).
    """
    record = {
        "name": name,
        "value": value,
        "unit": unit,
        "ratio": None if ratio is None else float(ratio),
        "vs": vs,
        "target": target,
        "met": met,
        "load": load_average(),
        "note": note,
    }
    record.update(extra)
    return record


def timed(fn):
    """Wall time of one call of ``fn()``, in seconds, and its return value."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def median_time(fn, repeat=5, warmup=1):
    """Median wall time of ``fn()`` over ``repeat`` calls after ``warmup`` untimed calls.

    Returns
    -------
    median : float
        Seconds.
    times : list of float
        Every timed call, in order.
    """
    for _ in range(warmup):
        fn()
    times = [timed(fn)[0] for _ in range(max(1, repeat))]
    return statistics.median(times), times


def alternating_median_times(fns, repeat=5, warmup=1, pause=0.2):
    """Median wall times of several functions timed in turn (a, b, c, a, b, c ...).

    Alternating spreads the changes of a shared machine's load over every side of a ratio.
    Each timed call follows a ``pause`` (seconds) so that the other library's idle worker
    threads have stopped spinning (OpenBLAS's spin for about 0.1 s, OpenMP's for less): in
    one process, numpy's and PyTorch's thread pools otherwise compete for the cores.

    Parameters
    ----------
    fns : sequence of callables
    repeat, warmup : int
    pause : float

    Returns
    -------
    medians : list of float
        Seconds, one per function.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(max(1, repeat)):
        for fn, spent in zip(fns, times):
            time.sleep(pause)
            spent.append(timed(fn)[0])
    return [statistics.median(t) for t in times]


def log(message):
    """Progress on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)
