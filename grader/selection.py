"""Which test files a run can select, read from their source without importing them.

``pytest -m q2_2_2`` used to import every test module (and with them torch, torchvision,
scikit-image, matplotlib) to find the few tests it selects. The test suite's ``conftest.py``
asks this module instead:

* :func:`unknown_markers`: the names in a ``-m`` expression that are no marker at all (a
  mistyped ``q2.2.2`` would otherwise select nothing, silently);
* :func:`can_skip_file`: whether a test file cannot hold a selected test: every test in it is
  ``slow`` and the slow tier is off, or the markers written in it cannot satisfy the ``-m``
  expression. Only when that is certain: an expression with ``not`` or keyword arguments, or a
  file that builds markers dynamically, is always collected.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
_OPERATORS = {"and", "or", "not"}


def _tokens(expression: str) -> list[str]:
    return _TOKEN.findall(expression)


def marker_names(lines) -> set[str]:
    """The marker names of pytest's ``markers`` ini lines (``"name(args): text"``)."""
    return {line.split(":", 1)[0].split("(", 1)[0].strip() for line in lines if line.strip()}


def unknown_markers(expression: str, known) -> list[str]:
    """Names in the ``-m`` expression that are not among ``known`` markers."""
    if not expression or "=" in expression:  # keyword arguments: leave them to pytest
        return []
    known = set(known)
    names = [t for t in _tokens(expression) if t not in "()" and t not in _OPERATORS]
    return [n for n in dict.fromkeys(names) if n not in known]


def unknown_marker_message(expression: str, unknown, known) -> str:
    """A usage error for ``pytest -m EXPRESSION`` naming the valid question markers."""
    questions = sorted(
        (m for m in known if re.fullmatch(r"q\d+(_\d+)*", m)),
        key=lambda m: [int(p) for p in m[1:].split("_")],
    )
    hints = []
    for name in unknown:
        guess = name.replace(".", "_").lower()
        if not guess.startswith("q") and guess[:1].isdigit():
            guess = "q" + guess
        close = [guess] if guess in questions else difflib.get_close_matches(guess, questions, 1)
        hints.append(f"'{name}'" + (f" (did you mean {close[0]}?)" if close else ""))
    return (
        f"-m {expression!r}: no marker named {', '.join(hints)}, so it would select nothing. "
        f"Question markers: {', '.join(questions)} (Q2.2.2 is q2_2_2: underscores, not dots); "
        "also 'slow' (with --run-slow). Combine them with and / or / not, e.g. "
        "-m 'q2_2_2 or q2_3'."
    )


def selects(expression: str, markers) -> bool:
    """Whether ``-m expression`` selects a test whose markers are exactly ``markers``
    (True when it cannot tell: keyword arguments, a malformed expression)."""
    if not expression or "=" in expression:
        return True
    markers = set(markers)
    python = [
        t if t in ("(", ")", "and", "or", "not") else str(t in markers) for t in _tokens(expression)
    ]
    try:
        return bool(eval(" ".join(python), {"__builtins__": {}}, {}))  # True/False/and/or/not
    except SyntaxError:
        return True  # pytest reports the malformed expression itself


_MARK = re.compile(r"\bmark\.(\w+)")
_DYNAMIC = re.compile(r"getattr\(\s*(?:pytest\.)?mark\b|MarkDecorator\(")
_PYTESTMARK = re.compile(r"^pytestmark\s*[:=]", re.M)


@functools.cache
def _file_markers(path: str, mtime: float) -> tuple[frozenset[str] | None, bool]:
    """(marker names written in the file or None when dynamic, whether all tests are slow).

    Read with regular expressions, not imported (nor parsed: that would cost more than it
    saves): ``mark.NAME`` anywhere, and the module-level ``pytestmark = ...`` statement."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None, False
    all_slow = False
    for match in _PYTESTMARK.finditer(text):
        # the statement: up to the next line that starts a new top-level statement
        rest = text[match.end() :].split("\n")
        lines = [rest[0]]
        for line in rest[1:]:
            if line[:1] not in ("", " ", "\t", "]", ")"):
                break
            lines.append(line)
        all_slow = "mark.slow" in "\n".join(lines)
    if _DYNAMIC.search(text):
        return None, all_slow
    return frozenset(_MARK.findall(text)), all_slow


def _can_satisfy(expression: str, markers: frozenset[str]) -> bool:
    tokens = _tokens(expression)
    if "not" in tokens or "=" in expression:
        return True  # not monotone: a test without some marker may match
    python = []
    for t in tokens:
        python.append(t if t in ("(", ")", "and", "or") else str(t in markers))
    try:
        return bool(eval(" ".join(python), {"__builtins__": {}}, {}))  # True/False/and/or only
    except SyntaxError:
        return True  # pytest reports the malformed expression itself


def can_skip_file(path, expression: str, run_slow: bool) -> bool:
    """Whether no test of the file at ``path`` can be selected (see the module docstring)."""
    path = Path(path)
    if path.suffix != ".py" or not path.name.startswith("test_"):
        return False
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return False
    markers, all_slow = _file_markers(str(path), mtime)
    if all_slow and not run_slow:
        return True
    if not expression or markers is None:
        return False
    return not _can_satisfy(expression, markers | ({"slow"} if all_slow else set()))
