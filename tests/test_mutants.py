"""The Q2 checks bite: realistic wrong solutions fail them, accepted variants pass them.

Each variant of ``tests/mutants/catalog.py`` is written to a flat-layout folder (nn.py only,
so the project's util.py is used) and the Q2 and Q1 checks run on it in a subprocess, with
the derandomised ``ci`` hypothesis profile. A mutant must fail at least one check of each
question that should catch it (with the teaching message, where the catalog names one); an
accepted variant, the untouched student submission and the solutions must pass every check.
A mutant with a known ``gap`` in the checks is a strict xfail: it fails once the gap closes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mutants.catalog import BY_NAME, CATALOG, HERE, STUDENT, Variant, materialise, source

from grader.questions import BY_MARKER, QUESTIONS

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
# The checks of nn.py (Q2.1 to Q2.4) and Q1; never this file, never tests/mutants/.
CHECK_FILES = sorted(TESTS.glob("test_nn_*.py")) + [TESTS / "test_q1_theory.py"]
ALL_MARKERS = ["q1"] + [q.marker for q in QUESTIONS]
# Markers the check files actually use: a passing variant must show records of each.
USED_MARKERS = sorted(
    {m for f in CHECK_FILES for m in re.findall(r"pytest\.mark\.(q\w+)", f.read_text())}
)
WORKERS = max(1, min(3, (os.cpu_count() or 1)))
TIMEOUT_S = 600

BASELINES = ("student", "solutions")


def _check_run(impl: str, markers, results: Path) -> dict:
    """Run the checks of ``markers`` on ``impl``; return the records and the process's output."""
    env = {k: v for k, v in os.environ.items() if k not in ("NRK_IMPL", "PYTEST_ADDOPTS")}
    env["HYPOTHESIS_PROFILE"] = "ci"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *map(str, CHECK_FILES),
        "--impl",
        impl,
        "-m",
        " or ".join(markers),
        "-q",
        "-p",
        "no:cacheprovider",
        "--results-json",
        str(results),
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    run = {
        "returncode": proc.returncode,
        "output": (proc.stdout + proc.stderr)[-4000:],
        "wall_s": time.perf_counter() - start,
        "records": [],
    }
    if results.exists():
        run["records"] = json.loads(results.read_text(encoding="utf-8"))["tests"]
    return run


def _launch(name: str, folder: Path):
    """(impl spec, markers) for the entry ``name``, materialising a variant under ``folder``."""
    if name == "solutions":
        return "solutions", ALL_MARKERS
    if name == "student":
        return str(STUDENT.parent), ALL_MARKERS
    variant = BY_NAME[name]
    impl = str(materialise(variant, folder / name))
    return impl, (ALL_MARKERS if variant.expect == "pass" else list(variant.caught_by))


@pytest.fixture(scope="module")
def check_runs(request, tmp_path_factory):
    """Futures of the check runs of every selected entry, run concurrently by a few workers."""
    selected = [
        item.callspec.params["entry"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_checks_judge_the_variant"
        and item.module is request.module
    ]
    folder = tmp_path_factory.mktemp("mutants")
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures = {}
    for name in dict.fromkeys(selected):
        impl, markers = _launch(name, folder)
        futures[name] = pool.submit(_check_run, impl, markers, folder / f"{name}.json")
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _key(record) -> str | None:
    """The record's marker: ``q2_2_2`` ..., ``q1``, or None."""
    if record["question"]:
        return "q" + record["question"].replace(".", "_")
    return "q1" if record["q1"] else None


def _describe(records) -> str:
    lines = [
        f"  {r['outcome'].upper()} {r['nodeid']}\n    {r['message'][:600]}"
        for r in records
        if r["outcome"] != "passed"
    ]
    return "\n".join(lines) or "  (all passed)"


def _expect(name: str) -> str:
    return "pass" if name in BASELINES else BY_NAME[name].expect


@pytest.mark.slow
@pytest.mark.parametrize("entry", [*BASELINES, *(v.name for v in CATALOG)])
def test_checks_judge_the_variant(check_runs, entry):
    if entry == "solutions" and not (ROOT / "solutions" / "nn.py").exists():
        pytest.skip("student release: no solutions/")
    run = check_runs[entry].result()
    records = run["records"]
    assert records and run["returncode"] in (0, 1), (
        f"the checks did not run on {entry} (exit status {run['returncode']}):\n{run['output']}"
    )
    by_marker: dict[str, list] = {}
    for record in records:
        by_marker.setdefault(_key(record), []).append(record)

    if _expect(entry) == "pass":
        bad = [r for r in records if r["outcome"] != "passed"]
        assert not bad, f"{entry} is correct, but checks did not pass:\n{_describe(bad)}"
        missing = [m for m in USED_MARKERS if m not in by_marker]
        assert not missing, f"no checks of {missing} ran on {entry}"
        return

    variant = BY_NAME[entry]
    shortfalls = _shortfalls(variant, by_marker)
    if variant.gap:
        if not shortfalls:
            pytest.fail(
                f"the checks now catch {entry} as the catalog asks: remove its gap "
                f"({variant.gap!r})",
                pytrace=False,
            )
        pytest.xfail(f"known gap: {variant.gap} ({shortfalls[0].splitlines()[0]})")
    assert not shortfalls, "\n".join(shortfalls)


def _shortfalls(variant: Variant, by_marker) -> list[str]:
    """How the checks fall short of catching ``variant`` as the catalog asks (empty: caught)."""
    shortfalls = []
    for marker, fragment in variant.caught_by.items():
        ran = by_marker.get(marker, [])
        failed = [r for r in ran if r["outcome"] == "failed"]
        if not failed:
            shortfalls.append(
                f"mutant {variant.name} ({variant.description}) survives the {marker} "
                f"checks:\n{_describe(ran)}"
            )
        elif fragment and not any(fragment.lower() in r["message"].lower() for r in failed):
            shortfalls.append(
                f"mutant {variant.name} fails the {marker} checks, but no message says "
                f"{fragment!r}:\n{_describe(failed)}"
            )
    return shortfalls


# ----------------------------------------------------------------------------- not slow
@pytest.mark.parametrize("variant", CATALOG, ids=lambda v: v.name)
def test_catalog_entry_applies(variant: Variant):
    """Every edit applies exactly once (else ``source`` raises) and yields valid Python."""
    text = source(variant)
    compile(text, f"{variant.name}/nn.py", "exec")
    assert variant.expect in ("fail", "pass")
    assert variant.name not in BASELINES
    assert not (variant.gap and variant.expect == "pass"), "a gap is for mutants only"
    if variant.folder is None:
        assert variant.edits and text != STUDENT.read_text(encoding="utf-8")
    if variant.expect == "fail":
        assert variant.caught_by, f"{variant.name}: name the question(s) that must catch it"
        unknown = set(variant.caught_by) - set(BY_MARKER) - {"q1"}
        assert not unknown, f"{variant.name}: unknown markers {unknown}"


def test_catalog_is_not_collected():
    assert len(BY_NAME) == len(CATALOG), "variant names must be unique"
    strays = [
        p.relative_to(HERE)
        for p in HERE.rglob("*.py")
        if p.name.startswith("test_") or p.name.endswith("_test.py") or p.name == "conftest.py"
    ]
    assert not strays, f"pytest would collect these mutant files: {strays}"
