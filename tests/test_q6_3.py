"""Q6.3 (extra credit, not scored): an ImageNet classifier's top-1 accuracy on one category
(run_q6_3.py), checked with a tiny stand-in model."""

import numpy as np
import pytest
from strategies import pytorch_or_skip

torch = pytorch_or_skip()
nn = torch.nn

pytestmark = [pytest.mark.q6_3, pytest.mark.usefixtures("one_torch_thread")]


class RedGreenBlue(nn.Module):
    """Scores 3 classes by each channel's mean: a red image is class 0, green 1, blue 2.
    Records ``(training, grad_enabled, batch size)`` at each forward."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled(), len(x)))
        return self.scale * x.mean(dim=(2, 3))


def _images(colours):
    images = []
    for channel in colours:
        image = np.zeros((20, 30, 3), dtype=np.uint8)
        image[..., channel] = 200
        images.append(image)
    return images


def _to_tensor(image):
    return torch.as_tensor(image).permute(2, 0, 1).float() / 255


def test_category_accuracy_is_the_top1_fraction(impl_module):
    run_q6_3 = impl_module("run_q6_3")
    model = RedGreenBlue()
    images = _images([0, 0, 1, 0, 2])  # 3 red of 5
    acc = run_q6_3.category_accuracy(model, images, 0, _to_tensor, batch_size=2)
    assert float(acc) == pytest.approx(0.6), (
        f"3 of the 5 images are classified as class 0; category_accuracy returned {acc}"
    )
    assert run_q6_3.category_accuracy(model, images, 2, _to_tensor) == pytest.approx(0.2)
    sizes = [size for _, _, size in model.calls[:3]]
    assert sizes == [2, 2, 1], f"with batch_size=2, expected batches of 2, 2, 1; got {sizes}"
    assert not any(training or grad for training, grad, _ in model.calls), (
        "classify in evaluation mode (model.eval()) and without gradients (torch.no_grad())"
    )
