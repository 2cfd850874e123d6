"""Q6.1.4: a CNN on the SUN scene subset of the bag-of-words homework (run_q6_1_4.py). The
fast checks write tiny list files and images; the end-to-end check needs the real subset and
is not gradable without it."""

import numpy as np
import pytest
from q6_fakes import write_sun
from strategies import memorise, pytorch_or_skip, torch_batches

from grader.checks.q6_1_4 import INTEGER_LABELS, SKIP_BLANK_LINES, SUN_PATHS
from grader.checks.q6_common import N_CLASSES_HINT, NO_CONV

torch = pytorch_or_skip()
nn = torch.nn

pytestmark = [pytest.mark.q6_1_4, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def run_q6_1_4(impl_module):
    return impl_module("run_q6_1_4")


def test_read_sun_split_parses_the_list_files(run_q6_1_4, tmp_path):
    root = write_sun(tmp_path / "sun")
    paths, labels = run_q6_1_4.read_sun_split(root, "train")
    listed = (root / "train_files.txt").read_text().split()
    assert len(paths) == 6, SKIP_BLANK_LINES.format(n=6, blank="", got=len(paths))
    assert [str(p) for p in paths] == [str(root / name) for name in listed], SUN_PATHS
    assert all(p.is_file() for p in paths)
    labels = np.asarray(labels)
    assert np.issubdtype(labels.dtype, np.integer), INTEGER_LABELS.format(dtype=labels.dtype)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]
    test_paths, test_labels = run_q6_1_4.read_sun_split(root, "test")
    assert len(test_paths) == 3 and np.asarray(test_labels).tolist() == [0, 1, 2]


def test_read_sun_split_rejects_files_of_different_lengths(run_q6_1_4, tmp_path):
    root = write_sun(tmp_path / "sun")
    (root / "test_labels.txt").write_text("0\n1\n")
    with pytest.raises(ValueError):
        run_q6_1_4.read_sun_split(root, "test")


def test_sun_datasets_give_fixed_size_tensors(run_q6_1_4, tmp_path):
    root = write_sun(tmp_path / "sun")
    train, test = run_q6_1_4.sun_datasets(root, image_size=32)
    assert (len(train), len(test)) == (6, 3)
    image, label = test[2]
    assert tuple(image.shape) == (3, 32, 32) and int(label) == 2


def test_cnn_maps_scenes_to_logits(run_q6_1_4):
    model = run_q6_1_4.make_scene_cnn()
    model.eval()
    out = model(torch.rand(2, 3, 64, 64))
    assert tuple(out.shape) == (2, 8), f"make_scene_cnn()(x) for x (2, 3, 64, 64): got {out.shape}"
    assert tuple(run_q6_1_4.make_scene_cnn(5).eval()(torch.rand(2, 3, 64, 64)).shape) == (2, 5), (
        f"make_scene_cnn(n_classes=5): {N_CLASSES_HINT}"
    )
    assert any(isinstance(m, nn.Conv2d) for m in model.modules()), f"make_scene_cnn(): {NO_CONV}"


def test_cnn_memorises_two_batches(run_q6_1_4):
    torch.manual_seed(0)
    model = run_q6_1_4.make_scene_cnn()
    loss, acc, rounds = memorise(model, torch_batches((3, 64, 64), 8, batch_size=8), lr=2e-3)
    assert loss < 0.1, (
        f"{rounds} rounds of Adam on 2 batches of 8 images left the loss at {loss:.3f} "
        f"(accuracy {acc:.2f}); a network that can learn memorises them"
    )
