"""The small networks of the Q2 checks, task side: parameters handed over in the submission's
bias convention, and the activations its ``forward`` and ``backwards`` are called with.

Conventions the Q2 checks accept, as the handout states them or leaves them open:

* the loss is the cross-entropy *summed* over the batch, so every gradient is a sum too;
* layer ``name`` keeps ``params['W' + name]`` ``(in, out)``, ``params['b' + name]`` ``(out,)``
  (a ``(1, out)`` bias used consistently is accepted: the tasks probe the convention with the
  submission's ``initialize_weights`` (:func:`grader.checks.common.row_bias`) and hand biases
  over in it), the forward cache ``params['cache_' + name] = (X, pre_act, post_act)`` and
  ``params['grad_W' + name]``, ``params['grad_b' + name]``;
* randomness from the legacy ``np.random`` functions or a ``default_rng()``; the batch
  splitter may drop the leftover partial batch.

Every expected value is computed in the grader's process with :mod:`grader.oracle`, imported
by the judges and ``inputs()`` functions when they run, never here: the tasks run in the
submission's process, which holds no answer. The activations below are the handout's given
ones (``util.py``; ``sigmoid_deriv`` in ``nn.py``); the sigmoid, an answer (Q2.2.1), is never
computed here: :func:`replay` hands back the grader's values instead.
"""

from __future__ import annotations

import numpy as np

# The activations the handout gives (util.py), by name; the sigmoid has none here (replay).
GIVEN_ACTIVATIONS = {
    "tanh": np.tanh,
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
}
# Their derivatives as functions of the activation's output (util.py, nn.sigmoid_deriv).
DERIVATIVES = {
    "sigmoid": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a**2,
    "linear": np.ones_like,
    "relu": lambda a: (a > 0).astype(float),
}


def in_convention(params: dict, row_bias: bool) -> dict:
    """Copies of ``params`` with biases reshaped to ``(1, out)`` when ``row_bias``."""
    return {
        k: (np.array(v).reshape(1, -1) if row_bias and k.startswith("b") else np.array(v))
        for k, v in params.items()
    }


def replay(pre: np.ndarray, post: np.ndarray, fallback):
    """An activation for the submission's ``forward``: the grader's ``post`` (computed in the
    grader's process) for the grader's ``pre``, ``fallback(z)`` for any other ``z``."""

    def activation(z):
        z_array = np.asarray(z)
        if z_array.shape == post.shape and np.allclose(z_array, pre, rtol=1e-12, atol=1e-12):
            return post.copy()
        return fallback(z)

    return activation
