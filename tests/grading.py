"""Run a grader check in this process, the way the grader runs it across two.

``verdict(check, impl)`` makes the check's inputs, runs its task against ``impl`` (an
``Implementation`` fixture: kata, solutions, a flat folder or a mutant), writes and re-reads
what it returned through the same files and readers as the grader, and judges it. Fast enough
for the property tier; the separate process, its caps and its timeouts are tested in
``tests/test_grader_sandbox.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from grader import child, sandbox
from grader.check import Check, Fail, Hidden, unreadable
from grader.implementation import Implementation


def check_key(name: str) -> str:
    """A check's name as its test id reads it (``tests/test_graded_checks.py``), e.g. for
    ``pytest -k``: lower case, runs of other characters as one ``-``, at most 60."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


def verdict(check: Check, impl: Implementation, tmp_path: Path) -> tuple[str, str]:
    """``(outcome, message)``: outcome is passed, failed, not implemented, not provided or
    error (the task raised: its message). A judge that cannot read what came back fails the
    check, as in the grader; :class:`grader.check.Hidden` (student release) propagates."""
    jobdir = Path(tmp_path) / f"job-{abs(hash(check.name))}"
    jobdir.mkdir(parents=True, exist_ok=True)
    inputs = check.inputs() if check.inputs else {}
    sandbox.write_inputs(jobdir, 0, check.task_inputs(inputs))  # private keys stay here
    job = {"jobdir": str(jobdir), "limits": {"memory_bytes": 8 << 30}}
    record = child.run_check(job, {"index": 0, "task": check.task_ref}, impl)
    (jobdir / "out_0.json").write_text(json.dumps(record), encoding="utf-8")
    outcome = sandbox.read_outcome(jobdir, 0)
    if outcome.status != "ok":
        return outcome.status, outcome.message
    try:
        check.judge(inputs, outcome.out)
    except Fail as exc:
        return "failed", str(exc)
    except Hidden:
        raise
    except Exception as exc:  # values the judge could not even read
        return "failed", unreadable(exc)
    return "passed", ""
