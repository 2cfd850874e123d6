"""Wall time of the student's self-check (one question, collection, all of it), the fast test
tier, the whole suite and a full grade of the solutions, each run as a subprocess from the
repository root, against the goals of issue 15, with the load average before and the CPU time
the command used (on a shared machine the wall time grows with the load, the CPU time less).

They run as tox runs the README's commands: in the environment the benchmark command was
started with (OpenBLAS overrides included: the tests keep them), plus the ``set_env`` of
``tox.ini``'s ``[testenv]`` (one BLAS and OpenMP thread a process, ``MPLBACKEND=Agg``,
``PYTEST_PLUGINS``: the tests and tox's environments run with them, whatever the shell has),
less ``PYTHONDONTWRITEBYTECODE``: tox does not pass it on, and Python writes its bytecode
caches by default (with it set, every run compiles the project again and pytest rewrites every
test file again: 59 instead of 47 s for the fast tier, back to back on 2 cores).

On a shared 2-core machine the whole suite took 541, 552, 625 and 637 s in four runs within 75
minutes (the CPU time the runs used grew with it): compare rows of one run, and repeat a row
before reading a change of less than about 15% into it.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import ROOT, load_average, log, result, timed

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
SOLUTIONS = [*PYTEST, "--impl", "solutions"]
# as tox runs them (tox.ini): in parallel when pytest-xdist is installed
XDIST = ["-n", "auto"] if importlib.util.find_spec("xdist") else []
LOADGROUP = ["--dist", "loadgroup"] if XDIST else []  # as tox.ini: xdist_group tests share a worker
DURATIONS = "--durations=20"  # the slowest tests, listed in the log (output only)


def tox_set_env(tox_ini=ROOT / "tox.ini") -> dict:
    """The ``set_env`` of ``tox.ini``'s ``[testenv]``, which every environment inherits."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(tox_ini, encoding="utf-8")
    lines = parser.get("testenv", "set_env", fallback="").splitlines()
    pairs = (line.partition("=") for line in lines if "=" in line)
    return {key.strip(): value.strip() for key, _, value in pairs}


def _release_ignores():
    """--ignore-glob options for the tests a student release leaves out (instructors' only)."""
    from grader.packaging import INSTRUCTOR_ONLY

    return [f"--ignore-glob={p}" for p in INSTRUCTOR_ONLY if p.startswith("tests/")]


SUMMARY = re.compile(r"^Total: |\b\d+ (passed|failed|not implemented|tests? collected)\b")
PYTEST_SECONDS = re.compile(r" in ([\d.]+)s\b")

# (name, command, target seconds, target in words); the kata is the untouched student code,
# the solutions stand for a complete kata.
# The student's runs (section selfcheck), timed as the README installs Q1-Q5: without PyTorch
# (hidden by ``no_torch/sitecustomize.py`` first on PYTHONPATH, for pytest-xdist's workers too)
STUDENT = (
    ("selfcheck.one_question.collect", [*PYTEST, "-m", "q2_2_2", "--collect-only"], 1.5,
     "<= 1.5 s"),
    ("selfcheck.one_question.kata", [*PYTEST, "-m", "q2_2_2"], 3.0, "<= 3 s"),
    ("selfcheck.one_question.complete", [*SOLUTIONS, "-m", "q2_2_2"], 3.0, "<= 3 s"),
    ("selfcheck.all", [*PYTEST, *XDIST, "RELEASE_IGNORES"], 20.0, "<= 20 s"),
)  # fmt: skip
# The maintainers' runs (section suite), PyTorch included
MAINTAINERS = (
    ("suite.fast_tier", [*SOLUTIONS, *XDIST, DURATIONS], 30.0, "<= 30 s"),
    ("suite.whole", [*SOLUTIONS, "--run-slow", *XDIST, *LOADGROUP, DURATIONS], 360.0, "<= 6 min"),
    ("suite.grade", [sys.executable, "-m", "grader", "--impl", "solutions"], 120.0, "<= 2 min"),
)
COMMANDS = STUDENT + MAINTAINERS
#: Which records time only pytest's collection: pytest's own figure, the wall time in the note
COLLECTION_ONLY = ("selfcheck.one_question.collect",)
NO_TORCH = Path(__file__).resolve().parent / "no_torch"
#: Runs of a command whose goal is this short or shorter (seconds): the median is recorded
#: (a single start-up of a few seconds varies with what the machine did just before)
SHORT_S, SHORT_REPEATS = 20.0, 3


def run(out_dir, env=None, timeout=3600, commands=COMMANDS):
    """Time each command: once, or the median of :data:`SHORT_REPEATS` runs for the short
    ones (a goal of :data:`SHORT_S` seconds or less).

    Parameters
    ----------
    out_dir : str or Path
        Receives each command's output, ``<name>.log`` (pytest's with the 20 slowest tests).
    env : dict, optional
        The environment (default: this process's).
    timeout : float
        Seconds before a command is stopped (then recorded as failed).
    commands : sequence of (str, list of str, float, str)

    Returns
    -------
    records : list of dict
    """
    env = dict(os.environ if env is None else env) | tox_set_env()  # as tox runs them
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # (see the module)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, command, target_s, target in commands:
        logfile = out_dir / f"{name}.log"
        if "RELEASE_IGNORES" in command:
            i = command.index("RELEASE_IGNORES")
            command = [*command[:i], *_release_ignores(), *command[i + 1 :]]
        with tempfile.TemporaryDirectory() as tmp:
            if "grader" in command:
                command = [*command, "--out", tmp]
            before = load_average()
            log(f"  {name}: {' '.join(command[1:])} (load {before}) ...")
            run_env, hidden = env, name.startswith("selfcheck.")
            if hidden:
                paths = [str(NO_TORCH), *filter(None, [env.get("PYTHONPATH")])]
                run_env = env | {"PYTHONPATH": os.pathsep.join(paths)}
            runs = []
            for _ in range(SHORT_REPEATS if target_s <= SHORT_S else 1):
                cpu_before = _children_cpu()
                wall, (rc, summary) = timed(
                    lambda c=command, e=run_env, f=logfile: run_logged(c, e, timeout, f)
                )
                seconds = wall
                reported = PYTEST_SECONDS.search(summary)
                if name in COLLECTION_ONLY and reported:
                    seconds = float(reported.group(1))
                runs.append((seconds, wall, _children_cpu() - cpu_before, rc, summary))
        ranked = sorted(runs, key=lambda r: r[0])
        seconds, wall, cpu, rc, summary = ranked[len(ranked) // 2]
        if any(r[3] != 0 for r in runs):  # a failed run is the one recorded
            seconds, wall, cpu, rc, summary = next(r for r in runs if r[3] != 0)
        spread = (
            f"median of {len(runs)} runs ({ranked[0][0]:.1f} to {ranked[-1][0]:.1f} s); "
            if len(runs) > 1
            else ""
        )
        ok = rc == 0
        log(f"  {name}: {seconds:.1f} s (wall {wall:.1f} s, CPU {cpu:.1f} s), exit {rc}: {summary}")
        out.append(
            result(
                name,
                seconds,
                "s",
                ratio=seconds / target_s,
                vs="goal",
                target=target,
                met=bool(ok and seconds <= target_s),
                note=f"exit {rc}: {summary}; {spread}wall {wall:.1f} s, CPU {cpu:.1f} s (user + "
                f"system, all processes); load {before} before; OPENBLAS_NUM_THREADS="
                f"{env.get('OPENBLAS_NUM_THREADS', 'unset')}"
                + ("; PyTorch hidden (the student's Q1-Q5 environment)" if hidden else ""),
                wall_s=wall,
                cpu_s=cpu,
                rc=rc,
                load_before=before,
                command=" ".join(["python", *command[1:]]),
                openblas_num_threads=env.get("OPENBLAS_NUM_THREADS"),
            )
        )
    return out


def _children_cpu():
    """CPU seconds (user + system) used so far by finished child processes."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_logged(command, env, timeout, logfile):
    """Run ``command``; its exit code and last non-empty output line."""
    try:
        proc = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        output, rc = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = exc.output or ""
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        rc = "timeout"
    logfile.write_text(output)
    lines = [line.strip().strip("= ") for line in output.splitlines() if line.strip()]
    # pytest's closing line ("120 passed, 3 skipped in 40.1s"), the grader's "Total: 95/100"
    summaries = [line for line in lines if SUMMARY.search(line)]
    summary = (summaries or lines or [""])[-1]
    return rc, summary[:200]
