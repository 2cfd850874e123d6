"""The benchmark suite (``python -m benchmarks``): structural facts, never wall times.

* the Q2.5 checker's cost: 2 forward passes per parameter entry, perturbing in place (and the
  instrument that counts them catches a checker that copies);
* the command's ``results.json`` schema on a tiny ``--quick`` run, and its re-execution
  without ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``;
* the peak estimate's arithmetic and the report's rendering on made-up records.
"""

import contextlib
import copy
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from benchmarks import blas, q2_checker, report, suite_times, training

ROOT = Path(__file__).resolve().parent.parent
HAS_SOLUTIONS = (ROOT / "solutions" / "nn.py").exists()
needs_solutions = pytest.mark.skipif(not HAS_SOLUTIONS, reason="student release: no solutions/")

RECORD_KEYS = {"name", "value", "unit", "ratio", "vs", "target", "met", "load", "note"}


# ----------------------------------------------------------------------------- Q2.5 cost
@pytest.mark.q2_5
def test_gradient_checker_runs_two_forward_passes_per_parameter_in_place(run_q2):
    cost = q2_checker.checker_cost(run_q2)
    assert cost["entries"] == 2 * 25 + 25 + 25 * 4 + 4, "the toy network 2-25-4 has 179 entries"
    assert cost["passes"] == 2 * cost["entries"], (
        f"numerical_gradients called the loss {cost['passes']} times for {cost['entries']} "
        "parameter entries: central differences need exactly 2 per entry (w + eps, w - eps)"
    )
    assert cost["in_place"], (
        "numerical_gradients should perturb the caller's parameter arrays in place, not copies "
        "(a deep copy per entry costs a copy of every parameter for each of them)"
    )
    assert cost["one_entry"], "each loss call should see exactly one entry perturbed"
    assert cost["restored"], "every entry must be restored to its exact old value afterwards"


def _copying_numerical_gradients(loss_fn, params, eps=1e-6):
    """A correct but wasteful checker: a deep copy of the parameters per perturbation."""
    grads = {}
    for key in [k for k in params if "_" not in k]:
        grad = np.zeros(np.shape(params[key]))
        for idx in np.ndindex(grad.shape):
            plus, minus = copy.deepcopy(params), copy.deepcopy(params)
            plus[key][idx] += eps
            minus[key][idx] -= eps
            grad[idx] = (loss_fn(plus) - loss_fn(minus)) / (2 * eps)
        grads["grad_" + key] = grad
    return grads


def _forward_difference(loss_fn, params, eps=1e-6):
    """One-sided differences: one pass per entry plus one."""
    base = loss_fn(params)
    grads = {}
    for key in [k for k in params if "_" not in k]:
        value = params[key]
        grad = np.zeros(value.shape)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            grad[idx] = (loss_fn(params) - base) / eps
            value[idx] = old
        grads["grad_" + key] = grad
    return grads


@needs_solutions
@pytest.mark.parametrize(
    "checker, passes, in_place",
    [(_copying_numerical_gradients, 358, False), (_forward_difference, 180, True)],
    ids=["deep-copies", "one-sided"],
)
def test_the_cost_instrument_catches_wasteful_checkers(checker, passes, in_place):
    from solutions import run_q2

    fake = types.SimpleNamespace(
        **{k: getattr(run_q2, k) for k in dir(run_q2) if not k.startswith("__")}
    )
    fake.numerical_gradients = checker
    cost = q2_checker.checker_cost(fake)
    assert cost["passes"] == passes
    assert cost["in_place"] is in_place
    assert cost["restored"]


# ----------------------------------------------------------------------------- the command
def _quick_run(tmp_path, sections, extra_env=None):
    env = {**os.environ, "MPLBACKEND": "Agg", **(extra_env or {})}
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "benchmarks", "--quick", "--only", sections, "--threads", "1",
        "--out", str(out), "--json", str(tmp_path / "results.json"),
        "--markdown", str(tmp_path / "RESULTS.md"),
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    payload = json.loads((tmp_path / "results.json").read_text())
    return proc, payload


def _check_schema(payload):
    assert set(payload) == {"context", "results"}
    records = payload["results"]
    assert records, "a run writes at least one record"
    names = [r["name"] for r in records]
    assert len(names) == len(set(names)), "record names are unique (runs are compared by name)"
    for r in records:
        assert RECORD_KEYS <= set(r), r
        assert isinstance(r["value"], (int, float)) and np.isfinite(r["value"]), r
        assert isinstance(r["unit"], str) and r["unit"], r
        assert r["ratio"] is None or (r["vs"] and np.isfinite(r["ratio"])), r
        assert (r["target"] is None) == (r["met"] is None), r
    context = payload["context"]
    for key in ("machine", "numpy_blas", "thread_counts", "load_start", "openblas_unset"):
        assert key in context
    return {r["name"]: r for r in records}


@needs_solutions
def test_quick_run_writes_the_results_schema_and_runs_without_openblas_overrides(tmp_path):
    proc, payload = _quick_run(tmp_path, "q2", {"OPENBLAS_L2_SIZE": "1048576"})
    by_name = _check_schema(payload)
    assert "OPENBLAS_L2_SIZE=1048576 set; running without them" in proc.stderr
    context = payload["context"]
    assert context["openblas_unset"] == {"OPENBLAS_L2_SIZE": "1048576"}
    assert context["openblas_env"]["OPENBLAS_L2_SIZE"] is None, "the run itself had it unset"
    checker = by_name["q2.checker.forward_passes"]
    assert checker["value"] == 358 and checker["ratio"] == 1.0 and checker["met"] is True
    assert by_name["q2.checker.in_place"]["met"] is True
    assert context["numpy_blas"]["library"], "the context names numpy's BLAS"
    text = (tmp_path / "RESULTS.md").read_text()
    assert "`OPENBLAS_L2_SIZE=1048576` were set; this run unset them" in text
    assert "## Targets" in text and "q2.checker.forward_passes" in proc.stdout


@needs_solutions
@pytest.mark.slow
def test_quick_run_of_every_default_section(tmp_path):
    pytest.importorskip("torch")
    _, payload = _quick_run(tmp_path, "training,growth,q2,q4,blas")
    by_name = _check_schema(payload)
    for dtype, batch in training.CONFIGS:
        stem = f"{dtype}.b{batch}.t1"
        numpy_epoch = by_name[f"training.numpy.{stem}.epoch"]
        torch_epoch = by_name[f"training.torch.{stem}.epoch"]
        assert numpy_epoch["vs"] == "torch" and numpy_epoch["threads"] == 1
        assert numpy_epoch["ratio"] == pytest.approx(numpy_epoch["value"] / torch_epoch["value"])
        assert "did not keep" not in numpy_epoch["note"], numpy_epoch["note"]
        assert f"training.torch_input_grad.{stem}.epoch" in by_name
        assert by_name[f"training.numpy.{stem}.gflops"]["unit"] == "GFLOP/s"
    assert ("blas.numpy.threads" in by_name) == blas.can_set_threads()  # threadpoolctl's
    assert any(n.startswith("growth.hidden") for n in by_name)
    assert any(n.startswith("q4.findLetters.") for n in by_name)
    assert any(n.startswith("q4.extract_text.") for n in by_name)
    assert (tmp_path / "out" / "growth.png").stat().st_size > 0
    assert "![epoch time" in (tmp_path / "RESULTS.md").read_text()


# ----------------------------------------------------------------------------- helpers
def test_clean_environment_removes_only_the_openblas_overrides():
    env = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "1", "PATH": "/bin"}
    cleaned, removed = blas.clean_environment(env)
    assert removed == {"OPENBLAS_CORETYPE": "Haswell"}
    assert cleaned == {"OPENBLAS_NUM_THREADS": "1", "PATH": "/bin"}
    assert blas.clean_environment({"PATH": "/bin"}) == ({"PATH": "/bin"}, {})


@pytest.mark.parametrize(
    "flags, vendor, family, model, per_cycle",
    [
        ({"avx512f", "avx2", "fma"}, "GenuineIntel", 6, 85, 32),
        ({"avx512f", "avx2", "fma"}, "AuthenticAMD", 25, 17, 16),  # Zen 4
        ({"avx2", "fma"}, "AuthenticAMD", 25, 1, 16),  # Zen 3
        ({"avx2", "fma"}, "AuthenticAMD", 23, 1, 8),  # Zen 1
        ({"avx"}, "GenuineIntel", 6, 42, 8),
        ({"sse2"}, "GenuineIntel", 6, 15, 4),
    ],
)
def test_flops_per_cycle_follows_the_widest_fma(flags, vendor, family, model, per_cycle):
    assert blas.flops_per_cycle(flags, vendor, family, model)[0] == per_cycle


def test_flops_per_epoch_counts_the_matrix_products():
    n, d, h, c = 10, 1024, 64, 36
    # forward X@W, weight gradient X.T@D, input gradient D@W.T: 2 n d h each, per layer
    assert training.flops_per_epoch(n, h, d, c) == 3 * 2 * n * (d * h + h * c)
    assert training.flops_per_epoch(n, h, d, c, first_input_grad=False) == (
        2 * 2 * n * d * h + 3 * 2 * n * h * c
    )


def test_suite_summary_is_the_test_runners_closing_line(tmp_path):
    script = "print('collected 3 items'); print('== 3 passed, 1 skipped in 0.1s =='); print('')"
    rc, summary = suite_times.run_logged(
        [sys.executable, "-c", script], dict(os.environ), 60, tmp_path / "x.log"
    )
    assert (rc, summary) == (0, "3 passed, 1 skipped in 0.1s")
    rc, summary = suite_times.run_logged(
        [sys.executable, "-c", "import sys; print('Total: 5/9'); print('bye'); sys.exit(2)"],
        dict(os.environ),
        60,
        tmp_path / "y.log",
    )
    assert (rc, summary) == (2, "Total: 5/9")


# pytest's --durations listing as pytest 8-9 prints it, xdist's "@group" on grouped tests
DURATIONS_OUTPUT = """\
============================= slowest durations ==============================
12.50s call     tests/test_a.py::test_long[x-1]@release
2.00s setup    tests/test_a.py::test_long[x-1]@release
3.25s call     tests/test_b.py::TestK::test_m
1.00s call     tests/test_a.py::test_short
0.50s teardown tests/test_b.py::TestK::test_m
0.25s call     tests/test_c.py::test_c

(12 durations < 0.005s hidden.  Use -vv to show these durations.)
======================== 5 passed in 9.10s (1.5s) ========================
"""


def test_the_tests_time_is_summed_by_file_with_each_files_longest_test():
    by_file = suite_times.file_times(DURATIONS_OUTPUT)
    assert list(by_file) == ["tests/test_a.py", "tests/test_b.py", "tests/test_c.py"]
    seconds, longest, longest_s = by_file["tests/test_a.py"]
    assert (seconds, longest, longest_s) == (15.5, "tests/test_a.py::test_long[x-1]@release", 14.5)
    assert by_file["tests/test_b.py"] == (3.75, "tests/test_b.py::TestK::test_m", 3.75)
    assert suite_times.file_times("== 3 passed in 0.1s ==") == {}


def test_the_breakdown_weighs_the_tests_time_against_the_workers_goal():
    records = suite_times.breakdown("suite.x", DURATIONS_OUTPUT, 5.0, 2, top=1)
    by_name = {r["name"]: r for r in records}
    assert list(by_name) == ["suite.x.tests", "suite.x.file.test_a", "suite.x.file.others"]
    total = by_name["suite.x.tests"]
    assert total["value"] == pytest.approx(19.5) and total["budget_s"] == 10.0
    assert total["ratio"] == pytest.approx(1.95) and total["workers"] == 2
    files = [r for r in records if ".file." in r["name"]]
    assert sum(r["value"] for r in files) == pytest.approx(total["value"])
    assert sum(r["ratio"] for r in files) == pytest.approx(1.0)
    assert "test_long[x-1] 14.5 s" in by_name["suite.x.file.test_a"]["note"]  # no "@release"
    assert by_name["suite.x.file.others"]["note"] == "2 other test files"
    assert set(total) >= RECORD_KEYS
    [line] = report.findings(records, {"machine": {"cores": 2}})
    assert "19.5 s summed over its 2 worker(s), 1.95x the 10 s its goal leaves them" in line
    assert suite_times.breakdown("suite.x", "no durations", 5.0, 2) == []


def test_a_timed_pytest_run_records_its_breakdown_and_how_busy_the_cores_were(tmp_path):
    """pytest's real --durations output, read by the benchmark: the file that sleeps longer
    comes first, its time at least its sleep."""
    tests = tmp_path / "probe"
    tests.mkdir()
    (tests / "test_slow.py").write_text("import time\ndef test_s():\n    time.sleep(0.3)\n")
    (tests / "test_quick.py").write_text("import time\ndef test_q():\n    time.sleep(0.05)\n")
    command = [*suite_times.PYTEST, str(tests), suite_times.DURATIONS]
    records = suite_times.run(tmp_path / "out", commands=(("suite.probe", command, 60.0, "x"),))
    by_name = {r["name"]: r for r in records}
    assert by_name["suite.probe"]["rc"] == 0, by_name["suite.probe"]["note"]
    assert list(by_name)[1:] == [
        "suite.probe.tests", "suite.probe.file.test_slow", "suite.probe.file.test_quick"
    ]  # fmt: skip
    assert by_name["suite.probe.file.test_slow"]["value"] >= 0.3
    assert by_name["suite.probe.tests"]["workers"] == 1  # no -n
    busy = by_name["suite.probe"]["busy"]
    assert busy is None or 0.0 <= busy <= 1.0
    assert suite_times.auto_workers() >= 1


def test_a_short_rows_log_and_breakdown_are_its_median_runs(tmp_path):
    """Of three runs taking 0.4, 0 and 0.8 s, the recorded one is the first (the median), not
    the last: its time, its output in the log, its breakdown."""
    counter = tmp_path / "runs"
    code = (
        "import pathlib, time\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = len(p.read_text()) if p.exists() else 0\n"
        "p.write_text('x' * (n + 1))\n"
        "time.sleep([0.4, 0.0, 0.8][n])\n"
        "print(f'{n + 1}.00s call     tests/test_run{n}.py::test_x')\n"
        "print(f'== 1 passed in {n}.1s ==')\n"
    )
    command = [sys.executable, "-I", "-S", "-c", code, suite_times.DURATIONS]
    records = suite_times.run(tmp_path / "out", commands=(("suite.probe", command, 1.0, "x"),))
    by_name = {r["name"]: r for r in records}
    assert 0.4 <= by_name["suite.probe"]["value"] < 0.8
    assert "median of 3 runs" in by_name["suite.probe"]["note"]
    assert "tests/test_run0.py" in (tmp_path / "out" / "suite.probe.log").read_text()
    assert by_name["suite.probe.file.test_run0"]["value"] == 1.0
    assert not any("test_run1" in name or "test_run2" in name for name in by_name)


def test_report_renders_targets_and_the_training_pairs():
    records = [
        {"name": "training.numpy.float64.b32.t1.epoch", "value": 0.2, "unit": "s",
         "ratio": 0.8, "vs": "torch", "target": "<= 1.0x PyTorch CPU", "met": True,
         "load": 1.0, "note": ""},
        {"name": "training.torch.float64.b32.t1.epoch", "value": 0.25, "unit": "s",
         "ratio": None, "vs": None, "target": None, "met": None, "load": 1.0, "note": ""},
        {"name": "suite.fast_tier", "value": 40.0, "unit": "s", "ratio": None, "vs": None,
         "target": "<= 15 s", "met": False, "load": 2.0, "note": "exit 0"},
    ]  # fmt: skip
    context = {
        "command": "python -m benchmarks",
        "date": "today",
        "numpy": np.__version__,
        "machine": blas.machine(),
        "numpy_blas": {k: "x" for k in ("library", "version", "kernel", "threads")}
        | {"threading_layer": "x", "source": "x"},
        "torch_blas": None,
        "thread_counts": [1],
        "repeat": 5,
        "warmup": 1,
        "openblas_unset": {},
        "load_start": 1.0,
        "load_end": 2.0,
        "n_train": 10800,
    }
    text = report.markdown(records, context)
    assert "| <= 1.0x PyTorch CPU | `training.numpy.float64.b32.t1.epoch` | 0.2 s" in text
    assert "| float64 | 32 | 1 | 0.2 | 0.25 | **0.80** |" in text
    assert "| <= 15 s | `suite.fast_tier` | 40.0 s | MISSED | 2 |" in text
    table = report.table(records)
    assert "MISSED" in table and "0.80x torch" in table


def test_the_sandbox_section_reports_overhead_and_memory_against_their_targets():
    from benchmarks import sandbox
    from benchmarks.__main__ import ALL_SECTIONS, DEFAULT_SECTIONS

    assert "sandbox" in ALL_SECTIONS and "sandbox" in DEFAULT_SECTIONS
    by_name = {r["name"]: r for r in sandbox.records(1.2, 1.0, 120.0, "sandbox: x", 5)}
    overhead = by_name["sandbox.startup.overhead"]
    assert overhead["value"] == pytest.approx(0.2) and overhead["met"] is True
    assert overhead["target"] == "<= 0.3 s per question" and overhead["vs"] == "no sandbox"
    assert by_name["sandbox.memory.hostile_return"]["met"] is True
    slow = {r["name"]: r for r in sandbox.records(1.5, 1.0, 400.0, "sandbox: x", 5)}
    assert slow["sandbox.startup.overhead"]["met"] is False
    assert slow["sandbox.memory.hostile_return"]["met"] is False
    own = {r["name"]: r for r in sandbox.records(1.2, 1.0, None, "x", 5, own_s=0.12)}
    assert (
        own["sandbox.startup.bwrap"]["met"] is True
        and "/bin/true" in own["sandbox.startup.bwrap"]["note"]
    )
    # without bubblewrap there is no overhead to report, only the plain start-up
    assert "sandbox.startup.overhead" not in {
        r["name"] for r in sandbox.records(None, 1.0, None, "sandbox: reduced (x)", 5)
    }


def test_the_calibration_section_records_each_condition_and_how_the_scaling_tracks_load(
    monkeypatch,
):
    """The records' names, units and arithmetic, on made-up CPU times (no hog, no timing)."""
    from benchmarks import calibration
    from benchmarks.__main__ import ALL_SECTIONS, DEFAULT_SECTIONS
    from grader.calibration import REFERENCE_CPU_SECONDS as ref

    assert "calibration" in ALL_SECTIONS and "calibration" in DEFAULT_SECTIONS
    workload = {"idle": ref, "cpu_hog": ref, "memory_hog": 1.3 * ref}
    loop = {"idle": 2.0, "cpu_hog": 2.0, "memory_hog": 3.0}
    now, order = {}, []

    @contextlib.contextmanager
    def fake_neighbour(condition):
        now["condition"] = condition
        order.append(condition)
        yield None

    monkeypatch.setattr(calibration, "neighbour", fake_neighbour)
    monkeypatch.setattr(calibration, "workload_seconds", lambda: workload[now["condition"]])
    monkeypatch.setattr(
        calibration, "np_delete_seconds", lambda rows: (loop[now["condition"]] - 0.5, 0.5)
    )
    load = {"idle": 1.0, "cpu_hog": 2.0, "memory_hog": 3.0}
    monkeypatch.setattr(calibration, "load_average", lambda: load[now["condition"]])
    # the graded run next to a hog has its own test below: here, its record comes last
    graded = calibration.result("calibration.np_delete_grade.cpu_hog", 5.0, "points")
    monkeypatch.setattr(calibration, "graded_next_to_hog", lambda folder: graded)
    records = calibration.run(repeat=2, warmup=0)
    assert records[-1] is graded
    by_name = {r["name"]: r for r in records[:-1]}
    assert order == ["idle", "cpu_hog", "memory_hog", "cpu_hog", "memory_hog", "idle"], (
        "the conditions in turn, one further on each round"
    )
    expected = {
        f"calibration.{kind}.{condition}"
        for kind in ("factor", "workload", "np_delete")
        for condition in ("idle", "cpu_hog", "memory_hog")
    } | {"calibration.tracks.cpu_hog", "calibration.tracks.memory_hog"}
    assert set(by_name) == expected
    for record in by_name.values():
        assert RECORD_KEYS <= set(record)
        assert (record["target"] is None) == (record["met"] is None), record
    assert by_name["calibration.workload.idle"]["unit"] == "s"
    assert by_name["calibration.np_delete.memory_hog"]["unit"] == "s"
    assert by_name["calibration.np_delete.memory_hog"]["ratio"] == pytest.approx(1.5)
    assert "system time (page faults) 0.50 s" in by_name["calibration.np_delete.idle"]["note"]
    assert by_name["calibration.factor.idle"]["value"] == 1.0
    assert by_name["calibration.factor.memory_hog"]["value"] == pytest.approx(1.3)
    # the workload grew 1.3x while the student's loop grew 1.5x: the scaling falls short
    short = by_name["calibration.tracks.memory_hog"]
    assert short["value"] == pytest.approx(1.3 / 1.5, abs=1e-3) and short["met"] is False
    assert short["target"] == f">= {calibration.TRACKS_TARGET:g}"
    assert "round by round 0.87, 0.87;" in short["note"]
    # each record's load is the load while its condition was measured
    assert by_name["calibration.workload.idle"]["load"] == 1.0 and short["load"] == 3.0
    context = {"machine": {"cores": 2}}
    (finding,) = [f for f in report.findings(list(by_name.values()), context) if "calibration" in f]
    assert "`calibration.tracks.memory_hog` (0.87)" in finding and "loop took 1.50x" in finding
    assert "workload 1.30x" in finding and "straddle" not in finding
    noisy = {**short, "rounds": [0.7, 1.0]}
    (finding,) = [f for f in report.findings([noisy], context) if "calibration" in f]
    assert "round by round 0.70 to 1.00" in finding and "straddle the target" in finding
    assert by_name["calibration.tracks.cpu_hog"]["value"] == 1.0
    assert by_name["calibration.tracks.cpu_hog"]["met"] is True


@pytest.mark.parametrize("points", [5.0, 3.64])
def test_the_graded_run_next_to_a_hog_records_the_points_and_whether_they_are_full(
    monkeypatch, tmp_path, points
):
    """``calibration.np_delete_grade.cpu_hog`` on a made-up grade (no hog, no grading): the
    submission written is the student's with the np.delete batching, graded on Q2.4 only."""
    import grader.__main__
    from benchmarks import calibration

    seen = {}

    @contextlib.contextmanager
    def fake_neighbour(condition):
        seen["condition"] = condition
        yield None

    def fake_grade_one(folder, questions, limits):
        seen["questions"] = [q.id for q in questions]
        seen["nn"] = (Path(folder) / "nn.py").read_text()
        large = types.SimpleNamespace(
            check=types.SimpleNamespace(budget=100.0), seconds=91.2, outcome="passed"
        )
        small = types.SimpleNamespace(
            check=types.SimpleNamespace(budget=2.0), seconds=0.1, outcome="passed"
        )
        score = types.SimpleNamespace(score=points, max_score=5.0, checks=[small, large])
        return types.SimpleNamespace(scores=[score]), ""

    monkeypatch.setattr(calibration, "neighbour", fake_neighbour)
    monkeypatch.setattr(grader.__main__, "grade_one", fake_grade_one)
    record = calibration.graded_next_to_hog(tmp_path)
    assert RECORD_KEYS <= set(record)
    assert seen["condition"] == "cpu_hog" and seen["questions"] == ["2.4"]
    assert "np.delete(x, i, axis=0)" in seen["nn"]
    assert record["name"] == "calibration.np_delete_grade.cpu_hog"
    assert record["value"] == points and record["unit"] == "points"
    assert record["met"] is (points == 5.0)
    assert "took 91 s of wall time" in record["note"]


@pytest.mark.parametrize("condition", ["cpu_hog", "memory_hog"])
def test_the_calibration_sections_hog_is_killed_even_when_the_measurement_fails(condition):
    from benchmarks import calibration

    with pytest.raises(RuntimeError, match="measurement failed"):
        with calibration.neighbour(condition) as hog:
            assert hog.poll() is None, "the hog runs during the block"
            raise RuntimeError("measurement failed")
    assert hog.returncode is not None, "no process left behind"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_calibration_sections_hog_dies_with_a_killed_benchmark():
    """Killed outright (no ``finally``), the benchmark still leaves no hog behind."""
    import signal
    import time

    script = (
        "import time\n"
        "from benchmarks import calibration\n"
        "with calibration.neighbour('cpu_hog') as hog:\n"
        "    print(hog.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    bench = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        hog_pid = int(bench.stdout.readline())
    finally:
        bench.send_signal(signal.SIGKILL)
        bench.wait()
        bench.stdout.close()
    for _ in range(100):  # the kernel signals the hog as its parent dies; reaped by init
        try:
            state = Path(f"/proc/{hog_pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            break
        if state == "Z":  # dead, not yet reaped
            break
        time.sleep(0.05)
    else:
        os.kill(hog_pid, signal.SIGKILL)
        pytest.fail("the hog outlived the benchmark that started it")


# ----------------------------------------------------------------------------- Q6 bars (--q6)
def _q6_records_by_name(records):
    return {r["name"]: r for r in records}


def test_q6_bars_without_data_are_not_measured_and_say_where_it_goes(tmp_path, monkeypatch):
    from benchmarks import q6_data
    from grader.checks.q6_2 import FINETUNE_BAR

    monkeypatch.setenv("NRK_DATA_DIR", str(tmp_path))
    for var in ("NRK_CIFAR10_DIR", "NRK_SUN_DIR", "NRK_FLOWERS17_DIR"):
        monkeypatch.delenv(var, raising=False)

    def never(name, epochs):
        raise AssertionError("nothing to train without data")

    records = _q6_records_by_name(q6_data.run(train=never))
    assert sorted(records) == sorted(f"{name}.accuracy" for name, *_ in q6_data.BARS)
    for record in records.values():
        assert RECORD_KEYS <= set(record)
        assert record["value"] is None and record["met"] is None
        assert record["note"].startswith("not measured: data absent")
        assert str(tmp_path / "external") in record["note"]
    bar = FINETUNE_BAR
    assert records["q6.flowers17_finetune.accuracy"]["target"] == (
        f">= {bar.min_acc:.0%} of the {bar.split} after {bar.epochs} epochs (the bar)"
    )


def test_q6_bars_with_data_record_accuracy_margin_and_epoch_time(tmp_path, monkeypatch):
    from benchmarks import q6_data
    from grader.checks.q6_1_3 import CIFAR_BAR
    from grader.checks.q6_data import CIFAR_FILES

    folder = tmp_path / "cifar" / "cifar-10-batches-py"  # present as the grader sees it
    folder.mkdir(parents=True)
    for name in CIFAR_FILES:
        (folder / name).write_bytes(b"")
    monkeypatch.setenv("NRK_CIFAR10_DIR", str(tmp_path / "cifar"))
    monkeypatch.setenv("NRK_DATA_DIR", str(tmp_path / "empty"))
    trained = []

    def fake_train(name, epochs):
        trained.append((name, epochs))
        return 0.5, {"seconds": [3.0, 5.0], "device": "cpu"}

    records = _q6_records_by_name(q6_data.run(train=fake_train))
    bar = CIFAR_BAR
    assert trained == [("q6.cifar10", bar.epochs)], "the bar's own epochs, only where data is"
    acc = records["q6.cifar10.accuracy"]
    assert acc["value"] == 0.5 and acc["met"] is True
    assert acc["ratio"] == pytest.approx(bar.min_acc / 0.5), "the bar over the reference's"
    assert records["q6.cifar10.epoch"]["value"] == 4.0
    assert records["q6.sun.accuracy"]["value"] is None


def test_q6_run_keeps_the_other_sections_results(tmp_path, monkeypatch):
    from benchmarks import __main__ as bench_main

    monkeypatch.setenv("NRK_DATA_DIR", str(tmp_path / "empty"))
    for var in ("NRK_CIFAR10_DIR", "NRK_SUN_DIR", "NRK_FLOWERS17_DIR"):
        monkeypatch.delenv(var, raising=False)
    saved = tmp_path / "results.json"
    before = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    before["results"] = [r for r in before["results"] if not r["name"].startswith("q6.")]
    before["results"].append({**before["results"][0], "name": "q6.stale.accuracy"})
    saved.write_text(json.dumps(before))
    status = bench_main.main(["--q6", "--no-reexec", "--json", str(saved), "--markdown", ""])
    assert status == 0
    after = json.loads(saved.read_text())
    names = [r["name"] for r in after["results"]]
    kept = [r["name"] for r in before["results"] if not r["name"].startswith("q6.")]
    assert names[: len(kept)] == kept, "the other sections' last results are kept"
    assert "q6.stale.accuracy" not in names and "q6.cifar10.accuracy" in names
    assert after["context"]["q6_run"]["command"].startswith("python -m benchmarks --q6")


def test_the_students_runs_are_timed_without_pytorch(tmp_path):
    """The self-check rows run as the README installs Q1-Q5 (no PyTorch); the maintainers'
    rows keep it. A short row is the median of a few runs."""
    pytest.importorskip("torch")
    # exit 1 where PyTorch cannot be found (cheaper than importing it)
    probe = [sys.executable, "-c", "import importlib.util as u; exit(u.find_spec('torch') is None)"]
    records = suite_times.run(
        tmp_path,
        commands=(
            ("selfcheck.all", probe, suite_times.SHORT_S, "short"),
            ("suite.fast_tier", probe, suite_times.SHORT_S + 1, "long"),
        ),
    )
    assert {r["name"]: r["rc"] for r in records} == {"selfcheck.all": 1, "suite.fast_tier": 0}
    assert "PyTorch hidden" in records[0]["note"] and "PyTorch hidden" not in records[1]["note"]
    assert f"median of {suite_times.SHORT_REPEATS} runs" in records[0]["note"]
    assert "median" not in records[1]["note"]


def test_the_timed_runs_get_the_environment_tox_gives_them(tmp_path):
    """tox.ini's set_env (one BLAS thread a process ...) and no PYTHONDONTWRITEBYTECODE,
    whatever the benchmark command was started with."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "PYTEST_PLUGINS", "PYTHONDONTWRITEBYTECODE")
    probe = [sys.executable, "-c", f"import os; print([os.environ.get(n) for n in {names!r}])"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "8", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("OMP_NUM_THREADS", None)
    suite_times.run(tmp_path, env, commands=(("suite.probe", probe, 1.0, "short"),))
    printed = (tmp_path / "suite.probe.log").read_text().strip().splitlines()[-1]
    assert printed == str(["1", "1", "grader.pytest_plugin", None])
    assert suite_times.tox_set_env()["OPENBLAS_NUM_THREADS"] == "1"


def test_the_student_and_maintainer_runs_are_two_sections():
    names = [c[0] for c in suite_times.COMMANDS]
    assert {n.split(".")[0] for n in names} == {"selfcheck", "suite"}
    assert [c[0] for c in suite_times.STUDENT] == [n for n in names if n.startswith("selfcheck.")]
