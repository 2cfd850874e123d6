"""Q6: PyTorch (``q6_train.py``, ``run_q6_1_1.py`` ... ``run_q6_2.py``).

The tasks train with the submission's own functions (``train_fc``, ``train_cnn``,
``train_cifar``, ``train_scenes``, ``train_flowers``) on the CPU with torch on one thread, and
return the trained network's logits on the validation or test inputs with the per-epoch
history. The judges compute the accuracy themselves, against labels read here (NIST36 through
``coursedata``; CIFAR-10, the SUN scenes and Flowers-17 from their files), and apply the bars
of the self-check suite (``tests/test_q6_*.py``). Lighter checks look at the networks on a
batch (shapes, layers, no softmax at the end) and at ``train_epoch``/``evaluate`` on a
softmax-regression model whose expected numbers are computed here in numpy.

CIFAR-10, the SUN subset and Flowers-17 (with SqueezeNet's ImageNet weights) are not bundled:
their questions are *not gradable* here until the data is put where the solutions look for it
(``data/external/<name>/`` or the ``NRK_*_DIR`` variables, as ``coursedata.external`` defines
them; ``python -m coursedata.download q6`` puts them there). A trained network's checks share
one training run per process (``_trained``), so its history check costs nothing more.
"""

from __future__ import annotations

import functools
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import expit

import coursedata
from coursedata import external
from grader.check import Check, Fail, array, close, number

HISTORY_KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
SQUEEZENET_FILE = external.SQUEEZENET.filename
SQUEEZENET_URL = external.SQUEEZENET.url
NO_SOFTMAX = (
    "the network's outputs are probabilities (each row sums to 1): it ends with a softmax. "
    "Return the logits: F.cross_entropy applies the (log-)softmax itself"
)


# ================================================================ the bars
@dataclass(frozen=True)
class Bar:
    """An end-to-end bar, the one definition the self-check (``tests/test_q6_*.py``) and the
    grader both apply: after ``epochs`` epochs of the question's ``train_*`` the network
    classifies at least ``min_acc`` of ``split`` correctly.

    Attributes
    ----------
    epochs : int
    min_acc : float
    split : str
        The split whose accuracy is measured, in words (``"Flowers-17 test split"``).
    chance : str
        The chance level, for the messages.
    source : str
        Where the number comes from: measured (and on what), or provisional.
    """

    epochs: int
    min_acc: float
    split: str
    chance: str
    source: str


# Provisional (README, Q6): never measured on the real data, which this project's machines
# lack; `python -m benchmarks --q6` measures the reference where the data is. Set so that any
# working network clears them: small CNNs reach 50-60% of CIFAR-10 after 2 epochs; the
# bag-of-words homework, about 50-70% of the SUN scenes; fine-tuned SqueezeNet, 85-90% of
# Flowers-17.
_PROVISIONAL = "provisional, not measured on the real data (python -m benchmarks --q6)"
CIFAR_BAR = Bar(2, 0.35, "CIFAR-10 test split", "chance is 10%", _PROVISIONAL)
SUN_BAR = Bar(15, 0.30, "SUN test split", "8 scenes: chance is 12.5%", _PROVISIONAL)
# Q6.2: the test split (tst2, never used for training or model choice), measured from the
# logits by the grader and from history["test_acc"] by the self-check.
FINETUNE_BAR = Bar(2, 0.60, "Flowers-17 test split", "17 flowers: chance is 6%", _PROVISIONAL)
SCRATCH_BAR = Bar(5, 0.12, "Flowers-17 test split", "17 flowers: chance is 6%", _PROVISIONAL)

# Bars and settings of the self-check suite (tests/test_q6_*.py).
FC_EPOCHS, FC_MIN_VALID_ACC = 15, 0.70  # the reference: 75.4% on the bundled stand-in
CNN_EPOCHS, CNN_MIN_VALID_ACC = 10, 0.90  # the reference: 92.6%
CIFAR_EPOCHS, CIFAR_MIN_TEST_ACC = CIFAR_BAR.epochs, CIFAR_BAR.min_acc
SUN_EPOCHS, SUN_MIN_TEST_ACC = SUN_BAR.epochs, SUN_BAR.min_acc
FINETUNE_EPOCHS, FINETUNE_MIN_TEST_ACC = FINETUNE_BAR.epochs, FINETUNE_BAR.min_acc
SCRATCH_EPOCHS, SCRATCH_MIN_TEST_ACC = SCRATCH_BAR.epochs, SCRATCH_BAR.min_acc


# ================================================================ where the data lives
# One definition, shared with the download (coursedata.external).
dataset_root = external.dataset_root
torch_home = external.torch_home


def cifar10_root() -> Path:
    return external.CIFAR10.root()


def sun_root() -> Path:
    return external.SUN.root()


def flowers_root() -> Path:
    return external.FLOWERS17.root()


CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")
SUN_FILES = tuple(
    f"{split}_{what}.txt" for split in ("train", "test") for what in ("files", "labels")
)
FLOWERS_SPLITS = ("train", "val", "test")


def cifar10_available() -> str | None:
    """Why Q6.1.3 cannot be graded here, or None when CIFAR-10 is present."""
    folder = cifar10_root() / "cifar-10-batches-py"
    missing = [name for name in CIFAR_FILES if not (folder / name).is_file()]
    if not missing:
        return None
    return (
        f"not gradable offline: CIFAR-10 not found in {folder} (missing {', '.join(missing)}); "
        "`python -m coursedata.download cifar10` puts it there where the network allows; or put "
        "the extracted cifar-10-python.tar.gz there (its cifar-10-batches-py/ folder) or set "
        "NRK_CIFAR10_DIR to the folder holding cifar-10-batches-py/"
    )


def sun_available() -> str | None:
    """Why Q6.1.4 cannot be graded here, or None when the SUN subset is present."""
    root = sun_root()
    missing = [name for name in SUN_FILES if not (root / name).is_file()]
    if not missing:
        return None
    return (
        f"not gradable offline: the SUN scene subset not found in {root} (missing "
        f"{', '.join(missing)}); put the bag-of-words homework's data/ folder there (the scene "
        "folders and the four list files; `python -m coursedata.download sun --sun-url ARCHIVE` "
        "installs the course's copy) or set NRK_SUN_DIR to that folder"
    )


def flowers_available() -> str | None:
    """Why Q6.2 cannot be graded here, or None when Flowers-17 and the weights are present."""
    root = flowers_root()
    missing = [f"{split}/" for split in FLOWERS_SPLITS if not (root / split).is_dir()]
    if missing:
        return (
            f"not gradable offline: Flowers-17 not found in {root} (missing "
            f"{', '.join(missing)}); `python -m coursedata.download flowers17` puts it there "
            "where the network allows; or put it there as train/, val/ and test/ folders, each "
            "with one folder of images per class, or set NRK_FLOWERS17_DIR to that folder"
        )
    weights = torch_home() / "hub" / "checkpoints" / SQUEEZENET_FILE
    if not weights.is_file():
        return (
            f"not gradable offline: SqueezeNet 1.1's ImageNet weights not found at {weights}; "
            "`python -m coursedata.download squeezenet` fetches them where the network allows; "
            f"or put {SQUEEZENET_FILE} from {SQUEEZENET_URL} there, or set TORCH_HOME to a "
            "folder whose hub/checkpoints/ holds it"
        )
    return None


# ================================================================ labels, read here
def nist36_labels(split: str = "valid") -> np.ndarray:
    """NIST36's labels of ``split`` as class indices, shape (N,)."""
    return np.argmax(coursedata.load_nist36(split)[1], axis=1)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles CIFAR-10's batches: plain containers and numpy arrays, nothing else."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a CIFAR-10 batch")


def cifar10_test_labels(root: str | Path) -> np.ndarray:
    """The labels of CIFAR-10's test split, from ``cifar-10-batches-py/test_batch``."""
    with open(Path(root) / "cifar-10-batches-py" / "test_batch", "rb") as f:
        batch = _ArraysOnly(f, encoding="latin1").load()
    return np.asarray(batch["labels"], dtype=np.int64)


def sun_labels(root: str | Path, split: str = "test") -> np.ndarray:
    """The labels of a SUN split, from ``<split>_labels.txt`` (one integer per line)."""
    return np.loadtxt(Path(root) / f"{split}_labels.txt", dtype=np.int64, ndmin=1)


def image_folder_files(folder: str | Path) -> list[str]:
    """The images of an ``ImageFolder`` split, as ``class/.../file`` paths."""
    folder = Path(folder)
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.glob("*/**/*")
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def image_folder_classes(folder: str | Path) -> list[str]:
    """The class folders of an ``ImageFolder`` split, sorted as it sorts them."""
    return sorted(p.name for p in Path(folder).iterdir() if p.is_dir())


# ================================================================ in the submission's process
def _torch():
    """torch for a task: on the CPU (no CUDA under the address-space cap), one thread."""
    if "torch" not in sys.modules:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch

    torch.set_num_threads(1)
    return torch


def _numpy(value, what: str) -> np.ndarray:
    """A tensor's values as a numpy array; other returns are refused with ``what``."""
    torch = _torch()
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} returned {type(value).__name__}; expected a torch.Tensor")
    return value.detach().cpu().numpy()


def _predict(model, x, what: str, batch_size: int = 256) -> np.ndarray:
    """``model``'s logits over ``x`` (a tensor, or a dataset of ``(image, label)``) in
    evaluation mode, as float32 (N, C)."""
    torch = _torch()
    model.eval()
    if isinstance(x, torch.Tensor):
        batches = (x[i : i + batch_size] for i in range(0, len(x), batch_size))
    else:
        loader = torch.utils.data.DataLoader(x, batch_size=batch_size, shuffle=False)
        batches = (images for images, _ in loader)
    with torch.no_grad():
        logits = [_numpy(model(batch), what).astype(np.float32) for batch in batches]
    return np.concatenate(logits) if logits else np.zeros((0, 0), np.float32)


def _trained_pair(result, what: str):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(f"{what} should return (model, history), got {type(result).__name__}")
    return result


def _history(history) -> dict:
    """``fit``'s history as arrays ``history_<key>`` (None for a missing key)."""
    if not isinstance(history, dict):
        raise TypeError(f"the training history should be a dict, got {type(history).__name__}")
    out = {}
    for key in HISTORY_KEYS:
        value = history.get(key)
        out[f"history_{key}"] = None if value is None else np.asarray(value, dtype=float)
    if "test_acc" in history:
        out["history_test_acc"] = np.asarray(history["test_acc"], dtype=float)
    return out


_RUNS: dict = {}


def _trained(key, train):
    """``train()``'s result, computed once per process for ``key``: a network's checks (its
    accuracy, its history) share one training run. Its exception, too, is raised again."""
    if key not in _RUNS:
        try:
            _RUNS[key] = (True, train())
        except Exception as exc:
            _RUNS[key] = (False, exc)
    ok, value = _RUNS[key]
    if not ok:
        raise value
    return dict(value)


def _recorder(inner):
    """Wraps a model; records ``(training, grad_enabled)`` at each forward."""
    torch = _torch()

    class Recorder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, []

        def forward(self, x):
            self.calls.append((self.training, torch.is_grad_enabled()))
            return self.inner(x)

    return Recorder(inner)


def _linear(weight, bias):
    """``nn.Linear`` holding ``weight`` (C, D) and ``bias`` (C,)."""
    torch = _torch()
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return layer


def _batches(x, labels, size):
    torch = _torch()
    x = torch.as_tensor(x, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.int64)
    return [(x[i : i + size], labels[i : i + size]) for i in range(0, len(x), size)]


def _loss_acc(result) -> dict:
    """``(loss, accuracy)`` as numbers; ``pair`` 0 when something else came back."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        return {"pair": 0, "returned": type(result).__name__}
    return {"pair": 1, "loss": float(result[0]), "acc": float(result[1])}


def _modes(model) -> dict:
    calls = np.asarray(model.calls, dtype=bool).reshape(-1, 2)
    return {"training": calls[:, 0], "grad_enabled": calls[:, 1]}


def _network_summary(model, x, what: str) -> dict:
    """Logits on ``x`` in evaluation mode, the parameter count and the layers' kinds."""
    torch = _torch()
    model.eval()
    with torch.no_grad():
        logits = _numpy(model(torch.as_tensor(x, dtype=torch.float32)), what)
    modules = list(model.modules())
    return {
        "logits": logits.astype(np.float64),
        "n_params": sum(p.numel() for p in model.parameters()),
        "n_conv": sum(isinstance(m, torch.nn.Conv2d) for m in modules),
    }


def _custom_shape(make, x, what: str) -> dict:
    """``custom_shape``: the shape of ``make()``'s logits on ``x`` in evaluation mode, or
    ``custom_error`` when it raised (e.g. layers of fixed sizes meeting other sizes)."""
    torch = _torch()
    torch.manual_seed(0)
    try:
        model = make()
        model.eval()
        with torch.no_grad():
            logits = model(torch.as_tensor(x, dtype=torch.float32))
        return {"custom_shape": np.asarray(_numpy(logits, what).shape)}
    except NotImplementedError:
        raise
    except Exception as exc:
        return {"custom_error": f"{type(exc).__name__}: {exc}"}


# ---------------------------------------------------------------- Q6.1.1 tasks
def fc_network_task(sub, inputs):
    torch = _torch()
    run = sub.load("run_q6_1_1")
    torch.manual_seed(0)
    model = run.make_fc_network()
    out = _network_summary(model, inputs["x"], "make_fc_network()(x)")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    out["linear_shapes"] = np.array(
        [[m.in_features, m.out_features] for m in linears], dtype=np.int64
    ).reshape(-1, 2)
    if len(linears) == 2:
        for i, layer in enumerate(linears, 1):
            out[f"w{i}"] = _numpy(layer.weight, "a Linear layer's weight").astype(np.float64)
            out[f"b{i}"] = (
                None if layer.bias is None else _numpy(layer.bias, "bias").astype(np.float64)
            )
    make = functools.partial(run.make_fc_network, 10, 7, 3)
    return out | _custom_shape(make, inputs["x_custom"], "make_fc_network(10, 7, 3)")


def train_epoch_task(sub, inputs):
    """One ``train_epoch`` of SGD at ``inputs['lr']`` on a softmax-regression model, which
    starts in evaluation mode."""
    torch = _torch()
    q6 = sub.load("q6_train")
    model = _recorder(_linear(inputs["w"], inputs["b"]))
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=float(inputs["lr"]))
    batches = _batches(inputs["x"], inputs["labels"], int(inputs["batch_size"]))
    out = _loss_acc(q6.train_epoch(model, batches, optimizer, "cpu"))
    layer = model.inner
    out["w_after"] = layer.weight.detach().numpy().astype(np.float64)
    out["b_after"] = layer.bias.detach().numpy().astype(np.float64)
    return out | _modes(model)


def evaluate_task(sub, inputs):
    """``evaluate`` twice on a dropout + softmax-regression model left in training mode."""
    torch = _torch()
    q6 = sub.load("q6_train")
    torch.manual_seed(0)
    model = _recorder(torch.nn.Sequential(torch.nn.Dropout(0.5), _linear(inputs["w"], inputs["b"])))
    model.train()
    batches = _batches(inputs["x"], inputs["labels"], int(inputs["batch_size"]))
    first = _loss_acc(q6.evaluate(model, batches, "cpu"))
    second = _loss_acc(q6.evaluate(model, batches, "cpu"))
    layer = model.inner[1]
    out = first | {f"second_{k}": v for k, v in second.items() if k != "returned"}
    out["w_after"] = layer.weight.detach().numpy().astype(np.float64)
    out["b_after"] = layer.bias.detach().numpy().astype(np.float64)
    return out | _modes(model)


def fc_training_task(sub, inputs):
    """``train_fc`` for ``inputs['epochs']`` epochs; logits on NIST36's validation split."""
    torch = _torch()
    run = sub.load("run_q6_1_1")
    epochs, seed = int(inputs["epochs"]), int(inputs["seed"])

    def train():
        model, history = _trained_pair(
            run.train_fc(epochs=epochs, seed=seed, device="cpu"), "train_fc"
        )
        x = torch.as_tensor(coursedata.load_nist36("valid")[0], dtype=torch.float32)
        return _history(history) | {"logits": _predict(model, x, "the trained network")}

    return _trained((run.train_fc, epochs, seed), train)


# ---------------------------------------------------------------- Q6.1.2 tasks
def nist36_images_task(sub, inputs):
    torch = _torch()
    run = sub.load("run_q6_1_2")
    rows = inputs["rows"]
    out = {}
    for name, given in (("tensor", torch.as_tensor(rows)), ("array", rows.copy())):
        images = run.nist36_images(given)
        out[f"{name}_is_tensor"] = isinstance(images, torch.Tensor)
        out[f"{name}_images"] = torch.as_tensor(images).double().numpy()
    return out


def nist_cnn_task(sub, inputs):
    torch = _torch()
    run = sub.load("run_q6_1_2")
    torch.manual_seed(0)
    out = _network_summary(run.make_nist_cnn(), inputs["x"], "make_nist_cnn()(x)")
    make = functools.partial(run.make_nist_cnn, 10)
    return out | _custom_shape(make, inputs["x"][:2], "make_nist_cnn(10)")


def cnn_training_task(sub, inputs):
    """``train_cnn``; logits of NIST36's validation images (through ``nist36_images``)."""
    torch = _torch()
    run = sub.load("run_q6_1_2")
    epochs, seed = int(inputs["epochs"]), int(inputs["seed"])

    def train():
        model, history = _trained_pair(
            run.train_cnn(epochs=epochs, seed=seed, device="cpu"), "train_cnn"
        )
        x = torch.as_tensor(coursedata.load_nist36("valid")[0], dtype=torch.float32)
        images = run.nist36_images(x)
        return _history(history) | {"logits": _predict(model, images, "the trained CNN")}

    return _trained((run.train_cnn, epochs, seed), train)


# ---------------------------------------------------------------- Q6.1.3 tasks
def cifar_cnn_task(sub, inputs):
    torch = _torch()
    run = sub.load("run_q6_1_3")
    torch.manual_seed(0)
    out = _network_summary(run.make_cifar_cnn(), inputs["x"], "make_cifar_cnn()(x)")
    make = functools.partial(run.make_cifar_cnn, 4)
    return out | _custom_shape(make, inputs["x"][:2], "make_cifar_cnn(4)")


def cifar_training_task(sub, inputs):
    """``train_cifar``; logits of the test split, as ``cifar10_datasets`` gives it."""
    _torch()
    run = sub.load("run_q6_1_3")
    epochs, seed, root = int(inputs["epochs"]), int(inputs["seed"]), inputs["root"]

    def train():
        model, history = _trained_pair(
            run.train_cifar(epochs=epochs, seed=seed, root=root, download=False, device="cpu"),
            "train_cifar",
        )
        test = run.cifar10_datasets(root, download=False)[1]
        return _history(history) | {"logits": _predict(model, test, "the trained CNN")}

    return _trained((run.train_cifar, epochs, seed, root), train)


# ---------------------------------------------------------------- Q6.1.4 tasks
def read_sun_split_task(sub, inputs):
    """``read_sun_split`` on list files written here (no images needed), then on files of
    different lengths."""
    run = sub.load("run_q6_1_4")
    with tempfile.TemporaryDirectory(prefix="sun-lists-") as folder:
        return _read_sun_split(run, Path(folder), inputs)


def _read_sun_split(run, root, inputs):
    (root / "train_files.txt").write_text(inputs["files_text"], encoding="utf-8")
    (root / "train_labels.txt").write_text(inputs["labels_text"], encoding="utf-8")
    (root / "test_files.txt").write_text(inputs["files_text"], encoding="utf-8")
    (root / "test_labels.txt").write_text(inputs["short_labels_text"], encoding="utf-8")
    try:
        paths, labels = _trained_pair(run.read_sun_split(root, "train"), "read_sun_split")
    except NotImplementedError:
        raise
    except Exception as exc:  # the judge says what the files held
        return {"raised": f"{type(exc).__name__}: {exc}"}
    labels = np.asarray(labels)
    out = {
        "paths": [os.path.relpath(str(p), str(root)) for p in paths] or "",
        "n_paths": len(paths),
        "labels": labels if labels.dtype.kind in "iub" else labels.astype(np.float64),
        "labels_dtype": str(labels.dtype),
    }
    try:
        run.read_sun_split(root, "test")
        out["mismatch_raised"] = ""
    except Exception as exc:
        out["mismatch_raised"] = type(exc).__name__
    return out


def scene_cnn_task(sub, inputs):
    torch = _torch()
    run = sub.load("run_q6_1_4")
    torch.manual_seed(0)
    out = _network_summary(run.make_scene_cnn(), inputs["x"], "make_scene_cnn()(x)")
    make = functools.partial(run.make_scene_cnn, 5)
    return out | _custom_shape(make, inputs["x"][:2], "make_scene_cnn(5)")


def scenes_training_task(sub, inputs):
    """``train_scenes``; logits of the test split, as ``sun_datasets`` gives it."""
    _torch()
    run = sub.load("run_q6_1_4")
    epochs, seed, root = int(inputs["epochs"]), int(inputs["seed"]), inputs["root"]

    def train():
        model, history = _trained_pair(
            run.train_scenes(epochs=epochs, seed=seed, root=root, device="cpu"), "train_scenes"
        )
        test = run.sun_datasets(root)[1]
        return _history(history) | {"logits": _predict(model, test, "the trained CNN")}

    return _trained((run.train_scenes, epochs, seed, root), train)


# ---------------------------------------------------------------- Q6.2 tasks
def flowers_transforms_task(sub, inputs):
    torch = _torch()
    from PIL import Image

    run = sub.load("run_q6_2")
    photo = Image.fromarray(inputs["photo"])
    flat = Image.fromarray(inputs["mean_colour"])
    evaluation = run.flowers_transforms(False)
    training = run.flowers_transforms(True)
    torch.manual_seed(0)
    out = {
        "eval_1": _numpy(evaluation(photo), "flowers_transforms(False)(image)"),
        "eval_2": _numpy(evaluation(photo), "flowers_transforms(False)(image)"),
        "eval_flat": _numpy(evaluation(flat), "flowers_transforms(False)(image)"),
    }
    for i in range(4):
        out[f"train_{i}"] = _numpy(training(photo), "flowers_transforms(True)(image)")
    return {k: v.astype(np.float32) for k, v in out.items()}


def finetune_model_task(sub, inputs):
    """``finetune_squeezenet`` with random weights (nothing downloaded), its optimiser, and
    one optimiser step: which parameters train, which change."""
    torch = _torch()
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
    out["logits_shape"] = np.asarray(_numpy(logits, "finetune_squeezenet()(x)").shape)
    F.cross_entropy(logits, labels).backward()
    optimizer.step()
    after = dict(model.named_parameters())
    out["changed_frozen"] = [n for n in frozen if not torch.equal(before[n], after[n])] or ""
    out["new_changed"] = any(
        not torch.equal(before[n], after[n]) for n, p in after.items() if id(p) in new_ids
    )
    return out


def flowers_cnn_task(sub, inputs):
    torch = _torch()
    run = sub.load("run_q6_2")
    torch.manual_seed(0)
    out = _network_summary(run.make_flowers_cnn(), inputs["x"], "make_flowers_cnn()(x)")
    make = functools.partial(run.make_flowers_cnn, 5)
    return out | _custom_shape(make, inputs["x"][:1], "make_flowers_cnn(5)")


def flowers_training_task(sub, inputs):
    """``train_flowers(kind)``; logits of the test split, with its files in order."""
    _torch()
    run = sub.load("run_q6_2")
    kind, epochs, seed = inputs["kind"], int(inputs["epochs"]), int(inputs["seed"])
    root = inputs["root"]
    os.environ["TORCH_HOME"] = inputs["torch_home"]  # where the ImageNet weights are

    def train():
        model, history = _trained_pair(
            run.train_flowers(kind, epochs, seed=seed, root=root, download=False, device="cpu"),
            "train_flowers",
        )
        test = run.flowers_loaders(root, seed=seed)["test"].dataset
        files = [Path(path).relative_to(Path(root) / "test").as_posix() for path, _ in test.samples]
        logits = _predict(model, test, f"the {kind} network")
        return _history(history) | {"logits": logits, "files": files or ""}

    return _trained((run.train_flowers, kind, epochs, seed, root), train)


# ================================================================ in the grader's process
def _seeded(seed):
    return np.random.default_rng(seed)


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy of ``logits`` (N, C) against class indices (N,)."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]


def _is_probabilities(logits: np.ndarray) -> bool:
    return bool((logits >= 0).all() and np.allclose(logits.sum(axis=1), 1.0, atol=1e-3))


def _judge_logits(out, what, n, n_classes):
    logits = array(out, "logits", what, shape=(n, n_classes))
    if _is_probabilities(logits):
        raise Fail(NO_SOFTMAX)
    return logits


def _judge_custom(out, what, expected, hint):
    if out.get("custom_error"):
        raise Fail(f"{what} raised {out['custom_error']}. {hint}")
    got = array(out, "custom_shape", what, kind="iu")
    if tuple(got.tolist()) != expected:
        raise Fail(
            f"{what}: expected logits of shape {expected}, got {tuple(got.tolist())}. {hint}"
        )


def _judge_conv(out, what):
    if number(out, "n_conv", "the number of nn.Conv2d layers") < 1:
        raise Fail(f"{what}: a convolutional network needs convolutions: no nn.Conv2d found")


# ---------------------------------------------------------------- Q6.1.1 judges
FC_PARAMS = 1024 * 64 + 64 + 64 * 36 + 36


def fc_network_inputs():
    rng = _seeded(61)
    return {
        "x": rng.random((8, 1024)).astype(np.float32),
        "x_custom": rng.random((2, 10)).astype(np.float32),
    }


def judge_fc_logits(inputs, out):
    _judge_logits(out, "make_fc_network()(x) for x of shape (8, 1024)", 8, 36)
    _judge_custom(
        out,
        "make_fc_network(n_in=10, n_hidden=7, n_classes=3)(x) for x of shape (2, 10)",
        (2, 3),
        "Build the layers from the arguments, not from fixed sizes.",
    )


def judge_fc_architecture(inputs, out):
    n_params = number(out, "n_params", "the number of parameters")
    shapes = array(out, "linear_shapes", "the nn.Linear layers", kind="iu")
    if [tuple(s) for s in shapes.tolist()] != [(1024, 64), (64, 36)]:
        found = ", ".join(f"Linear({i}, {o})" for i, o in shapes.tolist()) or "none"
        raise Fail(
            "Q3's network is nn.Linear(1024, 64), a sigmoid, then nn.Linear(64, 36); the "
            f"network's linear layers are: {found}"
        )
    if n_params != FC_PARAMS:
        raise Fail(
            f"Q3's network 1024 -> 64 -> 36 has {FC_PARAMS} parameters (two linear layers with "
            f"biases); make_fc_network() has {n_params:.0f}"
        )
    params = {}
    for key in ("w1", "b1", "w2", "b2"):
        params[key] = array(out, key, f"the linear layers' {key[0]} ({key})")
    x = inputs["x"].astype(np.float64)
    logits = array(out, "logits", "make_fc_network()(x)", shape=(8, 36))
    pre = x @ params["w1"].T + params["b1"]
    activations = {
        "a sigmoid": expit(pre),
        "a ReLU": np.maximum(pre, 0.0),
        "a tanh": np.tanh(pre),
        "no activation": pre,
    }
    for name, hidden in activations.items():
        if np.allclose(hidden @ params["w2"].T + params["b2"], logits, rtol=1e-4, atol=1e-4):
            if name == "a sigmoid":
                return
            raise Fail(
                f"the hidden layer applies {name}; Q3's network (and this question) uses a "
                "sigmoid: nn.Linear(1024, 64), nn.Sigmoid(), nn.Linear(64, 36)"
            )
    raise Fail(
        "make_fc_network()(x) is not Linear(1024, 64) -> sigmoid -> Linear(64, 36) applied to "
        "x in that order (with nothing after the last layer: it returns the logits)"
    )


def loop_inputs(n, batch_size, lr, seed):
    def make():
        rng = _seeded(seed)
        return {
            "x": rng.normal(size=(n, 6)).astype(np.float32),
            "labels": rng.integers(0, 3, size=n),
            "w": (0.5 * rng.normal(size=(3, 6))).astype(np.float32),
            "b": (0.1 * rng.normal(size=3)).astype(np.float32),
            "batch_size": batch_size,
            "lr": lr,
        }

    return make


def _loop_logits(inputs, w=None, b=None):
    w = inputs["w"].astype(np.float64) if w is None else w
    b = inputs["b"].astype(np.float64) if b is None else b
    return inputs["x"].astype(np.float64) @ w.T + b


def _batch_slices(n, size):
    return [slice(i, i + size) for i in range(0, n, size)]


def _pair_values(out, what):
    if number(out, "pair", f"{what}'s result") != 1:
        returned = out.get("returned", "something else")
        raise Fail(f"{what} should return a pair (loss, accuracy), got {returned}")
    return number(out, "loss", f"{what}'s loss"), number(out, "acc", f"{what}'s accuracy")


def _judge_loss_acc(inputs, out, what, loss, acc, setting=""):
    labels = inputs["labels"]
    logits = _loop_logits(inputs)
    losses = _cross_entropy(logits, labels)
    n = len(labels)
    expected_loss = float(losses.mean())
    n_correct = int((logits.argmax(axis=1) == labels).sum())
    slices = _batch_slices(n, int(inputs["batch_size"]))
    batch_means = [float(losses[s].mean()) for s in slices]
    if not np.isclose(loss, expected_loss, rtol=1e-4, atol=1e-6):
        hint = ""
        if np.isclose(loss, np.mean(batch_means), rtol=1e-4):
            hint = (
                f" You averaged the {len(slices)} batch means: weight each by its size (the last "
                f"batch has {n - (len(slices) - 1) * int(inputs['batch_size'])} samples)."
            )
        elif np.isclose(loss, np.sum(batch_means), rtol=1e-4):
            hint = " You summed the batch means: divide by the number of samples."
        elif np.isclose(loss, losses.sum(), rtol=1e-4):
            hint = " That is the summed cross-entropy: divide by the number of samples."
        raise Fail(
            f"{what}'s loss {loss:.6f}{setting}: expected the mean cross-entropy per sample over "
            f"all {n} samples, {expected_loss:.6f}.{hint}"
        )
    if acc == n_correct and n_correct > 1:
        raise Fail(f"{what} returned the accuracy {acc:g}: return a fraction, not a count")
    if not np.isclose(acc, n_correct / n, atol=1e-6):
        raise Fail(
            f"{what}'s accuracy {acc:g}: expected {n_correct}/{n} = {n_correct / n:g}, the "
            "fraction of samples whose logits' argmax is their label"
        )


def judge_train_epoch_numbers(inputs, out):
    loss, acc = _pair_values(out, "train_epoch")
    setting = " (SGD at lr 0: the parameters stay put)"
    _judge_loss_acc(inputs, out, "train_epoch", loss, acc, setting)


def _sgd(inputs, zero_grad=True, reduction="mean", step=True):
    """Softmax regression trained by SGD, one step per batch, in numpy."""
    w, b = inputs["w"].astype(np.float64), inputs["b"].astype(np.float64)
    x, labels, lr = inputs["x"].astype(np.float64), inputs["labels"], float(inputs["lr"])
    gw, gb = np.zeros_like(w), np.zeros_like(b)
    for s in _batch_slices(len(labels), int(inputs["batch_size"])):
        z = x[s] @ w.T + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(p)), labels[s]] -= 1.0
        if reduction == "mean":
            p /= len(p)
        if zero_grad:
            gw, gb = np.zeros_like(w), np.zeros_like(b)
        gw, gb = gw + p.T @ x[s], gb + p.sum(axis=0)
        if step:
            w, b = w - lr * gw, b - lr * gb
    return w, b


def judge_train_epoch_steps(inputs, out):
    training = array(out, "training", "the model's mode at each forward", kind="b")
    if training.size == 0:
        raise Fail("train_epoch never called the model")
    if not training.all():
        raise Fail(
            "train_epoch ran the model in evaluation mode: call model.train() first (evaluate "
            "switches it to eval mode, and dropout or batch norm behave differently)"
        )
    n_batches = len(_batch_slices(len(inputs["labels"]), int(inputs["batch_size"])))
    w = array(out, "w_after", "the weight after train_epoch", shape=inputs["w"].shape)
    b = array(out, "b_after", "the bias after train_epoch", shape=inputs["b"].shape)

    def matches(reference):
        return np.allclose(w, reference[0], atol=1e-5) and np.allclose(b, reference[1], atol=1e-5)

    if matches(_sgd(inputs)):
        return
    hints = {
        "The gradients are never zeroed: call optimizer.zero_grad() before each backward.": (
            _sgd(inputs, zero_grad=False)
        ),
        "The loss is summed over the batch: use F.cross_entropy's mean (its default).": (
            _sgd(inputs, reduction="sum")
        ),
        "The parameters did not change: call loss.backward() and optimizer.step().": (
            _sgd(inputs, step=False)
        ),
    }
    hint = next((h for h, reference in hints.items() if matches(reference)), "")
    raise Fail(
        f"after train_epoch with SGD (lr {inputs['lr']:g}) over {n_batches} batches, the "
        f"parameters differ from {n_batches} SGD steps, each on one batch's mean cross-entropy "
        f"(zero_grad, loss, backward, step). {hint}".strip()
    )


def judge_evaluate(inputs, out):
    training = array(out, "training", "the model's mode at each forward", kind="b")
    grads = array(out, "grad_enabled", "whether gradients were on at each forward", kind="b")
    if training.size == 0:
        raise Fail("evaluate never called the model")
    if training.any():
        raise Fail(
            "evaluate ran the model in training mode: call model.eval() (dropout must be off)"
        )
    if grads.any():
        raise Fail("evaluate computed with gradients enabled: wrap it in `with torch.no_grad():`")
    for key in ("w", "b"):
        if not np.array_equal(array(out, f"{key}_after", "a parameter"), inputs[key]):
            raise Fail("evaluate changed the model's parameters: it must train nothing")
    loss, acc = _pair_values(out, "evaluate")
    _judge_loss_acc(inputs, out, "evaluate", loss, acc)
    second = (number(out, "second_loss", "loss"), number(out, "second_acc", "accuracy"))
    if second != (loss, acc):
        raise Fail("evaluate gave different results twice on the same model and data")


def training_inputs(epochs, min_acc, seed=0, **more):
    def make():
        return {"epochs": epochs, "min_acc": min_acc, "seed": seed} | {
            k: (v() if callable(v) else v) for k, v in more.items()
        }

    return make


def judge_accuracy(labels_of, what, split, hint):
    """A judge: the accuracy of the returned logits on ``split`` against ``labels_of(inputs)``
    reaches ``inputs['min_acc']``."""

    def judge(inputs, out):
        labels = labels_of(inputs, out)
        logits = array(out, "logits", f"the trained network's logits on the {split}")
        if logits.ndim != 2 or len(logits) != len(labels):
            raise Fail(
                f"the trained network gave logits of shape {logits.shape} for the {len(labels)} "
                f"images of the {split}: expected ({len(labels)}, number of classes)"
            )
        if logits.shape[1] <= labels.max():
            raise Fail(
                f"the trained network outputs {logits.shape[1]} logits per image; the {split} "
                f"has labels up to {labels.max()}"
            )
        acc = float(np.mean(logits.argmax(axis=1) == labels))
        bar = float(inputs["min_acc"])
        if acc < bar:
            raise Fail(
                f"after {inputs['epochs']} epochs of {what} the network classifies {acc:.1%} of "
                f"the {split} correctly; expected at least {bar:.0%} ({hint})"
            )

    return judge


def judge_history(labels_of, split, measured="valid_acc"):
    """A judge: the history has one plausible value per epoch, and its accuracy on ``split``
    (``history[measured]``, its last value) is the returned logits' accuracy."""

    def judge(inputs, out):
        epochs = int(inputs["epochs"])
        history = {
            key: array(out, f"history_{key}", f"history[{key!r}]", shape=(epochs,))
            for key in HISTORY_KEYS
        }
        for key in ("train_acc", "valid_acc"):
            if ((history[key] < 0) | (history[key] > 1)).any():
                raise Fail(
                    f"history[{key!r}] holds {np.round(history[key], 3).tolist()}: accuracies "
                    "are fractions in [0, 1] (train_epoch and evaluate return correct / seen)"
                )
        for key in ("train_loss", "valid_loss"):
            if (history[key] <= 0).any():
                raise Fail(f"history[{key!r}] holds {history[key].tolist()}: losses are positive")
        first, last = history["train_loss"][0], history["train_loss"][-1]
        if epochs >= 2 and not last < first:
            raise Fail(
                f"training did not lower the loss: {first:.4f} after the first epoch, {last:.4f} "
                f"after the last (history['train_loss'])"
            )
        labels = labels_of(inputs, out)
        logits = array(out, "logits", f"the trained network's logits on the {split}")
        if logits.shape != (len(labels), logits.shape[-1]) or logits.shape[1] <= labels.max():
            raise Fail(f"the trained network's logits on the {split} have shape {logits.shape}")
        own = float(np.mean(logits.argmax(axis=1) == labels))
        if measured == "valid_acc":
            reported = float(history["valid_acc"][-1])
        else:
            reported = number(out, f"history_{measured}", f"history[{measured!r}]")
        if abs(reported - own) > 1.5 / len(labels):
            raise Fail(
                f"the history says {reported:.4f} accuracy on the {split} after the last epoch, "
                f"but the trained network classifies {own:.4f} of it correctly: evaluate's "
                "accuracy is off (eval mode, all samples counted, correct / seen)"
            )
        if measured == "valid_acc":
            loss = float(_cross_entropy(logits.astype(np.float64), labels).mean())
            if not np.isclose(history["valid_loss"][-1], loss, rtol=2e-3):
                raise Fail(
                    f"the history's last validation loss is {history['valid_loss'][-1]:.4f}, "
                    f"but the trained network's mean cross-entropy on the {split} is {loss:.4f}: "
                    "evaluate's loss is off (the mean per sample, each batch weighted by its size)"
                )

    return judge


def curves(name, title):
    """A figures function: loss and accuracy per epoch from the returned history."""

    def figures(inputs, out, out_dir):
        from matplotlib.figure import Figure

        try:
            history = {
                key: array(out, f"history_{key}", key, shape=(None,)) for key in HISTORY_KEYS
            }
        except Fail:
            return []
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        fig = Figure(figsize=(10, 4), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, what, label in zip(axes, ("loss", "acc"), ("cross-entropy loss", "accuracy")):
            ax.plot(epochs, history[f"train_{what}"], "--o", label="train")
            ax.plot(epochs, history[f"valid_{what}"], "-o", label="validation")
            ax.set(xlabel="epoch", ylabel=label, title=label)
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        fig.suptitle(f"{title} (drawn by the grader from the returned history)")
        path = Path(out_dir) / f"{name}_curves.png"
        fig.savefig(path, dpi=100)
        return [path]

    return figures


def _nist_labels(inputs, out):
    return nist36_labels("valid")


# ---------------------------------------------------------------- Q6.1.2 judges
def nist36_images_inputs():
    """Asymmetric upright images (an L-shaped stroke plus noise) and their NIST36 rows."""
    rng = _seeded(62)
    images = rng.random((3, 32, 32)) * 0.2
    images[:, 4:28, 6:9] = 1.0  # vertical bar on the left
    images[:, 25:28, 6:24] = 1.0  # horizontal bar at the bottom
    images = images.astype(np.float32)
    rows = images.transpose(0, 2, 1).reshape(3, 1024)  # NIST36 stores each image transposed
    return {"upright": images, "rows": rows}


def judge_nist36_images(inputs, out):
    upright = inputs["upright"]
    for name, given in (("tensor", "a float32 tensor"), ("array", "a numpy array")):
        what = f"nist36_images(x) for x {given} of shape (3, 1024)"
        images = array(out, f"{name}_images", what, shape=(3, 1, 32, 32))
        if name == "tensor" and not number(out, "tensor_is_tensor", "is a tensor"):
            raise Fail(f"{what} should return a torch.Tensor (the loaders batch it)")
        if np.allclose(images[:, 0], upright.transpose(0, 2, 1), atol=1e-6):
            raise Fail(
                "the images come out transposed: NIST36 stores each image transposed, so "
                "row.reshape(32, 32).T is upright"
            )
        close(images[:, 0], upright, what, atol=1e-6, rtol=0, hint="images[i, 0] is row i, upright")


def image_batch_inputs(shape, n=4, seed=63):
    def make():
        return {"x": _seeded(seed).random((n, *shape)).astype(np.float32)}

    return make


def judge_cnn(what, n, n_classes, custom):
    def judge(inputs, out):
        _judge_logits(out, f"{what}()(x) for x of shape {inputs['x'].shape}", n, n_classes)
        _judge_custom(
            out,
            f"{what}(n_classes={custom[1]})(x)",
            custom,
            "Size the last layer with the n_classes argument.",
        )
        _judge_conv(out, f"{what}()")

    return judge


# ---------------------------------------------------------------- Q6.1.3 judges
def _cifar_labels(inputs, out):
    return cifar10_test_labels(inputs["root"])


# ---------------------------------------------------------------- Q6.1.4 judges
SUN_LINES = ["aquarium/sun_a.jpg", "aquarium/sun_b.jpg", "desert/sun_c.jpg", "kitchen/sun_d.jpg"]
SUN_LIST_LABELS = [0, 0, 1, 2]


def read_sun_split_inputs():
    return {
        "files_text": "\n".join(SUN_LINES) + "\n\n",  # a final newline and a blank line
        "labels_text": "\n".join(map(str, SUN_LIST_LABELS)) + "\n",
        "short_labels_text": "0\n0\n1\n",
    }


def judge_read_sun_split(inputs, out):
    if out.get("raised"):
        raise Fail(
            f"read_sun_split(root, 'train') raised {out['raised']}; train_files.txt lists "
            f"{len(SUN_LINES)} images (then a newline and a blank line) and train_labels.txt "
            f"{len(SUN_LIST_LABELS)} labels: blank lines are not entries"
        )
    n = number(out, "n_paths", "the number of paths")
    if n != len(SUN_LINES):
        raise Fail(
            f"train_files.txt lists {len(SUN_LINES)} images (then a newline and a blank line); "
            f"read_sun_split returned {n:.0f} paths: skip blank lines"
        )
    paths = out.get("paths")
    paths = [paths] if isinstance(paths, str) else list(paths or [])
    if paths != SUN_LINES:
        raise Fail(
            f"read_sun_split's paths should be root / each line of train_files.txt, in order: "
            f"expected {SUN_LINES} under root, got {paths}"
        )
    labels = array(out, "labels", "read_sun_split's labels", shape=(len(SUN_LINES),))
    if labels.dtype.kind not in "iu":
        raise Fail(f"read_sun_split's labels should be integers, got {out['labels_dtype']}")
    if labels.tolist() != SUN_LIST_LABELS:
        raise Fail(
            f"read_sun_split's labels: expected {SUN_LIST_LABELS} (train_labels.txt, in order), "
            f"got {labels.tolist()}"
        )
    raised = out.get("mismatch_raised", "")
    if raised != "ValueError":
        got = f"raised {raised}" if raised else "raised nothing"
        raise Fail(
            f"test_files.txt lists {len(SUN_LINES)} images but test_labels.txt has 3 labels: "
            f"read_sun_split should raise ValueError, it {got}"
        )


def _sun_labels(inputs, out):
    return sun_labels(inputs["root"], "test")


# ---------------------------------------------------------------- Q6.2 judges
IMAGENET_MEAN = (0.485, 0.456, 0.406)


def flowers_transforms_inputs():
    rng = _seeded(64)
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
    if np.abs(flat).max() >= 0.03:
        raise Fail(
            "an image of ImageNet's mean colour should become ~0 everywhere: normalise with "
            f"mean {IMAGENET_MEAN} and std (0.229, 0.224, 0.225) after ToTensor (max |x| was "
            f"{np.abs(flat).max():.2f})"
        )
    if not np.array_equal(one, two):
        raise Fail("flowers_transforms(False) must be deterministic: no random augmentation")
    if all(np.array_equal(trained[0], other) for other in trained[1:]):
        raise Fail(
            "flowers_transforms(True) gave the same tensor 4 times: augment the training images "
            "at random (e.g. RandomResizedCrop, RandomHorizontalFlip)"
        )


def finetune_model_inputs():
    rng = _seeded(65)
    return {
        "x": rng.random((4, 3, 64, 64)).astype(np.float32),
        "labels": rng.integers(0, 17, size=4),
    }


def judge_finetune_model(inputs, out):
    shape = array(out, "new_shape", "classifier[1]", kind="iu").tolist()
    if not number(out, "new_is_conv", "classifier[1] is a Conv2d") or shape[:2] != [512, 17]:
        raise Fail(
            "classifier[1] should be a new nn.Conv2d(512, 17, kernel_size=1) (SqueezeNet's "
            f"classifier is a 1x1 convolution); got in/out channels {shape[:2]}"
        )
    if shape[2:] != [1, 1]:
        raise Fail(f"classifier[1] should have kernel_size=1, got {tuple(shape[2:])}")
    if number(out, "n5_out", "finetune_squeezenet(None, 5).classifier[1]") != 5:
        raise Fail("finetune_squeezenet(weights, n_classes) should output n_classes classes")
    logits = array(out, "logits_shape", "the logits' shape", kind="iu").tolist()
    if logits != [4, 17]:
        raise Fail(f"the model maps x (4, 3, 64, 64) to logits of shape {logits}, not (4, 17)")
    still = out.get("still_trainable") or []
    still = [still] if isinstance(still, str) else list(still)
    if still:
        raise Fail(
            f"freeze the pretrained parameters (requires_grad = False); still trainable: "
            f"{still[:4]}{' ...' if len(still) > 4 else ''}"
        )
    if not number(out, "new_trainable", "classifier[1] trains"):
        raise Fail("the new classifier[1] must stay trainable: replace it after freezing the rest")
    given, given_new = number(out, "n_given", "tensors"), number(out, "n_given_new", "tensors")
    if (given, given_new) != (2, 2):
        raise Fail(
            "finetune_optimizer should hold exactly classifier[1]'s weight and bias; it holds "
            f"{given:.0f} tensors, {given_new:.0f} of them the classifier's"
        )
    changed = out.get("changed_frozen") or []
    changed = [changed] if isinstance(changed, str) else list(changed)
    if changed:
        raise Fail(f"an optimiser step changed frozen parameters: {changed[:4]}")
    if not number(out, "new_changed", "classifier[1] changed"):
        raise Fail("an optimiser step left classifier[1] unchanged")


def flowers_training_inputs(kind, epochs, min_acc):
    return training_inputs(
        epochs, min_acc, kind=kind, root=lambda: str(flowers_root()),
        torch_home=lambda: str(torch_home()),
    )  # fmt: skip


def _flowers_labels(inputs, out):
    """The test split's labels, from the class folders of the files the task returns (checked
    against the folder's own listing)."""
    test = Path(inputs["root"]) / "test"
    files = out.get("files") or []
    files = [files] if isinstance(files, str) else list(files)
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
        raise Fail(
            f"training from scratch did not lower the loss: {losses[0]:.4f} after the first "
            f"epoch, {losses[-1]:.4f} after the last"
        )
    judge_accuracy(
        _flowers_labels, "train_flowers('scratch')", SCRATCH_BAR.split, SCRATCH_BAR.chance
    )(inputs, out)


# ================================================================ the checks
_FC = ("q6_train", "run_q6_1_1")
_LOOP = ("q6_train",)
_NIST_HINT = "check the network and the loop: Q3's network gets about 75%"
_CNN_HINT = "well above the fully connected network's ~75%; check that the images are upright"

CHECKS = [
    # ------------------------------------------------------------ Q6.1.1 (5 points)
    Check("6.1.1", "make_fc_network maps rows of 1024 pixels to 36 logits (no softmax)", 0.5,
          fc_network_task, judge_fc_logits, fc_network_inputs, budget=120,
          modules=("run_q6_1_1",)),
    Check("6.1.1", "make_fc_network is Q3's network: Linear(1024, 64), sigmoid, Linear(64, 36)",
          0.5, fc_network_task, judge_fc_architecture, fc_network_inputs, budget=120,
          modules=("run_q6_1_1",)),
    Check("6.1.1", "train_epoch returns the epoch's mean loss per sample and its accuracy", 0.5,
          train_epoch_task, judge_train_epoch_numbers, loop_inputs(10, 4, 0.0, 611),
          budget=120, modules=_LOOP),
    Check("6.1.1", "train_epoch takes one SGD step per batch on its mean loss, in training mode",
          1, train_epoch_task, judge_train_epoch_steps, loop_inputs(12, 4, 0.5, 612),
          budget=120, modules=_LOOP),
    Check("6.1.1", "evaluate: mean loss and accuracy over all samples, in eval mode, no gradients",
          0.5, evaluate_task, judge_evaluate, loop_inputs(11, 4, 0.0, 613), budget=120,
          modules=_LOOP),
    Check("6.1.1", f"train_fc reaches {FC_MIN_VALID_ACC:.0%} validation accuracy on NIST36 "
          f"({FC_EPOCHS} epochs)", 1.5,
          fc_training_task,
          judge_accuracy(_nist_labels, "train_fc (Adam, lr 1e-3, batches of 32)",
                         "NIST36 validation split", _NIST_HINT),
          training_inputs(FC_EPOCHS, FC_MIN_VALID_ACC), budget=900, modules=_FC,
          figures=curves("q6_1_1", "Q6.1.1 fully connected network, NIST36")),
    Check("6.1.1", "the training history is plausible and agrees with the trained network", 0.5,
          fc_training_task, judge_history(_nist_labels, "NIST36 validation split"),
          training_inputs(FC_EPOCHS, FC_MIN_VALID_ACC), budget=900, modules=_FC),
    # ------------------------------------------------------------ Q6.1.2 (5 points)
    Check("6.1.2", "nist36_images turns rows into upright 1x32x32 images", 1,
          nist36_images_task, judge_nist36_images, nist36_images_inputs, budget=120,
          modules=("run_q6_1_2",), private=("upright",)),
    Check("6.1.2", "make_nist_cnn maps 1x32x32 images to 36 logits with convolutions", 1,
          nist_cnn_task, judge_cnn("make_nist_cnn", 4, 36, (2, 10)),
          image_batch_inputs((1, 32, 32)), budget=120, modules=("run_q6_1_2",)),
    Check("6.1.2", f"train_cnn reaches {CNN_MIN_VALID_ACC:.0%} validation accuracy on NIST36 "
          f"({CNN_EPOCHS} epochs)", 2,
          cnn_training_task,
          judge_accuracy(_nist_labels, "train_cnn", "NIST36 validation split", _CNN_HINT),
          training_inputs(CNN_EPOCHS, CNN_MIN_VALID_ACC), budget=1200,
          modules=("q6_train", "run_q6_1_2"), figures=curves("q6_1_2", "Q6.1.2 CNN, NIST36")),
    Check("6.1.2", "the training history is plausible and agrees with the trained network", 1,
          cnn_training_task, judge_history(_nist_labels, "NIST36 validation split"),
          training_inputs(CNN_EPOCHS, CNN_MIN_VALID_ACC), budget=1200,
          modules=("q6_train", "run_q6_1_2")),
    # ------------------------------------------------------------ Q6.1.3 (5 points)
    Check("6.1.3", "make_cifar_cnn maps 3x32x32 images to 10 logits with convolutions", 1,
          cifar_cnn_task, judge_cnn("make_cifar_cnn", 4, 10, (2, 4)),
          image_batch_inputs((3, 32, 32)), budget=120, modules=("run_q6_1_3",),
          available=cifar10_available),
    Check("6.1.3", f"train_cifar reaches {CIFAR_MIN_TEST_ACC:.0%} test accuracy on CIFAR-10 "
          f"({CIFAR_EPOCHS} epochs)", 3,
          cifar_training_task,
          judge_accuracy(_cifar_labels, "train_cifar", CIFAR_BAR.split, CIFAR_BAR.chance),
          training_inputs(CIFAR_EPOCHS, CIFAR_MIN_TEST_ACC, root=lambda: str(cifar10_root())),
          budget=2400, modules=("q6_train", "run_q6_1_3"), available=cifar10_available,
          figures=curves("q6_1_3", "Q6.1.3 CNN, CIFAR-10 (validation = test split)")),
    Check("6.1.3", "the training history is plausible and agrees with the trained network", 1,
          cifar_training_task, judge_history(_cifar_labels, "CIFAR-10 test split"),
          training_inputs(CIFAR_EPOCHS, CIFAR_MIN_TEST_ACC, root=lambda: str(cifar10_root())),
          budget=2400, modules=("q6_train", "run_q6_1_3"), available=cifar10_available),
    # ------------------------------------------------------------ Q6.1.4 (10 points)
    Check("6.1.4", "read_sun_split reads the list files (skipping blank lines)", 2,
          read_sun_split_task, judge_read_sun_split, read_sun_split_inputs, budget=120,
          modules=("run_q6_1_4",), available=sun_available),
    Check("6.1.4", "make_scene_cnn maps 3x64x64 images to 8 logits with convolutions", 1,
          scene_cnn_task, judge_cnn("make_scene_cnn", 4, 8, (2, 5)),
          image_batch_inputs((3, 64, 64)), budget=120, modules=("run_q6_1_4",),
          available=sun_available),
    Check("6.1.4", f"train_scenes reaches {SUN_MIN_TEST_ACC:.0%} test accuracy on the scenes "
          f"({SUN_EPOCHS} epochs)", 5,
          scenes_training_task,
          judge_accuracy(_sun_labels, "train_scenes", SUN_BAR.split, SUN_BAR.chance),
          training_inputs(SUN_EPOCHS, SUN_MIN_TEST_ACC, root=lambda: str(sun_root())),
          budget=2400, modules=("q6_train", "run_q6_1_4"), available=sun_available,
          figures=curves("q6_1_4", "Q6.1.4 CNN, SUN scenes (validation = test split)")),
    Check("6.1.4", "the training history is plausible and agrees with the trained network", 2,
          scenes_training_task, judge_history(_sun_labels, "SUN test split"),
          training_inputs(SUN_EPOCHS, SUN_MIN_TEST_ACC, root=lambda: str(sun_root())),
          budget=2400, modules=("q6_train", "run_q6_1_4"), available=sun_available),
    # ------------------------------------------------------------ Q6.2 (5 points)
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
    Check("6.2", f"fine-tuned SqueezeNet reaches {FINETUNE_MIN_TEST_ACC:.0%} test accuracy on "
          f"Flowers-17 ({FINETUNE_EPOCHS} epochs)", 1.5,
          flowers_training_task,
          judge_accuracy(_flowers_labels, "train_flowers('finetune')", FINETUNE_BAR.split,
                         "ImageNet features, a new classifier, ImageNet normalisation"),
          flowers_training_inputs("finetune", FINETUNE_EPOCHS, FINETUNE_MIN_TEST_ACC),
          budget=2400, modules=("q6_train", "run_q6_2"), available=flowers_available,
          figures=curves("q6_2_finetune", "Q6.2 fine-tuned SqueezeNet 1.1, Flowers-17")),
    Check("6.2", "the fine-tuning history agrees with the trained network's test accuracy", 0.25,
          flowers_training_task,
          judge_history(_flowers_labels, "Flowers-17 test split", measured="test_acc"),
          flowers_training_inputs("finetune", FINETUNE_EPOCHS, FINETUNE_MIN_TEST_ACC),
          budget=2400, modules=("q6_train", "run_q6_2"), available=flowers_available),
    Check("6.2", f"the CNN trained from scratch lowers its loss and reaches "
          f"{SCRATCH_MIN_TEST_ACC:.0%} test accuracy ({SCRATCH_EPOCHS} epochs)", 0.5,
          flowers_training_task, judge_scratch_learns,
          flowers_training_inputs("scratch", SCRATCH_EPOCHS, SCRATCH_MIN_TEST_ACC),
          budget=2400, modules=("q6_train", "run_q6_2"), available=flowers_available,
          figures=curves("q6_2_scratch", "Q6.2 CNN trained from scratch, Flowers-17")),
    Check("6.2", "the scratch history agrees with the trained network's test accuracy", 0.25,
          flowers_training_task,
          judge_history(_flowers_labels, "Flowers-17 test split", measured="test_acc"),
          flowers_training_inputs("scratch", SCRATCH_EPOCHS, SCRATCH_MIN_TEST_ACC),
          budget=2400, modules=("q6_train", "run_q6_2"), available=flowers_available),
]  # fmt: skip
