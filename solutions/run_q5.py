"""Q5: an autoencoder for NIST36, trained with momentum.

``python -m solutions.run_q5 [--out DIR] [--epochs N] ...`` trains
``1024 -> 32 -> 32 -> 32 -> 1024`` (ReLU on the three hidden layers ``'layer1'``,
``'layer2'``, ``'layer3'``, sigmoid on ``'output'``) to reproduce the NIST36 training images
(``coursedata.load_nist36``), with the handout's defaults: total squared error, batches of
36, learning rate 3e-5 times 0.9 every 20 epochs, 100 epochs, momentum 0.9. It writes into
``--out`` (default ``out/``):

* Q5.2 ``q5_2_loss.png``: the training loss per epoch;
* Q5.3.1 ``q5_3_1_reconstructions.png``: two validation images of each of five classes
  beside their reconstructions;

and prints Q5.3.2's average PSNR over the validation set.
"""

import sys
from pathlib import Path

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from coursedata import CLASSES, load_nist36, nist36_source, progress
from coursedata.figures import loss_figure, pairs_figure, save
from coursedata.scripts import run_script, training_parser

from .nn import *
from .util import *

LAYERS = ("layer1", "layer2", "layer3", "output")
IN_SIZE = 1024
HIDDEN_SIZE = 32
# The handout's defaults.
LEARNING_RATE = 3e-5
BATCH_SIZE = 36
EPOCHS = 100
DECAY_EVERY = 20
DECAY = 0.9
MOMENTUM = 0.9
SHOWN_CLASSES = "AGQ38"
SEED = 0
DEFAULT_OUT = "out"


# ----------------------------------------------------------------------------- Q5.1.1
def init_autoencoder(in_size=IN_SIZE, hidden_size=HIDDEN_SIZE):
    """Q5.1.1: Xavier-initialise the autoencoder's four layers with ``initialize_weights``.

    Parameters
    ----------
    in_size : int
        Pixels per image (the input and the output size).
    hidden_size : int

    Returns
    -------
    params : dict
        ``Wlayer1`` ``(in_size, hidden_size)``, ``Wlayer2`` and ``Wlayer3``
        ``(hidden_size, hidden_size)``, ``Woutput`` ``(hidden_size, in_size)``, and their
        biases ``blayer1`` ... ``boutput`` (zero).
    """
    params = {}
    sizes = (in_size, hidden_size, hidden_size, hidden_size, in_size)
    for name, n_in, n_out in zip(LAYERS, sizes[:-1], sizes[1:]):
        initialize_weights(n_in, n_out, params, name)
    return params


def autoencoder_forward(x, params):
    """Q5.1.1: the autoencoder's reconstruction of ``x``.

    ``layer1``, ``layer2`` and ``layer3`` apply ``relu``, ``output`` applies ``sigmoid``;
    each layer is a ``forward`` call, so its cache is stored for ``backwards``.

    Parameters
    ----------
    x : ndarray, shape (N, in_size)
        Images in ``[0, 1]``, one per row.
    params : dict

    Returns
    -------
    reconstruction : ndarray, shape (N, in_size)
        Values in ``[0, 1]``.
    """
    h = x
    for name in LAYERS[:-1]:
        h = forward(h, params, name, relu)
    return forward(h, params, "output", sigmoid)


# ----------------------------------------------------------------------------- Q5.1.2
def momentum_step(params, learning_rate, momentum=MOMENTUM):
    """Q5.1.2: update every parameter with momentum, in place.

    For every parameter ``k`` (the keys without ``'_'``), with its gradient
    ``params['grad_' + k]`` and its accumulator ``M = params['m_' + k]``::

        M = momentum * M - learning_rate * grad
        W = W + M

    The accumulators start at zero: create ``params['m_' + k]`` (zeros shaped like the
    parameter) when it is missing, so the first step is a plain gradient step.

    Parameters
    ----------
    params : dict
        Parameters, their ``grad_*`` and (after the first step) their ``m_*`` accumulators.
    learning_rate : float
    momentum : float
    """
    for name in [k for k in params if "_" not in k]:
        accumulator = (
            momentum * params.get("m_" + name, 0.0) - learning_rate * params["grad_" + name]
        )
        params["m_" + name] = accumulator
        params[name] = params[name] + accumulator


# ----------------------------------------------------------------------------- Q5.2
def autoencoder_forward_backward(x, params):
    """Q5.2: the total squared error of the reconstruction, and its gradients.

    Runs ``autoencoder_forward``, then ``backwards`` through the four layers (the output
    with ``sigmoid_deriv``, the hidden layers with ``relu_deriv``), storing every
    ``grad_*`` in ``params``; gradients are sums over the batch, like the loss.

    Parameters
    ----------
    x : ndarray, shape (N, in_size)
        A batch of images, which are also the targets.
    params : dict

    Returns
    -------
    loss : float
        ``sum((reconstruction - x) ** 2)`` over the batch and the pixels.
    """
    reconstruction = autoencoder_forward(x, params)
    error = reconstruction - x
    delta = backwards(2.0 * error, params, "output", sigmoid_deriv)
    for name in reversed(LAYERS[:-1]):
        delta = backwards(delta, params, name, relu_deriv)
    return float(np.sum(error**2))


def train_autoencoder(
    x,
    params,
    learning_rate=LEARNING_RATE,
    batch_size=BATCH_SIZE,
    epochs=EPOCHS,
    decay_every=DECAY_EVERY,
    decay=DECAY,
):
    """Q5.2: train the autoencoder with mini-batches and momentum, in place.

    Each epoch runs over the mini-batches of ``get_random_batches`` (the images are their own
    targets): ``autoencoder_forward_backward``, then ``momentum_step``. After every
    ``decay_every`` epochs the learning rate is multiplied by ``decay``.

    Parameters
    ----------
    x : ndarray, shape (N, in_size)
        Training images.
    params : dict
        From ``init_autoencoder``; trained in place.
    learning_rate, batch_size, epochs, decay_every, decay
        The handout's defaults.

    Returns
    -------
    history : list of float
        One training loss per epoch: the squared error summed over the epoch's batches.
    """
    history = []
    dummy_labels = np.ones((len(x), 1))
    bar = progress.epochs(epochs, "Q5.2 autoencoder")
    for epoch in bar:
        total = 0.0
        for xb, _ in get_random_batches(x, dummy_labels, batch_size):
            total += autoencoder_forward_backward(xb, params)
            momentum_step(params, learning_rate)
        history.append(total)
        if (epoch + 1) % decay_every == 0:
            learning_rate *= decay
        progress.show(bar, loss=total)
    return history


# ----------------------------------------------------------------------------- Q5.3.1
def reconstruction_examples(x, y, params, classes=SHOWN_CLASSES, per_class=2):
    """Q5.3.1: pick ``per_class`` images of each class in ``classes``, and reconstruct them.

    Parameters
    ----------
    x : ndarray, shape (N, in_size)
    y : ndarray, shape (N, 36)
        One-hot labels, columns in the order of ``coursedata.CLASSES`` (A-Z, then 0-9).
    params : dict
        A trained autoencoder.
    classes : sequence of str
        Class names, e.g. ``"AGQ38"``.
    per_class : int

    Returns
    -------
    indices : ndarray of int, shape (len(classes) * per_class,)
        Rows of ``x``, grouped by class in the order of ``classes``: the first ``per_class``
        are of ``classes[0]``, and so on.
    reconstructions : ndarray, shape (len(classes) * per_class, in_size)
        ``autoencoder_forward`` of ``x[indices]``.
    """
    labels = np.argmax(y, axis=1)
    indices = np.concatenate(
        [np.flatnonzero(labels == CLASSES.index(name))[:per_class] for name in classes]
    )
    return indices, autoencoder_forward(x[indices], params)


# ----------------------------------------------------------------------------- Q5.3.2
def average_psnr(x, reconstructions):
    """Q5.3.2: the PSNR of each reconstruction against its image, averaged over the images.

    Each image's PSNR is ``skimage.metrics.peak_signal_noise_ratio`` with ``data_range=1``
    (pixels in ``[0, 1]``): ``10 log10(1 / MSE)`` with the MSE over that image's pixels.

    Parameters
    ----------
    x : ndarray, shape (N, in_size)
        The images.
    reconstructions : ndarray, shape (N, in_size)

    Returns
    -------
    psnr : float
        The mean, in dB, of the ``N`` per-image values.
    """
    return float(
        np.mean(
            [
                peak_signal_noise_ratio(image, reconstruction, data_range=1.0)
                for image, reconstruction in zip(x, reconstructions)
            ]
        )
    )


# ----------------------------------------------------------------------------- given
def plot_losses(history, path):
    """Write Q5.2's training-loss curve (given)."""
    return save(loss_figure(history, "Q5.2 autoencoder training loss"), path)


def plot_reconstructions(x, y, indices, reconstructions, path, per_row=2):
    """Write Q5.3.1's figure: each image upright beside its reconstruction (given).

    One row per class: ``per_row`` (image, reconstruction) pairs.
    """
    names = [CLASSES[int(np.argmax(y[index]))] for index in indices]
    title = "Q5.3.1 validation images and their reconstructions"
    return save(pairs_figure(x[indices], reconstructions, names, per_row, title), path)


# ----------------------------------------------------------------------------- script
def main(argv=None):
    """Train the autoencoder on NIST36, write Q5's figures and print the PSNR."""
    parser = training_parser(
        __doc__, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=SEED,
        out=DEFAULT_OUT, lr_flag="--learning-rate",
    )  # fmt: skip
    parser.add_argument("--classes", default=SHOWN_CLASSES, help="classes shown (Q5.3.1)")
    needs = (init_autoencoder, autoencoder_forward, momentum_step, autoencoder_forward_backward)
    needs += (train_autoencoder, reconstruction_examples, average_psnr)
    return run_script(parser, argv, __name__, _experiment, *needs)


def _experiment(args):
    out = Path(args.out)
    print(nist36_source())
    x, _ = load_nist36("train")
    valid_x, valid_y = load_nist36("valid")
    params = init_autoencoder(x.shape[1], HIDDEN_SIZE)
    shapes = ", ".join(f"{k} {params[k].shape}" for k in params if "_" not in k)
    print(f"Q5.1.1 layers: {shapes}")
    print(
        f"Q5.2 training: learning rate {args.learning_rate:g} (x {DECAY} every {DECAY_EVERY} "
        f"epochs), batch size {args.batch_size}, {args.epochs} epochs, momentum {MOMENTUM}"
    )
    history = train_autoencoder(x, params, args.learning_rate, args.batch_size, args.epochs)
    figures = [plot_losses(history, out / "q5_2_loss.png")]
    print(f"Q5.2 training loss: first epoch {history[0]:.0f}, last epoch {history[-1]:.0f}")
    indices, reconstructions = reconstruction_examples(valid_x, valid_y, params, args.classes)
    figures.append(
        plot_reconstructions(
            valid_x, valid_y, indices, reconstructions, out / "q5_3_1_reconstructions.png"
        )
    )
    psnr = average_psnr(valid_x, autoencoder_forward(valid_x, params))
    print(
        f"Q5.3.2 average PSNR over the {len(valid_x)} validation images: {psnr:.2f} dB "
        "(the handout expects about 15 dB on NIST36)"
    )
    print("figures: " + ", ".join(str(p) for p in figures))


if __name__ == "__main__":
    sys.exit(main())
