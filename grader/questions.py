"""The handout's scored questions: ids, points, titles and their pytest markers.

One table used by the test suite (markers, progress summary) and the grader (points).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    id: str  # "2.2.2"
    title: str
    points: int

    @property
    def marker(self) -> str:
        """The pytest marker selecting this question's checks: ``q2_2_2``."""
        return "q" + self.id.replace(".", "_")


QUESTIONS = (
    Question("2.1.2", "initialize_weights (Xavier)", 3),
    Question("2.2.1", "sigmoid and forward", 4),
    Question("2.2.2", "softmax", 3),
    Question("2.2.3", "compute_loss_and_acc", 3),
    Question("2.3", "backwards", 7),
    Question("2.4", "get_random_batches and the training loop", 5),
    Question("2.5", "central-difference gradient checker", 5),
)

BY_MARKER = {q.marker: q for q in QUESTIONS}


def question_of(marker_names) -> Question | None:
    """The question whose marker is among ``marker_names``, if any."""
    for name in marker_names:
        if name in BY_MARKER:
            return BY_MARKER[name]
    return None
