"""The grader's oracle in the student release: its public face.

The instructors' oracle computes the expected value of every check. This release holds,
instead of the computations that would give answers away, the values they returned on the
public checks' fixed inputs when the release was built (``grader/public_expected.npz``, read
by :mod:`grader.recorded`). On any other input a check is judged only by the hidden checks of
your final grade: the call raises :class:`grader.check.Hidden`.
"""

import numpy as np

from grader.recorded import lookup


def _recorded(name):
    def call(*args, **kwargs):
        return lookup(name, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__module__ = __name__
    call.__fingerprint__ = f"grader.oracle.{name}"
    call.__doc__ = f"``{name}`` as recorded when the release was built (see the module)."
    return call


sigmoid = _recorded("sigmoid")
softmax = _recorded("softmax")
cross_entropy_sum = _recorded("cross_entropy_sum")
accuracy = _recorded("accuracy")
xavier_bound = _recorded("xavier_bound")
mlp_logits = _recorded("mlp_logits")
mlp_loss = _recorded("mlp_loss")
mlp_gradients = _recorded("mlp_gradients")
central_differences = _recorded("central_differences")
mean_cross_entropy = _recorded("mean_cross_entropy")
autoencoder_forward = _recorded("autoencoder_forward")
squared_error_sum = _recorded("squared_error_sum")
psnr = _recorded("psnr")

# (activation, derivative as a function of the activation's output), by name; the handout's
# util.py gives the derivatives
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a: 1.0 - a**2),
    "linear": (lambda z: z, np.ones_like),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(float)),
}


def relative_error(a, b, floor=1e-3):
    """``||a - b|| / max(||a||, ||b||, floor)``: the floor keeps near-zero gradients
    (dead ReLUs, saturated sigmoids) from turning rounding noise into a large ratio."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), floor))


# The Q5 autoencoder: (layer name, activation name), input to output.
AUTOENCODER_LAYERS = (
    ("layer1", "relu"),
    ("layer2", "relu"),
    ("layer3", "relu"),
    ("output", "sigmoid"),
)
