"""Q6.1.3: a CNN on CIFAR-10 (run_q6_1_3.py). The fast checks use torchvision's FakeData;
the end-to-end check needs CIFAR-10 itself and is not gradable without it."""

import pytest
from strategies import fake_image_batches, memorise, pytorch_or_skip

from grader.checks.q6_common import NO_CONV

torch = pytorch_or_skip()
nn = torch.nn

pytestmark = [pytest.mark.q6_1_3, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def run_q6_1_3(impl_module):
    return impl_module("run_q6_1_3")


def test_cnn_maps_cifar_images_to_logits(run_q6_1_3):
    x, _ = fake_image_batches((3, 32, 32), 10, size=4, batch_size=4)[0]
    model = run_q6_1_3.make_cifar_cnn()
    model.eval()
    out = model(x)
    assert tuple(out.shape) == (4, 10), f"make_cifar_cnn()(x) for x (4, 3, 32, 32): got {out.shape}"
    assert any(isinstance(m, nn.Conv2d) for m in model.modules()), f"make_cifar_cnn(): {NO_CONV}"


def test_cnn_memorises_two_batches(run_q6_1_3):
    torch.manual_seed(0)
    model = run_q6_1_3.make_cifar_cnn()
    loss, acc, rounds = memorise(
        model, fake_image_batches((3, 32, 32), 10, size=16, batch_size=8), lr=2e-3
    )
    assert loss < 0.1, (
        f"{rounds} rounds of Adam on 2 batches of 8 FakeData images left the loss at "
        f"{loss:.3f} (accuracy {acc:.2f}); a network that can learn memorises them. Check that "
        "it returns logits (no softmax) and that its layers are registered, so they train"
    )
