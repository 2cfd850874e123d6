"""Shared hypothesis strategies (float64 throughout)."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

seeds = st.integers(min_value=0, max_value=2**32 - 1)
sizes = st.integers(min_value=1, max_value=6)
layer_names = st.sampled_from(["", "layer1", "output", "hidden2", "x"])


def finite(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def matrices(rows=sizes, cols=sizes, low=-10.0, high=10.0):
    """float64 arrays of shape (rows, cols) with elements in [low, high]."""
    shapes = st.tuples(rows, cols)
    return shapes.flatmap(lambda s: hnp.arrays(np.float64, s, elements=finite(low, high)))


def vectors(size=sizes, low=-10.0, high=10.0):
    return size.flatmap(lambda n: hnp.arrays(np.float64, (n,), elements=finite(low, high)))


def one_hot(labels, n_classes):
    y = np.zeros((len(labels), n_classes))
    y[np.arange(len(labels)), labels] = 1.0
    return y


@st.composite
def classification_batches(draw, max_rows=8, max_classes=6):
    """(y one-hot (N, C), probs (N, C)) with probs a softmax of random logits."""
    n = draw(st.integers(1, max_rows))
    c = draw(st.integers(2, max_classes))
    rng = np.random.default_rng(draw(seeds))
    logits = rng.normal(scale=draw(finite(0.1, 5.0)), size=(n, c))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    return one_hot(rng.integers(0, c, size=n), c), probs


@st.composite
def networks(draw, activations=("sigmoid", "tanh", "linear", "relu"), max_hidden=2):
    """A small random network and batch: a dict with X, y, params and the hidden layers.

    Values come from a seeded numpy generator (well conditioned for finite differences);
    hypothesis varies the structure, the activations and the seed.
    """
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.integers(1, 5))
    widths = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, max_hidden)) + 1)]
    n_classes = draw(st.integers(2, 4))
    layers = [(f"layer{i + 1}", draw(st.sampled_from(activations))) for i in range(len(widths) - 1)]
    params = {}
    dims = widths + [n_classes]
    for (name, _), d_in, d_out in zip(layers + [("output", None)], dims[:-1], dims[1:]):
        params["W" + name] = rng.normal(scale=0.8, size=(d_in, d_out))
        params["b" + name] = rng.normal(scale=0.5, size=d_out)
    X = rng.normal(size=(n, widths[0]))
    y = one_hot(rng.integers(0, n_classes, size=n), n_classes)
    return {"X": X, "y": y, "params": params, "layers": layers}


# ----------------------------------------------------------------------------- Q6 (PyTorch)
# torch is optional: it is imported inside these helpers, never when this module loads.
def torch_batches(shape, n_classes, n_batches=2, batch_size=16, seed=0):
    """``n_batches`` batches ``(x, labels)`` of random float32 inputs of ``shape`` (per sample)
    in [0, 1] with random int64 labels in [0, n_classes)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.rand((batch_size, *shape), generator=generator),
            torch.randint(0, n_classes, (batch_size,), generator=generator),
        )
        for _ in range(n_batches)
    ]


def fake_image_batches(image_size, n_classes, size=32, batch_size=16, transform=None):
    """Batches of ``torchvision.datasets.FakeData`` (PIL images through ``transform``,
    default ``ToTensor``), materialised as a list of ``(x, labels)``."""
    import torch
    from torchvision import datasets, transforms

    data = datasets.FakeData(
        size, image_size, n_classes, transform=transform or transforms.ToTensor()
    )
    return list(torch.utils.data.DataLoader(data, batch_size=batch_size))


def memorise(model, batches, max_rounds=150, lr=1e-3, target=0.1, check_every=5):
    """Train ``model`` with Adam on ``batches`` (one round = one step per batch) until its
    evaluation-mode mean cross-entropy over them is below ``target``, for at most
    ``max_rounds`` rounds; return ``(loss, accuracy, rounds)``."""
    import torch
    from torch.nn import functional as F

    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)

    def measure():
        model.eval()
        with torch.no_grad():
            outputs = [(model(x), labels) for x, labels in batches]
        n = sum(len(labels) for _, labels in outputs)
        loss = sum(F.cross_entropy(z, y, reduction="sum").item() for z, y in outputs) / n
        acc = sum((z.argmax(1) == y).sum().item() for z, y in outputs) / n
        return loss, acc

    for rounds in range(1, max_rounds + 1):
        model.train()
        for x, labels in batches:
            optimizer.zero_grad()
            F.cross_entropy(model(x), labels).backward()
            optimizer.step()
        if rounds % check_every == 0 or rounds == max_rounds:
            loss, acc = measure()
            if loss < target:
                break
    return loss, acc, rounds


def pytorch_or_skip():
    """``torch``, for the top of a Q6 test module: the module is skipped where PyTorch or
    torchvision is not installed (Q1-Q5 need neither). Its tests run torch on one thread with
    ``pytest.mark.usefixtures("one_torch_thread")`` (``conftest.py``)."""
    import importlib.util

    import pytest

    from grader.questions import NEEDS_PYTORCH

    # torchvision is looked for, not imported (a second or two per process): the tests and
    # modules that use it import it
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip(NEEDS_PYTORCH, allow_module_level=True)
    return pytest.importorskip("torch", reason=NEEDS_PYTORCH)
