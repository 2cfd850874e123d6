"""Test-suite plumbing (at the root so that its options exist however pytest is invoked):
which implementation is tested, and how results are reported.

* ``pytest`` tests ``kata``; ``pytest --impl solutions`` the references; ``pytest --impl DIR``
  a folder in the handout's flat layout. ``NRK_IMPL`` does the same as ``--impl``.
* A stub's ``NotImplementedError`` is reported as NOT IMPLEMENTED (with the question id),
  not as a failure, and the run ends with a progress summary per handout question.
* ``--results-json FILE`` writes one record per test (used by the mutant suite).
* The student's self-check is the checks of their code: the tests with a question marker
  (``q1``, ``q2_2_2`` ...). The project's own tests (kata/solutions conformance, the untouched
  kata's messages, the given code, the grader, packaging, data) carry none and run only in
  the maintainers' suite: ``--impl solutions`` or ``--maintainer``.
* Hypothesis profiles: ``ci`` (derandomized; loaded when ``CI`` is set) and ``dev``;
  ``HYPOTHESIS_PROFILE`` or ``--hypothesis-profile`` choose another.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from grader import selection
from grader.check import Hidden
from grader.face import PUBLIC_NOTE, is_public
from grader.implementation import (
    ImplementationError,
    NotProvided,
    ScriptLacks,
    resolve,
)
from grader.questions import NEEDS_PYTORCH, QUESTIONS, question_of

_HYPOTHESIS_READY = False


def _hypothesis_profiles():
    """Register the ``ci`` and ``dev`` profiles and load one: only once hypothesis is needed
    (importing it takes a second), before the first test module using it is imported."""
    global _HYPOTHESIS_READY
    if _HYPOTHESIS_READY:
        return
    _HYPOTHESIS_READY = True
    from hypothesis import HealthCheck, Phase, settings

    # No "explain" phase: it is slow on failures and its notes are not aimed at students.
    common = dict(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        max_examples=40,
        report_multiple_bugs=False,  # one failure, with its teaching message, not a group
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )
    settings.register_profile("ci", derandomize=True, print_blob=True, **common)
    settings.register_profile("dev", **common)
    settings.load_profile(
        os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    if not _HYPOTHESIS_READY and "hypothesis" in module_path.read_text("utf-8"):
        _hypothesis_profiles()


# ``--impl`` is registered by this plugin (also an entry point, so that it is known before
# pytest reads a folder named after it as a test path and loads that folder's conftest.py).
pytest_plugins = ["grader.pytest_plugin"]

NOT_IMPLEMENTED = "not implemented"
HIDDEN = "hidden"  # student release: no stored expected value for this input (grader/face.py)
LEFT_OUT = "left out"  # a graded check the grader leaves out for this code: not counted


def pytest_addoption(parser):
    group = parser.getgroup("nn-recognition-kata")
    group.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the slow tier (end-to-end checks, the mutant suite); CI runs it",
    )
    group.addoption(
        "--maintainer",
        action="store_true",
        default=False,
        help="also run the project's own tests (conformance, grader, packaging, given code) "
        "on kata or a folder; they always run with --impl solutions",
    )
    group.addoption(
        "--figures-dir",
        default=None,
        metavar="DIR",
        help="write the figures that checks produce into DIR (default: a temporary folder)",
    )
    group.addoption(
        "--photos",
        default=None,
        metavar="DIR",
        help="Q4.4: grade the text extracted from the photos in DIR (default: the four "
        "sample photos in data/images); their text comes from --truth",
    )
    group.addoption(
        "--truth",
        default=None,
        metavar="FILE",
        help="Q4.4: the ground truth of --photos, in data/images/ground_truth.json's schema "
        "(default: ground_truth.json in the photos' folder)",
    )
    group.addoption(
        "--q4-weights",
        default=None,
        metavar="FILE",
        help="Q4.4: classify with this network (a run_q3 .pickle or an .npz) instead of the "
        "reference classifier data/q4_reference_net.npz",
    )
    group.addoption(
        "--results-json",
        default=None,
        metavar="FILE",
        help="write one JSON record per test (question, outcome, message) to FILE",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # --hypothesis-profile ci|dev: hypothesis's plugin loads it next, so register them now
    if any(v for k, v in vars(config.option).items() if k.startswith("hypothesis_")):
        _hypothesis_profiles()
    try:
        config.nrk_impl = resolve(config.getoption("--impl"))
    except ImplementationError as exc:
        raise pytest.UsageError(str(exc)) from None
    expression, known = config.option.markexpr, selection.marker_names(config.getini("markers"))
    unknown = selection.unknown_markers(expression, known)
    if unknown:  # `pytest -m q2.2.2` would select nothing, silently
        raise pytest.UsageError(selection.unknown_marker_message(expression, unknown, known))
    config.pluginmanager.register(ProgressRecorder(config), "nrk-progress")


def pytest_ignore_collect(collection_path, config):
    # Files that cannot hold a selected test are not imported (nor torch with them).
    run_slow = config.getoption("--run-slow")
    if selection.can_skip_file(collection_path, config.option.markexpr, run_slow):
        return True
    return None


# The grader's own checks of each question (tests/test_graded_checks.py) run before the
# question's properties: a student reads the graded verdict first.
GRADED_CHECKS = "test_graded_checks.py"


# The full grade of the solutions through the grader (every question in its sandbox, full
# marks asserted) trains every end-to-end check once. Where it runs, the in-process copies of
# the costliest trainings on the same solutions are left out of the run: Q3.2's two extra
# trainings (10x and 0.1x the learning rate), the autoencoder (Q5.2-Q5.3.2, one training) and
# Q6.1.2's CNN. The in-process path of end-to-end checks stays covered by Q3.1's training and
# Q6.1.1's, which still run here.
FULL_GRADE = "tests/test_grader.py::test_solutions_score_full_marks"
TRAINED_IN_THE_FULL_GRADE = ("3.2", "5.2", "5.3.1", "5.3.2", "6.1.2")


def _trained_in_the_full_grade(config, items):
    """Whether an item is a graded check of the solutions that the full grade in this run
    already trains (see :data:`TRAINED_IN_THE_FULL_GRADE`)."""
    if config.nrk_impl.package != "solutions" or not any(i.nodeid == FULL_GRADE for i in items):
        return lambda item: False

    def duplicated(item) -> bool:
        if item.path.name != GRADED_CHECKS or "slow" not in item.keywords:
            return False
        check = getattr(getattr(item, "callspec", None), "params", {}).get("check")
        return check is not None and check.question in TRAINED_IN_THE_FULL_GRADE

    return duplicated


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(config, items):
    _deselect(config, items, lambda item: not _maintainer_run(config) and _project_test(item))
    if not config.getoption("--run-slow"):
        _deselect(config, items, lambda item: "slow" in item.keywords)
    _deselect(config, items, _trained_in_the_full_grade(config, items))
    for item in items:
        group = _shared_work_group(item)
        if group and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: item.path.name != GRADED_CHECKS)  # stable: one block first


# Session fixtures that build something costly (the student release): their tests share one
# pytest-xdist worker, so the release is built once.
SHARED_SESSION_FIXTURES = ("release_zip", "release_tree")


def _shared_work_group(item) -> str | None:
    """Under ``--dist loadgroup`` (tox), tests go to whichever worker is free, but those
    sharing costly work stay on one worker: the tests using a fixture that a test module
    defines for the whole module or session (a trained network, a built release), grouped by
    that module (by :data:`SHARED_SESSION_FIXTURES` for the release)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    if any(name in SHARED_SESSION_FIXTURES for name in info.names_closure):
        return "release"
    module = item.nodeid.split("::")[0]
    for defs in info.name2fixturedefs.values():
        for fixturedef in defs:
            if fixturedef.scope in ("module", "session") and fixturedef.baseid == module:
                return module
    return None


def _maintainer_run(config) -> bool:
    """The maintainers' suite (the references, or --maintainer), not a student's self-check."""
    return config.nrk_impl.package == "solutions" or config.getoption("--maintainer")


def _project_test(item) -> bool:
    """A test of the project itself, not of the student's code: it names no question."""
    names = {mark.name for mark in item.iter_markers()}
    return question_of(names) is None and "q1" not in names


def _deselect(config, items, leave_out) -> None:
    left_out = [item for item in items if leave_out(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not leave_out(item)]


def pytest_report_header(config):
    header = f"implementation under test: {config.nrk_impl.label}"
    if not _maintainer_run(config):
        header += " (the checks of its code; the project's own tests need --maintainer)"
    return header


# ----------------------------------------------------------------------------- fixtures
def _load(request, name):
    impl = request.config.nrk_impl
    try:
        return impl.load(name)
    except NotProvided as exc:
        pytest.skip(str(exc))
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in ("torch", "torchvision"):
            pytest.skip(f"{name}.py: {NEEDS_PYTORCH}")  # Q6 where PyTorch is not installed
        pytest.fail(
            f"could not import {name}.py of {request.config.nrk_impl.label}: "
            f"{type(exc).__name__}: {exc}",
            pytrace=False,
        )
    except Exception as exc:  # a student's module that fails to import
        pytest.fail(
            f"could not import {name}.py of {impl.label}: {type(exc).__name__}: {exc}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def nn(request):
    """The implementation's ``nn`` module."""
    return _load(request, "nn")


@pytest.fixture(scope="session")
def util(request):
    """The implementation's ``util`` module (the project's own for flat folders without one)."""
    return _load(request, "util")


@pytest.fixture(scope="session")
def run_q2(request):
    """The implementation's ``run_q2`` module (functions of Q2.4 and Q2.5)."""
    return _load(request, "run_q2")


@pytest.fixture(scope="session")
def run_q3(request):
    """The implementation's ``run_q3`` module (Q3: training on NIST36)."""
    return _load(request, "run_q3")


@pytest.fixture(scope="session")
def q4(request):
    """The implementation's ``q4`` module (Q4.2: findLetters)."""
    return _load(request, "q4")


@pytest.fixture(scope="session")
def run_q4(request):
    """The implementation's ``run_q4`` module (Q4.3-Q4.4: text extraction)."""
    return _load(request, "run_q4")


@pytest.fixture(scope="session")
def run_q5(request):
    """The implementation's ``run_q5`` module (Q5: the autoencoder)."""
    return _load(request, "run_q5")


@pytest.fixture(scope="session")
def impl_module(request):
    """``impl_module(name)``: any module of the implementation (skips when not provided)."""
    return lambda name: _load(request, name)


@pytest.fixture
def one_torch_thread():
    """Q6's checks run torch on one thread (``pytest.mark.usefixtures("one_torch_thread")``).
    Their small tensors gain little from more, and on a busy machine torch's default (a thread
    per core) oversubscribes the CPU: on 2 shared cores the same 15 epochs of Q6.1.1 took 172 s
    with 2 threads and 31 s with 1. One thread also makes the slow checks' results more
    reproducible."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def figures_dir(request, tmp_path_factory):
    """Where checks write the figures they produce: ``--figures-dir`` (the grader's output
    folder), else a temporary folder."""
    option = request.config.getoption("--figures-dir")
    if option:
        path = Path(option)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("figures")


@pytest.fixture(scope="session")
def impl_params(nn):
    """Convert a params dict with 1-D biases to the implementation's bias convention.

    The convention, ``(out,)`` (the handout's) or ``(1, out)``, is probed from the
    implementation's ``initialize_weights``, so a ``(1, out)`` bias used consistently is
    graded fairly.
    """
    probe = {}
    try:
        nn.initialize_weights(3, 2, probe, "probe")
        row_bias = np.shape(probe.get("bprobe")) == (1, 2)
    except Exception:
        row_bias = False

    def convert(params):
        if not row_bias:
            return dict(params)
        return {k: v.reshape(1, -1) if k.startswith("b") else v for k, v in params.items()}

    return convert


# ----------------------------------------------------------------------------- reporting
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or not report.failed:
        return
    if call.excinfo.errisinstance(NotImplementedError):
        what = str(call.excinfo.value) or "NotImplementedError"
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] + 1, f"not implemented yet: {what}")
        report.nrk_message = f"not implemented yet: {what}"
        report.nrk_not_implemented = True
    elif call.excinfo.errisinstance(Hidden):  # student release: judged by the final grade
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] + 1, str(call.excinfo.value))
        report.nrk_message, report.nrk_hidden = str(call.excinfo.value), True
    elif call.excinfo.errisinstance(ScriptLacks):  # left out, as the grader leaves it out
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] + 1, str(call.excinfo.value))
    elif call.excinfo.errisinstance(NotProvided):  # a graded check the grader leaves out
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] + 1, str(call.excinfo.value))
        report.nrk_message, report.nrk_left_out = str(call.excinfo.value), True
    else:
        report.nrk_message = call.excinfo.exconly().strip()[:2000]


def pytest_report_teststatus(report, config):
    if getattr(report, "nrk_not_implemented", False):
        return NOT_IMPLEMENTED, "N", ("NOT IMPLEMENTED", {"yellow": True})
    if getattr(report, "nrk_hidden", False):
        return HIDDEN, "h", ("HIDDEN", {"yellow": True})
    return None


class ProgressRecorder:
    """Collects one record per test; writes ``--results-json`` and the progress summary."""

    def __init__(self, config):
        self.config = config
        self.records = {}

    def pytest_runtest_logreport(self, report):
        question = question_of(report.keywords)
        record = self.records.setdefault(
            report.nodeid,
            {
                "nodeid": report.nodeid,
                "question": question.id if question else None,
                "q1": "q1" in report.keywords,
                "outcome": "passed",
                "message": "",
                "duration": 0.0,
            },
        )
        record["duration"] += report.duration
        for key, value in report.user_properties:
            if key == "verdict":  # a graded check's own (name, outcome, message)
                record["verdict"] = value
        if getattr(report, "nrk_not_implemented", False):
            record.update(outcome=NOT_IMPLEMENTED, message=report.nrk_message)
        elif getattr(report, "nrk_hidden", False):
            record.update(outcome=HIDDEN, message=report.nrk_message)
        elif getattr(report, "nrk_left_out", False):
            record.update(outcome=LEFT_OUT, message=report.nrk_message)
        elif report.failed:
            message = getattr(report, "nrk_message", "") or str(report.longrepr)[-2000:]
            record.update(outcome="failed", message=message)
        elif report.skipped and record["outcome"] == "passed":
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            reason = reason.removeprefix("Skipped: ")
            record.update(outcome="skipped", message=reason)

    def pytest_sessionfinish(self, session):
        path = self.config.getoption("--results-json")
        if not path:
            return
        impl = self.config.nrk_impl
        payload = {
            "implementation": impl.label,
            "shims": sorted(set(impl.shims)),
            "tests": list(self.records.values()),
        }
        Path(path).write_text(json.dumps(payload, indent=1), encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter):
        groups = defaultdict(Counter)
        for record in self.records.values():
            key = record["question"] or ("1" if record["q1"] else None)
            if key:
                groups[key][record["outcome"]] += 1
        if not groups:
            return
        tr = terminalreporter
        tr.section(f"progress by handout question ({self.config.nrk_impl.label})", sep="-")
        titles = {q.id: q.title for q in QUESTIONS} | {"1": "theory, as facts about the code"}
        width = max(len(t) for t in titles.values()) + 2
        for qid in sorted(groups, key=lambda s: [int(p) for p in s.split(".")]):
            counts = groups[qid]
            total = sum(counts.values()) - counts[LEFT_OUT]
            parts = [f"{counts['passed']}/{total} passed"]
            kinds = ("failed", NOT_IMPLEMENTED, HIDDEN, "skipped", LEFT_OUT)
            parts += [f"{counts[k]} {k}" for k in kinds if counts[k]]
            failed = bool(counts["failed"])
            tr.write_line(
                f"  Q{qid:<7}{titles.get(qid, ''):<{width}}{', '.join(parts)}",
                green=counts["passed"] == total,
                red=failed,
                yellow=not failed and counts["passed"] < total,
            )
        if is_public():
            tr.write_line(f"  {PUBLIC_NOTE}")
