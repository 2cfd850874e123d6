"""What Q5's checks share: the autoencoder's layout, its parameters handed over and back, and
the handout's training on NIST36 (Q5.2 trains it; Q5.3.1 and Q5.3.2 use what it trained).

Task side (the submission's process): the NIST36 training, once per process (``trained``),
from an initialisation made here (``xavier_autoencoder``, with the bounds the grader sends) so
that it does not depend on the student's ``init_autoencoder``. Judge side: the returned
parameters, validated (``params_out``). Each question's settings, bars and messages are in its
module (``q5_1_1.py`` ...).
"""

from __future__ import annotations

import numpy as np

from coursedata import load_nist36
from grader.check import Fail, array
from grader.checks.common import row_bias

# The autoencoder's layers, input to output (grader.oracle.AUTOENCODER_LAYERS gives their
# activations: ReLU, ReLU, ReLU, sigmoid).
LAYERS = ("layer1", "layer2", "layer3", "output")
PARAM_KEYS = tuple(p + name for name in LAYERS for p in ("W", "b"))
IN_SIZE, HIDDEN_SIZE = 1024, 32

MISSING_PARAMS = (
    "the autoencoder has four layers named {layers}: {what} should hold the parameters "
    "{keys}; missing {missing}, unexpected {extra}"
)


# ============================================================================ task side
def _row_bias(sub) -> bool:
    """Whether the submission's ``initialize_weights`` makes ``(1, out)`` biases."""
    return row_bias(sub.load("nn"))


def params_for(sub, inputs: dict, prefix: str) -> dict:
    """``inputs[prefix + key]`` for every parameter, biases in the submission's convention."""
    row_bias = _row_bias(sub)
    return {
        key: np.array(inputs[prefix + key]).reshape(1, -1)
        if row_bias and key[0] == "b"
        else np.array(inputs[prefix + key])
        for key in PARAM_KEYS
    }


def floats(value):
    """``value`` as a float array, copied (later steps must not change it); None stays None
    (the judge says it was not returned)."""
    return None if value is None else np.array(value, dtype=float)


def dump(params, prefix: str) -> dict:
    """The autoencoder's parameters in ``params`` (a dict), under ``prefix + key``."""
    if not isinstance(params, dict):
        return {prefix + "type": type(params).__name__}
    out = {prefix + "keys": ",".join(sorted(map(str, params))) or "(empty)"}
    for key in PARAM_KEYS:
        if key in params:
            out[prefix + key] = floats(params[key])
    return out


def sizes_of(in_size, hidden):
    return (in_size, hidden, hidden, hidden, in_size)


def xavier_autoencoder(in_size, hidden, bounds, rng=np.random) -> dict:
    """The autoencoder's Xavier initialisation, so that the training checks do not depend on
    the student's ``init_autoencoder``.

    Parameters
    ----------
    in_size, hidden : int
        Pixels per image and units per hidden layer.
    bounds : sequence of float
        Each layer's uniform bound (``xavier_bounds``, made in the grader's process).
    rng : numpy.random.RandomState or the ``numpy.random`` module
        Where the weights are drawn (uniform, layer by layer): with ``np.random`` after
        ``np.random.seed(s)``, the same numbers as a correct ``init_autoencoder``.

    Returns
    -------
    params : dict
        ``W<layer>`` of shape (in, out) and zero ``b<layer>`` of shape (out,) for the layers
        ``layer1``, ``layer2``, ``layer3``, ``output``.
    """
    params, sizes = {}, sizes_of(in_size, hidden)
    for name, n_in, n_out, bound in zip(LAYERS, sizes[:-1], sizes[1:], bounds):
        params["W" + name] = rng.uniform(-bound, bound, size=(n_in, n_out))
        params["b" + name] = np.zeros(n_out)
    return params


_CACHE: dict = {}


def trained(sub, inputs):
    """``(params, history)`` of the handout's training on NIST36, once per process (its
    exception too, raised again), with what ``q5_2.training_inputs`` gives: ``settings``
    (``train_autoencoder``'s keywords), ``seed`` and ``xavier_bounds``. When Q5.2's process
    already trained it, its parameters arrive in ``inputs`` as ``shared_<name>`` (and the
    history is None)."""
    shared = {k.removeprefix("shared_"): v for k, v in (inputs or {}).items()
              if k.startswith("shared_")}  # fmt: skip
    if shared:
        if _row_bias(sub):
            shared = {k: v.reshape(1, -1) if k[0] == "b" else v for k, v in shared.items()}
        return shared, None
    entry = _CACHE.get(id(sub))
    if entry is None or entry[0] is not sub:
        try:
            run_q5 = sub.load("run_q5")
            x, _ = load_nist36("train")
            row_bias = _row_bias(sub)  # before seeding: the probe draws random numbers
            np.random.seed(
                inputs["seed"]
            )  # the draws and batches of init_autoencoder, then training
            params = xavier_autoencoder(x.shape[1], HIDDEN_SIZE, inputs["xavier_bounds"])
            if row_bias:
                params = {k: v.reshape(1, -1) if k[0] == "b" else v for k, v in params.items()}
            history = run_q5.train_autoencoder(x, params, **inputs["settings"])
            value = (params, history)
        except Exception as exc:
            value = exc
        entry = _CACHE[id(sub)] = (sub, value)
    if isinstance(entry[1], Exception):
        raise entry[1]
    return entry[1]


def nist36_reconstructions_task(sub, inputs):
    """The trained autoencoder's reconstructions of the validation rows ``indices``, or of
    every validation image (``indices`` empty), as float32."""
    run_q5 = sub.load("run_q5")
    params, _ = trained(sub, inputs)
    x, _ = load_nist36("valid")
    rows = np.asarray(inputs["indices"], dtype=int)
    images = x[rows] if rows.size else x
    reconstructions = run_q5.autoencoder_forward(images, params)
    return {"reconstructions": None if reconstructions is None else np.asarray(
        reconstructions, dtype=np.float32)}  # fmt: skip


# ============================================================================ judge side
def xavier_bounds(in_size, hidden) -> list[float]:
    """Each layer's Xavier bound (Q2.1.2), for ``xavier_autoencoder`` (the grader's process)."""
    from grader import oracle

    sizes = sizes_of(in_size, hidden)
    return [oracle.xavier_bound(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def random_autoencoder(rng, d, h) -> dict:
    sizes = (d, h, h, h, d)
    params = {}
    for name, n_in, n_out in zip(LAYERS, sizes[:-1], sizes[1:]):
        params["W" + name] = rng.normal(scale=1.0, size=(n_in, n_out))
        params["b" + name] = rng.normal(scale=0.5, size=n_out)
    return params


def params_out(out: dict, prefix: str, sizes, what: str) -> dict:
    """The returned parameters of an autoencoder of ``sizes``, biases 1-D."""
    if prefix + "type" in out:
        raise Fail(f"{what} should be the params dict; got {out[prefix + 'type']}")
    present = str(out.get(prefix + "keys", "")).split(",")
    missing = [k for k in PARAM_KEYS if k not in present]
    extra = sorted(k for k in present if "_" not in k and k not in PARAM_KEYS and k != "(empty)")
    if missing or extra:
        raise Fail(MISSING_PARAMS.format(layers=list(LAYERS), what=what, keys=list(PARAM_KEYS),
                                         missing=missing, extra=extra))  # fmt: skip
    params = {}
    for name, n_in, n_out in zip(LAYERS, sizes[:-1], sizes[1:]):
        W = array(out, prefix + "W" + name, f"W{name}")
        if W.shape != (n_in, n_out):
            raise Fail(f"W{name} should have shape ({n_in}, {n_out}) (in, out); got {W.shape}")
        b = array(out, prefix + "b" + name, f"b{name}")
        if b.shape not in ((n_out,), (1, n_out)):
            raise Fail(f"b{name} should have shape ({n_out},); got {b.shape}")
        params["W" + name], params["b" + name] = W, b.reshape(-1)
    return params
