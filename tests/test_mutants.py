"""The self-check bites, and agrees with the grader, question by question.

Each variant of ``tests/mutants/catalog.py`` is written to a complete flat-layout folder
(its nn.py, its own other files, the solutions' run_q2.py, run_q3.py, run_q5.py where it has
none; the project's util.py), and its self-check runs in a subprocess (a few at a time): the
graded checks of ``tests/test_graded_checks.py``, the question-marked tests of
``tests/test_nn_*.py``, ``test_run_q2.py``, Q1, and ``test_run_q3.py``,
``test_q4.py``/``test_run_q4.py``, ``test_run_q5.py`` when the entry has rows of those
questions, with the derandomised ``ci`` hypothesis profile. The grader's side of the table is
the grader's scoring (``mutants/grade_rows.py`` ``score_rows``, ``score_question``) of the
verdicts those graded checks recorded, the grader's checks of each row (checks bound to
NIST36 left out, like the slow tier): every check runs once, its verdict read by both sides.

``test_checks_judge_the_variant``: a mutant fails at least one self-check test of each
question that should catch it (with the teaching message, where the catalog names one); an
accepted variant, the untouched student submission and the solutions pass every test. A
mutant with a known ``gap`` is a strict xfail: it fails once the gap closes.

``test_selfcheck_and_grader_agree`` (issue 11, item 8), one row per (entry, question): the
self-check passes every test of the question exactly when the grader gives full points; a
failure carries the catalog's teaching message in both; the catalog's TA grade, where it
gives one, is the grader's score.
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
from grading import check_key
from mutants.catalog import (
    BY_NAME,
    CATALOG,
    HERE,
    STUDENT,
    Variant,
    add_solution_scripts,
    materialise,
    source,
)
from mutants.grade_rows import score_rows

from grader.questions import BY_MARKER, QUESTIONS

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
# The self-check of nn.py and run_q2.py (Q2) and Q1; never this file, never tests/mutants/.
# The graded checks of every selected question come first, as in the student's run.
CHECK_FILES = [
    TESTS / "test_graded_checks.py",
    *sorted(TESTS.glob("test_nn_*.py")),
    TESTS / "test_run_q2.py",
    TESTS / "test_q1_theory.py",
]
# The self-check of the later questions, for entries with rows there.
MORE_FILES = {
    "3": [TESTS / "test_run_q3.py"],
    "4": [TESTS / "test_q4.py", TESTS / "test_run_q4.py"],
    "5": [TESTS / "test_run_q5.py"],
}
# Every question these entries are complete for (Q4's findLetters fixtures: test_mutants_q4.py).
ALL_MARKERS = ["q1"] + [q.marker for q in QUESTIONS if q.id[0] in "235"]
# Markers the check files actually use: a passing variant must show records of each.
USED_MARKERS = sorted(
    {m for f in CHECK_FILES for m in re.findall(r"pytest\.mark\.(q\w+)", f.read_text())}
)
WORKERS = max(1, min(3, (os.cpu_count() or 1)))
TIMEOUT_S = 600

BASELINES = ("student", "solutions")
Q2_IDS = [q.id for q in QUESTIONS if q.id.startswith("2.")]
# The baselines' rows: every question the fast self-check and fast grader checks both cover.
BASELINE_ROWS = [*Q2_IDS, "3.1", "5.1.1", "5.1.2", "5.2", "5.3.1", "5.3.2"]
SCORED = {q.id for q in QUESTIONS if not q.written}


def rows_of(name: str) -> list[str]:
    """The table's question ids for the entry ``name`` (see ``tests/mutants/catalog.py``)."""
    if name in BASELINES:
        return BASELINE_ROWS
    variant = BY_NAME[name]
    if variant.expect == "pass":
        rows = list(Q2_IDS)
    else:
        rows = [BY_MARKER[m].id for m in variant.caught_by if m in BY_MARKER]
    rows += [q for q in variant.grades if q not in rows]
    return [q for q in rows if q in SCORED]


def _check_run(impl: str, markers, results: Path, files=CHECK_FILES, skip=()) -> dict:
    """Run the checks of ``markers`` on ``impl``, less the graded checks named in ``skip``
    (left out of the grader's side too); return the records and the process's output."""
    env = {k: v for k, v in os.environ.items() if k not in ("NRK_IMPL", "PYTEST_ADDOPTS")}
    env["HYPOTHESIS_PROFILE"] = "ci"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *map(str, files),
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
    if skip:
        command += ["-k", "not (" + " or ".join(check_key(name) for name in skip) + ")"]
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
        records = json.loads(results.read_text(encoding="utf-8"))["tests"]
        # the graded checks' own verdicts: the grader's side of the table scores them
        run["verdicts"] = {r["verdict"][0]: tuple(r["verdict"][1:]) for r in records
                           if r.get("verdict")}  # fmt: skip
        # graded checks the grader leaves out for this code (not provided): as in its rows
        run["records"] = [r for r in records if r["outcome"] != "left out"]
    return run


def _launch(name: str, folder: Path):
    """(impl spec, markers, skipped checks) for the entry ``name``, materialising a variant
    under ``folder``."""
    if name == "solutions":
        return "solutions", ALL_MARKERS, ()
    if name == "student":
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        (target / "nn.py").write_text(STUDENT.read_text(encoding="utf-8"), encoding="utf-8")
        return str(add_solution_scripts(target)), ALL_MARKERS, ()
    variant = BY_NAME[name]
    impl = str(materialise(variant, folder / name, complete=True))
    markers = set(ALL_MARKERS if variant.expect == "pass" else variant.caught_by)
    markers |= {BY_MARKER[m].marker for m in BY_MARKER if BY_MARKER[m].id in rows_of(name)}
    return impl, sorted(markers), variant.skip


def _files(rows) -> list[Path]:
    extra = [f for key, files in MORE_FILES.items() for f in files
             if any(q.startswith(key + ".") for q in rows)]  # fmt: skip
    return [*CHECK_FILES, *extra]


def _run_both(name: str, folder: Path) -> dict:
    impl, markers, skip = _launch(name, folder)
    rows = rows_of(name)
    run = _check_run(impl, markers, folder / f"{name}.json", _files(rows), skip)
    try:  # the grader's scores of the verdicts the self-check's graded checks made
        run["grades"] = score_rows(run.get("verdicts", {}), rows, skip)
    except LookupError as exc:
        run["grades_error"] = f"{exc}: the self-check did not run that graded check"
    return run


TESTS_OF_ENTRIES = ("test_checks_judge_the_variant", "test_selfcheck_and_grader_agree")


@pytest.fixture(scope="module")
def check_runs(request, tmp_path_factory):
    """Futures of the runs (self-check and grader) of every selected entry, run concurrently
    by a few workers."""
    selected = [
        item.callspec.params["entry"]
        for item in request.session.items
        if getattr(item, "originalname", None) in TESTS_OF_ENTRIES and item.module is request.module
    ]
    folder = tmp_path_factory.mktemp("mutants")
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures = {}
    for name in dict.fromkeys(selected):
        futures[name] = pool.submit(_run_both, name, folder)
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


@pytest.mark.slow
@pytest.mark.parametrize("entry", [*BASELINES, *(v.name for v in CATALOG)])
def test_selfcheck_and_grader_agree(check_runs, entry):
    """One row per question of the entry: self-check all green <=> the grader's full points;
    a failure carries the catalog's teaching message in both; the TA's grade is the grader's."""
    if entry == "solutions" and not (ROOT / "solutions" / "nn.py").exists():
        pytest.skip("student release: no solutions/")
    run = check_runs[entry].result()
    assert run["records"], f"the self-check did not run on {entry}:\n{run['output']}"
    assert "grades" in run, run.get("grades_error")
    variant = BY_NAME.get(entry)
    grades = variant.grades if variant else {}
    table, problems = [], []
    for question in rows_of(entry):
        marker = "q" + question.replace(".", "_")
        records = [r for r in run["records"] if _key(r) == marker]
        row = run["grades"][question]
        graded = [c for c in row["checks"] if not c["feedback"] and c["outcome"] != "not provided"]
        full = row["score"] == row["max"] and all(c["outcome"] == "passed" for c in graded)
        self_ok = bool(records) and all(r["outcome"] == "passed" for r in records)
        table.append(
            f"  Q{question:<6} grader {row['score']:>5g}/{row['max']:<3g} "
            f"self-check {sum(r['outcome'] == 'passed' for r in records)}/{len(records)} passed"
        )
        if not records:
            problems.append(f"Q{question}: no self-check test ran")
        elif self_ok != full:
            failed_grader = [f"{c['name']}: {c['message'][:300]}" for c in graded
                             if c["outcome"] != "passed"]  # fmt: skip
            problems.append(
                f"Q{question}: the self-check {'passes' if self_ok else 'fails'} but the "
                f"grader gives {row['score']:g}/{row['max']:g}\n    grader: {failed_grader}\n"
                f"    self-check:\n{_describe(records)}"
            )
        if question in grades and abs(row["score"] - grades[question]) > 0.011:
            problems.append(
                f"Q{question}: a TA gives {grades[question]:g}, the grader "
                f"{row['score']:g}/{row['max']:g}: {[c['message'][:200] for c in graded]}"
            )
        elif variant and variant.expect == "pass" and question not in grades and not full:
            problems.append(f"Q{question}: a correct variant loses points: {graded}")
        fragment = variant.caught_by.get(marker, "") if variant else ""
        if fragment and not full:
            grader_messages = [c["message"] for c in graded if c["outcome"] != "passed"]
            self_messages = [r["message"] for r in records if r["outcome"] != "passed"]
            for side, messages in (("grader", grader_messages), ("self-check", self_messages)):
                if not any(fragment.lower() in m.lower() for m in messages):
                    problems.append(f"Q{question}: no {side} failure says {fragment!r}: {messages}")
    if problems:
        pytest.fail(f"{entry}:\n" + "\n".join(table) + "\n" + "\n".join(problems), pytrace=False)


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


def test_every_q2_to_q5_question_has_agreement_rows():
    """Issue 11, item 8: each scored Q2-Q5 question is a row of an agreement table, this
    file's (Q2, Q3, Q5: catalog entries and baselines) or ``test_mutants_q4.py``'s (Q4: the
    findLetters fixtures of ``tests/mutants/q4/catalog.py``)."""
    from mutants.q4.catalog import CATALOG as Q4_FIXTURES

    covered = {q for name in [*BASELINES, *BY_NAME] for q in rows_of(name)}
    covered |= {"4.2"} if Q4_FIXTURES else set()
    covered |= {"4.4"} if any(f.q44 is not None for f in Q4_FIXTURES) else set()
    wanted = {q.id for q in QUESTIONS if not q.written and q.id[0] in "2345"}
    assert wanted <= covered, f"no agreement rows for {sorted(wanted - covered)}"
    starter = BY_NAME["starter"]
    assert all(starter.grades[q] == 0 for q in wanted if q[0] in "235"), (
        "the unfilled starter scores 0 on every Q2, Q3 and Q5 question"
    )
