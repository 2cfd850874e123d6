"""``python -m benchmarks [--suite] [--quick] [--only SECTIONS] [--repeat N] ...``

``python -m benchmarks --q6`` trains the reference solutions on Q6's real datasets where they
are present and merges their accuracy and time per epoch into ``results.json`` (the ``q6.*``
records; the other sections' last results are kept).

Runs the benchmarks, prints a table, writes ``benchmarks/results.json`` (``{"context": ...,
"results": [{name, value, unit, ratio, vs, target, met, load, note, ...}]}``), the markdown
report ``docs/benchmarks.md`` and the growth figure ``benchmarks/out/growth.png``.

Where ``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` is set, the command reports both and
re-executes itself without them (before numpy loads OpenBLAS), for this command only; the
test subprocesses of ``--suite`` get them back.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .blas import OPENBLAS_OVERRIDES, clean_environment

HERE = Path(__file__).resolve().parent
ALL_SECTIONS = (
    "training", "growth", "q2", "q4", "install", "selfcheck", "suite", "blas", "q6", "sandbox",
    "calibration",
)  # fmt: skip
TIMED_RUNS = ("selfcheck", "suite")  # --suite: the student's self-check, the maintainers' runs
DEFAULT_SECTIONS = ("training", "growth", "q2", "q4", "install", "blas", "sandbox", "calibration")
REEXEC_MARKER = "NRK_BENCHMARKS_UNSET"  # JSON of the settings removed before re-executing


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the reference solutions against PyTorch and the hardware, and "
        "time the tests and the grader; writes results.json, a markdown report and figures.",
    )
    parser.add_argument(
        "--suite",
        action="store_true",
        help="also time the student's self-check (section selfcheck), the fast test tier, the "
        "whole suite and a full grade (section suite; minutes)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, one repeat after one warm-up: checks that everything runs (not for "
        "comparison)",
    )
    parser.add_argument(
        "--only",
        default=None,
        metavar="SECTIONS",
        help=f"comma-separated sections among {','.join(ALL_SECTIONS)} (default: all but "
        "selfcheck and suite; --suite adds them)",
    )
    parser.add_argument(
        "--q6",
        action="store_true",
        help="only Q6's bars: train the reference on CIFAR-10, the SUN scenes and Flowers-17 "
        "where present ('not measured: data absent' where not) and merge the results into "
        "results.json (hours on a CPU; minutes on a GPU)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats, median (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs (1)")
    parser.add_argument(
        "--threads",
        default=None,
        metavar="LIST",
        help="thread counts for the training benchmark, e.g. 1,2 (default: 1 and numpy's "
        "BLAS default)",
    )
    parser.add_argument(
        "--out",
        default=str(HERE / "out"),
        metavar="DIR",
        help="figures and logs (default benchmarks/out)",
    )
    parser.add_argument(
        "--json",
        default=str(HERE / "results.json"),
        metavar="FILE",
        help="results (default benchmarks/results.json)",
    )
    parser.add_argument(
        "--markdown",
        default=str(HERE.parent / "docs" / "benchmarks.md"),
        metavar="FILE",
        help="markdown report (default docs/benchmarks.md); '' for none",
    )
    parser.add_argument(
        "--render",
        default=None,
        metavar="JSON",
        help="measure nothing: print the table and write the markdown report of a saved "
        "results.json",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the records of the sections not run from the existing results file (each "
        "record carries its own load; the context says which run they come from)",
    )
    parser.add_argument(
        "--no-reexec",
        action="store_true",
        help="do not re-execute without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (report only)",
    )
    args = parser.parse_args(argv)
    if args.only:
        args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = sorted(set(args.sections) - set(ALL_SECTIONS))
        if unknown:
            parser.error(f"unknown sections {unknown}; choose among {list(ALL_SECTIONS)}")
    else:
        args.sections = list(DEFAULT_SECTIONS) + (list(TIMED_RUNS) if args.suite else [])
    if args.q6:
        args.sections = ["q6"]
    if args.quick:
        args.repeat, args.warmup = 1, 1
    return args


def reexec_without_overrides(argv, env=None):
    """Re-execute this command without the OpenBLAS overrides, when any is set.

    Returns only when there is nothing to do (none set, or already re-executed): then the
    settings that were removed, as a dict.
    """
    env = dict(os.environ if env is None else env)
    if REEXEC_MARKER in env:
        return json.loads(env[REEXEC_MARKER])
    cleaned, removed = clean_environment(env)
    if not removed:
        return {}
    settings = ", ".join(f"{k}={v}" for k, v in removed.items())
    print(f"benchmarks: {settings} set; running without them", file=sys.stderr, flush=True)
    cleaned[REEXEC_MARKER] = json.dumps(removed)
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *argv], cleaned)


def original_environment(removed):
    """This process's environment as the user started it (the overrides put back)."""
    env = {k: v for k, v in os.environ.items() if k != REEXEC_MARKER}
    env.update(removed)
    return env


def context_of(args, removed, thread_counts):
    import numpy as np

    from . import blas
    from .common import load_average

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": "python -m benchmarks " + " ".join(args.argv),
        "quick": args.quick,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "thread_counts": ["default" if t is None else t for t in thread_counts],
        "machine": blas.machine(),
        "numpy": np.__version__,
        "numpy_blas": blas.numpy_blas(),
        # importing torch takes seconds: only where a section uses it
        "torch_blas": blas.torch_blas()
        if {"training", "growth", "blas"} & set(args.sections)
        else None,
        "openblas_unset": removed,
        "openblas_env": {k: os.environ.get(k) for k in OPENBLAS_OVERRIDES},
        "load_start": load_average(),
    }


def default_threads(numpy_threads):
    """1 and numpy's BLAS default, when threads can be set; else as they are."""
    from .blas import can_set_threads

    if not can_set_threads():
        return [None]
    return sorted({1, numpy_threads or 1})


def render(args):
    """Print the table and write the markdown report of a saved ``results.json``."""
    from . import report

    payload = json.loads(Path(args.render).read_text())
    records, context = payload["results"], payload["context"]
    print(report.table(records))
    if args.markdown:
        md_path = Path(args.markdown)
        figure = context.get("figure")
        figure = (Path(args.render).parent / figure).resolve() if figure else None
        md_path.write_text(report.markdown(records, context, figure, md_path) + "\n")
        print(f"report: {md_path}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    args.argv = argv
    if args.render:
        return render(args)
    removed = {} if args.no_reexec else reexec_without_overrides(argv)
    if args.no_reexec:
        _, removed_report = clean_environment(os.environ)
        if removed_report:
            print(
                f"benchmarks: {removed_report} set and kept (--no-reexec)",
                file=sys.stderr,
            )

    os.environ.setdefault("MPLBACKEND", "Agg")
    from . import (
        blas,
        calibration,
        growth,
        install_size,
        q2_checker,
        q4_photos,
        report,
        sandbox,
        suite_times,
        training,
    )
    from .common import load_average, log

    numpy_threads = blas.numpy_blas()["threads"]
    if args.threads:
        thread_counts = [int(t) for t in args.threads.split(",")]
    else:
        thread_counts = default_threads(numpy_threads)
    context = context_of(args, removed, thread_counts)
    out_dir = Path(args.out)
    quick = args.quick
    n_train = 512 if quick else training.N_TRAIN
    pause = 0.0 if quick else 0.2
    context["n_train"] = n_train
    records, figure = [], None
    for section in args.sections:
        log(f"[{section}]")
        if section == "training":
            peak = context["machine"]["peak_gflops"]
            records += training.run(
                thread_counts, args.repeat, args.warmup, n_train, peak, pause=pause
            )
        elif section == "growth":
            sizes = dict(hidden_sizes=(16, 32), n_sizes=(128, 256)) if quick else {}
            # the fewest threads asked for: on a shared machine, two-thread barriers in both
            # libraries make single epochs 10-50x slower at random, which hides the trend
            fewest = min((t for t in thread_counts if t is not None), default=None)
            found, figure = growth.run(
                out_dir, fewest, min(args.repeat, 3), args.warmup, n=n_train, pause=pause, **sizes
            )
            records += found
        elif section == "q2":
            records += q2_checker.run(args.repeat, args.warmup)
        elif section == "q4":
            records += q4_photos.run(args.repeat, args.warmup, only_smallest=quick)
        elif section == "install":
            records += install_size.run()
        elif section in TIMED_RUNS:
            commands = suite_times.STUDENT if section == "selfcheck" else suite_times.MAINTAINERS
            records += suite_times.run(out_dir, original_environment(removed), commands=commands)
        elif section == "blas":
            records += blas.records(context)
        elif section == "q6":
            from . import q6_data

            records += q6_data.run(quick=quick)
        elif section == "sandbox":
            records += sandbox.run(args.repeat, args.warmup)
        elif section == "calibration":
            # each round runs the student's loop three times (seconds each): 3 rounds at most
            records += calibration.run(min(args.repeat, 3), args.warmup, quick=quick)
    context["load_end"] = load_average()
    json_path = Path(args.json)
    if args.q6 and json_path.is_file():  # keep the other sections' last results
        from . import q6_data

        previous = json.loads(json_path.read_text())
        records = q6_data.merge(previous["results"], records)
        context = previous["context"] | {"q6_run": context}
        if context.get("figure"):  # the earlier run's growth figure, still linked
            figure = (json_path.resolve().parent / context["figure"]).resolve()
    if figure:  # relative to results.json, for --render
        context["figure"] = os.path.relpath(figure, json_path.resolve().parent)

    if args.keep and json_path.exists():
        previous = json.loads(json_path.read_text())
        ran = set(args.sections) | ({"machine"} if "blas" in args.sections else set())
        kept = [r for r in previous["results"] if r["name"].split(".")[0] not in ran]
        if kept:
            records = kept + records
            context["kept_from"] = {
                "date": previous["context"].get("date"),
                "command": previous["context"].get("command"),
                "records": len(kept),
            }
            # the kept records were measured with the previous run's libraries: describe those
            # where this run did not look (no training section, no threadpoolctl)
            for key in ("numpy_blas", "torch_blas"):
                mine = context.get(key) or {}
                if previous["context"].get(key) and (not mine or mine.get("kernel", 0) is None):
                    context[key] = previous["context"][key]
            if not figure and previous["context"].get("figure"):
                context["figure"] = previous["context"]["figure"]
                figure = (json_path.parent / context["figure"]).resolve()

    json_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"context": context, "results": records}
    json_path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(report.table(records))
    print(f"\nresults: {json_path}")
    if args.markdown:
        md_path = Path(args.markdown)
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(report.markdown(records, context, figure, md_path) + "\n")
        print(f"report: {md_path}")
    if figure:
        print(f"figure: {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
