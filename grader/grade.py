"""Grade one submission: every selected question in its own capped process, verdicts here.

This module (the grader's process) imports no submission code: it makes each check's inputs,
has :mod:`grader.sandbox` run the tasks in the submission's process, and judges the plain
data that comes back.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grader import libraries
from grader.check import Check, Fail, Hidden, unreadable
from grader.checks import CHECKS
from grader.face import RANDOM_LOCK, is_public, make_inputs
from grader.questions import QUESTIONS, Question
from grader.sandbox import Limits, Outcome, run_question
from grader.scoring import (
    FAILED,
    HIDDEN,
    NOT_GRADABLE,
    NOT_IMPLEMENTED,
    NOT_PROVIDED,
    PASSED,
    CheckResult,
    QuestionScore,
    score_question,
)
from grader.submission import Submission


@dataclass
class Grade:
    """Everything one grading produced."""

    label: str
    scores: list[QuestionScore]
    seconds: float = 0.0
    shims: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    sandbox: str = ""  # how the submission's processes were isolated (grader.sandbox.Mode)
    skipped: list[str] = field(default_factory=list)  # entries of the submission not read

    @property
    def notes(self) -> str:
        """What the report says besides the scores."""
        from grader.face import PUBLIC_NOTE, is_public

        lines = [PUBLIC_NOTE[0].upper() + PUBLIC_NOTE[1:] + "."] if is_public() else []
        if self.skipped:
            lines.append(
                "Left out of the submission (only regular files and folders are read): "
                + "; ".join(self.skipped[:20])
                + (f" and {len(self.skipped) - 20} more" if len(self.skipped) > 20 else "")
                + "."
            )
        if self.shims:
            lines.append(
                "Shims used for code written for older libraries: " + ", ".join(self.shims) + "."
            )
        if self.violations:
            lines.append(
                "Imports outside the handout's libraries: "
                + "; ".join(self.violations)
                + f". {libraries.RULE}"
            )
        return "\n".join(lines)


def checks_of(question: Question, checks: list[Check] | None = None) -> list[Check]:
    """The checks of ``question`` among ``checks`` (default: every check, Q4 on the samples)."""
    return [c for c in (CHECKS if checks is None else checks) if c.question == question.id]


def _judge(check: Check, inputs: dict, outcome: Outcome) -> CheckResult:
    if outcome.status == "ok":
        try:
            with RANDOM_LOCK:  # no hidden inputs are being drawn meanwhile (grader/face.py)
                check.judge(inputs, outcome.out)
        except Fail as verdict:
            return CheckResult(check, FAILED, str(verdict), outcome.seconds)
        except Hidden as hidden:  # student release: no expected value for this input
            return CheckResult(check, HIDDEN, str(hidden), outcome.seconds)
        except Exception as exc:  # values the judge could not even read
            return CheckResult(check, FAILED, unreadable(exc), outcome.seconds)
        return CheckResult(check, PASSED, "", outcome.seconds)
    if outcome.status == "error" and is_public() and outcome.message.startswith("Hidden: "):
        # the task asked the release's oracle about an input it does not store
        return CheckResult(check, HIDDEN, outcome.message.removeprefix("Hidden: "))
    if outcome.status == "not implemented":
        return CheckResult(check, NOT_IMPLEMENTED, outcome.message)
    if outcome.status == "not provided":
        return CheckResult(check, NOT_PROVIDED, outcome.message)
    return CheckResult(check, FAILED, outcome.message, outcome.seconds)


def grade_question(
    submission: Submission,
    question: Question,
    limits: Limits,
    out_dir: Path | None = None,
    penalised_modules: dict[str, str] | None = None,
    shared: Shared | None = None,
    checks: list[Check] | None = None,
) -> tuple[QuestionScore, list[str], list[Path]]:
    """Score one question; also return the shims its process used and the figures drawn.
    ``checks``: every check to pick the question's from (default ``grader.checks.CHECKS``)."""
    shared = shared or Shared()
    checks = checks_of(question, checks)
    try:
        return _grade_question(submission, question, checks, limits, out_dir, penalised_modules,
                               shared)  # fmt: skip
    finally:
        for check in checks:
            shared.done(check.provides)


def _grade_question(submission, question, checks, limits, out_dir, penalised_modules, shared):
    for check in checks:
        reason = check.available() if check.available else None
        if reason:
            results = [CheckResult(check, NOT_GRADABLE, reason)]
            return score_question(question, results), [], []
    inputs, results = [], {}
    for i, check in enumerate(checks):
        try:
            inputs.append(make_inputs(check) | shared.get(check.uses))
        except Exception as exc:  # the grader's own bug: report it, grade the rest
            inputs.append({})
            results[i] = CheckResult(
                check, FAILED, f"the grader could not make this check's inputs: {exc!r}"
            )
    runnable = [i for i in range(len(checks)) if i not in results]
    shims, figures = set(), []

    def judge(k, outcome):  # as each check's result is read back, one at a time
        nonlocal figures
        i = runnable[k]
        shims.update(outcome.shims)
        results[i] = _judge(checks[i], inputs[i], outcome)
        if checks[i].provides and outcome.status == "ok":
            shared.put(checks[i].provides, outcome.out)
        if out_dir is not None and checks[i].figures and outcome.status == "ok":
            try:
                figures += checks[i].figures(inputs[i], outcome.out, out_dir) or []
            except Exception:
                print(
                    f"grader: could not draw the figures of Q{question.id} "
                    f"'{checks[i].name}':\n{traceback.format_exc(limit=3)}",
                    file=sys.stderr,
                )

    run_question(
        submission,
        [checks[i] for i in runnable],
        [inputs[i] for i in runnable],
        limits,
        on_outcome=judge,
    )
    for i, result in results.items():
        used = set(checks[i].modules) & set(penalised_modules or {})
        if used and result.outcome == PASSED:
            module = sorted(used)[0]
            results[i] = CheckResult(
                checks[i],
                FAILED,
                f"{module}.py imports {penalised_modules[module]}. {libraries.RULE}",
                result.seconds,
            )
    ordered = [results[i] for i in range(len(checks))]
    return score_question(question, ordered), sorted(shims), figures


class Shared:
    """Work one question's process returns for another's (a trained network), as plain data.

    A check with ``provides="name"`` hands the values its task returned under keys starting
    with ``shared_`` (as read back: arrays, strings) to the checks with ``uses="name"`` of
    later questions, which receive them in their inputs instead of redoing the work. A check
    whose shared work is not there (its question was not selected, or its run failed) does
    the work itself.
    """

    def __init__(self, providers: set[str] = frozenset()):
        self._ready = {name: threading.Event() for name in providers}
        self._values: dict[str, dict] = {}

    def put(self, name: str, out: dict) -> None:
        """Keep the ``shared_*`` values of ``out`` (arrays, strings, lists of strings)."""
        self._values[name] = {k: v for k, v in out.items() if k.startswith("shared_")}

    def done(self, name: str | None) -> None:
        if name in self._ready:
            self._ready[name].set()

    def get(self, name: str | None) -> dict:
        """The arrays shared under ``name``, waiting for its question when it is running."""
        if name is None:
            return {}
        if name in self._ready:
            self._ready[name].wait()
        return dict(self._values.get(name, {}))


def schedule(questions: list[Question], checks: list[Check] | None = None) -> list[Question]:
    """The order questions start in: the longest (by their checks' time budgets) first, so
    the cores finish together; a question using shared work right after its provider.

    The pool starts questions in this order, so a question waiting for shared work never
    holds the thread its provider needs.
    """

    def budget(q):
        return sum(c.budget for c in checks_of(q, checks))

    order = sorted(questions, key=budget, reverse=True)
    providers = {c.provides: c.question for c in (checks or CHECKS) if c.provides}
    for q in list(order):
        needs = {providers[c.uses] for c in checks_of(q, checks) if c.uses in providers}
        for provider in needs:
            ids = [x.id for x in order]
            if provider in ids and ids.index(provider) > ids.index(q.id):
                order.remove(q)
                order.insert(order.index(next(x for x in order if x.id == provider)) + 1, q)
    return order


def grade(
    submission: Submission,
    questions: list[Question],
    limits: Limits | None = None,
    out_dir: str | Path | None = None,
    library_penalty: bool = False,
    log=None,
    jobs: int = 1,
    checks: list[Check] | None = None,
) -> Grade:
    """Grade ``submission`` on ``questions``.

    Parameters
    ----------
    submission : Submission
        What to grade (see :func:`grader.submission.open_submission`).
    questions : list of Question
        The questions to grade, in order.
    limits : Limits
        Caps on each question's process.
    out_dir : path, optional
        Where figures go.
    library_penalty : bool
        When True, a check whose module imports a library outside the handout's rule fails;
        by default such imports are only reported.
    log : callable, optional
        Called with one line per question as it is graded.
    jobs : int
        Questions graded at once, each in its own process.
    checks : list of Check, optional
        The checks to grade with (``grader.checks.all_checks(photos)``: the Q4 ones on an
        instructor's photos); default ``grader.checks.CHECKS``.
    """
    limits = limits or Limits()
    start = time.monotonic()
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    violations = libraries.scan(submission.sources)
    penalised = {}
    if library_penalty:
        for v in violations:
            penalised.setdefault(Path(v.file).stem, v.module)
    order = schedule(questions, checks)
    selected = {q.id for q in questions}
    everything = CHECKS if checks is None else checks
    shared = Shared({c.provides for c in everything if c.provides and c.question in selected})

    def one(question):
        t0 = time.monotonic()
        result = grade_question(submission, question, limits, out, penalised, shared, checks)
        if log:
            log(f"Q{question.id}: {result[0].status} ({time.monotonic() - t0:.1f} s)")
        return result

    # Questions are independent processes: several run at once (each with one BLAS thread).
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = dict(zip((q.id for q in order), pool.map(one, order)))
    graded = [done[q.id] for q in sorted(questions, key=list(QUESTIONS).index)]
    scores, shims, figures = [], set(), []
    for score, used, drawn in graded:
        scores.append(score)
        shims.update(used)
        figures += drawn
    return Grade(
        submission.label,
        scores,
        time.monotonic() - start,
        sorted(shims),
        [str(v) for v in violations],
        figures,
        limits,
    )
