"""Q6.2: fine-tuning SqueezeNet 1.1 on Flowers-17 and a CNN trained from scratch
(``run_q6_2.py``).

``flowers_transforms`` must give ImageNet-normalised 3x224x224 tensors, random only for
training; ``finetune_squeezenet`` must freeze SqueezeNet and train only a new 17-class
``classifier[1]`` (checked with random weights: nothing downloaded); ``make_flowers_cnn`` must
map images to 17 logits with convolutions. The end-to-end checks train ``train_flowers`` and
measure the logits on Flowers-17's **test** split (``tst2``, never used for training or model
choice) against ``FINETUNE_BAR`` and ``SCRATCH_BAR``; the self-check applies the same bars to
``history["test_acc"]``. Not gradable until Flowers-17 and the ImageNet weights are present
(``q6_data.flowers_available``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from grader.check import Check, Fail, array, number
from grader.checks.q6_common import (
    LOSS_NOT_LOWERED,
    PROVISIONAL,
    Bar,
    curves,
    image_batch_inputs,
    judge_accuracy,
    judge_cnn,
    judge_history,
    seeded,
    training_inputs,
)
from grader.checks.q6_data import (
    flowers_available,
    flowers_root,
    image_folder_classes,
    image_folder_files,
    torch_home,
)
from grader.checks.torchnets import as_numpy, cnn_task, torch_cpu, training_run

# ================================================================ the bars, the messages
# Provisional (docs/questions.md, Q6): never measured on the real data. Set so that any
# working network clears them: fine-tuned SqueezeNet reaches about 85-90% of Flowers-17; the
# scratch CNN, twice chance. Both on the test split (tst2).
FINETUNE_BAR = Bar(
    2, 0.60, "Flowers-17 test split",
    "ImageNet features, a new classifier, ImageNet normalisation; 17 flowers: chance is 6%",
    PROVISIONAL,
)  # fmt: skip
SCRATCH_BAR = Bar(5, 0.12, "Flowers-17 test split", "17 flowers: chance is 6%", PROVISIONAL)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MEAN_COLOUR_MAX = 0.03  # |x| of ImageNet's mean colour once normalised (JPEG-free rounding)
NOT_NORMALISED = (
    "an image of ImageNet's mean colour should become ~0 everywhere: normalise with mean "
    f"{IMAGENET_MEAN} and std {IMAGENET_STD} after ToTensor (max |x| was {{max:.2f}})"
)
NOT_DETERMINISTIC = "flowers_transforms(False) must be deterministic: no random augmentation"
NEVER_RANDOM = (
    "flowers_transforms(True) gave the same tensor 4 times: augment the training images at "
    "random (e.g. RandomResizedCrop, RandomHorizontalFlip)"
)
NEW_CLASSIFIER = (
    "classifier[1] should be a new nn.Conv2d(512, 17, kernel_size=1) (SqueezeNet's classifier "
    "is a 1x1 convolution); got in/out channels {got}"
)
KERNEL_1X1 = "classifier[1] should have kernel_size=1, got {got}"
N_CLASSES = "finetune_squeezenet(weights, n_classes) should output n_classes classes"
NOT_FROZEN = "freeze the pretrained parameters (requires_grad = False); still trainable: {names}"
NEW_FROZEN = "the new classifier[1] must stay trainable: replace it after freezing the rest"
OPTIMISER_HOLDS = (
    "finetune_optimizer should hold exactly classifier[1]'s weight and bias; it holds "
    "{given:.0f} tensors, {new:.0f} of them the classifier's"
)
CHANGED_FROZEN = "an optimiser step changed frozen parameters: {names}"
NEW_UNCHANGED = "an optimiser step left classifier[1] unchanged"


def first_names(names) -> str:
    """Up to 4 parameter names, for the messages."""
    return f"{list(names)[:4]}{' ...' if len(names) > 4 else ''}"


# ================================================================ in the submission's process
def flowers_transforms_task(sub, inputs):
    torch = torch_cpu()
    from PIL import Image

    run = sub.load("run_q6_2")
    photo = Image.fromarray(inputs["photo"])
    flat = Image.fromarray(inputs["mean_colour"])
    evaluation = run.flowers_transforms(False)
    training = run.flowers_transforms(True)
    torch.manual_seed(0)
    what = "flowers_transforms(False)(image)"
    out = {
        "eval_1": as_numpy(evaluation(photo), what),
        "eval_2": as_numpy(evaluation(photo), what),
        "eval_flat": as_numpy(evaluation(flat), what),
    }
    for i in range(4):
        out[f"train_{i}"] = as_numpy(training(photo), "flowers_transforms(True)(image)")
    return {k: v.astype(np.float32) for k, v in out.items()}


def finetune_model_task(sub, inputs):
    """``finetune_squeezenet`` with random weights (nothing downloaded), its optimiser, and
    one optimiser step: which parameters train, which change."""
    torch = torch_cpu()
    F = torch.nn.functional
    run = sub.load("run_q6_2")
    torch.manual_seed(0)
    model = run.finetune_squeezenet(weights=None)
    new = model.classifier[1] if len(model.classifier) > 1 else None
    new_ids = {id(p) for p in new.parameters()} if new is not None else set()
    out = {
        "new_is_conv": isinstance(new, torch.nn.Conv2d),
        "new_shape": np.asarray(
            [new.in_channels, new.out_channels, *new.kernel_size]
            if isinstance(new, torch.nn.Conv2d)
            else [0, 0, 0, 0]
        ),
        "n5_out": getattr(run.finetune_squeezenet(None, 5).classifier[1], "out_channels", -1),
    }
    frozen = {n: p for n, p in model.named_parameters() if id(p) not in new_ids}
    out["still_trainable"] = [n for n, p in frozen.items() if p.requires_grad] or ""
    out["new_trainable"] = bool(new_ids) and all(p.requires_grad for p in new.parameters())
    optimizer = run.finetune_optimizer(model, 1e-2)
    given = {id(p) for group in optimizer.param_groups for p in group["params"]}
    out["n_given"], out["n_given_new"] = len(given), len(given & new_ids)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    optimizer.zero_grad()
    x = torch.as_tensor(inputs["x"], dtype=torch.float32)
    labels = torch.as_tensor(inputs["labels"], dtype=torch.int64)
    logits = model(x)
    out["logits_shape"] = np.asarray(as_numpy(logits, "finetune_squeezenet()(x)").shape)
    F.cross_entropy(logits, labels).backward()
    optimizer.step()
    after = dict(model.named_parameters())
    out["changed_frozen"] = [n for n in frozen if not torch.equal(before[n], after[n])] or ""
    out["new_changed"] = any(
        not torch.equal(before[n], after[n]) for n, p in after.items() if id(p) in new_ids
    )
    return out


def flowers_cnn_task(sub, inputs):
    return cnn_task(sub, inputs, "run_q6_2", "make_flowers_cnn", 5, n_custom=1)


def flowers_training_task(sub, inputs):
    """``train_flowers(kind)``; logits of the test split, with its files in order."""
    torch_cpu()
    run = sub.load("run_q6_2")
    kind, epochs, seed = inputs["kind"], int(inputs["epochs"]), int(inputs["seed"])
    root = inputs["root"]
    os.environ["TORCH_HOME"] = inputs["torch_home"]  # where the ImageNet weights are

    def test():
        return run.flowers_loaders(root, seed=seed)["test"].dataset

    out = training_run(
        (run.train_flowers, kind, epochs, seed, root),
        f"train_flowers({kind!r})",
        lambda: run.train_flowers(kind, epochs, seed=seed, root=root, download=False, device="cpu"),
        test,
    )
    files = [Path(path).relative_to(Path(root) / "test").as_posix() for path, _ in test().samples]
    return out | {"files": files or ""}


# ================================================================ in the grader's process
def flowers_transforms_inputs():
    rng = seeded(64)
    photo = rng.integers(0, 256, (260, 300, 3), dtype=np.uint8)
    colour = np.round(255 * np.asarray(IMAGENET_MEAN)).astype(np.uint8)
    return {"photo": photo, "mean_colour": np.broadcast_to(colour, (260, 300, 3)).copy()}


def judge_flowers_transforms(inputs, out):
    shape = (3, 224, 224)
    one = array(out, "eval_1", "flowers_transforms(False)(image)", shape=shape)
    two = array(out, "eval_2", "flowers_transforms(False)(image)", shape=shape)
    flat = array(out, "eval_flat", "flowers_transforms(False)(image)", shape=shape)
    trained = [
        array(out, f"train_{i}", "flowers_transforms(True)(image)", shape=shape) for i in range(4)
    ]
    if np.abs(flat).max() >= MEAN_COLOUR_MAX:
        raise Fail(NOT_NORMALISED.format(max=np.abs(flat).max()))
    if not np.array_equal(one, two):
        raise Fail(NOT_DETERMINISTIC)
    if all(np.array_equal(trained[0], other) for other in trained[1:]):
        raise Fail(NEVER_RANDOM)


def finetune_model_inputs():
    rng = seeded(65)
    return {
        "x": rng.random((4, 3, 64, 64)).astype(np.float32),
        "labels": rng.integers(0, 17, size=4),
    }


def _names(out, key):
    names = out.get(key) or []
    return [names] if isinstance(names, str) else list(names)


def judge_finetune_model(inputs, out):
    shape = array(out, "new_shape", "classifier[1]", kind="iu").tolist()
    if not number(out, "new_is_conv", "classifier[1] is a Conv2d") or shape[:2] != [512, 17]:
        raise Fail(NEW_CLASSIFIER.format(got=shape[:2]))
    if shape[2:] != [1, 1]:
        raise Fail(KERNEL_1X1.format(got=tuple(shape[2:])))
    if number(out, "n5_out", "finetune_squeezenet(None, 5).classifier[1]") != 5:
        raise Fail(N_CLASSES)
    logits = array(out, "logits_shape", "the logits' shape", kind="iu").tolist()
    if logits != [4, 17]:
        raise Fail(f"the model maps x (4, 3, 64, 64) to logits of shape {logits}, not (4, 17)")
    still = _names(out, "still_trainable")
    if still:
        raise Fail(NOT_FROZEN.format(names=first_names(still)))
    if not number(out, "new_trainable", "classifier[1] trains"):
        raise Fail(NEW_FROZEN)
    given, given_new = number(out, "n_given", "tensors"), number(out, "n_given_new", "tensors")
    if (given, given_new) != (2, 2):
        raise Fail(OPTIMISER_HOLDS.format(given=given, new=given_new))
    changed = _names(out, "changed_frozen")
    if changed:
        raise Fail(CHANGED_FROZEN.format(names=changed[:4]))
    if not number(out, "new_changed", "classifier[1] changed"):
        raise Fail(NEW_UNCHANGED)


def flowers_training_inputs(kind, bar):
    return training_inputs(
        bar, kind=kind, root=lambda: str(flowers_root()), torch_home=lambda: str(torch_home())
    )


def flowers_labels(inputs, out):
    """The test split's labels, from the class folders of the files the task returns (checked
    against the folder's own listing)."""
    test = Path(inputs["root"]) / "test"
    files = _names(out, "files")
    own = image_folder_files(test)
    if sorted(files) != own:
        raise Fail(
            f"the test loader's dataset lists {len(files)} files; {test} holds {len(own)} "
            "images: flowers_loaders(root)['test'] should read that folder (ImageFolder)"
        )
    classes = image_folder_classes(test)
    return np.asarray([classes.index(Path(f).parts[0]) for f in files], dtype=np.int64)


def judge_scratch_learns(inputs, out):
    losses = array(out, "history_train_loss", "history['train_loss']", shape=(None,))
    if len(losses) >= 2 and not losses[-1] < losses[0]:
        raise Fail(LOSS_NOT_LOWERED.format(first=losses[0], last=losses[-1]))
    judge_accuracy(flowers_labels, "train_flowers('scratch')", SCRATCH_BAR)(inputs, out)


# ================================================================ the checks
_TRAIN = ("q6_train", "run_q6_2")
_FINETUNE = flowers_training_inputs("finetune", FINETUNE_BAR)
_SCRATCH = flowers_training_inputs("scratch", SCRATCH_BAR)

CHECKS = [
    Check("6.2", "flowers_transforms: ImageNet-normalised 3x224x224 tensors, random only for "
          "training", 1,
          flowers_transforms_task, judge_flowers_transforms, flowers_transforms_inputs,
          budget=120, modules=("run_q6_2",), available=flowers_available),
    Check("6.2", "finetune_squeezenet freezes SqueezeNet and trains only a new 17-class "
          "classifier[1]", 1,
          finetune_model_task, judge_finetune_model, finetune_model_inputs, budget=180,
          modules=("run_q6_2",), available=flowers_available),
    Check("6.2", "make_flowers_cnn maps 3x224x224 images to 17 logits with convolutions", 0.5,
          flowers_cnn_task, judge_cnn("make_flowers_cnn", 2, 17, (1, 5)),
          image_batch_inputs((3, 224, 224), n=2), budget=120, modules=("run_q6_2",),
          available=flowers_available),
    Check("6.2", f"fine-tuned SqueezeNet reaches {FINETUNE_BAR.min_acc:.0%} test accuracy on "
          f"Flowers-17 ({FINETUNE_BAR.epochs} epochs)", 1.5,
          flowers_training_task,
          judge_accuracy(flowers_labels, "train_flowers('finetune')", FINETUNE_BAR),
          _FINETUNE, budget=2400, modules=_TRAIN, available=flowers_available,
          figures=curves("q6_2_finetune", "Q6.2 fine-tuned SqueezeNet 1.1, Flowers-17")),
    Check("6.2", "the fine-tuning history agrees with the trained network's test accuracy", 0.25,
          flowers_training_task,
          judge_history(flowers_labels, FINETUNE_BAR.split, measured="test_acc"),
          _FINETUNE, budget=2400, modules=_TRAIN, available=flowers_available),
    Check("6.2", f"the CNN trained from scratch lowers its loss and reaches "
          f"{SCRATCH_BAR.min_acc:.0%} test accuracy ({SCRATCH_BAR.epochs} epochs)", 0.5,
          flowers_training_task, judge_scratch_learns, _SCRATCH, budget=2400, modules=_TRAIN,
          available=flowers_available,
          figures=curves("q6_2_scratch", "Q6.2 CNN trained from scratch, Flowers-17")),
    Check("6.2", "the scratch history agrees with the trained network's test accuracy", 0.25,
          flowers_training_task,
          judge_history(flowers_labels, SCRATCH_BAR.split, measured="test_acc"),
          _SCRATCH, budget=2400, modules=_TRAIN, available=flowers_available),
]  # fmt: skip
