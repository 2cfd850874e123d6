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
