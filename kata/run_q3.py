"""Q3: training the handout's network on NIST36, and the figures of the write-up.

``python -m kata.run_q3 [--out DIR] [--epochs N] [--learning-rate LR] ...`` trains
``1024 -> 64 (sigmoid, layer 'layer1') -> 36 (softmax, layer 'output')`` with the functions
of ``nn.py`` on NIST36 (``coursedata.load_nist36``) and writes into ``--out`` (default
``out/``):

* ``q3_weights.pickle``: the best network's parameters in the handout's format (a dict with
  ``Wlayer1``, ``blayer1``, ``Woutput``, ``boutput``), which ``run_q4`` loads;
* Q3.1 ``q3_1_accuracy.png``, ``q3_1_loss.png``: accuracy and loss averaged over the data,
  train and valid, per epoch;
* Q3.2 ``q3_2_lr_x10_*.png``, ``q3_2_lr_x0.1_*.png``: the same for 10x and 0.1x the learning
  rate (the printout gives the best network's test accuracy);
* Q3.3 ``q3_3_weights_init.png``, ``q3_3_weights_trained.png``: the 64 first-layer weight
  vectors as upright 32x32 images, at initialisation and after training;
* Q3.4 ``q3_4_confusion.png``: the confusion matrix on the test set (the printout lists the
  most confused pairs of classes).
"""

import pickle
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from coursedata import load_nist36, nist36_source, progress
from coursedata.figures import confused_pairs, confusion_figure, save
from coursedata.scripts import run_script, training_parser

from .nn import *
from .util import *

IN_SIZE = 1024
HIDDEN_SIZE = 64
N_CLASSES = 36
# A learning rate and batch size that work with the summed loss (Q3.2: tune them).
LEARNING_RATE = 5e-3
BATCH_SIZE = 32
EPOCHS = 50
SEED = 0
DEFAULT_OUT = "out"
WEIGHTS_FILE = "q3_weights.pickle"
HISTORY_KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc")


# ----------------------------------------------------------------------------- given
def weights_path(out_dir=DEFAULT_OUT):
    """Where the script saves the trained parameters: ``<out_dir>/q3_weights.pickle`` (given)."""
    return Path(out_dir) / WEIGHTS_FILE


def init_network(in_size=IN_SIZE, hidden_size=HIDDEN_SIZE, n_classes=N_CLASSES):
    """Initialise the network's two layers with ``initialize_weights`` (given).

    Returns
    -------
    params : dict
        ``Wlayer1`` ``(in_size, hidden_size)``, ``blayer1``, ``Woutput``
        ``(hidden_size, n_classes)``, ``boutput``.
    """
    params = {}
    initialize_weights(in_size, hidden_size, params, "layer1")
    initialize_weights(hidden_size, n_classes, params, "output")
    return params


def network_probs(x, params):
    """The network's class probabilities: sigmoid hidden layer, softmax output (given).

    Parameters
    ----------
    x : ndarray, shape (N, in_size)
    params : dict

    Returns
    -------
    probs : ndarray, shape (N, n_classes)
    """
    h1 = forward(x, params, "layer1", sigmoid)
    return forward(h1, params, "output", softmax)


def forward_backward(x, y, params):
    """Forward and backward pass on one batch: stores every ``grad_*`` in ``params`` (given).

    As in Q2, the output layer's ``delta`` is ``probs - y`` (softmax and cross-entropy
    together), passed through ``linear_deriv``.

    Returns
    -------
    loss : float
        The batch's summed cross-entropy.
    acc : float
        The batch's accuracy.
    """
    probs = network_probs(x, params)
    loss, acc = compute_loss_and_acc(y, probs)
    delta = backwards(probs - y, params, "output", linear_deriv)
    backwards(delta, params, "layer1", sigmoid_deriv)
    return loss, acc


def evaluate(x, y, params):
    """The network's loss averaged over the data, and its accuracy (given).

    Returns
    -------
    loss : float
        Cross-entropy summed over ``x`` divided by ``len(x)``.
    acc : float
        Accuracy in ``[0, 1]``.
    """
    loss, acc = compute_loss_and_acc(y, network_probs(x, params))
    return float(loss) / len(x), float(acc)


def copy_parameters(params):
    """A copy of the parameters (the keys without ``'_'``), without caches or gradients
    (given): what the handout pickles, and a snapshot that later training does not change."""
    return {k: np.array(v, copy=True) for k, v in params.items() if "_" not in k}


def save_weights(params, path):
    """Pickle the parameters in the handout's format (given): ``{'Wlayer1': ..., ...}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(copy_parameters(params), handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_weights(path=None):
    """Load parameters saved by ``save_weights`` (given; default: ``weights_path()``)."""
    with open(weights_path() if path is None else path, "rb") as handle:
        return pickle.load(handle)


def plot_curves(history, out_dir, prefix):
    """Write the accuracy and loss curves of a training ``history`` (given).

    Writes ``<prefix>_accuracy.png`` and ``<prefix>_loss.png`` into ``out_dir``: train and
    valid, per epoch.

    Returns
    -------
    paths : list of pathlib.Path
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    paths = []
    for what, label in (("acc", "accuracy"), ("loss", "cross-entropy, averaged over the data")):
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
        for split in ("train", "valid"):
            ax.plot(epochs, history[f"{split}_{what}"], label=split)
        ax.set(xlabel="epoch", ylabel=label, title=f"{prefix}: {label}")
        ax.grid(True, alpha=0.3)
        ax.legend()
        path = out_dir / f"{prefix}_{'accuracy' if what == 'acc' else 'loss'}.png"
        fig.savefig(path, dpi=100)
        paths.append(path)
    return paths


def learning_rate_sweep(
    x,
    y,
    valid_x,
    valid_y,
    learning_rate=LEARNING_RATE,
    batch_size=BATCH_SIZE,
    epochs=EPOCHS,
    hidden_size=HIDDEN_SIZE,
    factors=(10.0, 0.1),
):
    """Q3.2's comparison: train fresh networks with ``learning_rate`` times each factor (given).

    The tuned learning rate itself is Q3.1's run; the handout compares it with 10x and 0.1x.

    Returns
    -------
    results : dict
        ``{learning_rate * factor: (best_params, history)}``, as returned by ``train``.
    """
    results = {}
    for factor in factors:
        params = init_network(x.shape[1], hidden_size, y.shape[1])
        lr = learning_rate * factor
        results[lr] = train(x, y, valid_x, valid_y, params, lr, batch_size, epochs)
    return results


def plot_weights(W, path, title):
    """Show the first layer's weights (``weight_grid``) as one grey image (given)."""
    grid = weight_grid(W)
    side = int(round(np.sqrt(W.shape[0])))
    limit = np.percentile(np.abs(grid), 99.5) or 1.0
    fig = Figure(figsize=(7, 7.4), layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid, cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
    for k in range(1, grid.shape[0] // side):
        ax.axhline(k * side - 0.5, color="tab:red", linewidth=0.5)
    for k in range(1, grid.shape[1] // side):
        ax.axvline(k * side - 0.5, color="tab:red", linewidth=0.5)
    ax.set(title=title, xticks=[], yticks=[])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def most_confused_pairs(confusion, k=5):
    """The ``k`` pairs of different classes most often mistaken for each other (given).

    Returns
    -------
    pairs : list of (str, str, int)
        ``(class a, class b, count)``, where count adds both directions (a taken for b and b
        for a), most confused first.
    """
    return confused_pairs(confusion, k)


def plot_confusion(confusion, path, title="Q3.4 confusion matrix (test set)"):
    """Show a 36x36 confusion matrix with the classes A-Z0-9 on both axes (given)."""
    return save(confusion_figure(confusion, title), path)


# ----------------------------------------------------------------------------- Q3.1
def train(
    x,
    y,
    valid_x,
    valid_y,
    params,
    learning_rate=LEARNING_RATE,
    batch_size=BATCH_SIZE,
    epochs=EPOCHS,
):
    """Q3.1: train the network with mini-batch SGD, keeping the best validation epoch.

    Each epoch runs over the mini-batches of ``get_random_batches``: ``forward_backward``,
    then ``W <- W - learning_rate * grad_W`` for every parameter (as in Q2.4); then the
    network is evaluated on the validation set. ``params`` is trained in place.

    Parameters
    ----------
    x : ndarray, shape (N, in_size)
    y : ndarray, shape (N, n_classes)
        One-hot training labels.
    valid_x : ndarray, shape (M, in_size)
    valid_y : ndarray, shape (M, n_classes)
    params : dict
        The network (``init_network``), layers ``'layer1'`` and ``'output'``.
    learning_rate : float
    batch_size : int
    epochs : int

    Returns
    -------
    best : dict
        A copy (``copy_parameters``) of the parameters at the end of the epoch with the
        highest validation accuracy (the first such epoch on ties).
    history : dict of lists
        One value per epoch under each of ``'train_loss'``, ``'train_acc'``,
        ``'valid_loss'``, ``'valid_acc'``: losses are the cross-entropy *averaged* over the
        data; the training values cover the epoch's batches (the parameters change while
        they are measured), the validation values are ``evaluate`` at the end of the epoch.
    """
    # Hint: Q2.4's loop, then evaluate() on the validation set after each epoch. Weight the
    # batches' accuracies by their sizes (the last batch may be smaller). Keep
    # copy_parameters(params) of the best epoch: a copy, because params keeps changing.
    # progress.epochs(epochs) iterates over the epochs with a bar, progress.show(bar, ...)
    # shows the latest loss and accuracy beside it.
    raise NotImplementedError("Q3.1 train")


# ----------------------------------------------------------------------------- Q3.3
def weight_grid(W, n_cols=8):
    """Q3.3: the first layer's weight vectors as upright images, tiled in a grid.

    Column ``k`` of ``W`` holds the weights of hidden unit ``k`` for the ``side x side``
    input pixels, stored like NIST36's images: transposed, so ``W[:, k].reshape(side,
    side).T`` is upright. Tile ``k`` goes to grid row ``k // n_cols``, column
    ``k % n_cols``; tiles touch (no padding) and keep their raw values.

    Parameters
    ----------
    W : ndarray, shape (side * side, n_units)
        ``params['Wlayer1']``; ``n_units`` a multiple of ``n_cols``.
    n_cols : int

    Returns
    -------
    grid : ndarray, shape (side * n_units // n_cols, side * n_cols)
    """
    # Hint: W[:, k].reshape(side, side).T is tile k, upright; write it into
    # grid[r * side:(r + 1) * side, c * side:(c + 1) * side] (or reshape and transpose W).
    raise NotImplementedError("Q3.3 weight_grid")


# ----------------------------------------------------------------------------- Q3.4
def confusion_matrix(y, probs):
    """Q3.4: the confusion matrix of predictions ``argmax(probs)`` against labels ``y``.

    Parameters
    ----------
    y : ndarray, shape (N, C)
        One-hot labels.
    probs : ndarray, shape (N, C)
        Predicted class probabilities.

    Returns
    -------
    confusion : ndarray, shape (C, C)
        ``confusion[i, j]`` counts the samples of class ``i`` predicted as class ``j``: each
        row sums to its class's number of samples, and the trace over ``N`` is the accuracy.
    """
    # Hint: the true class is the argmax of a row of y, the predicted one the argmax of a row
    # of probs; np.add.at counts repeated (true, predicted) pairs correctly, `+= 1` does not.
    raise NotImplementedError("Q3.4 confusion_matrix")


# ----------------------------------------------------------------------------- script
def main(argv=None):
    """Train on NIST36, write Q3's figures and ``q3_weights.pickle``, print the results."""
    parser = training_parser(
        __doc__, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LEARNING_RATE, seed=SEED,
        out=DEFAULT_OUT, lr_flag="--learning-rate",
    )  # fmt: skip
    parser.add_argument("--hidden-size", type=int, default=HIDDEN_SIZE)
    parser.add_argument(
        "--no-sweep", action="store_true", help="skip Q3.2's 10x and 0.1x learning rates"
    )
    return run_script(parser, argv, __name__, _experiment, train, weight_grid, confusion_matrix)


def _experiment(args):
    out = Path(args.out)
    print(nist36_source())
    x, y = load_nist36("train")
    valid_x, valid_y = load_nist36("valid")
    test_x, test_y = load_nist36("test")
    lr, batch_size, epochs = args.learning_rate, args.batch_size, args.epochs
    print(f"train {x.shape}, valid {valid_x.shape}, test {test_x.shape}")

    params = init_network(x.shape[1], args.hidden_size, y.shape[1])
    initial = copy_parameters(params)
    print(f"Q3.1 training: learning rate {lr:g}, batch size {batch_size}, {epochs} epochs")
    best, history = train(x, y, valid_x, valid_y, params, lr, batch_size, epochs)
    figures = plot_curves(history, out, "q3_1")
    best_epoch = int(np.argmax(history["valid_acc"])) + 1
    _, valid_acc = evaluate(valid_x, valid_y, best)
    print(
        f"Q3.1 last epoch: train accuracy {history['train_acc'][-1]:.4f}, valid accuracy "
        f"{history['valid_acc'][-1]:.4f}; best valid accuracy {valid_acc:.4f} at epoch "
        f"{best_epoch} (the handout asks for >= 0.75 on NIST36)"
    )
    print(f"Q3.1 saved the best parameters to {save_weights(best, weights_path(out))}")
    _, test_acc = evaluate(test_x, test_y, best)
    print(f"Q3.2 test accuracy of the best network: {test_acc:.4f}")

    figures.append(plot_weights(initial["Wlayer1"], out / "q3_3_weights_init.png", "Q3.3 init"))
    figures.append(plot_weights(best["Wlayer1"], out / "q3_3_weights_trained.png", "Q3.3 trained"))
    confusion = confusion_matrix(test_y, network_probs(test_x, best))
    figures.append(plot_confusion(confusion, out / "q3_4_confusion.png"))
    pairs = ", ".join(f"{a}/{b} {n}" for a, b, n in most_confused_pairs(confusion))
    print(f"Q3.4 most confused pairs on the test set (both directions): {pairs}")

    if not args.no_sweep:
        sweep = learning_rate_sweep(
            x, y, valid_x, valid_y, lr, batch_size, epochs, args.hidden_size
        )
        for other, (other_best, other_history) in sweep.items():
            figures += plot_curves(other_history, out, f"q3_2_lr_x{other / lr:g}")
            acc = evaluate(valid_x, valid_y, other_best)[1]
            print(f"Q3.2 learning rate {other:g}: best valid accuracy {acc:.4f}")
    print("figures: " + ", ".join(str(p) for p in figures))


if __name__ == "__main__":
    sys.exit(main())
