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

Where a test run's time goes: pytest lists every test's time (``--durations=0``), and
:func:`breakdown` sums it by test file over the pytest-xdist workers (``<name>.tests``,
``<name>.file.<stem>``), against the time the goal leaves the workers (the goal's seconds
times the workers). The CPU time a row notes is the rusage of the processes the command waited
for: the grader's checks sandboxed by bubblewrap are not among them (a full grade of the
solutions shows about a tenth of its training), so each row also notes how busy the machine's
cores were during the run (``/proc/stat``: every process on the machine, ours or not).
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
# every test's time (5 ms or more), slowest first, in the log; summed by file (breakdown)
DURATIONS = "--durations=0"
#: Test files named in a run's breakdown, the longest first; the others are summed in one row
TOP_FILES = 8
# the "@group" pytest-xdist's --dist loadgroup appends to a test's id
XDIST_GROUP = re.compile(r"@[^\[\]@]*$")
# pytest's --durations lines: "12.34s call     tests/test_x.py::test_y[param]@group"
DURATION_LINE = re.compile(r"^(\d+(?:\.\d+)?)s +(?:call|setup|teardown) +(([^\s:]+)::\S+)", re.M)


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
#: (a single start-up of a few seconds varies with what the machine did just before; the fast
#: tier took 32, 40 and 51 s within a quarter of an hour on a shared 2-core machine)
SHORT_S, SHORT_REPEATS = 30.0, 3


def run(out_dir, env=None, timeout=3600, commands=COMMANDS):
    """Time each command: once, or the median of :data:`SHORT_REPEATS` runs for the short
    ones (a goal of :data:`SHORT_S` seconds or less).

    Parameters
    ----------
    out_dir : str or Path
        Receives each command's output, ``<name>.log`` (pytest's with every test's time).
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
                cpu_before, busy_before = _children_cpu(), machine_cpu()
                wall, (rc, summary) = timed(
                    lambda c=command, e=run_env, f=logfile: run_logged(c, e, timeout, f)
                )
                seconds = wall
                reported = PYTEST_SECONDS.search(summary)
                if name in COLLECTION_ONLY and reported:
                    seconds = float(reported.group(1))
                cpu = _children_cpu() - cpu_before
                busy = _busy_share(busy_before, machine_cpu())
                output = logfile.read_text() if logfile.is_file() else ""
                runs.append((seconds, wall, cpu, rc, summary, busy, output))
        ranked = sorted(runs, key=lambda r: r[0])
        seconds, wall, cpu, rc, summary, busy, output = ranked[len(ranked) // 2]
        if any(r[3] != 0 for r in runs):  # a failed run is the one recorded
            seconds, wall, cpu, rc, summary, busy, output = next(r for r in runs if r[3] != 0)
        logfile.write_text(output)  # the recorded run's
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
                "system of the processes it waited for, sandboxed checks not counted)"
                + (f", the machine's cores {busy:.0%} busy" if busy is not None else "")
                + f"; load {before} before; OPENBLAS_NUM_THREADS="
                f"{env.get('OPENBLAS_NUM_THREADS', 'unset')}"
                + ("; PyTorch hidden (the student's Q1-Q5 environment)" if hidden else ""),
                wall_s=wall,
                cpu_s=cpu,
                busy=busy,
                rc=rc,
                load_before=before,
                command=" ".join(["python", *command[1:]]),
                openblas_num_threads=env.get("OPENBLAS_NUM_THREADS"),
            )
        )
        if DURATIONS in command:
            workers = auto_workers() if "-n" in command else 1
            out += breakdown(name, output, target_s, workers, before)
    return out


def file_times(output):
    """The time of each test file's tests in pytest's ``--durations`` listing, longest first.

    Parameters
    ----------
    output : str
        pytest's output, with ``--durations=0`` (every test of 5 ms or more).

    Returns
    -------
    dict of str to (float, str, float)
        Path (as pytest names it) to the seconds of its tests' call, setup and teardown
        (summed over the pytest-xdist workers: the time they spent in that file's tests, their
        start-up and collection not included), its longest test's id and that test's seconds.
    """
    seconds, tests = {}, {}
    for time_s, test, path in DURATION_LINE.findall(output):
        seconds[path] = seconds.get(path, 0.0) + float(time_s)
        tests[test] = tests.get(test, 0.0) + float(time_s)
    longest = {}
    for test, time_s in tests.items():
        path = test.split("::")[0]
        if time_s > longest.get(path, ("", -1.0))[1]:
            longest[path] = (test, time_s)
    ranked = sorted(seconds, key=lambda path: -seconds[path])
    return {path: (seconds[path], *longest[path]) for path in ranked}


def breakdown(name, output, target_s, workers, load=None, top=TOP_FILES):
    """Records of where a test run's time went: ``<name>.tests``, the tests' time summed over
    the workers against what the goal leaves them (``target_s`` on ``workers`` workers), and
    ``<name>.file.<stem>`` for the ``top`` longest files (``<name>.file.others``: the rest).

    Returns
    -------
    records : list of dict
        Empty when ``output`` lists no durations.
    """
    by_file = file_times(output)
    if not by_file:
        return []
    total = sum(seconds for seconds, _, _ in by_file.values())
    budget = target_s * workers
    records = [
        result(
            f"{name}.tests",
            total,
            "s",
            ratio=total / budget,
            vs="the goal's worker time",
            note=f"the tests' own time (pytest --durations: call, setup, teardown) summed over "
            f"{workers} worker(s), their start-up and collection not included; the goal's "
            f"{target_s:g} s on {workers} worker(s) leaves them {budget:g} s",
            load=load,
            workers=workers,
            budget_s=budget,
        )
    ]
    for path, (seconds, test, test_s) in list(by_file.items())[:top]:
        shown = XDIST_GROUP.sub("", test.split("::", 1)[1])
        note = f"{path}; its longest test {shown} {test_s:.1f} s"
        records.append(
            result(f"{name}.file.{Path(path).stem}", seconds, "s", ratio=seconds / total,
                   vs=f"{name}.tests", note=note, load=load)
        )  # fmt: skip
    others = list(by_file)[top:]
    if others:
        seconds = sum(by_file[path][0] for path in others)
        records.append(
            result(f"{name}.file.others", seconds, "s", ratio=seconds / total,
                   vs=f"{name}.tests", note=f"{len(others)} other test files", load=load)
        )  # fmt: skip
    return records


def auto_workers():
    """The workers ``-n auto`` starts here, as pytest-xdist counts them."""
    from types import SimpleNamespace

    from xdist.plugin import pytest_xdist_auto_num_workers

    config = SimpleNamespace(option=SimpleNamespace(numprocesses="auto"))
    return pytest_xdist_auto_num_workers(config)


def machine_cpu():
    """(busy, all) CPU seconds of every core of the machine since boot, from ``/proc/stat``;
    None where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [int(t) for t in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    hertz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / hertz, sum(ticks) / hertz


def _busy_share(before, after):
    """The share of the machine's CPU time that was busy between two :func:`machine_cpu`."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


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
