"""Independent reference computations the tests and the grader judge against.

Written plainly and separately from ``solutions/`` (the student release has no solutions),
so a check never depends on the reference's implementation details.
"""

import numpy as np


def sigmoid(x):
    """Logistic sigmoid, stable for any magnitude (via ``logaddexp``)."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))


def softmax(x):
    """Row-wise softmax, shifted by each row's max."""
    z = np.asarray(x, dtype=float)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy_sum(y, probs):
    """Cross-entropy summed over the batch, for one-hot ``y``."""
    return float(-np.sum(np.log(probs[np.arange(len(y)), np.argmax(y, axis=1)])))


def accuracy(y, probs):
    return float(np.mean(np.argmax(y, axis=1) == np.argmax(probs, axis=1)))


def xavier_bound(n_in, n_out):
    """Xavier's uniform bound ``a`` for a ``(n_in, n_out)`` weight matrix (Q2.1.2, Q5.1.1)."""
    return float(np.sqrt(6.0 / (n_in + n_out)))


# (activation, derivative as a function of the activation's output), by name
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a: 1.0 - a**2),
    "linear": (lambda z: z, np.ones_like),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(float)),
}


def mlp_logits(X, params, layers):
    """Logits of a fully connected network.

    ``layers`` is a list of ``(name, activation_name)`` for the hidden layers; the output
    layer is ``'output'`` with no activation. Returns ``(logits, pre_activations)``.
    """
    h, pres = X, []
    for name, act in layers:
        z = h @ params["W" + name] + params["b" + name]
        pres.append(z)
        h = ACTIVATIONS[act][0](z)
    return h @ params["Woutput"] + params["boutput"], pres


def mlp_gradients(X, y, params, layers):
    """Backprop of ``mlp_loss``: ``{"W<name>": ..., "b<name>": ...}`` for every layer."""
    logits, pres = mlp_logits(X, params, layers)
    posts = [X] + [ACTIVATIONS[act][0](z) for z, (_, act) in zip(pres, layers)]
    d = softmax(logits) - y
    grads = {"Woutput": posts[-1].T @ d, "boutput": d.sum(0)}
    d = d @ params["Woutput"].T
    for i in reversed(range(len(layers))):
        name, act = layers[i]
        d = d * ACTIVATIONS[act][1](posts[i + 1])
        grads["W" + name], grads["b" + name] = posts[i].T @ d, d.sum(0)
        d = d @ params["W" + name].T
    return grads


def mlp_loss(X, y, params, layers):
    """Summed cross-entropy of the softmax of ``mlp_logits``."""
    return cross_entropy_sum(y, softmax(mlp_logits(X, params, layers)[0]))


def central_differences(f, array, eps=1e-5):
    """Gradient of the scalar ``f()`` with respect to ``array``, perturbed in place."""
    grad = np.zeros(array.shape)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + eps
        plus = f()
        array[idx] = old - eps
        minus = f()
        array[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a, b, floor=1e-3):
    """``||a - b|| / max(||a||, ||b||, floor)``: the floor keeps near-zero gradients
    (dead ReLUs, saturated sigmoids) from turning rounding noise into a large ratio."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), floor))


# ----------------------------------------------------------------------------- Q3, Q5
def mean_cross_entropy(y, probs):
    """Cross-entropy averaged over the rows (Q3's curves)."""
    return cross_entropy_sum(y, probs) / len(y)


# The Q5 autoencoder: (layer name, activation name), input to output.
AUTOENCODER_LAYERS = (
    ("layer1", "relu"),
    ("layer2", "relu"),
    ("layer3", "relu"),
    ("output", "sigmoid"),
)


def autoencoder_forward(x, params, layers=AUTOENCODER_LAYERS):
    """The autoencoder's reconstruction of ``x`` and the pre-activation of every layer."""
    h, pres = np.asarray(x, dtype=float), []
    for name, act in layers:
        z = h @ params["W" + name] + params["b" + name]
        pres.append(z)
        h = ACTIVATIONS[act][0](z)
    return h, pres


def squared_error_sum(x, params, layers=AUTOENCODER_LAYERS):
    """Total squared error of the reconstruction, over the batch and the pixels."""
    return float(np.sum((autoencoder_forward(x, params, layers)[0] - x) ** 2))


def psnr(images, reconstructions, max_value=1.0):
    """PSNR of each row, ``10 log10(max_value**2 / MSE)`` with the MSE over the row (dB)."""
    mse = np.mean((np.asarray(images, float) - np.asarray(reconstructions, float)) ** 2, axis=1)
    return 10.0 * np.log10(max_value**2 / mse)
