"""``python -m grader [--impl kata|solutions|DIR] [--questions 2.2.2,2.3] [--results FILE]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grader.checks import run_checks
from grader.implementation import ImplementationError, resolve
from grader.questions import QUESTIONS
from grader.report import gradescope_results, table, write_results
from grader.scoring import score_all


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grader", description="Score an implementation with the handout's points."
    )
    parser.add_argument(
        "--impl",
        default=None,
        help="kata (default), solutions, or a folder in the handout's layout",
    )
    parser.add_argument(
        "--questions",
        default=None,
        help="comma-separated question ids, e.g. 2.2.2,2.3 (default: all)",
    )
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="write the figures the checks produce into DIR"
    )
    parser.add_argument(
        "--photos",
        default=None,
        metavar="DIR",
        help="Q4.4: grade the text of the photos in DIR (default: the four sample photos)",
    )
    parser.add_argument(
        "--truth",
        default=None,
        metavar="FILE",
        help="Q4.4: the ground truth of --photos (default: DIR/ground_truth.json)",
    )
    parser.add_argument(
        "--q4-weights",
        default=None,
        metavar="FILE",
        help="Q4.4: classify with this network (e.g. out/q3_weights.pickle) instead of the "
        "reference classifier data/q4_reference_net.npz",
    )
    parser.add_argument(
        "--results",
        default=None,
        metavar="FILE",
        help="also write Gradescope's results.json format to FILE",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds allowed for all checks (default 1800)"
    )
    return parser.parse_args(argv)


def select(ids: str | None):
    if not ids:
        return list(QUESTIONS)
    wanted = [i.strip().removeprefix("Q") for i in ids.split(",") if i.strip()]
    known = {q.id: q for q in QUESTIONS}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise SystemExit(f"unknown question(s) {unknown}; known: {', '.join(known)}")
    return [known[i] for i in wanted]


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        impl = resolve(args.impl)
    except ImplementationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    questions = select(args.questions)
    start = time.monotonic()
    extra = []
    paths = (("--photos", args.photos), ("--truth", args.truth), ("--q4-weights", args.q4_weights))
    for option, value in paths:
        if value:
            extra += [option, str(Path(value).resolve())]
    run = run_checks(
        str(impl.folder or impl.package),
        questions,
        timeout=args.timeout,
        figures_dir=args.out,
        extra_args=extra,
    )
    scores = score_all(questions, run.records, run.error)
    print(table(scores, impl.label))
    notes = run.error
    if run.shims:
        notes += f"Shims used for older libraries: {', '.join(run.shims)}."
        print(f"\n{notes}")
    if args.out:
        print(f"\nfigures in {args.out}")
    if args.results:
        write_results(args.results, gradescope_results(scores, time.monotonic() - start, notes))
        print(f"\nwrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
