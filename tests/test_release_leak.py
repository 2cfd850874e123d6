"""The student release carries no answers, read from behaviour (issue 14).

The release is built, every module in it imported (``tests/leak_runner.py``, run with the
release first on ``sys.path``), and every function it defines outside the kata's stubs is tried
in the place of each graded function of Q2, Q3 and Q5 whose arguments it can take: the check's
task runs in the release (as the grader's child runs it), the instructors' grader judges what
came back on the *hidden* face's inputs. No candidate may pass the checks that the graded
function answers on its own (those the reference's function passes with every other function
of the kata left a stub).

Q4 and Q6 are not tried: their checks read photos or train PyTorch networks, and the release
holds none of their references (the Q4 reference classifier is data, the kata's given code).
"""

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from releases import release_tree, release_zip  # noqa: F401 - the session's built release

from grader import sandbox
from grader.checks import CHECKS
from grader.face import make_inputs
from grader.implementation import resolve

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "leak_runner.py"
QUESTIONS = ("2.", "3.1", "5.")
LONG = 900.0
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (ROOT / "solutions" / "nn.py").is_file(), reason="student release: no solutions/"
    ),
]


def _env(release: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NRK_IMPL")}
    return env | {"NRK_RELEASE": str(release), "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


def _runner(release: Path, command: str, arg: Path, cwd: Path, timeout: float = 1500):
    proc = subprocess.run(
        [sys.executable, str(RUNNER), command, str(arg)],
        cwd=cwd, env=_env(release), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


class _Server:
    """One ``leak_runner.py serve`` process for every stage of tasks: the release's modules
    are imported once, not once a stage."""

    def __init__(self, release: Path, cwd: Path):
        self.log = cwd / "runner.log"
        self._log = self.log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, str(RUNNER), "serve", "-"], cwd=cwd, env=_env(release),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )  # fmt: skip

    def run(self, command: str, arg: Path, timeout: float = 1500) -> None:
        self.proc.stdin.write(f"{command} {arg}\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        reply = self.proc.stdout.readline() if ready else f"no reply in {timeout:g} s"
        assert reply == "done 0\n", f"{command} {arg.name}: {reply!r}\n" + self._tail()

    def _tail(self) -> str:
        self._log.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def _fits(graded: dict, candidate: dict) -> bool:
    return max(graded["low"], candidate["low"]) <= min(graded["high"], candidate["high"])


def _verdict(check, inputs: dict, jobdir: Path) -> str:
    outcome = sandbox.read_outcome(jobdir, 0)
    if outcome is None or outcome.status != "ok":
        return outcome.status if outcome else "no outcome"
    try:
        check.judge(inputs, outcome.out)
    except Exception:  # Fail, or values the judge cannot read
        return "failed"
    return "passed"


def _own_checks(graded: dict, tmp: Path) -> list:
    """The checks the reference's function passes alone, in a kata of stubs (hidden face)."""
    kata, solutions = resolve("kata"), resolve("solutions")
    name = graded["module"].removeprefix("kata.")
    module = kata.load(name)
    original = getattr(module, graded["name"])
    setattr(module, graded["name"], getattr(solutions.load(name), graded["name"]))
    own = []
    try:
        for check in CHECKS:
            if check.question != graded["question"] or check.budget >= LONG:
                continue
            from grader import child

            jobdir = Path(tmp) / f"own-{graded['name']}-{len(own)}-{abs(hash(check.name))}"
            jobdir.mkdir(parents=True)
            inputs = make_inputs(check)
            sandbox.write_inputs(jobdir, 0, check.task_inputs(inputs))
            job = {"jobdir": str(jobdir), "limits": {"memory_bytes": 8 << 30}}
            record = child.run_check(job, {"index": 0, "task": check.task_ref}, kata)
            (jobdir / "out_0.json").write_text(json.dumps(record), encoding="utf-8")
            if _verdict(check, inputs, jobdir) == "passed":
                own.append((check, inputs))
    finally:
        setattr(module, graded["name"], original)
    return sorted(own, key=lambda pair: -pair[0].weight)


def _link_inputs(check, inputs: dict, jobdir: Path, written: dict, store: Path) -> None:
    """The check's task inputs in ``jobdir``: written once per set of inputs (the same for
    every candidate tried in a graded function's place), then hard-linked."""
    source = written.get(id(inputs))
    if source is None:
        source = written[id(inputs)] = store / str(len(written))
        source.mkdir(parents=True)
        sandbox.write_inputs(source, 0, check.task_inputs(inputs))
    for path in source.iterdir():
        os.link(path, jobdir / path.name)


def _scan(release: Path, tmp_path: Path, only=None) -> tuple[list[str], int]:
    """The functions of ``release`` that pass a graded function's own checks in its place
    (``"module.name as kata.module.name"``), and how many pairs were tried; ``only`` keeps
    the (graded, candidate) pairs it accepts (``only(graded, candidate)``, each a dict with
    ``module`` and ``name``)."""
    work = tmp_path / "work"
    work.mkdir()
    server = _Server(release, work)
    try:
        return _try_every_candidate(server, tmp_path, only or (lambda g, c: True))
    finally:
        server.close()


def _try_every_candidate(server: _Server, tmp_path: Path, only) -> tuple[list[str], int]:
    server.run("candidates", tmp_path / "candidates.json")
    found = json.loads((tmp_path / "candidates.json").read_text())
    assert not found["failed"], f"modules of the release that do not import: {found['failed']}"
    graded = [g for g in found["graded"] if g["question"].startswith(QUESTIONS)]
    names = {(g["module"], g["name"]) for g in graded}
    assert {
        ("kata.nn", "softmax"),
        ("kata.nn", "backwards"),
        ("kata.run_q5", "average_psnr"),
    } <= names
    candidates = [c for c in found["candidates"] if not c["name"].startswith("test_")]
    assert any(c["module"] == "grader.oracle" for c in candidates)  # the public oracle is tried
    survivors = {}  # (graded, candidate) -> checks still to pass
    for g in graded:
        pairs = [c for c in candidates if _fits(g, c) and only(g, c)]
        if not pairs:
            continue
        own = _own_checks(g, tmp_path / "own")
        assert own, f"{g['module']}.{g['name']}: no check it answers alone"
        for c in pairs:
            survivors[(g["module"], g["name"], c["module"], c["name"])] = list(own)
    tried = len(survivors)
    written: dict[int, Path] = {}  # id(inputs) -> the folder its task inputs were written to
    leaks, stage = [], 0
    while survivors:
        stage += 1
        plan, pending = [], {}
        for key, checks in survivors.items():
            check, inputs = checks[0]
            jobdir = tmp_path / "jobs" / f"{stage}-{len(plan)}"
            jobdir.mkdir(parents=True)
            _link_inputs(check, inputs, jobdir, written, tmp_path / "inputs")
            plan.append({
                "jobdir": str(jobdir), "task": check.task_ref, "graded": key[:2],
                "candidate": key[2:], "limits": {"memory_bytes": 4 << 30},
            })  # fmt: skip
            pending[key] = (check, inputs, jobdir)
        (tmp_path / f"plan{stage}.json").write_text(json.dumps(plan))
        server.run("tasks", tmp_path / f"plan{stage}.json")
        survivors = {
            key: survivors[key][1:]
            for key, (check, inputs, jobdir) in pending.items()
            if _verdict(check, inputs, jobdir) == "passed"
        }
        leaks += [f"{k[2]}.{k[3]} as {k[0]}.{k[1]}" for k, rest in survivors.items() if not rest]
        survivors = {key: rest for key, rest in survivors.items() if rest}
        shutil.rmtree(tmp_path / "jobs")
    return leaks, tried


def test_no_function_of_the_release_answers_a_graded_function(release_tree, tmp_path):  # noqa: F811
    leaks, tried = _scan(release_tree, tmp_path)
    assert not leaks, (
        f"functions of the student release pass a graded function's hidden checks in its place: "
        f"{leaks}"
    )
    assert tried > 1000  # the test tried something: every graded function, many candidates


PLANTED = """\
import os

import numpy as np


def stable_rows(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def chatty(x):
    print("done 0", flush=True)
    os.write(1, b"done 0\\n")
    return input()
"""


def test_a_softmax_planted_in_the_release_is_found(release_tree, tmp_path):  # noqa: F811
    """The scan can fail: a release whose coursedata/ holds a softmax under another name is a
    leak, found as ``kata.nn.softmax``; a candidate that prints the runner's reply and reads
    stdin does not confuse the runner."""
    release = tmp_path / "release"
    shutil.copytree(release_tree, release)
    (release / "coursedata" / "planted.py").write_text(PLANTED, encoding="utf-8")
    leaks, tried = _scan(
        release, tmp_path, lambda g, c: g["name"] == "softmax" and c["module"].endswith("planted")
    )
    assert tried == 2
    assert leaks == ["coursedata.planted.stable_rows as kata.nn.softmax"]


# The in-repo mutants that only the hidden face catches (the release's public checks miss
# them), with why. Keep it short: each is a reason to add a public property.
HIDDEN_ONLY: dict[str, str] = {}


def test_the_releases_public_checks_catch_the_mutants(release_tree, tmp_path):  # noqa: F811
    """Every Q2 mutant of ``tests/mutants/`` fails one of the release's public graded checks
    (which its ``pytest`` runs), but those of :data:`HIDDEN_ONLY`; every accepted variant
    passes them all."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from mutants.catalog import CATALOG, materialise
    finally:
        sys.path.remove(str(ROOT / "tests"))
    plan = tmp_path / "variants.json"
    # each variant's folder, and the checks the catalog leaves out for time (np.delete's
    # quadratic batching of NIST36's 10,800 rows)
    variants = {v.name: [str(materialise(v, tmp_path / v.name)), list(v.skip)] for v in CATALOG}
    plan.write_text(json.dumps(variants))
    _runner(release_tree, "mutants", plan, tmp_path)
    results = json.loads(Path(f"{plan}.out.json").read_text())
    caught = {
        n: [c for c, o in r.items() if o.startswith(("failed", "error"))]
        for n, r in results.items()
    }
    missed = sorted(v.name for v in CATALOG if v.expect == "fail" and not caught[v.name])
    wrongly = {v.name: caught[v.name] for v in CATALOG if v.expect == "pass" and caught[v.name]}
    assert not wrongly, f"accepted variants failing public checks: {wrongly}"
    assert missed == sorted(HIDDEN_ONLY), (
        f"mutants only the hidden checks catch: {missed}; expected {sorted(HIDDEN_ONLY)}"
    )
