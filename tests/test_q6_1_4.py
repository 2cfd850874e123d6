"""Q6.1.4: a CNN on the SUN scene subset of the bag-of-words homework (run_q6_1_4.py). The
fast checks write tiny list files and images; the end-to-end check needs the real subset and
is not gradable without it."""

import numpy as np
import pytest
from PIL import Image
from strategies import memorise, one_torch_thread, torch_batches

from grader.checks import q6 as checks_q6

torch = pytest.importorskip("torch", reason="Q6 needs PyTorch: pip install -e '.[torch]'")
pytest.importorskip("torchvision", reason="Q6 needs torchvision: pip install -e '.[torch]'")
nn = torch.nn

pytestmark = pytest.mark.q6_1_4


@pytest.fixture(autouse=True)
def _threads():
    yield from one_torch_thread()


# The grader's bar (one definition, grader/checks/q6.py; provisional: see README, Q6).
SUN_EPOCHS, SUN_MIN_TEST_ACC = checks_q6.SUN_BAR.epochs, checks_q6.SUN_BAR.min_acc


@pytest.fixture(scope="module")
def run_q6_1_4(impl_module):
    return impl_module("run_q6_1_4")


def write_sun(root, per_split=None, classes=("aquarium", "desert", "kitchen"), seed=0):
    """A tiny SUN-like folder: JPEGs of various sizes in one folder per scene, and the four
    list files (paths relative to ``root``, integer labels; a final newline)."""
    per_split = per_split or {"train": 2, "test": 1}
    rng = np.random.default_rng(seed)
    for split, n in per_split.items():
        files, labels = [], []
        for label, scene in enumerate(classes):
            (root / scene).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = rng.integers(40, 90, size=2)
                name = f"{scene}/sun_{split}_{i}.jpg"
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / name)
                files.append(name)
                labels.append(label)
        (root / f"{split}_files.txt").write_text("\n".join(files) + "\n")
        (root / f"{split}_labels.txt").write_text("\n".join(map(str, labels)) + "\n")
    return root


def test_read_sun_split_parses_the_list_files(run_q6_1_4, tmp_path):
    root = write_sun(tmp_path / "sun")
    paths, labels = run_q6_1_4.read_sun_split(root, "train")
    listed = (root / "train_files.txt").read_text().split()
    assert len(paths) == 6, (
        f"train_files.txt lists 6 images (and ends with a newline); read_sun_split returned "
        f"{len(paths)} paths: skip blank lines"
    )
    assert [str(p) for p in paths] == [str(root / name) for name in listed], (
        "each path is root / the line of train_files.txt, in order"
    )
    assert all(p.is_file() for p in paths)
    labels = np.asarray(labels)
    assert np.issubdtype(labels.dtype, np.integer), f"labels should be integers, got {labels.dtype}"
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
    assert tuple(run_q6_1_4.make_scene_cnn(5).eval()(torch.rand(2, 3, 64, 64)).shape) == (2, 5)
    assert any(isinstance(m, nn.Conv2d) for m in model.modules()), (
        "a convolutional network needs convolutions: no nn.Conv2d found"
    )


def test_cnn_memorises_two_batches(run_q6_1_4):
    torch.manual_seed(0)
    model = run_q6_1_4.make_scene_cnn()
    loss, acc, rounds = memorise(model, torch_batches((3, 64, 64), 8, batch_size=8), lr=2e-3)
    assert loss < 0.1, (
        f"{rounds} rounds of Adam on 2 batches of 8 images left the loss at {loss:.3f} "
        f"(accuracy {acc:.2f}); a network that can learn memorises them"
    )


@pytest.mark.slow
def test_cnn_learns_the_scenes(run_q6_1_4, impl_module, figures_dir):
    q6 = impl_module("q6_train")
    try:
        _, history = run_q6_1_4.train_scenes(epochs=SUN_EPOCHS)
    except q6.DatasetMissing as exc:
        pytest.skip(f"not gradable offline: {exc}")
    q6.save_history(history, figures_dir, "q6_1_4", "Q6.1.4 CNN, SUN scenes (valid = test)")
    acc = history["valid_acc"][-1]
    assert acc >= SUN_MIN_TEST_ACC, (
        f"after {SUN_EPOCHS} epochs the CNN reaches {acc:.1%} test accuracy on the scenes; "
        f"expected at least {SUN_MIN_TEST_ACC:.0%} (chance is 12.5%)"
    )
