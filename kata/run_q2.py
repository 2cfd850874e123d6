"""Q2: the handout's toy experiment, the Q2.4 training loop and the Q2.5 gradient checker.

``python -m kata.run_q2`` runs the handout's experiment on its four-class toy data and
prints what the handout prints: initial statistics, loss and accuracy while training, and
the gradient check.

The toy network is ``2 -> 25 (sigmoid, layer 'layer1') -> 4 (softmax, layer 'output')``.
"""

import argparse
import sys

import numpy as np

from coursedata.scripts import run_script

from .nn import *
from .util import *

TOY_LAYERS = (("layer1", 2, 25), ("output", 25, 4))


# ----------------------------------------------------------------------------- given
def make_toy_data(n_per_class=10):
    """The handout's fake data: four 2-D Gaussian classes (given).

    Returns
    -------
    x : ndarray, shape (4 * n_per_class, 2)
    y : ndarray, shape (4 * n_per_class, 4)
        One-hot labels.
    """
    means = [[3.6, 40], [3.9, 10], [3.4, 30], [2.0, 10]]
    covs = [[[0.05, 0], [0, 10]], [[0.01, 0], [0, 5]], [[0.25, 0], [0, 5]], [[0.5, 0], [0, 10]]]
    samples = [np.random.multivariate_normal(m, c, n_per_class) for m, c in zip(means, covs)]
    x = np.vstack(samples)
    y = np.repeat(np.eye(4), n_per_class, axis=0)
    return x, y


def init_toy_network():
    """Initialise the toy network's parameters with ``initialize_weights`` (given)."""
    params = {}
    for name, n_in, n_out in TOY_LAYERS:
        initialize_weights(n_in, n_out, params, name)
    return params


def toy_network_loss(x, y, params):
    """Forward pass of the toy network (given).

    Returns
    -------
    loss : float
        Summed cross-entropy.
    acc : float
        Accuracy in ``[0, 1]``.
    probs : ndarray, shape (N, 4)
    """
    h1 = forward(x, params, "layer1", sigmoid)
    probs = forward(h1, params, "output", softmax)
    loss, acc = compute_loss_and_acc(y, probs)
    return loss, acc, probs


def toy_forward_backward(x, y, params):
    """Forward and backward pass of the toy network: stores every ``grad_*`` (given).

    The derivative of the cross-entropy of a softmax with respect to its logits is
    ``probs - y``; that is the output layer's ``delta``, backpropagated through a
    ``linear_deriv`` (a no-op) because the softmax is already accounted for.

    Returns
    -------
    loss : float
    acc : float
    """
    loss, acc, probs = toy_network_loss(x, y, params)
    delta = backwards(probs - y, params, "output", linear_deriv)
    backwards(delta, params, "layer1", sigmoid_deriv)
    return loss, acc


def gradient_check(x, y, params, eps=1e-6):
    """Compare the gradients stored in ``params`` with central differences (given).

    Call ``toy_forward_backward`` first: the ``grad_*`` entries it stores are compared
    with ``numerical_gradients`` of ``toy_network_loss``.

    Returns
    -------
    errors : dict
        ``{'grad_' + name: ||analytic - numeric|| / max(||analytic||, ||numeric||)}``;
        a correct backward pass gives errors far below ``1e-4``.
    """
    numeric = numerical_gradients(lambda p: toy_network_loss(x, y, p)[0], params, eps)
    errors = {}
    for key, num in numeric.items():
        ana = np.asarray(params[key], dtype=float).reshape(num.shape)
        scale = max(np.linalg.norm(ana), np.linalg.norm(num), np.finfo(float).tiny)
        errors[key] = float(np.linalg.norm(ana - num) / scale)
    return errors


# ----------------------------------------------------------------------------- Q2.4
def train(x, y, params, batch_size=5, learning_rate=1e-3, max_iters=500, log_every=100):
    """Q2.4: train the toy network with mini-batch SGD, updating ``params`` in place.

    Each iteration (epoch) runs over mini-batches from ``get_random_batches``; for each
    batch: forward, loss, backward (``toy_forward_backward`` does all three), then the
    update ``W <- W - learning_rate * grad_W`` for every parameter.

    Parameters
    ----------
    x : ndarray, shape (N, 2)
    y : ndarray, shape (N, 4)
        One-hot labels.
    params : dict
        The toy network's parameters (``init_toy_network``); trained in place.
    batch_size : int
    learning_rate : float
    max_iters : int
        Number of epochs.
    log_every : int or None
        Print the epoch's loss and accuracy every ``log_every`` epochs (None: silent).

    Returns
    -------
    history : list of (float, float)
        One ``(total_loss, accuracy)`` per epoch: the loss summed over the epoch's batches
        and the fraction of the epoch's samples classified correctly.
    """
    # Hint: for each epoch, for each batch of get_random_batches: toy_forward_backward,
    # then params[k] -= learning_rate * params['grad_' + k] for every parameter key k.
    raise NotImplementedError("Q2.4 train")


# ----------------------------------------------------------------------------- Q2.5
def numerical_gradients(loss_fn, params, eps=1e-6):
    """Q2.5: gradients of ``loss_fn(params)`` by central differences.

    For every entry ``w`` of every parameter (the keys of ``params`` without ``'_'``:
    ``'W' + name`` and ``'b' + name``), ``(loss(w + eps) - loss(w - eps)) / (2 eps)``.
    Entries are perturbed in place and restored to their exact old value, so
    ``loss_fn`` runs ``2 x (number of parameter entries)`` times and nothing is copied.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> float``.
    params : dict
    eps : float

    Returns
    -------
    grads : dict
        ``{'grad_' + key: ndarray shaped like params[key]}`` for every parameter key.
    """
    # Hint: for each index of each parameter: save the value, set value + eps, evaluate,
    # set value - eps, evaluate, restore the saved value (no deep copies needed).
    raise NotImplementedError("Q2.5 numerical_gradients")


# ----------------------------------------------------------------------------- script
def main(argv=None):
    """Run the handout's toy experiment and print its checkpoints."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="numpy seed (default 0)")
    parser.add_argument("--max-iters", type=int, default=500)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=5)
    return run_script(parser, argv, __name__, _experiment)


def _experiment(args):
    x, y = make_toy_data()
    params = init_toy_network()
    print("Q2.1.2 bias sum, weight variance (expect 0, 0.05 to 0.12):")
    for name, _, _ in TOY_LAYERS:
        print(f"  {name}: {params['b' + name].sum()}, {params['W' + name].std() ** 2:.2f}")
    test = sigmoid(np.array([-1000.0, 1000.0]))
    print("Q2.2.1 sigmoid(-1000), sigmoid(1000) (expect 0 and 1):", test.min(), test.max())
    loss, acc, probs = toy_network_loss(x, y, params)
    print(
        "Q2.2.2 probs min, row-sum min, row-sum max, shape (expect positive, ~1, ~1, (40, 4)):",
        probs.min(),
        probs.sum(1).min(),
        probs.sum(1).max(),
        probs.shape,
    )
    print(
        f"Q2.2.3 loss, accuracy (expect about {-np.log(0.25) * len(x):.0f} and 0.25): "
        f"{loss:.2f}, {acc:.2f}"
    )
    toy_forward_backward(x, y, params)
    for name, _, _ in TOY_LAYERS:
        for p in ("W", "b"):
            print(
                f"Q2.3 grad_{p}{name} shape {params['grad_' + p + name].shape} "
                f"matches {p}{name} {params[p + name].shape}"
            )
    print("Q2.4 batch sizes:", [len(bx) for bx, _ in get_random_batches(x, y, 5)])
    history = train(x, y, params, args.batch_size, args.learning_rate, args.max_iters)
    print(
        f"Q2.4 final loss {history[-1][0]:.2f}, accuracy {history[-1][1]:.2f} "
        "(expect loss < 35 and accuracy > 0.75 with the defaults)"
    )
    toy_forward_backward(x, y, params)
    errors = gradient_check(x, y, params)
    for key, err in errors.items():
        print(f"Q2.5 {key} relative error {err:.2e}")
    print(f"Q2.5 total {sum(errors.values()):.2e} (should be less than 1e-4)")


if __name__ == "__main__":
    sys.exit(main())
