"""Progress bars over training epochs (tqdm), quiet when the output is not a terminal.

The training loops of Q3 and Q5 run for a minute or two; a bar over the epochs shows how far
they are and the latest loss and accuracy::

    from coursedata import progress

    bar = progress.epochs(50, "Q3.1")
    for epoch in bar:
        ...                                  # one epoch of training
        progress.show(bar, loss=loss, acc=acc)

The bar is drawn on stderr, and only when stderr is a terminal (tqdm's ``disable=None``):
under pytest, the grader, CI or a redirect to a file nothing is printed. ``NRK_PROGRESS=0``
turns it off everywhere, ``NRK_PROGRESS=1`` forces it on.
"""

from __future__ import annotations

import numbers
import os

from tqdm import tqdm

__all__ = ["bar", "epochs", "show"]

#: Environment variable: ``0`` hides the bars, ``1`` shows them even when not on a terminal.
PROGRESS_ENV = "NRK_PROGRESS"


def _disable() -> bool | None:
    """tqdm's ``disable``: None (only on a terminal) unless ``$NRK_PROGRESS`` says otherwise."""
    setting = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return True
    if setting in ("1", "true", "yes", "on"):
        return False
    return None


def bar(iterable, desc: str | None = None, **kwargs) -> tqdm:
    """``iterable`` seen through a progress bar (tqdm keyword arguments pass through)."""
    return tqdm(iterable, desc=desc, disable=_disable(), dynamic_ncols=True, **kwargs)


def epochs(n: int, desc: str | None = None) -> tqdm:
    """Iterate over ``range(n)`` with a progress bar (one step per epoch).

    Parameters
    ----------
    n : int
        Number of epochs.
    desc : str, optional
        Label written before the bar (e.g. ``"Q3.1 lr 0.005"``).

    Returns
    -------
    tqdm
        Iterates over ``0 .. n - 1``; pass it to :func:`show` to display the latest metrics.
    """
    return bar(range(n), desc=desc, unit="epoch")


def show(bar, **metrics) -> None:
    """Show ``metrics`` (``loss=..., acc=...``) beside the bar.

    Numbers are written with 4 significant digits. Does nothing for a disabled bar or for
    an iterable that is not a bar (a plain ``range``), so training code may always call it.
    """
    set_postfix = getattr(bar, "set_postfix", None)
    if set_postfix is None or getattr(bar, "disable", False):
        return
    set_postfix(
        {
            name: f"{value:.4g}" if isinstance(value, numbers.Real) else value
            for name, value in metrics.items()
        }
    )
