"""What every ``run_q*.py`` script of the kata and the solutions does before its work.

* :func:`add_threads_argument` and :func:`use_threads`: one BLAS thread and one torch thread
  unless the command line says ``--threads N``. On a machine shared with other jobs, the
  small matrix products of this homework run many times slower with a thread per core (the
  threads wait for each other at every product). BLAS libraries read their thread count once,
  when numpy loads them, so a script started as ``python -m kata.run_q3`` whose environment
  asks for another count starts itself again with the right one, before any work;
* :func:`missing` and :func:`require`: the student's functions a script needs that are still
  the kata's stubs (``raise NotImplementedError("Q4.2 findLetters")``), found before any long
  work (training, reading photos), and named in one message;
* :func:`training_parser` and :func:`run_script`: the command line every training script
  shares (``--epochs --batch-size --lr --seed --out``) and the end of every script's
  ``main()``: ``--threads``, the stubs check, the work, and a clear one-line error for a stub
  met on the way or a dataset that is missing (exit status 1) instead of a traceback.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import re
import sys
import textwrap

#: Read by numpy's BLAS when it loads (OpenBLAS; OpenMP builds and MKL read OMP_NUM_THREADS).
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
#: Also set for other BLAS builds (MKL, Apple Accelerate) and the processes a script starts.
OTHER_THREADS = ("MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def add_threads_argument(parser):
    """``--threads N`` on a script's argument parser."""
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS and PyTorch threads (default 1: on a shared machine more threads make "
        "these small matrix products slower; 0 keeps the libraries' own defaults)",
    )


def use_threads(threads: int, module_name: str) -> None:
    """Use ``threads`` BLAS and torch threads in this process (0: leave the defaults).

    ``module_name`` is the script's ``__name__``: when it is ``"__main__"``, numpy is already
    loaded with another thread count and PyTorch is not in use, the script is started again
    (same arguments) with the count in its environment. Called from Python (a test, a
    notebook), it only sets what can still be set: torch's threads and the environment of the
    processes started from now on.
    """
    if threads is None or threads <= 0:
        return
    value = str(threads)
    stale = [v for v in BLAS_THREADS if os.environ.get(v) != value]
    for var in (*BLAS_THREADS, *OTHER_THREADS):
        os.environ[var] = value
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
        return  # PyTorch does the heavy work: no second start for numpy's BLAS
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if stale and module_name == "__main__" and spec is not None and "numpy" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", spec.name, *sys.argv[1:]])


def _stub_message(function) -> str | None:
    """The stub's ``NotImplementedError`` message when ``function`` is only a docstring and
    ``raise NotImplementedError(...)``; None when it has code (or its source is unknown)."""
    if not inspect.isfunction(function):
        return None  # classes, builtins: never the kata's stubs (and slow to look up)
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return None
    exc = body[0].exc
    name = exc.func if isinstance(exc, ast.Call) else exc
    if not (isinstance(name, ast.Name) and name.id == "NotImplementedError"):
        return None
    if isinstance(exc, ast.Call) and exc.args and isinstance(exc.args[0], ast.Constant):
        return str(exc.args[0].value)
    return function.__name__


def missing(*functions) -> list[str]:
    """The stubs among ``functions``, by their messages (``"Q4.2 findLetters"``), in order."""
    found = (_stub_message(f) for f in functions)
    return list(dict.fromkeys(m for m in found if m))


def require(*functions, what: str = "this script") -> bool:
    """Whether every function is implemented; if not, say which are not, and where."""
    stubs = [(m, f) for f in functions if (m := _stub_message(f))]
    if not stubs:
        return True
    files = dict.fromkeys(os.path.basename(inspect.getsourcefile(f) or "?") for _, f in stubs)
    questions = (re.match(r"Q(\d+(?:\.\d+)*)\b", m) for m, _ in stubs)
    markers = dict.fromkeys("q" + q.group(1).replace(".", "_") for q in questions if q)
    check = f" Check them with: pytest -m '{' or '.join(markers)}'." if markers else ""
    print(
        f"not implemented yet: {', '.join(dict.fromkeys(m for m, _ in stubs))}\n"
        f"python -m {what} needs them before it starts: write them in {', '.join(files)}." + check,
        file=sys.stderr,
    )
    return False


def training_parser(
    doc: str, *, epochs: int, batch_size: int, lr: float, seed: int = 0, out: str = "out",
    lr_flag: str = "--lr", epochs_help: str = "",
) -> argparse.ArgumentParser:  # fmt: skip
    """A script's parser (described by the first line of its ``doc``) with the training
    options: ``--epochs``, ``--batch-size``, ``--lr`` (or ``lr_flag``), ``--seed``, ``--out``.
    Add the script's own options to it, then hand it to :func:`run_script`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=epochs, help=f"{epochs_help or 'epochs'} (default {epochs})"
    )
    parser.add_argument(
        "--batch-size", type=int, default=batch_size, help=f"batch size (default {batch_size})"
    )
    parser.add_argument(lr_flag, type=float, default=lr, help=f"learning rate (default {lr:g})")
    parser.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    parser.add_argument("--out", default=out, help=f"output folder (default {out}/)")
    return parser


def run_script(parser, argv, module_name: str, work, *needs, errors=()) -> int:
    """A script's ``main()``: parse ``argv`` (with ``--threads``), use the threads, say which
    of ``needs`` are still stubs before any work, seed numpy with ``--seed`` (when the
    script has one), then ``work(args)``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The script's options (``--threads`` is added here).
    argv : list of str or None
        The command line (None: ``sys.argv[1:]``).
    module_name : str
        The script's ``__name__`` (see :func:`use_threads`).
    work : callable
        ``work(args)``: the script's experiment; returns None or an exit status.
    *needs : functions
        The student's functions the work calls (checked by :func:`require`).
    errors : tuple of exception types
        Raised when something the script needs is not here (a dataset): printed in one line.

    Returns
    -------
    int
        0, or 1 when a function is not written yet or one of ``errors`` stopped the work.
    """
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    use_threads(args.threads, module_name)
    if needs and not require(*needs, what=_script_name(module_name)):
        return 1
    if getattr(args, "seed", None) is not None:
        import numpy as np

        np.random.seed(args.seed)
    try:
        status = work(args)
    except NotImplementedError as exc:
        print(f"\nnot implemented yet: {exc}", file=sys.stderr)
        return 1
    except tuple(errors) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0 if status is None else int(status)


def _script_name(module_name: str) -> str:
    """``kata.run_q3`` for the module ``module_name`` (also when it runs as ``__main__``)."""
    module = sys.modules.get(module_name)
    spec = getattr(module, "__spec__", None)
    if getattr(spec, "name", None):
        return spec.name
    path = getattr(module, "__file__", None)  # `python run_q3.py` in a flat folder
    return os.path.splitext(os.path.basename(path))[0] if path else module_name
