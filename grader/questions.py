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
    extra_credit: bool = False
    written: bool = False  # answered in the write-up: not scored, the grader draws its figures

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
    Question("3.1", "training on NIST36 with your nn.py", 5),
    Question("3.2", "learning rates 10x and 0.1x (write-up)", 0, written=True),
    Question("3.3", "first-layer weights as images (write-up)", 0, written=True),
    Question("3.4", "confusion matrix (write-up)", 0, written=True),
    Question("4.2", "findLetters", 10),
    Question("4.3", "boxes drawn over each photo (write-up)", 0, written=True),
    Question("4.4", "text extracted from the photos", 8),
    Question("5.1.1", "autoencoder: initialisation and ReLU layers", 5, extra_credit=True),
    Question("5.1.2", "autoencoder: momentum", 5, extra_credit=True),
    Question("5.2", "autoencoder: training loss", 5, extra_credit=True),
    Question("5.3.1", "autoencoder: reconstructions", 5, extra_credit=True),
    Question("5.3.2", "autoencoder: PSNR", 5, extra_credit=True),
    Question("6.1.1", "PyTorch: fully connected network on NIST36", 5),
    Question("6.1.2", "PyTorch: CNN on NIST36", 5),
    Question("6.1.3", "PyTorch: CNN on CIFAR-10", 5),
    Question("6.1.4", "PyTorch: CNN on the SUN scenes", 10),
    Question("6.2", "PyTorch: fine-tuning SqueezeNet on Flowers-17", 5),
)

BY_MARKER = {q.marker: q for q in QUESTIONS}

#: Why Q6 is neither checked nor graded where PyTorch is not installed (the tests' skip reason).
NEEDS_PYTORCH = (
    "not gradable here: needs PyTorch (Q6 only): tox -e q6, or pip install -e '.[torch]'"
)


def question_of(marker_names) -> Question | None:
    """The question whose marker is among ``marker_names``, if any."""
    for name in marker_names:
        if name in BY_MARKER:
            return BY_MARKER[name]
    return None
