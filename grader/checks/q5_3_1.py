"""Q5.3.1 (extra credit): ``reconstruction_examples`` and the NIST36 reconstructions.

The fast check calls ``reconstruction_examples`` on labelled random images and networks made
here. The slow check reconstructs the first ``PER_CLASS`` validation images of each class of
``SHOWN`` with the network Q5.2's process trained (``uses="q5_autoencoder"``; else trained
here the same way): each reconstruction must be nearer its own image than any image of
another class. The grader draws the pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coursedata import CLASSES, load_nist36
from grader.check import Check, Fail, array
from grader.checks.nist36 import nist36_missing
from grader.checks.q5_2 import TRAIN_BUDGET, training_inputs
from grader.checks.q5_common import (
    PARAM_KEYS,
    floats,
    nist36_reconstructions_task,
    params_for,
    random_autoencoder,
)

FAST_BUDGET = 60
# The reconstructions against autoencoder_forward's.
EXAMPLES_RTOL, EXAMPLES_ATOL = 1e-7, 1e-12
# The validation images shown: the first PER_CLASS of each class of SHOWN.
SHOWN = "AGQ38"
PER_CLASS = 2
WRONG_ORDER = "{call}: the rows should be of the classes {expected!r} in that order; got {got!r}"
NOT_DIFFERENT = "{call}: pick different images of each class; got rows {indices}"
NOT_FORWARD = (
    "{call}: the reconstructions should be autoencoder_forward(x[indices], params), row for row"
)
NEARER_ANOTHER = (
    "after training with the handout's defaults, the reconstruction of validation image "
    "{index} (a {name}) is nearer to an image of another class ({nearest}) than to its own "
    "image"
)


# ============================================================================ task side
def examples_task(sub, inputs):
    """``reconstruction_examples`` of each case: the chosen rows and their reconstructions."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i, (classes, per_class) in enumerate(inputs["cases"]):
        params = params_for(sub, inputs, f"c{i}_")
        result = run_q5.reconstruction_examples(
            inputs[f"c{i}_x"].copy(), inputs[f"c{i}_y"].copy(), params, classes, per_class
        )
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            out[f"c{i}_returned"] = type(result).__name__
            continue
        out[f"c{i}_returned"] = "pair"
        out[f"c{i}_indices"] = None if result[0] is None else np.asarray(result[0]).ravel()
        out[f"c{i}_reconstructions"] = floats(result[1])
    return out


# ============================================================================ judge side
# (classes, per class) of each reconstruction_examples case
EXAMPLE_CASES = (("AGQ38", 2), ("Z9", 3), ("M", 1), ("70KB", 1))


def examples_inputs():
    inputs = {"cases": [list(c) for c in EXAMPLE_CASES]}
    for i in range(len(EXAMPLE_CASES)):
        rng = np.random.default_rng(30 + i)
        labels = rng.permutation(np.repeat(np.arange(36), 3))
        inputs[f"c{i}_x"] = rng.uniform(size=(len(labels), 16))
        inputs[f"c{i}_y"] = np.eye(36)[labels]
        params = random_autoencoder(rng, 16, 3)
        inputs |= {f"c{i}_{k}": v for k, v in params.items()}
    return inputs


def judge_examples(inputs, out):
    from grader import oracle

    for i, (classes, per_class) in enumerate(inputs["cases"]):
        call = f"reconstruction_examples(x, y, params, {classes!r}, {per_class})"
        if out.get(f"c{i}_returned") != "pair":
            raise Fail(
                f"{call} returns (indices, reconstructions); got {out.get(f'c{i}_returned')}"
            )
        x, y = inputs[f"c{i}_x"], inputs[f"c{i}_y"]
        indices = array(out, f"c{i}_indices", f"{call}'s indices", kind="iu")
        if np.any((indices < 0) | (indices >= len(x))):
            raise Fail(f"{call}: indices should be rows of x (0 to {len(x) - 1}); got {indices}")
        got_names = "".join(CLASSES[j] for j in y[indices].argmax(axis=1))
        expected_names = "".join(c * per_class for c in classes)
        if got_names != expected_names:
            raise Fail(WRONG_ORDER.format(call=call, expected=expected_names, got=got_names))
        if len(set(indices.tolist())) != len(indices):
            raise Fail(NOT_DIFFERENT.format(call=call, indices=indices))
        reconstructions = array(out, f"c{i}_reconstructions", f"{call}'s reconstructions",
                                shape=(len(indices), x.shape[1]))  # fmt: skip
        params = {k: inputs[f"c{i}_{k}"] for k in PARAM_KEYS}
        expected = oracle.autoencoder_forward(x[indices], params)[0]
        if not np.allclose(reconstructions, expected, rtol=EXAMPLES_RTOL, atol=EXAMPLES_ATOL):
            raise Fail(NOT_FORWARD.format(call=call))


def shown_inputs():
    """The first ``PER_CLASS`` validation images of each class in ``SHOWN``."""
    _, y = load_nist36("valid")
    labels = np.argmax(y, axis=1)
    indices = np.concatenate(
        [np.flatnonzero(labels == CLASSES.index(c))[:PER_CLASS] for c in SHOWN]
    )
    return {"indices": indices} | training_inputs()


def judge_shown(inputs, out):
    x, y = load_nist36("valid")
    indices = inputs["indices"]
    reconstructions = array(out, "reconstructions", "the reconstructions of validation images",
                            shape=(len(indices), x.shape[1]))  # fmt: skip
    images = x[indices]
    names = [CLASSES[j] for j in y[indices].argmax(axis=1)]
    distances = ((reconstructions[:, None, :] - images[None, :, :]) ** 2).sum(axis=2)
    for k, name in enumerate(names):
        others = [j for j, other in enumerate(names) if other != name]
        if distances[k, k] >= distances[k, others].min():
            nearest = names[others[int(np.argmin(distances[k, others]))]]
            raise Fail(NEARER_ANOTHER.format(index=int(indices[k]), name=name, nearest=nearest))


def figure_shown(inputs, out, out_dir):
    from coursedata.figures import pairs_figure, save

    x, y = load_nist36("valid")
    indices = inputs["indices"]
    reconstructions = out.get("reconstructions")
    if type(reconstructions) is not np.ndarray or reconstructions.shape != (
        len(indices),
        x.shape[1],
    ):
        return []
    names = [CLASSES[int(np.argmax(y[index]))] for index in indices]
    title = "Q5.3.1 validation images and their reconstructions"
    fig = pairs_figure(x[indices], reconstructions, names, PER_CLASS, title)
    return [save(fig, Path(out_dir) / "q5_3_1_reconstructions.png")]


CHECKS = [
    Check("5.3.1", "reconstruction_examples: each class's images in order, reconstructed", 2,
          examples_task, judge_examples, examples_inputs, budget=FAST_BUDGET,
          modules=("nn", "run_q5")),
    Check("5.3.1", "NIST36: reconstructions of A, G, Q, 3, 8 resemble their own images", 3,
          nist36_reconstructions_task, judge_shown, shown_inputs, budget=TRAIN_BUDGET,
          modules=("nn", "run_q5"), available=nist36_missing, figures=figure_shown,
          uses="q5_autoencoder"),
]  # fmt: skip
