"""The release's side of tests/test_release_leak.py, run with the unpacked release first on
``sys.path`` (it imports nothing of the instructors' tree).

``python leak_runner.py candidates OUT.json``: every module of the release imported; the kata's
graded functions (stubs raising ``NotImplementedError("Q2.2.2 softmax")``) and every other
function the release defines, with the positional arguments it can take.

``python leak_runner.py tasks PLAN.json``: for each job of the plan, the graded function
replaced by the candidate in the kata's module, the check's task run as the grader's child
runs it (``grader.child.run_check``), its outcome written into the job's folder.

``python leak_runner.py serve -``: the commands above read from stdin, one per line
(``candidates OUT.json``, then ``tasks PLAN.json`` for each stage), each answered on stdout by
``done STATUS`` once it is over: the release is imported once for the candidates and every
stage of tasks. Whatever the candidates print goes
to stderr, and none of them can read stdin.
"""

import ast
import importlib
import inspect
import json
import os
import signal
import sys
import warnings
from pathlib import Path

RELEASE = Path(os.environ["NRK_RELEASE"]).resolve()
PACKAGES = ("grader", "coursedata", "kata", "tests")
# Functions with side effects outside their arguments, none computing an answer: the command
# lines (they grade, build zips, download data) are not tried.
SKIP_MODULES = ("coursedata.download", "grader.__main__", "grader.batch")
SKIP_NAMES = ("main",)
SECONDS = 10


def _modules():
    for package in PACKAGES:
        for path in sorted((RELEASE / package).rglob("*.py")):
            rel = path.relative_to(RELEASE).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            if package == "tests":
                parts = parts[1:]  # tests/ is on sys.path, as pytest puts it
                if not parts or parts[0] == "leak_runner":
                    continue
            yield ".".join(parts), path


def _stub(func) -> str | None:
    """The question of a kata stub (its ``raise NotImplementedError("Q2.2.2 ...")``)."""
    try:
        tree = ast.parse(inspect.getsource(func).lstrip())
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc
            if (
                isinstance(call, ast.Call)
                and getattr(call.func, "id", "") == "NotImplementedError"
                and call.args
                and isinstance(call.args[0], ast.Constant)
            ):
                text = str(call.args[0].value)
                return text.split()[0].removeprefix("Q") if text.startswith("Q") else None
    return None


def _arity(func) -> tuple[int, int] | None:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    low = high = 0
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            high += 1
            low += p.default is p.empty
        elif p.kind == p.VAR_POSITIONAL:
            high = 99
        elif p.kind == p.KEYWORD_ONLY and p.default is p.empty:
            return None  # needs a keyword no graded call gives
    return low, high


def candidates(out: str) -> int:
    graded, others, failed = [], [], []
    warnings.simplefilter("ignore")
    for name, _path in _modules():
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - report, go on
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        for attr, value in sorted(vars(module).items()):
            if not callable(value) or getattr(value, "__module__", None) != name:
                continue
            if inspect.isclass(value):
                continue
            arity = _arity(value)
            if arity is None:
                continue
            entry = {"module": name, "name": attr, "low": arity[0], "high": arity[1]}
            question = _stub(value) if name.startswith("kata.") else None
            if question:
                graded.append(entry | {"question": question})
            elif name not in SKIP_MODULES and attr not in SKIP_NAMES:
                others.append(entry)
    Path(out).write_text(json.dumps({"graded": graded, "candidates": others, "failed": failed}))
    return 0


def _alarm(signum, frame):
    raise TimeoutError(f"took more than {SECONDS} s")


def tasks(plan_path: str) -> int:
    import grader.checks  # noqa: F401 - imported before any alarm can cut an import short
    from grader import child
    from grader.implementation import resolve

    warnings.simplefilter("ignore")
    impl = resolve("kata")
    plan = json.loads(Path(plan_path).read_text())
    for job in plan:  # every module the plan names, imported first
        impl.load(job["graded"][0].removeprefix("kata."))
        importlib.import_module(job["candidate"][0])
        importlib.import_module(job["task"].partition(":")[0])
    signal.signal(signal.SIGALRM, _alarm)
    for job in plan:
        module = impl.load(job["graded"][0].removeprefix("kata."))
        name = job["graded"][1]
        original = getattr(module, name)
        candidate = getattr(importlib.import_module(job["candidate"][0]), job["candidate"][1])
        setattr(module, name, candidate)
        signal.alarm(SECONDS)
        try:
            record = child.run_check(job, {"index": 0, "task": job["task"]}, impl)
        except BaseException as exc:  # noqa: BLE001 - a candidate that escapes the task
            record = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
        finally:
            signal.alarm(0)
            setattr(module, name, original)
        (Path(job["jobdir"]) / "out_0.json").write_text(json.dumps(record, default=str))
    return 0


def _forget_flat_modules() -> None:
    """Drop the modules a previous flat folder put under plain names (``nn``, ``util``,
    ``run_q2``) and that folder's place on ``sys.path``."""
    for name in ("nn", "util", "run_q2"):
        sys.modules.pop(name, None)
    sys.path[:] = [p for p in sys.path if not (Path(p) / "nn.py").is_file()]


def mutants(plan_path: str) -> int:
    """``{name: [folder, [checks left out]]}`` in, ``{name: {check: outcome}}`` out
    (``PLAN.out.json``; a check left out for time, as the catalog says, reads "skipped"): the
    release's graded checks of Q2 (public face; what ``tests/test_graded_checks.py`` runs)
    on each folder, one after the other in this process (a flat ``nn.py`` is imported as
    ``nn``: each folder's modules are forgotten before the next is loaded)."""
    import tempfile

    from grading import verdict

    from grader.check import Hidden
    from grader.checks import question_checks
    from grader.implementation import resolve
    from grader.questions import QUESTIONS

    warnings.simplefilter("ignore")
    results = {}
    for name, (folder, left_out) in json.loads(Path(plan_path).read_text()).items():
        _forget_flat_modules()
        impl, outcomes = resolve(folder), {}
        q2 = [c for q in QUESTIONS if q.id.startswith("2.") for c in question_checks(q.id)]
        for check in q2:
            if check.name in left_out:
                outcomes[f"Q{check.question} {check.name}"] = "skipped"
                continue
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    outcome, message = verdict(check, impl, Path(tmp))
                except Hidden:
                    outcome = "hidden"
                except Exception as exc:  # noqa: BLE001 - what the judge could not read
                    outcome = f"failed ({type(exc).__name__})"
            if outcome == "error":
                outcome = "hidden" if message.startswith("Hidden: ") else f"error: {message[:300]}"
            if check.feedback and outcome.startswith("failed"):
                outcome = "feedback (no points)"  # as the self-check shows it: a note
            outcomes[f"Q{check.question} {check.name}"] = outcome
        results[name] = outcomes
    Path(plan_path + ".out.json").write_text(json.dumps(results, indent=1))
    return 0


def serve(_: str) -> int:
    """Run the commands read from stdin in this process, one per line, until it closes."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # a candidate calling input() reads nothing, not the next command
    os.dup2(2, 1)  # what a candidate prints goes to stderr, never into a reply
    sys.stdout = sys.stderr
    for line in requests:
        command, _, arg = line.strip().partition(" ")
        status = COMMANDS[command](arg)
        replies.write(f"done {status}\n")
        replies.flush()
    return 0


COMMANDS = {"candidates": candidates, "tasks": tasks, "mutants": mutants, "serve": serve}

if __name__ == "__main__":
    sys.path[:0] = [str(RELEASE), str(RELEASE / "tests")]
    command, arg = sys.argv[1], sys.argv[2]
    sys.exit(COMMANDS[command](arg))
