"""Q5 (extra credit): the autoencoder of ``run_q5.py``, its momentum, training and PSNR.

Fast checks call the submission on small networks and images made here and judge against
``grader.oracle``. The slow checks of Q5.2, Q5.3.1 and Q5.3.2 train the autoencoder on NIST36
with the handout's defaults (``init_autoencoder`` then ``train_autoencoder``); each question
runs in its own process, where that training happens once and is shared by its checks. The
grader draws the training-loss curve (Q5.2) and the reconstructions (Q5.3.1) from what comes
back, and computes the validation PSNR itself (Q5.3.2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coursedata import CLASSES, load_nist36, official_paths
from grader import oracle
from grader.check import Check, Fail, array, close, number
from grader.checks.common import row_bias
from grader.checks.q3 import nist36_missing

LAYERS = tuple(name for name, _ in oracle.AUTOENCODER_LAYERS)
PARAM_KEYS = tuple(p + name for name in LAYERS for p in ("W", "b"))
IN_SIZE, HIDDEN_SIZE = 1024, 32

# The slow checks: the handout's defaults, on NIST36 from the shared loader.
HANDOUT = {"learning_rate": 3e-5, "batch_size": 36, "epochs": 100, "decay_every": 20, "decay": 0.9}
SEED = 0
SHOWN = "AGQ38"
PER_CLASS = 2
# Average validation PSNR. Bundled stand-in: the reference solutions reach 17.42, 17.18 and
# 17.xx dB (numpy seeds 0, 1, 2), so the bound is 16.5 dB. Official NIST36: the handout expects
# about 15 dB; the bound there is 14 dB.
STANDIN_PSNR = 16.5
OFFICIAL_PSNR = 14.0
# The last epoch's training loss over the first's: 0.28-0.30 for the solutions (seeds 0-2).
LOSS_RATIO = 0.4
FAST_BUDGET = 60
# The reference trains in 40-80 s on one core; slower correct code must still finish.
TRAIN_BUDGET = 900

FORWARD_FORMULA = "sigmoid(relu(relu(relu(x W1 + b1) W2 + b2) W3 + b3) Wout + bout)"
MOMENTUM_RULE = (
    "M = momentum * M - learning_rate * grad, then W = W + M, with M kept in "
    "params['m_' + key] from one step to the next and zero at first"
)


# ============================================================================ task side
def _row_bias(sub) -> bool:
    """Whether the submission's ``initialize_weights`` makes ``(1, out)`` biases."""
    return row_bias(sub.load("nn"))


def _params_for(sub, inputs: dict, prefix: str) -> dict:
    """``inputs[prefix + key]`` for every parameter, biases in the submission's convention."""
    row_bias = _row_bias(sub)
    return {
        key: np.array(inputs[prefix + key]).reshape(1, -1)
        if row_bias and key[0] == "b"
        else np.array(inputs[prefix + key])
        for key in PARAM_KEYS
    }


def _floats(value):
    """``value`` as a float array, copied (later steps must not change it); None stays None
    (the judge says it was not returned)."""
    return None if value is None else np.array(value, dtype=float)


def _dump(params, prefix: str) -> dict:
    """The autoencoder's parameters in ``params`` (a dict), under ``prefix + key``."""
    if not isinstance(params, dict):
        return {prefix + "type": type(params).__name__}
    out = {prefix + "keys": ",".join(sorted(map(str, params))) or "(empty)"}
    for key in PARAM_KEYS:
        if key in params:
            out[prefix + key] = _floats(params[key])
    return out


def _sizes(in_size, hidden):
    return (in_size, hidden, hidden, hidden, in_size)


def xavier_autoencoder(in_size, hidden, rng=np.random) -> dict:
    """The autoencoder's Xavier initialisation, so that the training checks do not depend on
    the student's ``init_autoencoder``.

    Parameters
    ----------
    in_size, hidden : int
        Pixels per image and units per hidden layer.
    rng : numpy.random.RandomState or the ``numpy.random`` module
        Where the weights are drawn (uniform, layer by layer): with ``np.random`` after
        ``np.random.seed(s)``, the same numbers as a correct ``init_autoencoder``.

    Returns
    -------
    params : dict
        ``W<layer>`` of shape (in, out) and zero ``b<layer>`` of shape (out,) for the layers
        ``layer1``, ``layer2``, ``layer3``, ``output``.
    """
    params, sizes = {}, _sizes(in_size, hidden)
    for name, n_in, n_out in zip(LAYERS, sizes[:-1], sizes[1:]):
        bound = oracle.xavier_bound(n_in, n_out)
        params["W" + name] = rng.uniform(-bound, bound, size=(n_in, n_out))
        params["b" + name] = np.zeros(n_out)
    return params


_CACHE: dict = {}


def _trained(sub, inputs=None):
    """``(params, history)`` of the handout's training on NIST36, once per process (its
    exception too, raised again). When Q5.2's process already trained it, its parameters
    arrive in ``inputs`` as ``shared_<name>`` (and the history is None)."""
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
            np.random.seed(SEED)  # the same draws and batches as init_autoencoder then training
            params = xavier_autoencoder(x.shape[1], HIDDEN_SIZE)
            if row_bias:
                params = {k: v.reshape(1, -1) if k[0] == "b" else v for k, v in params.items()}
            history = run_q5.train_autoencoder(x, params, **HANDOUT)
            value = (params, history)
        except Exception as exc:
            value = exc
        entry = _CACHE[id(sub)] = (sub, value)
    if isinstance(entry[1], Exception):
        raise entry[1]
    return entry[1]


def init_task(sub, inputs):
    """``init_autoencoder(in, hidden)`` twice per case (``sizes``), seeded first."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i, (in_size, hidden) in enumerate(inputs["sizes"]):
        np.random.seed(inputs["seed"])
        for call in ("first", "second"):
            out.update(_dump(run_q5.init_autoencoder(in_size, hidden), f"c{i}_{call}_"))
    return out


def forward_task(sub, inputs):
    """``autoencoder_forward`` of each case ``c<i>_`` (x and params from the grader)."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i in range(inputs["n_cases"]):
        params = _params_for(sub, inputs, f"c{i}_")
        out[f"c{i}_reconstruction"] = _floats(
            run_q5.autoencoder_forward(inputs[f"c{i}_x"].copy(), params)
        )
    return out


def handout_forward_task(sub, inputs):
    """``autoencoder_forward`` of the handout's network from ``init_autoencoder(1024, 32)``."""
    run_q5 = sub.load("run_q5")
    np.random.seed(inputs["seed"])
    params = run_q5.init_autoencoder(IN_SIZE, HIDDEN_SIZE)
    out = _dump(params, "init_")
    out["reconstruction"] = _floats(run_q5.autoencoder_forward(inputs["x"].copy(), params))
    return out


def _momentum_step(run_q5, params, learning_rate, momentum=None):
    """One ``momentum_step``; a KeyError comes back as text (the judge explains it)."""
    try:
        if momentum is None:
            run_q5.momentum_step(params, learning_rate)
        else:
            run_q5.momentum_step(params, learning_rate, momentum=momentum)
    except KeyError as exc:
        return f"KeyError: {exc}"
    return None


def first_step_task(sub, inputs):
    """One ``momentum_step`` from no accumulators, with a cache that must stay untouched."""
    run_q5 = sub.load("run_q5")
    keys = inputs["keys"]
    params = {k: inputs["W_" + k].copy() for k in keys}
    params |= {"grad_" + k: inputs["grad_" + k].copy() for k in keys}
    cache = (np.ones((1, 3)),) * 3
    params["cache_a"] = cache
    error = _momentum_step(run_q5, params, inputs["learning_rate"])
    if error:
        return {"key_error": error}
    out = {"after_" + k: _floats(params.get(k)) for k in keys}
    out |= {"grad_after_" + k: _floats(params.get("grad_" + k)) for k in keys}
    out["cache_kept"] = params.get("cache_a") is cache
    return out


def momentum_steps_task(sub, inputs):
    """``n_steps`` of ``momentum_step`` per case with the grader's gradients; every state."""
    run_q5 = sub.load("run_q5")
    keys = inputs["keys"]
    out = {}
    for i, (learning_rate, momentum, n_steps) in enumerate(inputs["cases"]):
        params = {k: inputs[f"c{i}_{k}"].copy() for k in keys}
        for step in range(n_steps):
            for k in keys:
                params["grad_" + k] = inputs[f"c{i}_grad{step}_{k}"].copy()
            error = _momentum_step(run_q5, params, learning_rate, momentum)
            if error:
                return {"key_error": error}
            out |= {f"c{i}_step{step}_{k}": _floats(params.get(k)) for k in keys}
    return out


def constant_gradient_task(sub, inputs):
    """``momentum_step`` repeated with the same gradient: the position after each step."""
    run_q5 = sub.load("run_q5")
    params = {"Wa": np.zeros(4), "grad_Wa": np.ones(4)}
    positions = []
    for _ in range(inputs["n_steps"]):
        error = _momentum_step(run_q5, params, inputs["learning_rate"])
        if error:
            return {"key_error": error}
        positions.append(np.asarray(params["Wa"], dtype=float).ravel()[0])
    return {"positions": np.array(positions)}


def loss_task(sub, inputs):
    """``autoencoder_forward_backward`` of each case: the loss and the stored gradients."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i in range(inputs["n_cases"]):
        params = _params_for(sub, inputs, f"c{i}_")
        loss = run_q5.autoencoder_forward_backward(inputs[f"c{i}_x"].copy(), params)
        out[f"c{i}_loss"] = _floats(loss)
        for key in PARAM_KEYS:
            out[f"c{i}_grad_{key}"] = _floats(params.get("grad_" + key))
    return out


def small_training_task(sub, inputs):
    """``train_autoencoder`` on the grader's small images and initial parameters."""
    run_q5 = sub.load("run_q5")
    params = _params_for(sub, inputs, "init_")
    np.random.seed(inputs["seed"])
    history = run_q5.train_autoencoder(
        inputs["x"].copy(),
        params,
        learning_rate=inputs["learning_rate"],
        batch_size=inputs["batch_size"],
        epochs=inputs["epochs"],
        decay_every=inputs["decay_every"],
        decay=inputs["decay"],
    )
    out = {"history": None if history is None else np.asarray(history, dtype=float).ravel()}
    return out | _dump(params, "after_")


def nist36_history_task(sub, inputs):
    """The training loss per epoch of the handout's NIST36 training, and the trained
    parameters (``shared_*``: Q5.3.1 and Q5.3.2 use them instead of training again)."""
    params, history = _trained(sub)
    out = {"history": None if history is None else np.asarray(history, dtype=float).ravel()}
    for key, value in params.items():
        if key[0] in "Wb" and key[1:] in LAYERS:
            out["shared_" + key] = np.asarray(value, dtype=float).ravel() if key[0] == "b" else (
                np.asarray(value, dtype=float))  # fmt: skip
    return out


def examples_task(sub, inputs):
    """``reconstruction_examples`` of each case: the chosen rows and their reconstructions."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i, (classes, per_class) in enumerate(inputs["cases"]):
        params = _params_for(sub, inputs, f"c{i}_")
        result = run_q5.reconstruction_examples(
            inputs[f"c{i}_x"].copy(), inputs[f"c{i}_y"].copy(), params, classes, per_class
        )
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            out[f"c{i}_returned"] = type(result).__name__
            continue
        out[f"c{i}_returned"] = "pair"
        out[f"c{i}_indices"] = None if result[0] is None else np.asarray(result[0]).ravel()
        out[f"c{i}_reconstructions"] = _floats(result[1])
    return out


def nist36_reconstructions_task(sub, inputs):
    """The trained autoencoder's reconstructions of the validation rows ``indices``, or of
    every validation image (``indices`` empty), as float32."""
    run_q5 = sub.load("run_q5")
    params, _ = _trained(sub, inputs)
    x, _ = load_nist36("valid")
    rows = np.asarray(inputs["indices"], dtype=int)
    images = x[rows] if rows.size else x
    reconstructions = run_q5.autoencoder_forward(images, params)
    return {"reconstructions": None if reconstructions is None else np.asarray(
        reconstructions, dtype=np.float32)}  # fmt: skip


def psnr_task(sub, inputs):
    """``average_psnr`` of each case (images, reconstructions from the grader)."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i in range(inputs["n_cases"]):
        value = run_q5.average_psnr(inputs[f"c{i}_x"].copy(), inputs[f"c{i}_r"].copy())
        out[f"c{i}_psnr"] = _floats(value)
    return out


# ============================================================================ judge side
def _official() -> bool:
    return all(path.is_file() for path in official_paths().values())


def _random_autoencoder(rng, d, h) -> dict:
    sizes = (d, h, h, h, d)
    params = {}
    for name, n_in, n_out in zip(LAYERS, sizes[:-1], sizes[1:]):
        params["W" + name] = rng.normal(scale=1.0, size=(n_in, n_out))
        params["b" + name] = rng.normal(scale=0.5, size=n_out)
    return params


def _params_out(out: dict, prefix: str, sizes, what: str) -> dict:
    """The returned parameters of an autoencoder of ``sizes``, biases 1-D."""
    if prefix + "type" in out:
        raise Fail(f"{what} should be the params dict; got {out[prefix + 'type']}")
    present = str(out.get(prefix + "keys", "")).split(",")
    missing = [k for k in PARAM_KEYS if k not in present]
    extra = sorted(k for k in present if "_" not in k and k not in PARAM_KEYS and k != "(empty)")
    if missing or extra:
        raise Fail(
            f"the autoencoder has four layers named {list(LAYERS)}: {what} should hold the "
            f"parameters {list(PARAM_KEYS)}; missing {missing}, unexpected {extra}"
        )
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


def _key_error(out: dict) -> None:
    if "key_error" in out:
        raise Fail(
            f"momentum_step raised {out['key_error']} on parameters without accumulators: create "
            "params['m_' + k] (zeros shaped like params[k]) when it is missing, e.g. with "
            "params.get('m_' + k, 0)"
        )


# ----------------------------------------------------------------------------- Q5.1.1
def init_inputs():
    return {"sizes": [[1024, 32], [20, 5], [7, 1]], "seed": 0}


def judge_init_handout(inputs, out):
    params = _params_out(out, "c0_first_", _sizes(1024, 32), "init_autoencoder(1024, 32)")
    for name in LAYERS:
        W, b = params["W" + name], params["b" + name]
        if np.any(b != 0):
            raise Fail(f"b{name} should start at zero")
        bound = oracle.xavier_bound(*W.shape)
        if np.abs(W).max() > bound:
            raise Fail(
                f"W{name}: Xavier uniform draws from [-{bound:.4f}, {bound:.4f}] (Q2.1.2), got "
                f"values up to {np.abs(W).max():.4f}"
            )
        variance = 2.0 / sum(W.shape)
        if abs(W.var() - variance) > 0.15 * variance:
            raise Fail(
                f"W{name}: the variance of Xavier-initialised weights is 2 / (in + out) = "
                f"{variance:.2e}; got {W.var():.2e}. Use initialize_weights for each layer."
            )


def judge_init_sizes(inputs, out):
    for i, (in_size, hidden) in enumerate(inputs["sizes"]):
        call = f"init_autoencoder({in_size}, {hidden})"
        sizes = _sizes(in_size, hidden)
        first = _params_out(out, f"c{i}_first_", sizes, call)
        second = _params_out(out, f"c{i}_second_", sizes, call)
        if in_size * hidden > 1 and all(
            np.array_equal(first["W" + name], second["W" + name]) for name in LAYERS
        ):
            raise Fail(
                f"two calls of {call} gave the same weights: each call should draw fresh "
                "random weights (don't reseed inside init_autoencoder)"
            )


FORWARD_SHAPES = ((3, 6, 2), (2, 5, 4), (4, 3, 1), (1, 2, 3))  # (batch, pixels, hidden)


def forward_inputs():
    rng = np.random.default_rng(11)
    inputs = {"n_cases": len(FORWARD_SHAPES)}
    for i, (n, d, h) in enumerate(FORWARD_SHAPES):
        inputs[f"c{i}_x"] = rng.uniform(0, 1, size=(n, d))
        inputs |= {f"c{i}_{k}": v for k, v in _random_autoencoder(rng, d, h).items()}
    return inputs


FORWARD_VARIANTS = {
    "the hidden layers apply sigmoid: use relu (Q5.1.1)": ("sigmoid",) * 4,
    "the output applies relu: the last layer ('output') uses sigmoid": ("relu",) * 4,
    "the output layer has no activation: apply sigmoid": ("relu",) * 3 + ("linear",),
}


def judge_forward(inputs, out):
    for i in range(inputs["n_cases"]):
        x = inputs[f"c{i}_x"]
        params = {k: inputs[f"c{i}_{k}"] for k in PARAM_KEYS}
        got = array(out, f"c{i}_reconstruction", "autoencoder_forward(x, params)", shape=x.shape,
                    finite=False)  # fmt: skip
        expected, _ = oracle.autoencoder_forward(x, params)
        if np.allclose(got, expected, rtol=1e-7, atol=1e-10):
            continue
        for why, acts in FORWARD_VARIANTS.items():
            layers = tuple(zip(LAYERS, acts))
            if np.allclose(got, oracle.autoencoder_forward(x, params, layers)[0]):
                raise Fail(f"autoencoder_forward: {why}")
        close(got, expected, "autoencoder_forward(x, params)", rtol=1e-7, atol=1e-10,
              hint=f"It should be {FORWARD_FORMULA}.")  # fmt: skip


def handout_forward_inputs():
    return {"seed": 1, "x": np.random.default_rng(1).uniform(size=(5, IN_SIZE))}


def judge_handout_forward(inputs, out):
    params = _params_out(out, "init_", _sizes(IN_SIZE, HIDDEN_SIZE), "init_autoencoder(1024, 32)")
    got = array(out, "reconstruction", "autoencoder_forward of the 1024-32-32-32-1024 network",
                shape=inputs["x"].shape)  # fmt: skip
    if np.any((got < 0) | (got > 1)):
        raise Fail("reconstructions are sigmoid outputs: every value should lie in [0, 1]")
    expected, _ = oracle.autoencoder_forward(inputs["x"], params)
    close(got, expected, "autoencoder_forward of the 1024-32-32-32-1024 network", rtol=1e-7,
          atol=1e-12, hint=f"It should be {FORWARD_FORMULA}.")  # fmt: skip


# ----------------------------------------------------------------------------- Q5.1.2
def _dyadic(rng, shape, scale):
    """Numbers with few binary digits, so that sums and products by powers of 2 are exact."""
    return rng.integers(-16, 17, size=shape) / scale


def first_step_inputs():
    rng = np.random.default_rng(0)
    shapes = {"Wa": (3, 2), "ba": (2,), "Woutput": (2, 3)}
    inputs = {"keys": list(shapes), "learning_rate": 0.25}
    inputs |= {"W_" + k: _dyadic(rng, s, 4.0) for k, s in shapes.items()}
    inputs |= {"grad_" + k: _dyadic(rng, s, 8.0) for k, s in shapes.items()}
    return inputs


def judge_first_step(inputs, out):
    _key_error(out)
    lr = inputs["learning_rate"]
    for key in inputs["keys"]:
        old, grad = inputs["W_" + key], inputs["grad_" + key]
        new = array(out, "after_" + key, f"params[{key!r}] after momentum_step")
        expected = old - lr * grad
        if new.shape == old.shape and np.array_equal(new, old + lr * grad):
            raise Fail(f"{key} moved up the gradient: {MOMENTUM_RULE}")
        if new.shape != old.shape or not np.array_equal(new, expected):
            raise Fail(
                f"{key}: the accumulators start at zero, so the first step is W - learning_rate "
                f"* grad = {expected.tolist()}; got {new.tolist()}"
            )
        after = array(out, "grad_after_" + key, f"params['grad_{key}'] after momentum_step")
        if after.shape != grad.shape or not np.array_equal(after, grad):
            raise Fail(
                f"momentum_step changed grad_{key}: only the parameters and their accumulators "
                "change"
            )
    if not number(out, "cache_kept", "whether params['cache_a'] was left alone"):
        raise Fail("momentum_step should not touch the caches (keys with '_' are not parameters)")


# (learning rate, momentum or None for the default 0.9, steps)
MOMENTUM_CASES = ((0.05, None, 4), (0.5, 0.5, 3), (1e-3, None, 2))
MOMENTUM_SHAPES = {"Wlayer1": (4, 3), "blayer1": (3,), "Woutput": (3, 2), "boutput": (2,)}


def momentum_inputs():
    rng = np.random.default_rng(5)
    inputs = {"keys": list(MOMENTUM_SHAPES), "cases": [list(c) for c in MOMENTUM_CASES]}
    for i, (_, _, n_steps) in enumerate(MOMENTUM_CASES):
        for k, shape in MOMENTUM_SHAPES.items():
            inputs[f"c{i}_{k}"] = rng.normal(size=shape)
            for step in range(n_steps):
                inputs[f"c{i}_grad{step}_{k}"] = rng.normal(size=shape)
    return inputs


def judge_momentum(inputs, out):
    _key_error(out)
    for i, (lr, momentum, n_steps) in enumerate(inputs["cases"]):
        mu = 0.9 if momentum is None else momentum
        W = {k: inputs[f"c{i}_{k}"] for k in inputs["keys"]}
        M = {k: np.zeros_like(v) for k, v in W.items()}
        for step in range(n_steps):
            for key in inputs["keys"]:
                M[key] = mu * M[key] - lr * inputs[f"c{i}_grad{step}_{key}"]
                W[key] = W[key] + M[key]
                got = array(out, f"c{i}_step{step}_{key}", f"params[{key!r}]")
                if got.shape == W[key].shape and np.allclose(got, W[key], rtol=1e-12, atol=1e-14):
                    continue
                what = "the default momentum 0.9" if momentum is None else f"momentum={momentum}"
                raise Fail(
                    f"after {step + 1} step(s) ({what}, learning rate {lr:g}), {key} should be "
                    f"{np.round(W[key].ravel()[:3], 6).tolist()}...; got "
                    f"{np.round(got.ravel()[:3], 6).tolist()}.... By hand: {MOMENTUM_RULE}"
                )


def constant_gradient_inputs():
    return {"n_steps": 60, "learning_rate": 0.01}


def judge_constant_gradient(inputs, out):
    _key_error(out)
    positions = array(out, "positions", "the position after each step", shape=(inputs["n_steps"],))
    steps = np.diff(np.concatenate([[0.0], positions]))
    if not np.isclose(steps[0], -0.01, rtol=1e-6):
        raise Fail(f"the first step should be -learning_rate * grad = -0.01; got {steps[0]:.4g}")
    if not np.isclose(steps[1], -0.019, rtol=1e-6):
        raise Fail(f"the second step should be 0.9 * (-0.01) - 0.01 = -0.019; got {steps[1]:.4g}")
    if not np.isclose(steps[-1], -0.1, rtol=0.01):
        raise Fail(
            "after 60 steps with a constant gradient, each step should approach "
            f"-learning_rate * grad / (1 - 0.9) = -0.1; got {steps[-1]:.4g}"
        )


# ----------------------------------------------------------------------------- Q5.2
def _cases(seed, shapes, kink_free=False):
    """Random autoencoders and batches; with ``kink_free`` every hidden pre-activation is
    kept at least 1e-3 away from ReLU's kink (central differences are exact there)."""
    rng = np.random.default_rng(seed)
    inputs = {"n_cases": len(shapes)}
    for i, (n, d, h) in enumerate(shapes):
        while True:
            x = rng.uniform(0, 1, size=(n, d))
            params = _random_autoencoder(rng, d, h)
            _, pres = oracle.autoencoder_forward(x, params)
            if not kink_free or all(np.abs(z).min() > 1e-3 for z in pres[:-1]):
                break
        inputs[f"c{i}_x"] = x
        inputs |= {f"c{i}_{k}": v for k, v in params.items()}
    return inputs


def loss_inputs():
    return _cases(21, ((3, 6, 2), (1, 4, 3), (4, 5, 4)))


def judge_loss(inputs, out):
    for i in range(inputs["n_cases"]):
        x = inputs[f"c{i}_x"]
        params = {k: inputs[f"c{i}_{k}"] for k in PARAM_KEYS}
        loss = number(out, f"c{i}_loss", "autoencoder_forward_backward(x, params) (the loss)")
        expected = oracle.squared_error_sum(x, params)
        if np.isclose(loss, expected, rtol=1e-7, atol=1e-12):
            continue
        hint = ""
        if np.isclose(loss * x.size, expected) or np.isclose(loss * len(x), expected):
            hint = " It looks averaged: sum over the batch and the pixels."
        raise Fail(
            f"the loss is sum((reconstruction - x) ** 2) = {expected:.6g} over a batch of "
            f"{len(x)} image(s) of {x.shape[1]} pixels; got {loss:.6g}.{hint}"
        )


def gradient_inputs():
    return _cases(22, ((3, 6, 2), (2, 4, 3), (4, 5, 4)), kink_free=True)


def judge_gradients(inputs, out):
    for i in range(inputs["n_cases"]):
        x = inputs[f"c{i}_x"]
        params = {k: inputs[f"c{i}_{k}"].copy() for k in PARAM_KEYS}
        for key in PARAM_KEYS:
            if f"c{i}_grad_{key}" in out.get("__none__", ()):
                raise Fail(
                    f"autoencoder_forward_backward should store params['grad_{key}'] (backwards "
                    "through every layer)"
                )
            analytic = array(out, f"c{i}_grad_{key}", f"params['grad_{key}']")
            if analytic.size != params[key].size:
                raise Fail(f"grad_{key} has shape {analytic.shape}, {key} {params[key].shape}")
            numeric = oracle.central_differences(
                lambda p=params, x=x: oracle.squared_error_sum(x, p), params[key], eps=1e-6
            )
            analytic = analytic.reshape(numeric.shape)
            error = oracle.relative_error(analytic, numeric)
            if error < 1e-5:
                continue
            hint = ""
            if oracle.relative_error(2 * analytic, numeric) < 1e-5:
                hint = " It is half the right value: d/dr (r - x)^2 = 2 (r - x)."
            elif oracle.relative_error(-analytic, numeric) < 1e-5:
                hint = " It has the wrong sign: the output delta is 2 * (reconstruction - x)."
            raise Fail(
                f"grad_{key} differs from central differences of the total squared error "
                f"(relative error {error:.1e}); the output delta is 2 * (reconstruction - x), "
                "backpropagated with sigmoid_deriv at the output and relu_deriv in the hidden "
                "layers." + hint
            )


def _prototypes(n_per=16, d=16, k=3, seed=0):
    """``k`` binary-ish prototype images of ``d`` pixels, ``n_per`` noisy copies of each."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.uniform(size=(k, d)) > 0.5) * 0.8 + 0.1
    labels = np.repeat(np.arange(k), n_per)
    return np.clip(prototypes[labels] + rng.normal(scale=0.05, size=(len(labels), d)), 0, 1)


def small_training_inputs(epochs=40, decay_every=10, decay=0.9):
    def make():
        init = xavier_autoencoder(16, 12, np.random.RandomState(0))
        return {f"init_{k}": v for k, v in init.items()} | {
            "x": _prototypes(),
            "hidden": 12,
            "seed": 0,
            "learning_rate": 3e-3,
            "batch_size": 8,
            "epochs": epochs,
            "decay_every": decay_every,
            "decay": decay,
        }

    return make


def _small_history(inputs, out):
    history = array(out, "history", "train_autoencoder's returned history", finite=False)
    epochs = inputs["epochs"]
    if history.shape != (epochs,):
        raise Fail(
            f"train_autoencoder should return one loss per epoch: {epochs}, got "
            f"{history.size} value(s)"
        )
    if not np.all(np.isfinite(history)):
        raise Fail(f"the training loss became NaN or inf: {np.round(history, 3).tolist()}")
    return history


def judge_small_training(inputs, out):
    history = _small_history(inputs, out)
    x = inputs["x"]
    sizes = _sizes(x.shape[1], inputs["hidden"])
    before = {k: inputs["init_" + k] for k in PARAM_KEYS}
    after = _params_out(out, "after_", sizes, "params after train_autoencoder")
    if history[-1] >= 0.25 * history[0]:
        raise Fail(
            f"on three noisy prototype images the epoch loss went from {history[0]:.2f} to only "
            f"{history[-1]:.2f} in {inputs['epochs']} epochs (the reference: below 5% of the "
            "first): each batch, autoencoder_forward_backward then momentum_step"
        )
    error_before = oracle.squared_error_sum(x, before)
    error_after = oracle.squared_error_sum(x, after)
    if error_after >= 0.25 * error_before:
        raise Fail(
            f"the trained params reconstruct the training images with a squared error of "
            f"{error_after:.2f}, against {error_before:.2f} before training: train params in "
            "place"
        )


def judge_decay(inputs, out):
    history = _small_history(inputs, out)
    if history[1] >= 0.98 * history[0]:
        raise Fail(
            f"with decay_every={inputs['decay_every']} the first epochs train at the full "
            f"learning rate, but the loss went from {history[0]:.2f} to {history[1]:.2f}: "
            "multiply the learning rate by decay after every decay_every epochs, not before "
            "the first"
        )
    change = abs(history[-1] - history[-2]) / history[-1]
    if change >= 1e-3:
        raise Fail(
            f"with decay=0 and decay_every={inputs['decay_every']} the learning rate is 0 from "
            "the third epoch on (learning_rate *= decay after epochs 2, 4, ...), so only the "
            "fading momentum moves the weights and the loss settles; it still changed by "
            f"{100 * change:.2f}% between the last two epochs (the reference: below 0.01%)"
        )


def judge_nist36_loss(inputs, out):
    epochs = HANDOUT["epochs"]
    history = array(out, "history", "train_autoencoder's returned history", finite=False)
    if history.shape != (epochs,) or not np.all(np.isfinite(history)):
        raise Fail(
            f"expected {epochs} finite epoch losses, got {history.size}: "
            f"{np.round(history[:8], 1).tolist()}..."
        )
    ratio = history[-1] / history[0]
    if not ratio < LOSS_RATIO:
        raise Fail(
            f"with the handout's defaults the training loss went from {history[0]:.0f} to "
            f"{history[-1]:.0f} ({ratio:.2f} of the first epoch); the reference solutions "
            f"reach 0.28-0.30, the bound is {LOSS_RATIO}"
        )
    if history[-1] >= history[len(history) // 2]:
        raise Fail(
            "the loss should still fall in the second half of training (a decayed learning "
            "rate keeps the steps going): it did not"
        )


def figure_nist36_loss(inputs, out, out_dir):
    from matplotlib.figure import Figure

    history = out.get("history")
    if type(history) is not np.ndarray or history.ndim != 1 or not history.size:
        return []
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(1, len(history) + 1), history)
    ax.set(
        xlabel="epoch",
        ylabel="squared error, summed over the epoch",
        title="Q5.2 autoencoder training loss on NIST36 (the handout's defaults)",
    )
    ax.grid(True, alpha=0.3)
    path = Path(out_dir) / "q5_2_loss.png"
    fig.savefig(path, dpi=100)
    return [path]


# ----------------------------------------------------------------------------- Q5.3.1
# (classes, per class) of each reconstruction_examples case
EXAMPLE_CASES = (("AGQ38", 2), ("Z9", 3), ("M", 1), ("70KB", 1))


def examples_inputs():
    inputs = {"cases": [list(c) for c in EXAMPLE_CASES]}
    for i in range(len(EXAMPLE_CASES)):
        rng = np.random.default_rng(30 + i)
        labels = rng.permutation(np.repeat(np.arange(36), 3))
        inputs[f"c{i}_x"] = rng.uniform(size=(len(labels), 16))
        inputs[f"c{i}_y"] = np.eye(36)[labels]
        params = _random_autoencoder(rng, 16, 3)
        inputs |= {f"c{i}_{k}": v for k, v in params.items()}
    return inputs


def judge_examples(inputs, out):
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
            raise Fail(
                f"{call}: the rows should be of the classes {expected_names!r} in that order; "
                f"got {got_names!r}"
            )
        if len(set(indices.tolist())) != len(indices):
            raise Fail(f"{call}: pick different images of each class; got rows {indices}")
        reconstructions = array(out, f"c{i}_reconstructions", f"{call}'s reconstructions",
                                shape=(len(indices), x.shape[1]))  # fmt: skip
        params = {k: inputs[f"c{i}_{k}"] for k in PARAM_KEYS}
        expected = oracle.autoencoder_forward(x[indices], params)[0]
        if not np.allclose(reconstructions, expected, rtol=1e-7, atol=1e-12):
            raise Fail(
                f"{call}: the reconstructions should be autoencoder_forward(x[indices], params), "
                "row for row"
            )


def shown_inputs():
    """The first ``PER_CLASS`` validation images of each class in ``SHOWN``."""
    _, y = load_nist36("valid")
    labels = np.argmax(y, axis=1)
    indices = np.concatenate(
        [np.flatnonzero(labels == CLASSES.index(c))[:PER_CLASS] for c in SHOWN]
    )
    return {"indices": indices}


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
            raise Fail(
                f"after training with the handout's defaults, the reconstruction of validation "
                f"image {int(indices[k])} (a {name}) is nearer to an image of another class "
                f"({nearest}) than to its own image"
            )


def figure_shown(inputs, out, out_dir):
    from matplotlib.figure import Figure

    x, y = load_nist36("valid")
    indices = inputs["indices"]
    reconstructions = out.get("reconstructions")
    if type(reconstructions) is not np.ndarray or reconstructions.shape != (
        len(indices),
        x.shape[1],
    ):
        return []
    side = int(round(np.sqrt(x.shape[1])))
    rows = len(indices) // PER_CLASS
    fig = Figure(figsize=(2.6 * PER_CLASS, 1.4 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, 2 * PER_CLASS, squeeze=False)
    for k, (index, reconstruction) in enumerate(zip(indices, reconstructions)):
        row, pair = divmod(k, PER_CLASS)
        name = CLASSES[int(np.argmax(y[index]))]
        for col, picture, what in ((0, x[index], "valid"), (1, reconstruction, "reconstr.")):
            ax = axes[row, 2 * pair + col]
            ax.imshow(np.clip(picture, 0, 1).reshape(side, side).T, cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{name} {what}", fontsize=8)
            ax.set(xticks=[], yticks=[])
    fig.suptitle("Q5.3.1 validation images and their reconstructions", fontsize=9)
    path = Path(out_dir) / "q5_3_1_reconstructions.png"
    fig.savefig(path, dpi=100)
    return [path]


# ----------------------------------------------------------------------------- Q5.3.2
# (batch, pixels) of the random cases; then NIST36 validation images with noisy copies
PSNR_SHAPES = ((1, 4), (3, 17), (6, 64))


def psnr_inputs():
    rng = np.random.default_rng(40)
    inputs = {"n_cases": len(PSNR_SHAPES) + 1}
    for i, (n, d) in enumerate(PSNR_SHAPES):
        images = rng.uniform(size=(n, d))
        noise = rng.normal(size=(n, d)) * rng.uniform(0.01, 0.3, size=(n, 1))
        inputs[f"c{i}_x"] = images
        inputs[f"c{i}_r"] = np.clip(images + noise, 0, 1)
    x, _ = load_nist36("valid")
    images = x[:: len(x) // 40][:40]
    noise = rng.normal(size=images.shape) * rng.uniform(0.02, 0.4, size=(len(images), 1))
    inputs[f"c{len(PSNR_SHAPES)}_x"] = images
    inputs[f"c{len(PSNR_SHAPES)}_r"] = np.clip(images + noise, 0, 1)
    return inputs


def judge_psnr(inputs, out):
    for i in range(inputs["n_cases"]):
        x, r = inputs[f"c{i}_x"], inputs[f"c{i}_r"]
        got = number(out, f"c{i}_psnr", "average_psnr(x, reconstructions)")
        expected = float(np.mean(oracle.psnr(x, r)))
        if np.isclose(got, expected, rtol=1e-9):
            continue
        hint = ""
        if np.isclose(got, 10 * np.log10(1 / np.mean((x - r) ** 2)), rtol=1e-9):
            hint = " That is the PSNR of all the pixels together: average each image's PSNR."
        elif any(np.isclose(got - expected, 20 * np.log10(m), atol=1e-4) for m in (2, 255)):
            hint = " Pass data_range=1.0: the pixels lie in [0, 1]."
        raise Fail(
            f"for {len(x)} image(s) of {x.shape[1]} pixels, the average of each image's "
            f"PSNR is {expected:.6f} dB; got {got:.6f}.{hint}",
            reread="Q5.3.2",
            formula="PSNR = 10 log10(1 / MSE), the MSE over one image's pixels",
        )


def pooled_inputs():
    images = np.full((2, 100), 0.5)
    return {"n_cases": 1, "c0_x": images, "c0_r": images + np.array([[0.01], [0.1]])}


def judge_pooled(inputs, out):
    got = number(out, "c0_psnr", "average_psnr(x, reconstructions)")
    x, r = inputs["c0_x"], inputs["c0_r"]
    pooled = 10 * np.log10(1 / np.mean((x - r) ** 2))
    if np.isclose(got, pooled, atol=1e-6):
        raise Fail(
            f"{got:.2f} dB is the PSNR of all the pixels together; Q5.3.2 averages the PSNR of "
            "each image: here (40 + 20) / 2 = 30 dB"
        )
    if not np.isclose(got, 30.0, atol=1e-9):
        raise Fail(
            f"images with PSNRs of 40 and 20 dB (MSE 1e-4 and 1e-2) average to 30 dB; got "
            f"{got:.4f} (data_range 1)"
        )


def all_valid_inputs():
    return {"indices": np.zeros(0, dtype=int)}


def judge_nist36_psnr(inputs, out):
    x, _ = load_nist36("valid")
    reconstructions = array(out, "reconstructions", "autoencoder_forward of the validation set",
                            shape=x.shape)  # fmt: skip
    psnr = float(np.mean(oracle.psnr(x, reconstructions)))
    official = _official()
    bound = OFFICIAL_PSNR if official else STANDIN_PSNR
    if not psnr >= bound:
        data = "official NIST36" if official else "the bundled stand-in"
        raise Fail(
            f"after training with the handout's defaults, the average validation PSNR is "
            f"{psnr:.2f} dB on {data}; expected >= {bound} dB (the reference solutions reach "
            "about 17.4 dB on the stand-in)"
        )


CHECKS = [
    Check("5.1.1", "init_autoencoder(1024, 32): the handout's layers, zero biases, Xavier", 2,
          init_task, judge_init_handout, init_inputs, budget=FAST_BUDGET,
          modules=("nn", "run_q5")),
    Check("5.1.1", "init_autoencoder follows its sizes and draws fresh weights each call", 1,
          init_task, judge_init_sizes, init_inputs, budget=FAST_BUDGET, modules=("nn", "run_q5")),
    Check("5.1.1", "autoencoder_forward: ReLU hidden layers, a sigmoid output", 2, forward_task,
          judge_forward, forward_inputs, budget=FAST_BUDGET, modules=("nn", "run_q5")),
    Check("5.1.1", "autoencoder_forward of the 1024-32-32-32-1024 network gives images", 1,
          handout_forward_task, judge_handout_forward, handout_forward_inputs,
          budget=FAST_BUDGET, modules=("nn", "run_q5")),
    Check("5.1.2", "the first step is a plain gradient step; gradients and caches untouched", 1,
          first_step_task, judge_first_step, first_step_inputs, budget=FAST_BUDGET,
          modules=("run_q5",)),
    Check("5.1.2", "steps match a hand computation (momentum 0.9 by default, and 0.5)", 2,
          momentum_steps_task, judge_momentum, momentum_inputs, budget=FAST_BUDGET,
          modules=("run_q5",)),
    Check("5.1.2", "momentum builds up under a constant gradient", 1, constant_gradient_task,
          judge_constant_gradient, constant_gradient_inputs, budget=FAST_BUDGET,
          modules=("run_q5",)),
    Check("5.2", "the loss is the total squared error", 1, loss_task, judge_loss, loss_inputs,
          budget=FAST_BUDGET, modules=("nn", "run_q5")),
    Check("5.2", "gradients match central differences", 1.5, loss_task, judge_gradients,
          gradient_inputs, budget=FAST_BUDGET, modules=("nn", "run_q5")),
    Check("5.2", "training lowers the loss on noisy prototype images", 1, small_training_task,
          judge_small_training, small_training_inputs(), budget=FAST_BUDGET,
          modules=("nn", "run_q5")),
    Check("5.2", "the learning rate decays after every decay_every epochs", 0.5,
          small_training_task, judge_decay,
          small_training_inputs(epochs=16, decay_every=2, decay=0.0), budget=FAST_BUDGET,
          modules=("nn", "run_q5")),
    Check("5.2", "NIST36 with the handout's defaults: the training loss falls below 0.4x", 1.5,
          nist36_history_task, judge_nist36_loss, budget=TRAIN_BUDGET, modules=("nn", "run_q5"),
          available=nist36_missing, figures=figure_nist36_loss, provides="q5_autoencoder"),
    Check("5.3.1", "reconstruction_examples: each class's images in order, reconstructed", 2,
          examples_task, judge_examples, examples_inputs, budget=FAST_BUDGET,
          modules=("nn", "run_q5")),
    Check("5.3.1", "NIST36: reconstructions of A, G, Q, 3, 8 resemble their own images", 3,
          nist36_reconstructions_task, judge_shown, shown_inputs, budget=TRAIN_BUDGET,
          modules=("nn", "run_q5"), available=nist36_missing, figures=figure_shown,
          uses="q5_autoencoder"),
    Check("5.3.2", "average_psnr averages each image's PSNR (data_range 1)", 1, psnr_task,
          judge_psnr, psnr_inputs, budget=FAST_BUDGET, modules=("run_q5",),
          available=nist36_missing),
    Check("5.3.2", "average_psnr averages the images, not the pixels", 0.5, psnr_task,
          judge_pooled, pooled_inputs, budget=FAST_BUDGET, modules=("run_q5",)),
    Check("5.3.2", "NIST36: the average validation PSNR reaches the bar", 3.5,
          nist36_reconstructions_task, judge_nist36_psnr, all_valid_inputs, budget=TRAIN_BUDGET,
          modules=("nn", "run_q5"), available=nist36_missing, uses="q5_autoencoder"),
]  # fmt: skip
