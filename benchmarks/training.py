"""Time per epoch of Q3's network, the reference numpy code against PyTorch on the CPU.

The network is the handout's ``1024 -> 64 (sigmoid) -> 36 (softmax)``, trained with
mini-batch SGD on the summed cross-entropy. The numpy side runs the body of
``solutions.run_q3.train`` (``get_random_batches``, ``forward_backward``, the update
``W -= lr * grad_W``); the PyTorch side is the same network (``nn.Linear``, ``nn.Sigmoid``,
``cross_entropy(reduction='sum')``, ``optim.SGD``), started from the same weights, with the
same batches drawn from a fresh permutation each epoch, and the same per-batch loss and
accuracy bookkeeping. Both are timed alternately in the same process with the same number of
threads (numpy's BLAS through threadpoolctl, ``torch.set_num_threads``).

Floating-point work per epoch counts the matrix products (2 FLOPs per multiply-add). The
numpy code does a third product per layer that PyTorch skips: ``backwards`` returns the
gradient with respect to the layer's input, for the first layer too (the handout's interface),
so its count is ``6 N (D H + H C)`` against PyTorch's ``4 N D H + 6 N H C``.
"""

from __future__ import annotations

import numpy as np

from .blas import threads, usable_cores
from .common import alternating_median_times, log, result

IN_SIZE, HIDDEN_SIZE, N_CLASSES = 1024, 64, 36
N_TRAIN = 10800  # the official NIST36 training split
LEARNING_RATE = 5e-3  # run_q3's
CONFIGS = (("float64", 32), ("float64", 128), ("float32", 32), ("float32", 128))


def training_data(n=N_TRAIN):
    """``n`` rows of NIST36-like training data (the bundled split, repeated to ``n`` rows).

    Returns
    -------
    x : ndarray of float64, shape (n, 1024)
    y : ndarray of float64, shape (n, 36)
        One-hot labels.
    """
    from coursedata import load_nist36

    x, y = load_nist36("train")
    rows = np.arange(n) % len(x)
    return np.ascontiguousarray(x[rows], dtype=np.float64), y[rows].astype(np.float64)


def flops_per_epoch(n, hidden=HIDDEN_SIZE, d=IN_SIZE, c=N_CLASSES, first_input_grad=True):
    """Floating-point operations of the matrix products of one epoch.

    Parameters
    ----------
    n : int
        Training rows.
    hidden, d, c : int
        Hidden, input and output sizes.
    first_input_grad : bool
        Whether the first layer's input gradient is computed (the numpy code: yes).

    Returns
    -------
    flops : int
    """
    first = (6 if first_input_grad else 4) * n * d * hidden
    return first + 6 * n * hidden * c


def init_params(dtype, hidden=HIDDEN_SIZE, seed=0, nn=None):
    """The network's parameters from ``nn.initialize_weights`` (seeded), cast to ``dtype``."""
    nn = nn or _solutions("nn")
    np.random.seed(seed)
    params = {}
    nn.initialize_weights(IN_SIZE, hidden, params, "layer1")
    nn.initialize_weights(hidden, N_CLASSES, params, "output")
    return {k: v.astype(dtype) for k, v in params.items()}


def numpy_epoch(x, y, params, batch_size, learning_rate=LEARNING_RATE, nn=None, run_q3=None):
    """One epoch of ``solutions.run_q3.train``'s loop (without the validation pass).

    Returns
    -------
    loss : float
        Summed over the epoch.
    acc : float
    """
    nn = nn or _solutions("nn")
    run_q3 = run_q3 or _solutions("run_q3")
    total_loss, n_correct, n_seen = 0.0, 0.0, 0
    for xb, yb in nn.get_random_batches(x, y, batch_size):
        loss, acc = run_q3.forward_backward(xb, yb, params)
        for name in [k for k in params if "_" not in k]:
            params[name] -= learning_rate * params["grad_" + name]
        total_loss += loss
        n_correct += acc * len(xb)
        n_seen += len(xb)
    return total_loss, n_correct / n_seen


def torch_network(params):
    """The same network in PyTorch, with the weights of ``params`` (numpy ``(in, out)``)."""
    import torch

    dtype = getattr(torch, str(params["Wlayer1"].dtype))
    hidden = params["Wlayer1"].shape[1]
    model = torch.nn.Sequential(
        torch.nn.Linear(IN_SIZE, hidden), torch.nn.Sigmoid(), torch.nn.Linear(hidden, N_CLASSES)
    ).to(dtype)
    with torch.no_grad():
        for layer, name in ((model[0], "layer1"), (model[2], "output")):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(params["W" + name].T)))
            layer.bias.copy_(torch.from_numpy(params["b" + name]))
    return model


def torch_epoch(x, labels, model, optimizer, batch_size, input_grad=False):
    """One epoch of SGD on the summed cross-entropy, batches from a fresh permutation.

    Parameters
    ----------
    x : torch.Tensor, shape (N, 1024)
    labels : torch.Tensor of int64, shape (N,)
    model : torch.nn.Module
    optimizer : torch.optim.Optimizer
    batch_size : int
    input_grad : bool
        Also compute the gradient with respect to each batch's input, as the numpy code's
        ``backwards`` does (the same floating-point work).

    Returns
    -------
    loss : float
    acc : float
    """
    import torch
    import torch.nn.functional as F

    order = torch.randperm(len(x))
    total_loss, n_correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        xb, yb = x[idx], labels[idx]
        if input_grad:
            xb.requires_grad_(True)
        optimizer.zero_grad()
        logits = model(xb)
        loss = F.cross_entropy(logits, yb, reduction="sum")
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        n_correct += int((logits.argmax(dim=1) == yb).sum())
    return total_loss, n_correct / len(x)


def compare_epoch(
    x, y, dtype, batch_size, n_threads, repeat, warmup, hidden=HIDDEN_SIZE, pause=0.2
):
    """Median epoch times of numpy, PyTorch, and PyTorch doing numpy's work, for one
    configuration.

    Returns
    -------
    numpy_s, torch_s, torch_same_work_s : float
        Seconds per epoch; the last computes the input gradients too.
    dtype_kept : bool
        Whether the numpy code kept ``dtype`` in its parameters and activations.
    """
    import torch

    x = x.astype(dtype, copy=False)
    y = y.astype(dtype, copy=False)
    params = init_params(dtype, hidden)
    models = [torch_network(params) for _ in range(2)]
    optimizers = [torch.optim.SGD(m.parameters(), lr=LEARNING_RATE) for m in models]
    xt = torch.from_numpy(x)
    labels = torch.from_numpy(np.argmax(y, axis=1))
    torch.manual_seed(0)
    with threads(n_threads):
        times = alternating_median_times(
            [
                lambda: numpy_epoch(x, y, params, batch_size),
                lambda: torch_epoch(xt, labels, models[0], optimizers[0], batch_size),
                lambda: torch_epoch(xt, labels, models[1], optimizers[1], batch_size, True),
            ],
            repeat,
            warmup,
            pause,
        )
    kept = all(v.dtype == dtype for k, v in params.items() if not k.startswith("cache"))
    kept &= all(a.dtype == dtype for a in params["cache_layer1"][1:])
    return (*times, kept)


def run(
    thread_counts,
    repeat=5,
    warmup=1,
    n=N_TRAIN,
    peak=None,
    configs=CONFIGS,
    pause=0.2,
    cores=None,
):
    """The training benchmark: every dtype, batch size and thread count.

    Parameters
    ----------
    thread_counts : list of int or None
        Threads for numpy's BLAS and PyTorch (None: as they are).
    repeat, warmup : int
        Timed and untimed epochs per side.
    n : int
        Training rows.
    peak : dict, optional
        ``{'float64': GFLOP/s, 'float32': GFLOP/s}``, the machine's peak estimate.
    cores : int, optional
        The cores that ``peak`` counts; GFLOP/s are compared with the peak of the cores the
        threads can use (``min(threads, cores)``).
    configs : sequence of (str, int)
        ``(dtype, batch_size)`` pairs.
    pause : float
        Seconds of rest before each timed epoch (see ``alternating_median_times``).

    Returns
    -------
    records : list of dict
    """
    x, y = training_data(n)
    cores = cores or usable_cores()
    out = []
    for n_threads in thread_counts:
        t = "default" if n_threads is None else n_threads
        used = min(n_threads or cores, cores)
        for dtype, batch_size in configs:
            numpy_s, torch_s, same_s, kept = compare_epoch(
                x, y, np.dtype(dtype), batch_size, n_threads, repeat, warmup, pause=pause
            )
            key = f"training.{{}}.{dtype}.b{batch_size}.t{t}"
            note = f"N={n}, 1024-64-36, {t} thread(s), median of {repeat}"
            if not kept:
                note += f"; the numpy code did not keep {dtype} throughout"
            ratio = numpy_s / torch_s
            log(
                f"  {dtype} batch {batch_size} threads {t}: numpy {numpy_s:.3f} s, torch "
                f"{torch_s:.3f} s (ratio {ratio:.2f}), torch with input gradients "
                f"{same_s:.3f} s (ratio {numpy_s / same_s:.2f})"
            )
            out.append(
                result(
                    key.format("numpy") + ".epoch",
                    numpy_s,
                    "s",
                    ratio=ratio,
                    vs="torch",
                    target="<= 1.0x PyTorch CPU",
                    met=bool(ratio <= 1.0),
                    note=note,
                    threads=n_threads,
                )
            )
            out.append(
                result(key.format("torch") + ".epoch", torch_s, "s", note=note, threads=n_threads)
            )
            out.append(
                result(
                    key.format("torch_input_grad") + ".epoch",
                    same_s,
                    "s",
                    ratio=same_s / numpy_s,
                    vs="numpy",
                    note=note + "; PyTorch also computing the input gradients (numpy's work)",
                    threads=n_threads,
                )
            )
            for side, seconds, first in (("numpy", numpy_s, True), ("torch", torch_s, False)):
                gflops = flops_per_epoch(n, first_input_grad=first) / seconds / 1e9
                share = gflops / (peak[dtype] * used / cores) if peak else None
                out.append(
                    result(
                        key.format(side) + ".gflops",
                        gflops,
                        "GFLOP/s",
                        ratio=share,
                        vs=f"peak of {used} core(s)" if peak else None,
                        note=f"{flops_per_epoch(n, first_input_grad=first) / 1e9:.2f} GFLOP "
                        "per epoch (matrix products)",
                        threads=n_threads,
                    )
                )
    return out


def _solutions(name):
    import importlib

    return importlib.import_module(f"solutions.{name}")
