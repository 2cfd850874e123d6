"""Write the files that make a release tree the student's: its public face.

``python -m grader.release.build OUT [--hints nudge]``, run by
:func:`grader.packaging.build_release` inside an extracted copy of the ref's whole tree
(``solutions/`` and ``tests/mutants/`` included), writes under ``OUT``:

* ``README.md``: the student's README (``grader/release/README.md``, the points table);
* ``grader/oracle.py``: ``grader/release/oracle.py``, the oracle's public face;
* ``grader/public_expected.npz``: every value the instructors' oracle returned while the
  checks of :data:`RECORDED` ran on the solutions (and the Q2 checks on the mutants of
  ``tests/mutants/``, whose wrong answers take the checks' diagnostic paths), keyed by the
  arguments (:mod:`grader.recorded`);
* ``grader/face.json``: ``{"face": "public", "hints": ...}`` (:mod:`grader.face`);
* the modules of :data:`REDACT`, with the bodies of the functions named there replaced.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
import time
from pathlib import Path

from grader.check import END_TO_END_BUDGET  # the end-to-end bars: nothing to record

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent

# The questions whose checks ask the oracle on fixed inputs.
RECORDED = ("2.", "3.1", "5.")
RECORD_MUTANTS_FOR = ("2.",)
# Larger values are left out (a whole split's logits): they come from a trained network.
MAX_VALUES = 20_000

# Functions of the grader that hold an answer and have no public face: their bodies are
# replaced in the release (docstring and signature kept, so importers still import them).
REDACT = {
    "grader/checks/q3_common.py": {
        # a complete Q3.1 training loop over the submission's nn.py (flat submissions)
        "loop_train": (
            "from grader.implementation import NotProvided\n\n"
            "raise NotProvided(\n"
            '    "Q3.1 is graded here through run_q3.train (the kata layout); the final "\n'
            '    "grade also trains a flat run_q3.py script with its own loop"\n'
            ")\n"
        ),
    },
}

ORACLE_NAMES = (
    "sigmoid", "softmax", "cross_entropy_sum", "accuracy", "xavier_bound", "mlp_logits",
    "mlp_loss", "mlp_gradients", "central_differences", "mean_cross_entropy", "autoencoder_forward",
    "squared_error_sum", "psnr",
)  # fmt: skip


def redact(source: str, name: str, body: str) -> str:
    """``source`` with the body of its top-level function ``name`` (after the docstring)
    replaced by ``body``."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            first = node.body[0]
            keep = (
                first.end_lineno
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                else node.body[0].lineno - 1
            )
            indent = " " * (node.col_offset + 4)
            new = [indent + ln if ln.strip() else ln for ln in body.splitlines(keepends=True)]
            return "".join(lines[:keep] + new + lines[node.end_lineno :])
    raise ValueError(f"no top-level function {name!r} to redact")


class Recorder:
    """While active, every top-level call of :data:`ORACLE_NAMES` in ``grader.oracle`` is
    stored with its result (calls the oracle makes of itself are not)."""

    def __init__(self):
        self.table: dict = {}
        self.depth = 0

    def __enter__(self):
        from grader import oracle

        self.oracle, self.saved = oracle, {}
        for name in ORACLE_NAMES:
            self.saved[name] = getattr(oracle, name)
            setattr(oracle, name, self._wrap(name, self.saved[name]))
        self.saved_sigmoid = oracle.ACTIVATIONS["sigmoid"]
        oracle.ACTIVATIONS["sigmoid"] = (oracle.sigmoid, self.saved_sigmoid[1])
        return self

    def __exit__(self, *exc):
        for name, func in self.saved.items():
            setattr(self.oracle, name, func)
        self.oracle.ACTIVATIONS["sigmoid"] = self.saved_sigmoid

    def _wrap(self, name, func):
        import copy

        from grader.recorded import fingerprint

        def call(*args, **kwargs):
            if self.depth:
                return func(*args, **kwargs)
            key = fingerprint(name, args, kwargs)
            self.depth += 1
            try:
                value = func(*args, **kwargs)
            finally:
                self.depth -= 1
            if _size(value) <= MAX_VALUES:
                self.table[key] = copy.deepcopy(value)
            return value

        call.__fingerprint__ = f"grader.oracle.{name}"
        call.__module__, call.__qualname__ = "grader.oracle", name
        return call


def _size(value) -> int:
    import numpy as np

    if isinstance(value, (tuple, list)):
        return sum(_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return int(np.size(value))


def run_in_process(check, impl, tmp: Path) -> None:
    """The check's inputs, task and judge in this process (the verdict does not matter)."""
    from grader import child, sandbox

    jobdir = Path(tempfile.mkdtemp(dir=tmp))
    inputs = check.inputs() if check.inputs else {}
    sandbox.write_inputs(jobdir, 0, check.task_inputs(inputs))
    job = {"jobdir": str(jobdir), "limits": {"memory_bytes": 8 << 30}}
    record = child.run_check(job, {"index": 0, "task": check.task_ref}, impl)
    (jobdir / "out_0.json").write_text(json.dumps(record), encoding="utf-8")
    outcome = sandbox.read_outcome(jobdir, 0)
    if outcome is not None and outcome.status == "ok":
        try:
            check.judge(inputs, outcome.out)
        except Exception:
            pass


def _implementations(tmp: Path):
    """``(implementation, question prefixes)``: the solutions, then each mutant."""
    from grader.implementation import resolve

    yield resolve("solutions"), RECORDED
    mutants = ROOT / "tests" / "mutants"
    if not (mutants / "catalog.py").is_file():
        return
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from mutants.catalog import CATALOG, materialise
    finally:
        sys.path.remove(str(ROOT / "tests"))
    for variant in CATALOG:
        try:
            folder = materialise(variant, tmp / "mutants" / variant.name)
        except Exception:
            continue
        yield resolve(str(folder)), RECORD_MUTANTS_FOR


def record(tmp: Path, log=print) -> dict:
    """The oracle's values while the recorded questions' checks run (see the module)."""
    from grader.checks import CHECKS

    with Recorder() as recorder:
        for impl, prefixes in _implementations(tmp):
            start = time.monotonic()
            checks = [
                c
                for c in CHECKS
                if c.question.startswith(prefixes) and c.budget < END_TO_END_BUDGET
            ]
            for check in checks:
                if check.available and check.available():
                    continue
                try:
                    run_in_process(check, impl, tmp)
                except Exception as exc:  # a check's own failure: it stays hidden
                    log(f"  {impl.label}: {check.question} {check.name}: {exc!r}")
            log(f"recorded {impl.label}: {len(checks)} checks, {time.monotonic() - start:.1f} s")
    return recorder.table


def write_face(out: Path, hints: str = "nudge", log=print) -> list[Path]:
    """Write the public face's files under ``out`` (see the module); return them."""
    from grader import recorded
    from grader.packaging import release_readme

    written = []

    def put(rel: str, data: bytes) -> None:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)

    put("README.md", release_readme(hints).encode("utf-8"))
    put("grader/oracle.py", (HERE / "oracle.py").read_bytes())
    put("grader/face.json", json.dumps({"face": "public", "hints": hints}).encode("utf-8"))
    for rel, functions in REDACT.items():
        source = (ROOT / rel).read_text(encoding="utf-8")
        for name, body in functions.items():
            source = redact(source, name, body)
        put(rel, source.encode("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        table = record(Path(tmp), log)
    (out / "grader").mkdir(parents=True, exist_ok=True)
    written.append(recorded.save(table, out / "grader" / "public_expected.npz"))
    log(f"recorded {len(table)} oracle values")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.release.build", description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--hints", default="nudge", choices=("full", "nudge", "none"))
    args = parser.parse_args(argv)
    write_face(Path(args.out), args.hints, log=lambda m: print(m, file=sys.stderr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
