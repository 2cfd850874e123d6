"""The handout's scripts run as modules: ``python -m kata.run_q2`` / ``solutions.run_q2``."""

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from running import run_module

from coursedata.scripts import missing, require, run_script, training_parser, use_threads

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("solutions") is None, reason="no solutions/")
def test_reference_toy_experiment_prints_loss_and_accuracy():
    proc = run_module("solutions.run_q2", "--max-iters", "101", "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    assert "itr: 100" in proc.stdout and "Q2.4 final loss" in proc.stdout
    assert "Q2.5 total" in proc.stdout


def test_untouched_kata_says_what_is_not_implemented():
    proc = run_module("kata.run_q2")
    assert proc.returncode == 1
    assert "not implemented yet: Q2.1.2 initialize_weights" in proc.stderr


# A fresh interpreter: slow tier (the test below checks the same in-process)
@pytest.mark.slow
@pytest.mark.parametrize(
    "module, stub", [("run_q3", "Q3.1 train"), ("run_q5", "Q5.2 train_autoencoder")]
)
def test_untouched_kata_script_says_what_is_not_implemented_in_a_fresh_interpreter(
    module, stub, tmp_path
):
    if f'raise NotImplementedError("{stub}")' not in (ROOT / "kata" / f"{module}.py").read_text():
        pytest.skip(f"kata's {stub.split()[-1]} is written: the script would train for real")
    proc = run_module(f"kata.{module}", "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not implemented yet: Q" in proc.stderr


# ----------------------------------------------------------------------------- before any work
@pytest.mark.parametrize("module", ["kata.run_q3", "kata.run_q4", "kata.run_q5"])
def test_untouched_kata_scripts_name_every_missing_function_before_any_work(
    module, capsys, tmp_path
):
    mod = importlib.import_module(module)
    assert mod.main(["--out", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    own = missing(*(f for f in vars(mod).values() if getattr(f, "__module__", None) == module))
    assert own, module
    first_line = err.strip().splitlines()[0]
    assert first_line.startswith("not implemented yet: "), err
    named = first_line.removeprefix("not implemented yet: ").split(", ")
    assert set(own) <= set(named), (own, err)
    # nothing loaded, trained or read before saying so
    assert out == "" and not any(tmp_path.iterdir()), out


def test_missing_finds_the_kata_stubs_and_no_reference_function():
    import kata.run_q4
    import solutions.run_q4

    names = ("findLetters", "draw_boxes", "group_lines", "word_gaps", "crop_letters", "recognise")
    assert missing(*(getattr(kata.run_q4, n) for n in names)) == [
        "Q4.2 findLetters",
        "Q4.3 draw_boxes",
        "Q4.4 group_lines",
        "Q4.4 word_gaps",
        "Q4.4 crop_letters",
        "Q4.4 recognise",
    ]
    assert missing(*(getattr(solutions.run_q4, n) for n in names)) == []


def test_a_function_with_code_before_its_raise_counts_as_written():
    def started():
        """Docstring."""
        x = 1
        raise NotImplementedError(f"Q9 {x}")

    def stub():
        """Docstring."""
        raise NotImplementedError("Q2.3 backwards")

    assert missing(started, stub) == ["Q2.3 backwards"]
    assert require(started) is True


# ----------------------------------------------------------------------------- threads
PROBE = """
import os, sys
import numpy
from coursedata.scripts import use_threads
print("before", os.environ.get("OPENBLAS_NUM_THREADS"), flush=True)
use_threads(int(sys.argv[1]), __name__)
print("after", os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS"))
"""


@pytest.mark.parametrize("threads, expected", [(1, "1"), (3, "3")])
def test_a_script_restarts_with_its_thread_count_set_before_numpy_loads(
    tmp_path, threads, expected
):
    (tmp_path / "probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    proc = subprocess.run(
        [sys.executable, "-m", "probe", str(threads)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # the first start had no setting: it started again with it, before numpy loaded its BLAS
    assert proc.stdout.split("\n")[:3] == [
        "before None",
        f"before {expected}",
        f"after {expected} {expected}",
    ], proc.stdout


def test_threads_zero_keeps_the_defaults_and_main_is_not_restarted(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    use_threads(0, "__main__")
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    use_threads(2, "kata.run_q3")  # called from Python: sets the environment, no restart
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"


@pytest.mark.parametrize("module", ["run_q2", "run_q3", "run_q4", "run_q5"])
def test_every_script_takes_threads(module, capsys):
    for package in ("kata", "solutions"):
        if importlib.util.find_spec(package) is None:
            continue
        with pytest.raises(SystemExit):
            importlib.import_module(f"{package}.{module}").main(["--help"])
        assert "--threads N" in capsys.readouterr().out, (package, module)


# ----------------------------------------------------------------------------- run_script
class _Missing(FileNotFoundError):
    pass


def _parser():
    return training_parser("A script.\n\nMore.", epochs=3, batch_size=4, lr=0.5, seed=7)


def test_run_script_parses_seeds_and_runs_the_work(capsys):
    import numpy as np

    seen = []

    def work(args):
        seen.append((args.epochs, args.batch_size, args.lr, args.seed, args.out, args.threads))
        seen.append(np.random.randint(1 << 30))

    assert run_script(_parser(), ["--epochs", "5", "--threads", "0"], "x", work) == 0
    np.random.seed(7)
    assert seen == [(5, 4, 0.5, 7, "out", 0), np.random.randint(1 << 30)]
    assert run_script(_parser(), ["--threads", "0"], "x", lambda args: 3) == 3


def test_run_script_says_what_stopped_it_in_one_line(capsys):
    def stub():
        """Docstring."""
        raise NotImplementedError("Q9.1 stub")

    def missing_data(args):
        raise _Missing("the data is not available here: put it in data/")

    def not_written(args):
        stub()

    assert run_script(_parser(), ["--threads", "0"], "x", missing_data, errors=(_Missing,)) == 1
    assert capsys.readouterr().err == "the data is not available here: put it in data/\n"
    assert run_script(_parser(), ["--threads", "0"], "x", not_written) == 1
    assert capsys.readouterr().err.strip() == "not implemented yet: Q9.1 stub"
    ran = []
    assert run_script(_parser(), ["--threads", "0"], __name__, ran.append, stub) == 1
    err = capsys.readouterr().err
    assert not ran and err.startswith("not implemented yet: Q9.1 stub"), err
    assert f"python -m {__name__} needs them" in err  # the module's name, also as __main__
