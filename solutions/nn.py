"""Q2: a fully connected network in numpy (the handout's ``nn.py``).

Conventions shared by every function here:

* data is ``(N, D)``: one example per row, and a layer computes ``X @ W + b``;
* the parameters of layer ``name`` live in one dict: ``params['W' + name]`` ``(in, out)``,
  ``params['b' + name]`` ``(out,)``, the forward cache ``params['cache_' + name] =
  (X, pre_act, post_act)`` and the gradients ``params['grad_W' + name]``,
  ``params['grad_b' + name]``, shaped like the parameters;
* the loss is the cross-entropy *summed* over the batch, so gradients are sums too.
"""

import numpy as np
from scipy.special import expit

from .util import *


# ----------------------------------------------------------------------------- Q2.1.2
def initialize_weights(in_size, out_size, params, name=""):
    """Q2.1.2: Xavier-initialise one layer, in place.

    ``W`` is drawn from the uniform distribution on ``[-a, a]`` with
    ``a = sqrt(6 / (in_size + out_size))``, so that ``Var(W) = 2 / (in_size + out_size)``;
    ``b`` is zero. Each call draws fresh weights.

    Parameters
    ----------
    in_size, out_size : int
        Number of inputs and outputs of the layer.
    params : dict
        Receives ``params['W' + name]`` of shape ``(in_size, out_size)`` and
        ``params['b' + name]`` of shape ``(out_size,)``.
    name : str
        The layer's name, appended to the keys.
    """
    bound = np.sqrt(6.0 / (in_size + out_size))
    params["W" + name] = np.random.uniform(-bound, bound, size=(in_size, out_size))
    params["b" + name] = np.zeros(out_size)


# ----------------------------------------------------------------------------- Q2.2.1
def sigmoid(x):
    """Q2.2.1: the logistic sigmoid ``1 / (1 + exp(-x))``, elementwise.

    Must stay finite, without overflow, for inputs as large as ``|x| = 1000``.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    ndarray, same shape as ``x``, values in ``[0, 1]``
    """
    return expit(x)


def forward(X, params, name="", activation=sigmoid):
    """Q2.2.1: the forward pass of one layer, ``activation(X @ W + b)``.

    Stores ``params['cache_' + name] = (X, pre_act, post_act)`` for ``backwards``.

    Parameters
    ----------
    X : ndarray, shape (N, in)
        One example per row.
    params : dict
        Holds ``'W' + name`` ``(in, out)`` and ``'b' + name`` ``(out,)``.
    name : str
        The layer's name.
    activation : callable
        Applied elementwise to the pre-activation (default: ``sigmoid``).

    Returns
    -------
    post_act : ndarray, shape (N, out)
    """
    W = params["W" + name]
    b = params["b" + name]
    pre_act = X @ W + b
    post_act = activation(pre_act)
    params["cache_" + name] = (X, pre_act, post_act)
    return post_act


# ----------------------------------------------------------------------------- Q2.2.2
def softmax(x):
    """Q2.2.2: the softmax of each row, computed stably.

    Subtracting each row's maximum first (Q1.1: softmax is invariant to a shift) keeps
    ``exp`` from overflowing for large logits. ``x`` is not modified.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Logits, one example per row.

    Returns
    -------
    probs : ndarray, shape (N, C)
        Non-negative, each row sums to 1.
    """
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------- Q2.2.3
def compute_loss_and_acc(y, probs):
    """Q2.2.3: the cross-entropy loss summed over the batch, and the accuracy.

    Parameters
    ----------
    y : ndarray, shape (N, C)
        One-hot labels.
    probs : ndarray, shape (N, C)
        Predicted class probabilities, one row per example.

    Returns
    -------
    loss : float
        ``-sum_i log(probs[i, label_i])`` (a sum, not a mean).
    acc : float
        Fraction of rows whose most probable class is the label, in ``[0, 1]``.
    """
    labels = np.argmax(y, axis=1)
    rows = np.arange(len(labels))
    loss = -np.sum(np.log(probs[rows, labels]))
    acc = np.mean(np.argmax(probs, axis=1) == labels)
    return float(loss), float(acc)


# ----------------------------------------------------------------------------- Q2.3
def sigmoid_deriv(post_act):
    """Derivative of the sigmoid from its output: ``s * (1 - s)`` (given; Q1.4)."""
    return post_act * (1.0 - post_act)


def backwards(delta, params, name="", activation_deriv=sigmoid_deriv):
    """Q2.3: the backward pass of one layer.

    Uses the cache written by ``forward``. Stores ``params['grad_W' + name]`` and
    ``params['grad_b' + name]``, shaped like ``W`` and ``b`` and summed over the batch.
    ``delta`` is not modified.

    Parameters
    ----------
    delta : ndarray, shape (N, out)
        Gradient of the loss with respect to this layer's output ``post_act``.
    params : dict
        Holds ``'W' + name``, ``'b' + name`` and ``'cache_' + name``.
    name : str
        The layer's name.
    activation_deriv : callable
        Derivative of the layer's activation, as a function of ``post_act``.

    Returns
    -------
    grad_X : ndarray, shape (N, in)
        Gradient of the loss with respect to the layer's input ``X``.
    """
    W = params["W" + name]
    b = params["b" + name]
    X, _pre_act, post_act = params["cache_" + name]
    delta_pre = delta * activation_deriv(post_act)
    params["grad_W" + name] = X.T @ delta_pre
    params["grad_b" + name] = delta_pre.sum(axis=0).reshape(b.shape)
    return delta_pre @ W.T


# ----------------------------------------------------------------------------- Q2.4
def get_random_batches(x, y, batch_size):
    """Q2.4: split ``(x, y)`` into random mini-batches of ``batch_size`` rows.

    Every sample appears once, in a fresh random order each call; rows of ``x`` and ``y``
    stay paired. When ``N`` is not a multiple of ``batch_size``, the leftover samples form
    one smaller last batch.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    y : ndarray, shape (N, C)
    batch_size : int

    Returns
    -------
    batches : list of (ndarray (B, D), ndarray (B, C)) tuples
    """
    order = np.random.permutation(len(x))
    return [
        (x[idx], y[idx])
        for idx in (order[start : start + batch_size] for start in range(0, len(x), batch_size))
    ]
