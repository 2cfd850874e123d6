"""How well the grader's calibration (``grader.calibration``, issue 11 point 4) tracks load.

The grader times a small reference workload when it starts and multiplies every check's CPU
budget by how much slower it ran than on the reference machine. Here the workload and a
student's slow but correct batching loop (``np.delete`` one random row at a time, the issue's
example; a student-style fixture, copied here) are timed in CPU seconds under three conditions,
in turn, so that a shared machine's drifting load falls on every condition alike:

* ``idle``: nothing of ours running beside them;
* ``cpu_hog``: next to one process spinning ``while True: pass``;
* ``memory_hog``: next to one process copying a 128 MB array in a loop (memory bandwidth).

Records, per condition:

* ``calibration.workload.<condition>``: CPU seconds of ``grader.calibration.measure()``
  (itself the median of its runs), median over the repeats;
* ``calibration.factor.<condition>``: the ``machine_factor`` that measure gives (>= 1);
* ``calibration.np_delete.<condition>``: CPU seconds of the batching loop on 2700 rows of
  1024, median over the repeats;
* ``calibration.tracks.<condition>`` (hogs only): (workload ratio to idle) / (np_delete ratio
  to idle), target >= 0.9: the budgets' scaling grows (nearly) as much as the student's loop.

And once (full runs only): ``calibration.np_delete_grade.cpu_hog``, the points Q2.4 gives the
student's loop on NIST36's 10,800 rows with the real budgets, next to one CPU hog (target: full
marks).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys

from .common import load_average, log, result

CONDITIONS = ("idle", "cpu_hog", "memory_hog")
TRACKS_TARGET = 0.9
ROWS, QUICK_ROWS, COLUMNS, BATCH = 2700, 900, 1024, 64

# The neighbours. Each says "ready" once it is at work (the memory hog after its arrays are
# allocated and touched), so that no measurement starts before its neighbour does.
HOGS = {
    "cpu_hog": "print('ready', flush=True)\nwhile True:\n    pass\n",
    "memory_hog": (
        "import numpy as np\n"
        "a = np.ones(16 << 20)  # 128 MB\n"
        "b = np.empty_like(a)\n"
        "np.copyto(b, a)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    np.copyto(b, a)\n"
    ),
}

# A student's slow but correct Q2.4 get_random_batches, as submitted (issue 11's example:
# np.delete copies the remaining rows for every row drawn; about 45 s for 10,800 rows of 1024 on
# the machine the budgets were set on). graded_next_to_hog grades it next to a hog.
SLOW_BATCHES = """
def get_random_batches(x, y, batch_size):
    batches = []
    while len(x) > 0:
        bx, by = [], []
        for _ in range(min(batch_size, len(x))):
            i = np.random.randint(len(x))
            bx.append(x[i])
            by.append(y[i])
            x = np.delete(x, i, axis=0)
            y = np.delete(y, i, axis=0)
        batches.append((np.array(bx), np.array(by)))
    return batches
"""


def _die_with_parent():  # pragma: no cover - runs in the hog, between fork and exec
    """Linux: the hog gets SIGKILL when this process dies, even if it is killed itself (no
    ``finally`` then)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def neighbour(condition):
    """Run the block next to the condition's hog process (none for ``idle``); the hog is
    killed and reaped on the way out, whatever happens in the block."""
    if condition not in HOGS:
        yield None
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    hog = subprocess.Popen(
        [sys.executable, "-c", HOGS[condition]],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    try:
        line = hog.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the {condition} process did not start (exit {hog.poll()})")
        yield hog
    finally:
        hog.kill()
        hog.wait()
        hog.stdout.close()


# The loop runs in a fresh process, as in the grader's child: its first allocations' page
# faults (system time: a quarter to a half of the loop's CPU here when the process is fresh,
# almost none once its heap has grown) count as they do there.
LOOP_SCRIPT = (
    "import os, sys\n"
    "import numpy as np\n"
    + SLOW_BATCHES
    + f"x = np.random.default_rng(0).random((int(sys.argv[1]), {COLUMNS}))\n"
    "np.random.seed(0)\n"
    "start = os.times()\n"
    f"get_random_batches(x, x[:, :36], {BATCH})\n"
    "end = os.times()\n"
    "print(end.user - start.user, end.system - start.system)\n"
)


def np_delete_seconds(rows=ROWS):
    """CPU seconds of the student's batching loop on ``rows`` rows of 1024 in a fresh process
    with one BLAS thread (the same draws each time): ``(user, system)``."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", LOOP_SCRIPT, str(rows)],
        capture_output=True, text=True, env=env, timeout=600, check=True,
    )  # fmt: skip
    user, system = proc.stdout.split()[-2:]
    return float(user), float(system)


def workload_seconds():
    """CPU seconds of the grader's calibration workload (``grader.calibration.measure``)."""
    from grader.calibration import measure

    return measure()


def factor_of(workload_s):
    """The ``machine_factor`` the grader would use after measuring ``workload_s``."""
    from grader.calibration import REFERENCE_CPU_SECONDS

    return max(1.0, round(workload_s / REFERENCE_CPU_SECONDS, 2))


def _one_blas_thread():
    """numpy's BLAS at one thread, as on the reference machine (where threadpoolctl is)."""
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - threadpoolctl is in the test extras
        return contextlib.nullcontext()
    return threadpoolctl.threadpool_limits(1, user_api="blas")


def measure_all(repeat=5, warmup=1, rows=ROWS):
    """Workload and loop CPU seconds per condition: the conditions in turn (rotated each
    round), ``repeat`` rounds; each round starts and kills its hogs. Returns
    ``{condition: {"workload": [...], "np_delete": [...], "system": [...], "load": [...]}}``
    (``np_delete``: user + system seconds; ``system``: the system part)."""
    seen = {c: {"workload": [], "np_delete": [], "system": [], "load": []} for c in CONDITIONS}
    with _one_blas_thread():
        for _ in range(warmup):  # the files read, the caches warm
            np_delete_seconds(rows // 10)
        for round_ in range(max(1, repeat)):
            # each round starts one condition further on, so that no condition is always first
            for condition in CONDITIONS[round_ % 3 :] + CONDITIONS[: round_ % 3]:
                with neighbour(condition):
                    workload = workload_seconds()
                    user, system = np_delete_seconds(rows)
                loop = user + system
                seen[condition]["workload"].append(workload)
                seen[condition]["np_delete"].append(loop)
                seen[condition]["system"].append(system)
                seen[condition]["load"].append(load_average())
                log(
                    f"  round {round_ + 1}, {condition}: workload {workload:.3f} s, "
                    f"np.delete loop {loop:.2f} s of CPU ({system:.2f} s system)"
                )
    return seen


def records(seen, rows=ROWS) -> list[dict]:
    """The section's records from :func:`measure_all`'s measurements."""
    med = {c: {k: statistics.median(v) for k, v in seen[c].items() if k != "load"} for c in seen}
    idle = med["idle"]
    out = []
    for condition in CONDITIONS:
        m = med[condition]
        n = len(seen[condition]["workload"])
        loads = [x for x in seen[condition]["load"] if x is not None]
        # the load while this condition was measured, not when the records are written
        load = {"load": statistics.median(loads)} if loads else {}
        each = {
            k: ", ".join(f"{x:.3g}" for x in seen[condition][k]) for k in ("workload", "np_delete")
        }
        runs = f"median of {n} (calibration.measure() each, itself a median): {each['workload']}"
        work_ratio = m["workload"] / idle["workload"]
        loop_ratio = m["np_delete"] / idle["np_delete"]
        beside = (
            "with no hog of ours"
            if condition == "idle"
            else f"next to one {condition.replace('_', ' ')}"
        )
        out.append(
            result(
                f"calibration.factor.{condition}",
                factor_of(m["workload"]),
                "x",
                note=f"machine_factor from the workload's {m['workload']:.3f} s {beside}",
                **load,
            )
        )
        out.append(
            result(
                f"calibration.workload.{condition}",
                round(m["workload"], 4),
                "s",
                ratio=None if condition == "idle" else work_ratio,
                vs=None if condition == "idle" else "idle",
                note=f"CPU seconds of grader.calibration's workload {beside}; {runs}",
                **load,
            )
        )
        out.append(
            result(
                f"calibration.np_delete.{condition}",
                round(m["np_delete"], 3),
                "s",
                ratio=None if condition == "idle" else loop_ratio,
                vs=None if condition == "idle" else "idle",
                note=f"CPU seconds (user + system) of a student's np.delete batching (a fresh "
                f"process) on {rows} rows of {COLUMNS} {beside}; median of {n}: {each['np_delete']}"
                f"; system time (page faults) {m['system']:.2f} s of it",
                **load,
            )
        )
        if condition != "idle":
            tracks = work_ratio / loop_ratio
            # the same ratio within each round (its conditions ran minutes apart at most)
            paired = [
                (w / wi) / (lo / li)
                for w, wi, lo, li in zip(
                    seen[condition]["workload"],
                    seen["idle"]["workload"],
                    seen[condition]["np_delete"],
                    seen["idle"]["np_delete"],
                )
            ]
            out.append(
                result(
                    f"calibration.tracks.{condition}",
                    round(tracks, 3),
                    "x",
                    target=f">= {TRACKS_TARGET:g}",
                    met=bool(tracks >= TRACKS_TARGET),
                    note=f"the workload grew {work_ratio:.2f}x, the student's loop "
                    f"{loop_ratio:.2f}x (each against idle); round by round "
                    + ", ".join(f"{x:.2f}" for x in paired)
                    + "; loads "
                    + ", ".join(f"{x:g}" for x in loads),
                    rounds=[round(x, 3) for x in paired],
                    workload_ratio=round(work_ratio, 3),
                    np_delete_ratio=round(loop_ratio, 3),
                    **load,
                )
            )
    return out


def graded_next_to_hog(folder) -> dict:
    """Issue 11 at NIST36's scale, with the real budgets: the student's np.delete batching
    (its nn.py the catalog's student submission, its run_q2.py the solutions') graded on Q2.4
    next to one CPU hog. Record ``calibration.np_delete_grade.cpu_hog``: its points, target
    full marks (a minute or two of CPU; the test suite's version caps the budget and uses a
    faster loop, ``tests/test_grader_sandbox.py``)."""
    from pathlib import Path

    from grader.__main__ import grade_one, select
    from grader.sandbox import Limits

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "tests"))
    from mutants.catalog import STUDENT, add_solution_scripts

    sub = Path(folder) / "np_delete"
    sub.mkdir(parents=True, exist_ok=True)
    (sub / "nn.py").write_text(STUDENT.read_text(encoding="utf-8") + "\n\n" + SLOW_BATCHES)
    add_solution_scripts(sub)
    with neighbour("cpu_hog"):
        graded, error = grade_one(str(sub), select("2.4"), Limits())
    if error or not graded.scores:
        return result("calibration.np_delete_grade.cpu_hog", 0.0, "points",
                      target="full marks", met=False, note=f"not graded: {error}")  # fmt: skip
    (score,) = graded.scores
    large = max(score.checks, key=lambda c: c.check.budget)
    return result(
        "calibration.np_delete_grade.cpu_hog",
        round(score.score, 2),
        "points",
        target="full marks",
        met=bool(score.score == score.max_score),
        note=f"Q2.4 of a student's np.delete batching, real budgets, next to one CPU hog: "
        f"{score.score:g}/{score.max_score:g}; its check of 10,800 rows took "
        f"{large.seconds:.0f} s of wall time ({large.outcome})",
    )


def run(repeat=5, warmup=1, quick=False) -> list[dict]:
    import tempfile

    rows = QUICK_ROWS if quick else ROWS
    out = records(measure_all(repeat, warmup, rows), rows)
    if not quick:  # minutes of CPU: a full run only
        with tempfile.TemporaryDirectory() as tmp:
            out.append(graded_next_to_hog(tmp))
    return out
