"""Activation functions and their derivatives (the handout's ``util.py``, given complete).

Every ``*_deriv`` takes the layer's *post-activation* output, as ``backwards`` passes it.
Works on NumPy 1 and 2 (the handout's ``relu_deriv`` used ``np.float``, removed in NumPy 2).
"""

import numpy as np

__all__ = ["linear", "linear_deriv", "tanh", "tanh_deriv", "relu", "relu_deriv"]


def linear(x):
    """Identity activation: a "no activation" layer."""
    return x


def linear_deriv(post_act):
    """Derivative of ``linear``: ones shaped like ``post_act``."""
    return np.ones_like(post_act)


def tanh(x):
    """Hyperbolic tangent activation."""
    return np.tanh(x)


def tanh_deriv(post_act):
    """Derivative of ``tanh`` from its output: ``1 - tanh(x)**2``."""
    return 1.0 - post_act**2


def relu(x):
    """Rectified linear unit: ``max(x, 0)``."""
    return np.maximum(x, 0)


def relu_deriv(post_act):
    """Derivative of ``relu`` from its output: 1 where the unit is active, else 0."""
    return (post_act > 0).astype(np.float64)
