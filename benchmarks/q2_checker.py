"""The Q2.5 central-difference gradient checker on the handout's toy network: its time, its
number of forward passes (2 per parameter entry) and whether it perturbs in place."""

from __future__ import annotations

import numpy as np

from .common import log, median_time, result


def toy_setup(run_q2, seed=0):
    """The handout's toy data and network, with its analytic gradients stored.

    Returns
    -------
    x : ndarray, shape (40, 2)
    y : ndarray, shape (40, 4)
    params : dict
    """
    np.random.seed(seed)
    x, y = run_q2.make_toy_data()
    params = run_q2.init_toy_network()
    run_q2.toy_forward_backward(x, y, params)
    return x, y, params


def parameter_keys(params):
    """The parameter entries of ``params``: keys without ``'_'`` (no caches, no gradients)."""
    return [k for k in params if "_" not in k]


def checker_cost(run_q2, seed=0, eps=1e-6):
    """Count what ``run_q2.numerical_gradients`` does on the toy network.

    The loss function handed to it is wrapped: each call is counted, and checks that it sees
    the caller's own parameter arrays (perturbed in place, not copies) with exactly one entry
    changed.

    Parameters
    ----------
    run_q2 : module
        Provides ``make_toy_data``, ``init_toy_network``, ``toy_forward_backward``,
        ``toy_network_loss`` and ``numerical_gradients``.
    seed : int
    eps : float

    Returns
    -------
    cost : dict
        ``passes`` (loss evaluations), ``entries`` (parameter entries), ``in_place`` (every
        call saw the caller's arrays), ``one_entry`` (every call saw exactly one entry
        changed), ``restored`` (the parameters are bit-for-bit as before afterwards).
    """
    x, y, params = toy_setup(run_q2, seed)
    keys = parameter_keys(params)
    arrays = {k: params[k] for k in keys}
    before = {k: np.array(params[k], copy=True) for k in keys}
    calls = {"passes": 0, "in_place": True, "one_entry": True}

    def loss(p):
        calls["passes"] += 1
        calls["in_place"] &= all(np.shares_memory(p[k], arrays[k]) for k in keys)
        changed = sum(int(np.count_nonzero(np.asarray(p[k]) != before[k])) for k in keys)
        calls["one_entry"] &= changed == 1
        return run_q2.toy_network_loss(x, y, p)[0]

    run_q2.numerical_gradients(loss, params, eps)
    restored = all(np.array_equal(params[k], before[k]) for k in keys)
    entries = int(sum(np.size(params[k]) for k in keys))
    return dict(calls, entries=entries, restored=restored)


def run(repeat=5, warmup=1, run_q2=None):
    """The checker benchmark: forward passes against 2 x entries, in place, time.

    Returns
    -------
    records : list of dict
    """
    if run_q2 is None:
        from solutions import run_q2
    cost = checker_cost(run_q2)
    x, y, params = toy_setup(run_q2)
    seconds, _ = median_time(lambda: run_q2.gradient_check(x, y, params), repeat, warmup)
    expected = 2 * cost["entries"]
    in_place = cost["in_place"] and cost["one_entry"] and cost["restored"]
    log(
        f"  {cost['passes']} forward passes for {cost['entries']} entries, in place "
        f"{in_place}, {seconds * 1e3:.1f} ms"
    )
    note = f"toy network 2-25-4, {cost['entries']} parameter entries"
    return [
        result(
            "q2.checker.forward_passes",
            cost["passes"],
            "passes",
            ratio=cost["passes"] / expected,
            vs="2 x parameter entries",
            target="= 2 x parameter entries",
            met=cost["passes"] == expected,
            note=note,
        ),
        result(
            "q2.checker.in_place",
            int(in_place),
            "bool",
            target="perturbs in place (no copies)",
            met=in_place,
            note="each loss call saw the caller's arrays with one entry changed; "
            "restored exactly afterwards",
        ),
        result("q2.checker.time", seconds, "s", note=note + f", median of {repeat}"),
        result(
            "q2.checker.time_per_pass",
            seconds / cost["passes"] * 1e6,
            "us",
            note="gradient_check time / forward passes",
        ),
    ]
