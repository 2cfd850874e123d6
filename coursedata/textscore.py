"""Score recognised text against the ground truth of photos of handwriting (Q4.4).

Each recognised line is aligned with its ground-truth line by edit distance (spaces
ignored; only the 36 NIST36 characters count). In the alignment:

* a character matched to a ground-truth character *got a box* (detected); it was
  *classified* right when the two are equal;
* a ground-truth character left unmatched got no box (missed);
* a recognised character left unmatched is a *spurious* box.

Lines are aligned pairwise when there are as many recognised lines as ground-truth lines;
otherwise (lines merged or split) the whole page is aligned as one sequence, top to bottom,
and the score says so. The alignment is a minimum-cost Levenshtein alignment (a substitution
costs 1, like an insertion or a deletion); among equal-cost alignments the traceback prefers
pairing characters, so a misread character counts as detected, not as missed plus spurious.
"""

from __future__ import annotations

from dataclasses import dataclass

from coursedata import CLASSES

_KEEP = set(CLASSES)


def characters(text: str) -> str:
    """The characters of ``text`` that count: upper-cased, only ``A..Z`` and ``0..9``."""
    return "".join(ch for ch in text.upper() if ch in _KEEP)


@dataclass(frozen=True)
class Alignment:
    """Counts of one alignment of recognised text with its ground truth."""

    matched: int  # pairs of a recognised and a ground-truth character (detected)
    correct: int  # matched pairs with equal characters (classified right)
    missed: int  # ground-truth characters without a recognised one
    spurious: int  # recognised characters without a ground-truth one

    def __add__(self, other: Alignment) -> Alignment:
        return Alignment(
            self.matched + other.matched,
            self.correct + other.correct,
            self.missed + other.missed,
            self.spurious + other.spurious,
        )


def align(recognised: str, truth: str) -> Alignment:
    """Align two strings (spaces and other non-characters dropped) by edit distance.

    Examples
    --------
    >>> align("HELL0", "HELLO")
    Alignment(matched=5, correct=4, missed=0, spurious=0)
    >>> align("HXELLO", "HELLO")
    Alignment(matched=5, correct=5, missed=0, spurious=1)
    """
    a, b = characters(recognised), characters(truth)
    n, m = len(a), len(b)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(
                cost[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
                cost[i - 1][j] + 1,
                cost[i][j - 1] + 1,
            )
    matched = correct = missed = spurious = 0
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (a[i - 1] != b[j - 1]):
            matched += 1
            correct += a[i - 1] == b[j - 1]
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            spurious += 1
            i -= 1
        else:
            missed += 1
            j -= 1
    return Alignment(matched, correct, missed, spurious)


@dataclass(frozen=True)
class PhotoScore:
    """The score of one photo."""

    name: str
    characters: int  # ground-truth characters
    boxes: int  # recognised characters (one per box)
    detected: int  # ground-truth characters that got a box
    classified: int  # ... and were classified right
    spurious: int  # boxes matching no ground-truth character
    lines: int  # recognised lines
    truth_lines: int

    @property
    def detection_rate(self) -> float:
        return self.detected / self.characters if self.characters else 1.0

    @property
    def classification_rate(self) -> float:
        """Characters classified right, as a fraction of *all* ground-truth characters."""
        return self.classified / self.characters if self.characters else 1.0

    @property
    def lines_aligned(self) -> bool:
        """Whether the lines were aligned pairwise (as many lines as the ground truth)."""
        return self.lines == self.truth_lines


def score_photo(name: str, lines: list[str], truth_lines: list[str]) -> PhotoScore:
    """Score the recognised ``lines`` of one photo against its ``truth_lines``."""
    lines = [line for line in lines if characters(line)]
    if len(lines) == len(truth_lines):
        total = sum((align(r, t) for r, t in zip(lines, truth_lines)), Alignment(0, 0, 0, 0))
    else:
        total = align("".join(lines), "".join(truth_lines))
    return PhotoScore(
        name=name,
        characters=sum(len(characters(t)) for t in truth_lines),
        boxes=sum(len(characters(r)) for r in lines),
        detected=total.matched,
        classified=total.correct,
        spurious=total.spurious,
        lines=len(lines),
        truth_lines=len(truth_lines),
    )


def score_photos(results: dict[str, list[str]], truth: dict[str, list[str]]) -> list[PhotoScore]:
    """Score every photo of ``results`` (photo name -> recognised lines) found in ``truth``.

    A photo of ``truth`` with no result scores as nothing recognised; results for photos
    the ground truth does not list are left out.
    """
    return [score_photo(name, results.get(name, []), lines) for name, lines in truth.items()]


def table(scores: list[PhotoScore]) -> str:
    """The per-photo table printed by ``run_q4`` (and shown in the README)."""
    rows = [
        "| photo | characters | detected | spurious boxes | classified | lines |",
        "|---|---|---|---|---|---|",
    ]
    for s in scores:
        rows.append(
            f"| {s.name} | {s.characters} | {s.detected} ({s.detection_rate:.0%}) | "
            f"{s.spurious} | {s.classified} ({s.classification_rate:.0%}) | "
            f"{s.lines}/{s.truth_lines} |"
        )
    chars = sum(s.characters for s in scores)
    det = sum(s.detected for s in scores)
    cls = sum(s.classified for s in scores)
    rows.append(
        f"| all | {chars} | {det} ({det / max(chars, 1):.0%}) | "
        f"{sum(s.spurious for s in scores)} | {cls} ({cls / max(chars, 1):.0%}) | |"
    )
    return "\n".join(rows)
