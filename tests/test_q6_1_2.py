"""Q6.1.2: a CNN on NIST36 as upright 1x32x32 images (run_q6_1_2.py)."""

import numpy as np
import pytest
from strategies import memorise, pytorch_or_skip, torch_batches

from grader.checks.q6_1_2 import IMAGES_ATOL, TRANSPOSED, UPRIGHT_HINT, upright_images
from grader.checks.q6_common import N_CLASSES_HINT, NO_CONV

torch = pytorch_or_skip()
nn = torch.nn

pytestmark = [pytest.mark.q6_1_2, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def run_q6_1_2(impl_module):
    return impl_module("run_q6_1_2")


def test_nist36_images_are_upright(run_q6_1_2):
    upright = upright_images(seed=0)
    rows = np.stack([image.T.reshape(-1) for image in upright])  # NIST36's storage
    for given in (torch.as_tensor(rows, dtype=torch.float32), rows):
        out = run_q6_1_2.nist36_images(given)
        assert tuple(out.shape) == (3, 1, 32, 32), (
            f"nist36_images of a ({len(rows)}, 1024) {type(given).__name__}: expected a tensor "
            f"of shape (3, 1, 32, 32), got {tuple(out.shape)}"
        )
        out = torch.as_tensor(out).double().numpy()[:, 0]
        if np.allclose(out, upright.transpose(0, 2, 1), atol=IMAGES_ATOL):
            pytest.fail(TRANSPOSED, pytrace=False)
        np.testing.assert_allclose(out, upright, atol=IMAGES_ATOL, err_msg=UPRIGHT_HINT)


def test_cnn_maps_images_to_logits(run_q6_1_2):
    model = run_q6_1_2.make_nist_cnn()
    out = model(torch.rand(4, 1, 32, 32))
    assert tuple(out.shape) == (4, 36), f"make_nist_cnn()(x) for x (4, 1, 32, 32): got {out.shape}"
    assert tuple(run_q6_1_2.make_nist_cnn(10)(torch.rand(2, 1, 32, 32)).shape) == (2, 10), (
        f"make_nist_cnn(n_classes=10): {N_CLASSES_HINT}"
    )
    assert any(isinstance(m, nn.Conv2d) for m in model.modules()), f"make_nist_cnn(): {NO_CONV}"


def test_cnn_memorises_two_batches(run_q6_1_2):
    torch.manual_seed(0)
    model = run_q6_1_2.make_nist_cnn()
    loss, acc, rounds = memorise(model, torch_batches((1, 32, 32), 36, batch_size=8), lr=2e-3)
    assert loss < 0.1, (
        f"{rounds} rounds of Adam on 2 batches of 8 images left the loss at {loss:.3f} (accuracy "
        f"{acc:.2f}); a network that can learn memorises them. Check that it returns logits "
        "(no softmax) and that its layers are attributes or in nn.Sequential, so they train"
    )
