"""How the epoch time grows with the hidden layer (64 to 1024) and with the data (N), numpy
against PyTorch, float64 with batches of 32 (Q3's settings); drawn as ``growth.png``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .blas import threads
from .common import alternating_median_times, log, result
from .training import (
    HIDDEN_SIZE,
    LEARNING_RATE,
    N_TRAIN,
    init_params,
    numpy_epoch,
    torch_epoch,
    torch_network,
    training_data,
)

HIDDEN_SIZES = (64, 128, 256, 512, 1024)
N_SIZES = (1350, 2700, 5400, 10800)


def epoch_times(x, y, hidden, batch_size, n_threads, repeat, warmup, pause=0.2):
    """Median seconds per epoch of numpy and PyTorch for one hidden size and data size."""
    import torch

    params = init_params(np.float64, hidden)
    model = torch_network(params)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    xt, labels = torch.from_numpy(x), torch.from_numpy(np.argmax(y, axis=1))
    with threads(n_threads):
        numpy_s, torch_s = alternating_median_times(
            [
                lambda: numpy_epoch(x, y, params, batch_size),
                lambda: torch_epoch(xt, labels, model, optimizer, batch_size),
            ],
            repeat,
            warmup,
            pause,
        )
    return numpy_s, torch_s


def run(
    out_dir,
    n_threads=None,
    repeat=3,
    warmup=1,
    hidden_sizes=HIDDEN_SIZES,
    n_sizes=N_SIZES,
    n=N_TRAIN,
    batch_size=32,
    pause=0.2,
):
    """The growth benchmark and its figure.

    Parameters
    ----------
    out_dir : str or Path
        Receives ``growth.png``.
    n_threads : int or None
        Threads for both sides (None: as they are).
    repeat, warmup : int
    hidden_sizes : sequence of int
        Hidden sizes timed with ``n`` rows.
    n_sizes : sequence of int
        Row counts timed with the hidden size of 64.
    n : int
    batch_size : int
    pause : float
        Seconds of rest before each timed epoch.

    Returns
    -------
    records : list of dict
    figure : pathlib.Path
    """
    x_all, y_all = training_data(max(n, *n_sizes))
    t = "default" if n_threads is None else n_threads
    series = {"hidden": [], "n": []}
    out = []
    for axis, values in (("hidden", hidden_sizes), ("n", n_sizes)):
        for value in values:
            hidden, rows = (value, n) if axis == "hidden" else (HIDDEN_SIZE, value)
            x, y = x_all[:rows], y_all[:rows]
            numpy_s, torch_s = epoch_times(
                x, y, hidden, batch_size, n_threads, repeat, warmup, pause
            )
            log(f"  {axis}={value}: numpy {numpy_s:.3f} s, torch {torch_s:.3f} s")
            series[axis].append((value, numpy_s, torch_s))
            note = f"hidden {hidden}, N={rows}, float64, batch {batch_size}, {t} thread(s)"
            name = f"growth.{axis}{value}"
            out.append(
                result(
                    name + ".numpy",
                    numpy_s,
                    "s",
                    ratio=numpy_s / torch_s,
                    vs="torch",
                    note=note,
                    threads=n_threads,
                )
            )
            out.append(result(name + ".torch", torch_s, "s", note=note, threads=n_threads))
    subtitle = f"float64, batch {batch_size}, {t} thread(s)"
    figure = plot(series, Path(out_dir) / "growth.png", subtitle, n)
    return out, figure


def plot(series, path, subtitle, n=N_TRAIN):
    """Draw epoch time against the hidden size and against N, numpy and PyTorch (log-log)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    labels = {"hidden": f"hidden units (N = {n})", "n": f"training rows N ({HIDDEN_SIZE} hidden)"}
    for ax, (axis, points) in zip(axes, series.items()):
        if not points:
            continue
        values, numpy_s, torch_s = (np.array(v, dtype=float) for v in zip(*points))
        ax.loglog(values, numpy_s, "o-", label="numpy (solutions)")
        ax.loglog(values, torch_s, "s--", label="PyTorch CPU")
        ax.loglog(values, numpy_s[0] * values / values[0], ":", color="grey", label="proportional")
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.minorticks_off()
        ax.set(xlabel=labels[axis], ylabel="seconds per epoch")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"Q3 network, time per epoch ({subtitle})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
