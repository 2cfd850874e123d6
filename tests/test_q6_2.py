"""Q6.2: fine-tuning SqueezeNet 1.1 on Flowers-17 and a CNN trained from scratch
(run_q6_2.py). The fast checks use random weights (``weights=None``: nothing is downloaded)
and tiny image folders; the end-to-end checks need Flowers-17 (and, to fine-tune, the
ImageNet weights in torch's cache) and are not gradable without them."""

import numpy as np
import pytest
from PIL import Image
from strategies import memorise, one_torch_thread, torch_batches

from grader.checks import q6 as checks_q6

torch = pytest.importorskip("torch", reason="Q6 needs PyTorch: pip install -e '.[torch]'")
pytest.importorskip("torchvision", reason="Q6 needs torchvision: pip install -e '.[torch]'")
nn, F = torch.nn, torch.nn.functional

pytestmark = pytest.mark.q6_2


@pytest.fixture(autouse=True)
def _threads():
    yield from one_torch_thread()


IMAGENET_MEAN = (0.485, 0.456, 0.406)
# The grader's bars (one definition, grader/checks/q6.py): accuracy on Flowers-17's test split,
# history["test_acc"] here, the trained network's test logits in the grader.
FINETUNE, SCRATCH = checks_q6.FINETUNE_BAR, checks_q6.SCRATCH_BAR


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
    assert flat.abs().max() < 0.03, (
        "an image of ImageNet's mean colour should become ~0 everywhere: normalise with "
        f"mean {IMAGENET_MEAN} and std (0.229, 0.224, 0.225) after ToTensor (max |x| was "
        f"{flat.abs().max():.2f})"
    )


def test_training_transform_augments_at_random(run_q6_2):
    transform = run_q6_2.flowers_transforms(True)
    photo = _photo(1)
    torch.manual_seed(0)
    outputs = [transform(photo) for _ in range(4)]
    assert any(not torch.equal(outputs[0], other) for other in outputs[1:]), (
        "flowers_transforms(True) gave the same tensor 4 times: augment the training images at "
        "random (e.g. RandomResizedCrop, RandomHorizontalFlip)"
    )
    evaluation = run_q6_2.flowers_transforms(False)
    assert torch.equal(evaluation(photo), evaluation(photo)), "evaluation must be deterministic"


def test_finetune_model_has_a_new_17_class_classifier(run_q6_2):
    model = run_q6_2.finetune_squeezenet(weights=None)
    new = model.classifier[1]
    assert isinstance(new, nn.Conv2d) and (new.in_channels, new.out_channels) == (512, 17), (
        f"classifier[1] should be nn.Conv2d(512, 17, kernel_size=1), got {new}"
    )
    assert new.kernel_size == (1, 1)
    model.eval()
    assert tuple(model(torch.rand(2, 3, 224, 224)).shape) == (2, 17)
    assert run_q6_2.finetune_squeezenet(None, 5).classifier[1].out_channels == 5


def test_only_the_new_classifier_trains(run_q6_2):
    torch.manual_seed(0)
    model = run_q6_2.finetune_squeezenet(weights=None)
    new_ids = {id(p) for p in model.classifier[1].parameters()}
    frozen = {n: p for n, p in model.named_parameters() if id(p) not in new_ids}
    still_trainable = [n for n, p in frozen.items() if p.requires_grad]
    assert not still_trainable, (
        f"freeze the pretrained parameters (requires_grad = False); still trainable: "
        f"{still_trainable[:4]}{' ...' if len(still_trainable) > 4 else ''}"
    )
    assert all(p.requires_grad for p in model.classifier[1].parameters()), (
        "the new classifier[1] must stay trainable: replace it after freezing the rest"
    )
    optimizer = run_q6_2.finetune_optimizer(model, 1e-2)
    given = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert given == new_ids, (
        f"the optimiser should hold exactly classifier[1]'s weight and bias; it holds "
        f"{len(given)} tensors, {len(given & new_ids)} of them the classifier's"
    )
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    optimizer.zero_grad()
    x, labels = torch_batches((3, 64, 64), 17, n_batches=1, batch_size=4)[0]
    F.cross_entropy(model(x), labels).backward()
    optimizer.step()
    after = dict(model.named_parameters())
    changed = [n for n in frozen if not torch.equal(before[n], after[n])]
    assert not changed, f"an optimiser step changed frozen parameters: {changed[:4]}"
    assert not torch.equal(before["classifier.1.weight"], after["classifier.1.weight"]), (
        "an optimiser step left classifier[1] unchanged"
    )


def write_flowers(root, classes=("bluebell", "daisy", "tulip"), per_class=2, seed=0):
    """A tiny Flowers-17-like tree: train/, val/, test/, one folder of JPEGs per class."""
    rng = np.random.default_rng(seed)
    for split in ("train", "val", "test"):
        for flower in classes:
            folder = root / split / flower
            folder.mkdir(parents=True)
            for i in range(per_class):
                h, w = rng.integers(60, 120, size=2)
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"image_{i:04d}.jpg")
    return root


def test_split_folders_load_through_the_transforms(run_q6_2, tmp_path):
    root = write_flowers(tmp_path / "flowers17")
    splits = run_q6_2.flowers17_datasets(
        root, run_q6_2.flowers_transforms(True), run_q6_2.flowers_transforms(False)
    )
    assert set(splits) == {"train", "val", "test"}
    for split, data in splits.items():
        assert data.classes == ["bluebell", "daisy", "tulip"] and len(data) == 6, split
        image, label = data[5]
        assert tuple(image.shape) == (3, 224, 224) and label == 2, split


def test_scratch_cnn_maps_images_to_logits(run_q6_2):
    model = run_q6_2.make_flowers_cnn()
    model.eval()
    out = model(torch.rand(2, 3, 224, 224))
    assert tuple(out.shape) == (2, 17), f"make_flowers_cnn()(x) for (2, 3, 224, 224): {out.shape}"
    assert any(isinstance(m, nn.Conv2d) for m in model.modules()), (
        "a convolutional network needs convolutions: no nn.Conv2d found"
    )


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


@pytest.mark.slow
def test_finetuned_squeezenet_classifies_flowers(run_q6_2, impl_module, figures_dir):
    q6 = impl_module("q6_train")
    history = _train_or_skip(run_q6_2, q6, "finetune", FINETUNE.epochs)
    q6.save_history(history, figures_dir, "q6_2_finetune", "Q6.2 fine-tuned SqueezeNet")
    acc = history["test_acc"]
    assert acc >= FINETUNE.min_acc, (
        f"fine-tuned for {FINETUNE.epochs} epochs, SqueezeNet classifies {acc:.1%} of the "
        f"{FINETUNE.split} correctly; expected at least {FINETUNE.min_acc:.0%} (ImageNet "
        f"features + a new classifier, ImageNet normalisation; {FINETUNE.chance})"
    )


@pytest.mark.slow
def test_scratch_cnn_learns_flowers(run_q6_2, impl_module, figures_dir):
    q6 = impl_module("q6_train")
    history = _train_or_skip(run_q6_2, q6, "scratch", SCRATCH.epochs)
    q6.save_history(history, figures_dir, "q6_2_scratch", "Q6.2 CNN from scratch")
    acc = history["test_acc"]
    assert history["train_loss"][-1] < history["train_loss"][0], "training did not lower the loss"
    assert acc >= SCRATCH.min_acc, (
        f"trained from scratch for {SCRATCH.epochs} epochs, the CNN classifies {acc:.1%} of the "
        f"{SCRATCH.split} correctly; expected at least {SCRATCH.min_acc:.0%} ({SCRATCH.chance})"
    )
