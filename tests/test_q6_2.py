"""Q6.2: fine-tuning SqueezeNet 1.1 on Flowers-17 and a CNN trained from scratch
(run_q6_2.py). The fast checks use random weights (``weights=None``: nothing is downloaded)
and tiny image folders; the end-to-end checks need Flowers-17 (and, to fine-tune, the
ImageNet weights in torch's cache) and are not gradable without them."""

import numpy as np
import pytest
from PIL import Image
from q6_fakes import FLOWERS, write_flowers
from strategies import memorise, pytorch_or_skip, torch_batches

from grader.checks.q6_2 import (
    CHANGED_FROZEN,
    IMAGENET_MEAN,
    KERNEL_1X1,
    MEAN_COLOUR_MAX,
    N_CLASSES,
    NEVER_RANDOM,
    NEW_CLASSIFIER,
    NEW_FROZEN,
    NEW_UNCHANGED,
    NOT_DETERMINISTIC,
    NOT_FROZEN,
    NOT_NORMALISED,
    OPTIMISER_HOLDS,
    first_names,
)
from grader.checks.q6_common import NO_CONV

torch = pytorch_or_skip()
nn, F = torch.nn, torch.nn.functional

pytestmark = [pytest.mark.q6_2, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def run_q6_2(impl_module):
    return impl_module("run_q6_2")


def _mean_colour_image(size=(300, 260)):
    colour = tuple(round(255 * m) for m in IMAGENET_MEAN)
    return Image.new("RGB", size, colour)


def _photo(seed=0, size=(300, 260)):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
def test_transforms_give_imagenet_normalised_224_tensors(run_q6_2, train):
    transform = run_q6_2.flowers_transforms(train)
    out = transform(_photo())
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (3, 224, 224), (
        f"flowers_transforms({train})(image) should be a tensor (3, 224, 224), got "
        f"{getattr(out, 'shape', type(out))}"
    )
    flat = transform(_mean_colour_image())
    assert flat.abs().max() < MEAN_COLOUR_MAX, NOT_NORMALISED.format(max=flat.abs().max())


def test_training_transform_augments_at_random(run_q6_2):
    transform = run_q6_2.flowers_transforms(True)
    photo = _photo(1)
    torch.manual_seed(0)
    outputs = [transform(photo) for _ in range(4)]
    assert any(not torch.equal(outputs[0], other) for other in outputs[1:]), NEVER_RANDOM
    evaluation = run_q6_2.flowers_transforms(False)
    assert torch.equal(evaluation(photo), evaluation(photo)), NOT_DETERMINISTIC


def test_finetune_model_has_a_new_17_class_classifier(run_q6_2):
    model = run_q6_2.finetune_squeezenet(weights=None)
    new = model.classifier[1]
    channels = [getattr(new, "in_channels", 0), getattr(new, "out_channels", 0)]
    assert isinstance(new, nn.Conv2d) and channels == [512, 17], NEW_CLASSIFIER.format(got=channels)
    assert new.kernel_size == (1, 1), KERNEL_1X1.format(got=new.kernel_size)
    model.eval()
    assert tuple(model(torch.rand(2, 3, 224, 224)).shape) == (2, 17)
    assert run_q6_2.finetune_squeezenet(None, 5).classifier[1].out_channels == 5, N_CLASSES


def test_only_the_new_classifier_trains(run_q6_2):
    torch.manual_seed(0)
    model = run_q6_2.finetune_squeezenet(weights=None)
    new_ids = {id(p) for p in model.classifier[1].parameters()}
    frozen = {n: p for n, p in model.named_parameters() if id(p) not in new_ids}
    still_trainable = [n for n, p in frozen.items() if p.requires_grad]
    assert not still_trainable, NOT_FROZEN.format(names=first_names(still_trainable))
    assert all(p.requires_grad for p in model.classifier[1].parameters()), NEW_FROZEN
    optimizer = run_q6_2.finetune_optimizer(model, 1e-2)
    given = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert given == new_ids, OPTIMISER_HOLDS.format(given=len(given), new=len(given & new_ids))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    optimizer.zero_grad()
    x, labels = torch_batches((3, 64, 64), 17, n_batches=1, batch_size=4)[0]
    F.cross_entropy(model(x), labels).backward()
    optimizer.step()
    after = dict(model.named_parameters())
    changed = [n for n in frozen if not torch.equal(before[n], after[n])]
    assert not changed, CHANGED_FROZEN.format(names=changed[:4])
    assert not torch.equal(before["classifier.1.weight"], after["classifier.1.weight"]), (
        NEW_UNCHANGED
    )


def test_split_folders_load_through_the_transforms(run_q6_2, tmp_path):
    root = write_flowers(tmp_path / "flowers17")
    splits = run_q6_2.flowers17_datasets(
        root, run_q6_2.flowers_transforms(True), run_q6_2.flowers_transforms(False)
    )
    assert set(splits) == {"train", "val", "test"}
    for split, data in splits.items():
        assert data.classes == list(FLOWERS) and len(data) == 6, split
        image, label = data[5]
        assert tuple(image.shape) == (3, 224, 224) and label == 2, split


def test_scratch_cnn_maps_images_to_logits(run_q6_2):
    model = run_q6_2.make_flowers_cnn()
    model.eval()
    out = model(torch.rand(2, 3, 224, 224))
    assert tuple(out.shape) == (2, 17), f"make_flowers_cnn()(x) for (2, 3, 224, 224): {out.shape}"
    assert any(isinstance(m, nn.Conv2d) for m in model.modules()), f"make_flowers_cnn(): {NO_CONV}"


def test_scratch_cnn_memorises_two_small_batches(run_q6_2):
    torch.manual_seed(0)
    model = run_q6_2.make_flowers_cnn()
    batches = torch_batches((3, 224, 224), 17, n_batches=2, batch_size=3)
    loss, acc, rounds = memorise(model, batches, max_rounds=60, lr=2e-3)
    assert loss < 0.1, (
        f"{rounds} rounds of Adam on 2 batches of 3 images left the loss at {loss:.3f} "
        f"(accuracy {acc:.2f}); a network that can learn memorises them"
    )


def _train_or_skip(run_q6_2, q6, kind, epochs):
    try:
        return run_q6_2.train_flowers(kind, epochs, download=False)[1]
    except q6.DatasetMissing as exc:
        pytest.skip(f"not gradable offline: {exc}")
