"""Task-side helpers of the Q6 checks: they run in the submission's process.

torch is imported when a task runs (``torch_cpu``), never at import: the grader without
PyTorch imports every check module and says Q6 is not gradable here. A trained network's
checks (its accuracy, its history) share one training run per process (``trained_once``).
"""

from __future__ import annotations

import functools
import os
import sys

import numpy as np

#: The per-epoch lists of ``fit``'s history that the tasks return and the judges read.
HISTORY_KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")


def torch_cpu():
    """torch for a task: on the CPU (no CUDA under the address-space cap), one thread."""
    if "torch" not in sys.modules:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch

    torch.set_num_threads(1)
    return torch


def as_numpy(value, what: str) -> np.ndarray:
    """A tensor's values as a numpy array; other returns are refused with ``what``."""
    torch = torch_cpu()
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} returned {type(value).__name__}; expected a torch.Tensor")
    return value.detach().cpu().numpy()


def predict(model, x, what: str, batch_size: int = 256) -> np.ndarray:
    """``model``'s logits over ``x`` (a tensor, or a dataset of ``(image, label)``) in
    evaluation mode, as float32 (N, C)."""
    torch = torch_cpu()
    model.eval()
    if isinstance(x, torch.Tensor):
        batches = (x[i : i + batch_size] for i in range(0, len(x), batch_size))
    else:
        loader = torch.utils.data.DataLoader(x, batch_size=batch_size, shuffle=False)
        batches = (images for images, _ in loader)
    with torch.no_grad():
        logits = [as_numpy(model(batch), what).astype(np.float32) for batch in batches]
    return np.concatenate(logits) if logits else np.zeros((0, 0), np.float32)


def trained_pair(result, what: str):
    """``(model, history)`` as a ``train_*`` function returns it; else a TypeError."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(f"{what} should return (model, history), got {type(result).__name__}")
    return result


def history_arrays(history) -> dict:
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


RUNS: dict = {}


def trained_once(key, train):
    """``train()``'s result, computed once per process for ``key``: a network's checks (its
    accuracy, its history) share one training run. Its exception, too, is raised again."""
    if key not in RUNS:
        try:
            RUNS[key] = (True, train())
        except Exception as exc:
            RUNS[key] = (False, exc)
    ok, value = RUNS[key]
    if not ok:
        raise value
    return dict(value)


def training_run(key, what: str, train, test) -> dict:
    """A trained network's history (``history_<key>`` arrays) and its logits on ``test()``
    (a tensor of inputs or a dataset of ``(image, label)``), trained once per process for
    ``key``: ``train()`` returns ``(model, history)`` as the function ``what`` does."""

    def run():
        model, history = trained_pair(train(), what)
        logits = predict(model, test(), f"the network {what} trained")
        return history_arrays(history) | {"logits": logits}

    return trained_once(key, run)


def recorder(inner):
    """Wraps a model; records ``(training, grad_enabled)`` at each forward."""
    torch = torch_cpu()

    class Recorder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, []

        def forward(self, x):
            self.calls.append((self.training, torch.is_grad_enabled()))
            return self.inner(x)

    return Recorder(inner)


def modes(model) -> dict:
    """A ``recorder``'s calls: the mode and whether gradients were on, at each forward."""
    calls = np.asarray(model.calls, dtype=bool).reshape(-1, 2)
    return {"training": calls[:, 0], "grad_enabled": calls[:, 1]}


def linear(weight, bias):
    """``nn.Linear`` holding ``weight`` (C, D) and ``bias`` (C,)."""
    torch = torch_cpu()
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return layer


def batches(x, labels, size):
    """A plain list of ``(x, labels)`` tensors: the last batch smaller when ``size`` does
    not divide N."""
    torch = torch_cpu()
    x = torch.as_tensor(x, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.int64)
    return [(x[i : i + size], labels[i : i + size]) for i in range(0, len(x), size)]


def loss_acc(result) -> dict:
    """``(loss, accuracy)`` as numbers; ``pair`` 0 when something else came back."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        return {"pair": 0, "returned": type(result).__name__}
    return {"pair": 1, "loss": float(result[0]), "acc": float(result[1])}


def network_summary(model, x, what: str) -> dict:
    """Logits on ``x`` in evaluation mode, the parameter count and the layers' kinds."""
    torch = torch_cpu()
    model.eval()
    with torch.no_grad():
        logits = as_numpy(model(torch.as_tensor(x, dtype=torch.float32)), what)
    modules = list(model.modules())
    return {
        "logits": logits.astype(np.float64),
        "n_params": sum(p.numel() for p in model.parameters()),
        "n_conv": sum(isinstance(m, torch.nn.Conv2d) for m in modules),
    }


def custom_shape(make, x, what: str) -> dict:
    """``custom_shape``: the shape of ``make()``'s logits on ``x`` in evaluation mode, or
    ``custom_error`` when it raised (e.g. layers of fixed sizes meeting other sizes)."""
    torch = torch_cpu()
    torch.manual_seed(0)
    try:
        model = make()
        model.eval()
        with torch.no_grad():
            logits = model(torch.as_tensor(x, dtype=torch.float32))
        return {"custom_shape": np.asarray(as_numpy(logits, what).shape)}
    except NotImplementedError:
        raise
    except Exception as exc:
        return {"custom_error": f"{type(exc).__name__}: {exc}"}


def cnn_task(sub, inputs, module: str, maker: str, n_classes: int, n_custom: int = 2) -> dict:
    """A CNN's summary on ``inputs['x']`` (``module.maker()``, seeded) and the shape of
    ``maker(n_classes)``'s logits on the first ``n_custom`` images."""
    torch = torch_cpu()
    make = getattr(sub.load(module), maker)
    torch.manual_seed(0)
    out = network_summary(make(), inputs["x"], f"{maker}()(x)")
    custom = functools.partial(make, n_classes)
    return out | custom_shape(custom, inputs["x"][:n_custom], f"{maker}({n_classes})")
