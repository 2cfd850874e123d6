"""Q2.4 ``get_random_batches`` and ``run_q2.train``: shuffled batches, and the training loop.

Everything that decides Q2.4: the checks, the bars and the teaching messages. The trained
network is judged with :mod:`grader.oracle`, imported by the judges when they run.
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail, array, number
from grader.checks import common
from grader.checks.arrays import key_list, keys_text, one_hot, value_of
from grader.checks.batches import rows, summarise_batches
from grader.checks.networks import in_convention

BATCH_SIZE_IS_ROWS = "batch_size is the number of rows per batch, not the number of batches."
NO_BATCHES = (
    "get_random_batches returned no batches: shuffle the indices (np.random.permutation(N)) "
    "and append (x[idx], y[idx]) for each slice of batch_size of them"
)
FEWER_THAN_BATCH_SIZE = (
    "With fewer samples than batch_size, return one batch holding all N samples (or none, "
    "when you drop the leftover partial batch); np.split(x, N // batch_size) asks for 0 "
    "sections there and raises."
)
STAY_PAIRED = (
    "the rows of x and y must stay paired (x[i] with y[i]): shuffle both with the same "
    "indices, batch_x = x[idx] and batch_y = y[idx]"
)
SAMPLE_TWICE = (
    "a sample appeared twice: each belongs to exactly one batch. Shuffle a permutation of the "
    "indices (np.random.permutation(N)), don't sample with replacement"
)
NOT_SHUFFLED = (
    "the batches follow the data's order: shuffle the indices (np.random.permutation(N)) "
    "before cutting them into batches"
)
FRESH_ORDER = (
    "draw a fresh permutation each call, so that every epoch sees new batches (don't reseed "
    "inside get_random_batches)"
)
SAME_ROWS = "each batch has as many x rows as y rows"
EVERY_BATCH = "every batch should have {batch_size} rows"
PARTIAL_BATCH = "only the {leftover} left over by a partial last batch may be dropped"
SHARED_MEMORY = "index with an array of indices (x[idx]) to get independent copies"
# train on four separable clusters: the history's loss falls below this fraction of its
# first epoch's; the returned params' loss below this fraction of the initial one, with at
# least this accuracy
HISTORY_FALL = 0.5
FIT_LOSS_FRACTION = 0.25
FIT_ACCURACY = 0.95


def batches_inputs(cases, calls=1):
    def make():
        return {"cases": cases, "calls": calls}

    return make


def batches_task(sub, inputs):
    nn = sub.load("nn")
    out = {}
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        x, y = rows(n, d, k)
        x_before, y_before = x.copy(), y.copy()
        for call in range(inputs["calls"]):
            batches = nn.get_random_batches(x, y, batch_size)
            summarise_batches(batches, f"c{c}_{call}_", out)
        out[f"c{c}_changed"] = not (np.array_equal(x, x_before) and np.array_equal(y, y_before))
    return out


def _batch_summary(out, c, call, n, d, k, batch_size):
    prefix = f"c{c}_{call}_"
    call_text = f"get_random_batches(x, y, {batch_size}) with N = {n}"
    if prefix + "not_a_pair" in out:
        problem = out[prefix + "not_a_pair"]
        raise Fail(f"{call_text}: each batch should be a pair (batch_x, batch_y); {problem}")
    if prefix + "sizes" in out.get("__none__", ()):
        raise Fail(f"{call_text} returned None: return the list of batches")
    if number(out, f"c{c}_changed", "changed") and call == 0:
        raise Fail(f"{call_text} changed x or y in place: index copies (x[idx]), don't shuffle x")
    sizes = array(out, prefix + "sizes", "the batch sizes", shape=(None,))
    y_sizes = array(out, prefix + "y_sizes", "the batch sizes", shape=(None,))
    widths = array(out, prefix + "widths", "the batch widths", shape=(None, 2))
    if np.any(sizes < 0) or np.any(widths != [d, k]):
        bad = int(np.flatnonzero(np.any(widths != [d, k], axis=1) | (sizes < 0))[0])
        raise Fail(
            f"{call_text}: batches keep the columns: batch_x should be (B, {d}) and batch_y "
            f"(B, {k}) arrays, but batch {bad} has x rows of width {widths[bad, 0]} and y rows "
            f"of width {widths[bad, 1]} (-1: not a 2-D array)"
        )
    if not np.array_equal(sizes, y_sizes):
        raise Fail(
            f"{call_text}: {SAME_ROWS}; got {sizes.tolist()} x rows and {y_sizes.tolist()} y rows"
        )
    if n >= batch_size and not sizes.sum():
        raise Fail(
            f"{call_text}: {NO_BATCHES} (expected {n // batch_size} batches of {batch_size} "
            f"rows, got {len(sizes)} batches holding no rows)"
        )
    x_ids = array(out, prefix + "x_ids", "the rows", shape=(None,))
    y_ids = array(out, prefix + "y_ids", "the rows", shape=(None,))
    return call_text, sizes, x_ids, y_ids


def _judge_partition(call_text, n, batch_size, sizes, x_ids, y_ids):
    if not np.array_equal(y_ids, x_ids * 10.0):
        raise Fail(f"{call_text}: {STAY_PAIRED}")
    ids = np.round(x_ids).astype(np.int64)
    if len(np.unique(ids)) != len(ids):
        raise Fail(f"{call_text}: {SAMPLE_TWICE}")
    leftover = n % batch_size
    short = sizes[sizes != batch_size]
    missing = n - len(ids)
    if missing and not (missing == leftover and len(short) == 0):
        allowed = (
            PARTIAL_BATCH.format(leftover=leftover)
            if leftover
            else f"N is a multiple of {batch_size}, so every sample fits in a full batch"
        )
        raise Fail(
            f"{call_text}: {missing} of {n} samples are in no batch; {allowed} (loop over "
            "range(0, N, batch_size))"
        )


def judge_batches_partition(inputs, out):
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        call_text, sizes, x_ids, y_ids = _batch_summary(out, c, 0, n, d, k, batch_size)
        _judge_partition(call_text, n, batch_size, sizes, x_ids, y_ids)


def _judge_sizes(call_text, n, batch_size, sizes):
    leftover = n % batch_size
    short = sizes[sizes != batch_size]
    if len(short) > 1 or np.any(short != leftover):
        shown = sizes.tolist() if len(sizes) <= 20 else f"{sizes[:20].tolist()} ..."
        spare = f" (one may hold the {leftover} left over)" if leftover else ""
        raise Fail(
            f"{call_text}: {EVERY_BATCH.format(batch_size=batch_size)}{spare}; got {len(sizes)} "
            f"batches of sizes {shown}. {BATCH_SIZE_IS_ROWS}"
        )


def judge_batches_sizes(inputs, out):
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        call_text, sizes, _, _ = _batch_summary(out, c, 0, n, d, k, batch_size)
        _judge_sizes(call_text, n, batch_size, sizes)


def judge_batches_large(inputs, out):
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        call_text, sizes, x_ids, y_ids = _batch_summary(out, c, 0, n, d, k, batch_size)
        _judge_sizes(call_text, n, batch_size, sizes)
        _judge_partition(call_text, n, batch_size, sizes, x_ids, y_ids)


def batches_edge_task(sub, inputs):
    """Like :func:`batches_task`, case by case, the error of a call that raises kept as that
    case's answer: an edge case that crashes is judged with a message about that case."""
    out = {}
    for c, case in enumerate(inputs["cases"]):
        try:
            result = batches_task(sub, {**inputs, "cases": [case]})
        except NotImplementedError:
            raise  # the kata's stub: "not implemented", like every other check
        except Exception as exc:  # noqa: BLE001 - the submission's error is the result here
            out[f"c{c}_raised"] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        out.update({f"c{c}" + key[2:]: value for key, value in result.items()})
    return out


def judge_batches_edge(inputs, out):
    """Edge cases, after a normal case (the first) that must give batches: N < batch_size
    (one batch of all N samples, or none when the leftover is dropped), batch_size 1,
    batch_size N. A crash on these sizes fails only this check."""
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        call_text = f"get_random_batches(x, y, {batch_size}) with N = {n}"
        if f"c{c}_raised" in out:
            hint = f" {FEWER_THAN_BATCH_SIZE}" if n < batch_size else ""
            raise Fail(f"{call_text} raised {out[f'c{c}_raised']}.{hint}")
        call_text, sizes, x_ids, y_ids = _batch_summary(out, c, 0, n, d, k, batch_size)
        if c == 0:
            continue  # the normal case: only that it gives batches (no vacuous pass)
        if n < batch_size and sizes.tolist() not in ([], [n]):
            raise Fail(
                f"{call_text}: expected one batch of all {n} samples, or none when the "
                f"leftover partial batch is dropped; got batches of sizes {sizes.tolist()}. "
                f"{FEWER_THAN_BATCH_SIZE}"
            )
        _judge_sizes(call_text, n, batch_size, sizes)
        _judge_partition(call_text, n, batch_size, sizes, x_ids, y_ids)


def _orders(inputs, out):
    n, d, k, batch_size = inputs["cases"][0]
    orders = []
    for call in range(inputs["calls"]):
        call_text, sizes, x_ids, _ = _batch_summary(out, 0, call, n, d, k, batch_size)
        orders.append((np.round(x_ids).astype(np.int64), sizes))
    return call_text, orders


def judge_batches_shuffled(inputs, out):
    call_text, orders = _orders(inputs, out)
    ids, sizes = orders[0]
    if np.array_equal(ids, np.arange(len(ids))):
        raise Fail(f"{call_text}: {NOT_SHUFFLED}")
    ends = np.cumsum(sizes)
    runs = [ids[end - size : end] for end, size in zip(ends, sizes) if size > 1]
    if runs and all(np.array_equal(np.diff(run), np.ones(len(run) - 1)) for run in runs):
        raise Fail(
            f"{call_text}: each batch is a run of consecutive samples: shuffle the samples "
            "(np.random.permutation(N)), not only the order of the batches"
        )


def judge_batches_fresh(inputs, out):
    call_text, orders = _orders(inputs, out)
    if all(np.array_equal(orders[0][0], ids) for ids, _ in orders[1:]):
        if np.array_equal(orders[0][0], np.arange(len(orders[0][0]))):
            raise Fail(
                f"{call_text}: {len(orders)} calls all gave the data's order: shuffle the "
                "indices with a fresh permutation each call (np.random.permutation(N))"
            )
        raise Fail(f"{call_text}: {len(orders)} calls gave the same order: {FRESH_ORDER}")


TOY_LAYERS = (("layer1", 2, 25), ("output", 25, 4))


def train_inputs(seed, batch_size, learning_rate=0.05, max_iters=150):
    """Four separable 2-D clusters (10 per class, standardised) and Xavier initial params."""

    def make():
        from grader import oracle

        rng = np.random.default_rng(seed)
        centres = np.array([[-2.0, -2.0], [-2.0, 2.0], [2.0, -2.0], [2.0, 2.0]])
        x = np.repeat(centres, 10, axis=0) + rng.normal(scale=0.3, size=(40, 2))
        inputs = {
            "x": x,
            "y": one_hot(np.repeat(np.arange(4), 10), 4),
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "max_iters": max_iters,
        }
        for name, n_in, n_out in TOY_LAYERS:
            bound = oracle.xavier_bound(n_in, n_out)
            inputs["W" + name] = rng.uniform(-bound, bound, size=(n_in, n_out))
            inputs["b" + name] = np.zeros(n_out)
        return inputs

    return make


def _toy_params(inputs):
    return {k + name: inputs[k + name] for name, _, _ in TOY_LAYERS for k in ("W", "b")}


def train_task(sub, inputs):
    run_q2 = sub.load("run_q2")  # NotProvided for a script: the check is "not provided"
    row_bias = common.row_bias(sub.load("nn"))
    params = in_convention(_toy_params(inputs), row_bias)
    history = run_q2.train(
        inputs["x"],
        inputs["y"],
        params,
        batch_size=int(inputs["batch_size"]),
        learning_rate=float(inputs["learning_rate"]),
        max_iters=int(inputs["max_iters"]),
        log_every=None,
    )
    out = {"keys": keys_text(params)}
    for key in _toy_params(inputs):
        out["p_" + key] = params.get(key)
    if history is None:
        out["history"] = None
    else:
        try:
            out["history"] = np.array([[float(h[0]), float(h[1])] for h in history])
        except (TypeError, ValueError, IndexError) as exc:
            out["history_problem"] = f"{type(exc).__name__}: {exc}"[:300]
    return out


def judge_train_history(inputs, out):
    iters = int(inputs["max_iters"])
    if "history_problem" in out:
        raise Fail(
            "train should return its history: one (loss, accuracy) pair per iteration "
            f"(epoch); reading it failed with {out['history_problem']}"
        )
    if "history" in out.get("__none__", ()):
        raise Fail(
            "train returned None: return its history, one (loss, accuracy) pair per iteration "
            "(epoch)"
        )
    history = array(
        out, "history", f"the history of train(..., max_iters={iters})", shape=(None, 2),
        hint="The training loss became NaN or inf: step against the gradient, "
        "W <- W - learning_rate * grad_W, with the learning rate given.",
    )  # fmt: skip
    if len(history) != iters:
        raise Fail(
            f"train(..., max_iters={iters}) should return one (loss, accuracy) entry per "
            f"iteration (epoch), got {len(history)}"
        )
    losses, accs = history[:, 0], history[:, 1]
    if np.any((accs < 0) | (accs > 1)):
        raise Fail(f"the accuracies in train's history are fractions in [0, 1], got {accs.max()}")
    if not losses[-1] < HISTORY_FALL * losses[0]:
        raise Fail(
            f"the epoch loss in train's history went from {losses[0]:.2f} to only "
            f"{losses[-1]:.2f} in {iters} epochs on easily separable data (lr "
            f"{inputs['learning_rate']}): each batch, run forward and backwards, then apply "
            "W <- W - learning_rate * grad_W to every parameter"
        )


def judge_train_fits(inputs, out):
    from grader import oracle

    x, y = inputs["x"], inputs["y"]
    before = _toy_params(inputs)
    after = {}
    keys = key_list(out)
    for key in before:
        if key not in keys:
            raise Fail(f"after train, params[{key!r}] is missing; params holds {keys}")
        shape = (None, None) if key.startswith("W") else None
        after[key] = value_of(
            out, "p_" + key, f"params[{key!r}] after train", shape=shape,
            hint="Training diverged: W <- W - learning_rate * grad_W, with the given rate.",
        )  # fmt: skip
    if all(np.array_equal(np.ravel(after[k]), np.ravel(v)) for k, v in before.items()):
        raise Fail(
            "train left params as they were: update them in place, "
            "params[k] -= learning_rate * params['grad_' + k] for every parameter k"
        )
    layers = [("layer1", "sigmoid")]
    try:
        logits, _ = oracle.mlp_logits(x, after, layers)
        probs = oracle.softmax(logits)
    except ValueError as exc:
        raise Fail(f"the trained params do not fit the network's shapes: {exc}") from None
    loss_before = oracle.mlp_loss(x, y, before, layers)
    loss_after = oracle.cross_entropy_sum(y, probs)
    acc_after = oracle.accuracy(y, probs)
    if not (loss_after <= FIT_LOSS_FRACTION * loss_before and acc_after >= FIT_ACCURACY):
        raise Fail(
            f"on four well-separated clusters, {inputs['max_iters']} epochs (batch size "
            f"{inputs['batch_size']}, lr {inputs['learning_rate']}) should bring the loss of "
            f"the returned params from {loss_before:.1f} to at most "
            f"{FIT_LOSS_FRACTION * loss_before:.1f} and the accuracy to {FIT_ACCURACY:.0%}; "
            f"the grader's forward pass gives {loss_after:.1f} and {acc_after:.0%}. Each "
            "batch: forward, loss, backwards, then W <- W - "
            "learning_rate * grad_W for every parameter (the gradients are sums, not means)."
        )


TOY_TRAIN_5 = train_inputs(seed=5, batch_size=5)
TOY_TRAIN_7 = train_inputs(seed=7, batch_size=7)

CHECKS = [
    # Q2.4 get_random_batches and the training loop
    Check("2.4", "batches cover every sample once, x and y rows paired", 1.25,
          batches_task, judge_batches_partition,
          batches_inputs([[40, 3, 2, 5], [23, 2, 4, 5], [100, 1, 3, 20], [66, 4, 2, 16]]),
          budget=60),
    Check("2.4", "batches have batch_size rows (one smaller leftover allowed)", 0.75,
          batches_task, judge_batches_sizes,
          batches_inputs([[40, 3, 2, 5], [23, 2, 4, 5], [140, 2, 2, 32]]), budget=60),
    Check("2.4", "the samples are shuffled", 0.5,
          batches_task, judge_batches_shuffled, batches_inputs([[100, 2, 2, 10]]), budget=60),
    Check("2.4", "each call draws a new order", 0.5,
          batches_task, judge_batches_fresh, batches_inputs([[100, 2, 2, 10]], calls=3),
          budget=60),
    Check("2.4", "splits 10,800 samples of 1024 values (NIST36's training set) in time", 0.5,
          batches_task, judge_batches_large, batches_inputs([[10800, 1024, 36, 64]]),
          budget=180),
    Check("2.4", "edge case: fewer samples than batch_size (N = 7, batch_size 10)", 0.25,
          batches_edge_task, judge_batches_edge, batches_inputs([[40, 2, 1, 10], [7, 2, 1, 10]]),
          budget=60),
    Check("2.4", "edge case: batch_size 1 and batch_size N (one-row batches, one batch)",
          0.25, batches_edge_task, judge_batches_edge,
          batches_inputs([[40, 2, 1, 10], [12, 1, 3, 1], [10, 4, 2, 10]]),
          budget=60),
    Check("2.4", "train returns one (loss, accuracy) per epoch and the loss falls", 0.5,
          train_task, judge_train_history, TOY_TRAIN_7, budget=120, modules=("run_q2", "nn")),
    Check("2.4", "train fits separable toy data (the grader's loss of the trained params)", 1,
          train_task, judge_train_fits, TOY_TRAIN_5, budget=120, modules=("run_q2", "nn")),
]  # fmt: skip
