"""The grader's command line.

``python -m grader [--impl kata|solutions|DIR|ZIP] [--questions 2.2.2,3.1] [--out DIR]
[--results FILE] [--timeout S]`` grades one implementation;
``python -m grader batch SUBMISSIONS --jobs N`` grades a whole class;
``python -m grader gradescope-zip | export | release`` build the course's artifacts;
``python -m grader checks`` lists every check with its weight and time budget.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.questions import QUESTIONS
from grader.run import grade_one

__all__ = ["grade_one", "main", "select"]

COMMANDS = ("batch", "gradescope-zip", "export", "release", "checks")


def _grading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--questions",
        default=None,
        help="comma-separated question ids, e.g. 2.2.2,3.1 (default: all)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="the longest any one check may run, in seconds (default: each check's own "
        "generous budget, listed by `python -m grader checks`)",
    )
    parser.add_argument(
        "--time-factor",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every check's time budget by F (a slow grading machine)",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=None,
        metavar="MB",
        help="address-space cap of each submission process (default 8192)",
    )
    parser.add_argument(
        "--photos",
        default=None,
        metavar="DIR",
        help="Q4.3/Q4.4: grade the text of the photos in DIR (default: the four sample photos)",
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
        help="Q4.4: classify with this network (an .npz, or a run_q3 .pickle) instead of the "
        "reference classifier data/q4_reference_net.npz",
    )
    parser.add_argument(
        "--require-sandbox",
        action="store_true",
        help="refuse to grade unless each submission process runs in bubblewrap (without it, "
        "the grader runs in reduced isolation and says so in every report)",
    )
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="do not use bubblewrap (reduced isolation, reported as such; for debugging)",
    )
    parser.add_argument(
        "--hints",
        choices=("full", "nudge", "none"),
        default=None,
        help="how much a failed check's message says: nudge (default: what is wrong and which "
        "handout question to reread), full (also the formula), none (what is wrong)",
    )
    parser.add_argument(
        "--library-penalty",
        action="store_true",
        help="fail the checks of modules that import libraries outside the handout's rule "
        "(default: only report them)",
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Score an implementation with the handout's points. Other commands: "
        "batch, gradescope-zip, export, release, checks (python -m grader COMMAND --help).",
        epilog="This is the grade: each question runs in its own sandboxed, capped process. "
        "`pytest --impl DIR` is a self-check, not a grade: it runs the code in pytest's own "
        "process, without the sandbox.",
    )
    parser.add_argument(
        "--impl",
        default=None,
        help="kata (default), solutions, or a folder or .zip in the handout's layout",
    )
    _grading_options(parser)
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="write the figures and report.html into DIR"
    )
    parser.add_argument(
        "--results",
        default=None,
        metavar="FILE",
        help="also write Gradescope's results.json format to FILE",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="questions graded at once, each in its own process (default: the cores, at most 4)",
    )
    return parser.parse_args(argv)


def select(ids: str | None):
    """The questions named by ``ids`` (``"2.2.2,Q3.1"``), or all."""
    if not ids:
        return list(QUESTIONS)
    wanted = [i.strip().removeprefix("Q") for i in ids.split(",") if i.strip()]
    known = {q.id: q for q in QUESTIONS}
    unknown = [i for i in wanted if i not in known]
    if unknown or not wanted:
        print(
            f"error: --questions {ids!r}: no question {', '.join(unknown) or '(none named)'}; "
            f"the valid question ids are {', '.join(known)}",
            file=sys.stderr,
        )
        raise SystemExit(2)  # a bad argument, as argparse reports them
    return [known[i] for i in wanted]


def use_photos(args) -> list:
    """The checks to grade with: the Q4 ones on --photos, --truth and --q4-weights (passed
    to them as ``grader.checks.photos.PhotoOptions``), or on the samples."""
    from grader.checks import all_checks
    from grader.checks.photos import PhotoOptions

    use_hints(args)
    paths = {}
    options = (args.photos, "photos"), (args.truth, "truth"), (args.q4_weights, "weights")
    for value, name in options:
        if value:
            path = Path(value).expanduser().resolve()
            if not path.exists():
                raise SystemExit(f"error: {value} does not exist")
            paths[name] = path
    return all_checks(PhotoOptions(**paths))


def use_hints(args) -> None:
    """The hint level of every message (``--hints``; read by grader/check.py)."""
    if getattr(args, "hints", None):
        os.environ["NRK_HINTS"] = args.hints


def limits_from(args):
    from grader.sandbox import Limits

    options = {"time_factor": args.time_factor, "max_check_seconds": args.timeout}
    if args.require_sandbox and args.no_sandbox:
        raise SystemExit("error: --require-sandbox and --no-sandbox contradict each other")
    if args.require_sandbox:
        options["sandbox"] = "require"
    elif args.no_sandbox:
        options["sandbox"] = "reduced"
    if args.memory:
        options["memory_mb"] = args.memory
    return Limits(**options)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMAND_MAIN[argv[0]](argv[1:])
    args = parse_args(argv)
    questions = select(args.questions)  # a mistyped id before the checks are imported
    checks = use_photos(args)
    from grader.report import table

    result, error = grade_one(
        args.impl,
        questions,
        limits_from(args),
        args.out,
        args.results,
        args.library_penalty,
        log=lambda line: print(line, file=sys.stderr, flush=True),
        jobs=args.jobs,
        checks=checks,
    )
    if error and not result.scores[0].checks:
        print(f"error: {error}", file=sys.stderr)
        if args.results:
            print(f"wrote {args.results}", file=sys.stderr)
        return 2
    print(table(result.scores, result.label, sandbox=result.sandbox))
    if result.notes:
        print(f"\n{result.notes}")
    print(f"\nGraded in {result.seconds:.0f} s.")
    if args.out:
        print(f"Figures and report.html in {args.out}")
    if args.results:
        print(f"Wrote {args.results}")
    return 0


# ------------------------------------------------------------------------ other commands
def batch_main(argv) -> int:
    from grader.batch import grade_batch

    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade every submission (folder or .zip) in SUBMISSIONS into a CSV, one "
        "row per student, plus each one's results.json.",
    )
    parser.add_argument("submissions", metavar="SUBMISSIONS")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once")
    parser.add_argument(
        "--out", default="grades", metavar="DIR", help="where grades.csv goes (default grades/)"
    )
    parser.add_argument(
        "--figures", action="store_true", help="also write each student's figures and report"
    )
    _grading_options(parser)
    args = parser.parse_args(argv)
    questions = select(args.questions)
    checks = use_photos(args)
    csv_path = grade_batch(
        Path(args.submissions),
        Path(args.out),
        questions,
        limits_from(args),
        jobs=args.jobs,
        figures=args.figures,
        library_penalty=args.library_penalty,
        log=lambda line: print(line, file=sys.stderr, flush=True),
        checks=checks,
    )
    print(f"Wrote {csv_path}")
    return 0


def _artifact_main(name: str, description: str, default: str, build):
    def run(argv) -> int:
        parser = argparse.ArgumentParser(prog=f"python -m grader {name}", description=description)
        parser.add_argument("out", nargs="?", default=default, metavar="OUT.zip")
        args = parser.parse_args(argv)
        print(f"Wrote {build(args.out)}")
        return 0

    return run


def gradescope_zip_main(argv) -> int:
    from grader.packaging import build_gradescope_zip

    parser = argparse.ArgumentParser(
        prog="python -m grader gradescope-zip",
        description="Build Gradescope's autograder.zip (setup.sh, run_autograder and this grader).",
    )
    parser.add_argument("out", nargs="?", default="autograder.zip", metavar="OUT.zip")
    parser.add_argument(
        "--with-q6-data",
        action="store_true",
        help="setup.sh downloads Q6's datasets at build time (python -m coursedata.download)",
    )
    parser.add_argument("--sun-url", default=None, help="with it: the SUN subset's archive")
    parser.add_argument("--sun-sha256", default=None, help="and its sha256")
    parser.add_argument(
        "--hints",
        choices=("full", "nudge", "none"),
        default="nudge",
        help="the hint level of the students' messages (default nudge: no formulas)",
    )
    args = parser.parse_args(argv)
    if (args.sun_url or args.sun_sha256) and not args.with_q6_data:
        parser.error("--sun-url and --sun-sha256 go with --with-q6-data")
    out = build_gradescope_zip(
        args.out,
        with_q6_data=args.with_q6_data,
        sun_url=args.sun_url,
        sun_sha256=args.sun_sha256,
        hints=args.hints,
    )
    print(f"Wrote {out}")
    return 0


def export_main(argv) -> int:
    from grader.packaging import export_kata

    return _artifact_main(
        "export",
        "Pack kata/ into the handout's deliverables zip (nn.py, q4.py, run_q2.py ... util.py).",
        "submission.zip",
        export_kata,
    )(argv)


def release_main(argv) -> int:
    from grader.packaging import ReleaseError, build_release

    parser = argparse.ArgumentParser(
        prog="python -m grader release",
        description="Build the student bundle from the committed tree of a git ref (never the "
        "working copy), without solutions/ and the instructors' files.",
    )
    parser.add_argument("out", nargs="?", default="nn-recognition-kata.zip", metavar="OUT.zip")
    parser.add_argument("--ref", default="HEAD", help="the commit to build from (default HEAD)")
    parser.add_argument(
        "--hints",
        choices=("full", "nudge", "none"),
        default="nudge",
        help="the hint level of the release's self-check and grader (default nudge)",
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="build even when kata/ differs from REF (the working copy never ships)",
    )
    args = parser.parse_args(argv)
    try:
        out = build_release(args.out, ref=args.ref, allow_dirty=args.allow_dirty, hints=args.hints)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {out}")
    return 0


def checks_main(argv) -> int:
    """List every check: question, weight, points, time budget."""
    parser = argparse.ArgumentParser(
        prog="python -m grader checks",
        description="List every graded check with its share of the points and time budget.",
    )
    parser.add_argument("--questions", default=None)
    args = parser.parse_args(argv)
    questions = select(args.questions)
    from grader.checks import CHECKS

    for question in questions:
        checks = [c for c in CHECKS if c.question == question.id]
        total = sum(c.weight for c in checks if not c.feedback) or 1.0
        kind = "written, not scored" if question.written else f"{question.points} points"
        print(f"Q{question.id} {question.title} ({kind})")
        for c in checks:
            share = "" if question.written else f"{question.points * c.weight / total:5.2f} pts  "
            if c.feedback and not question.written:
                share = "feedback   "
            print(f"    {share}budget {c.budget:>5.0f} s  {c.name}")
    return 0


COMMAND_MAIN = {
    "batch": batch_main,
    "gradescope-zip": gradescope_zip_main,
    "export": export_main,
    "release": release_main,
    "checks": checks_main,
}


if __name__ == "__main__":
    sys.exit(main())
