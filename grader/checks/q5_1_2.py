"""Q5.1.2 (extra credit): ``momentum_step``.

The checks step parameters and gradients made here (dyadic numbers: the first step is exact)
and follow the rule by hand: M = momentum * M - learning_rate * grad, W = W + M, with M zero
at first and 0.9 by default.
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail, array, number
from grader.checks.q5_common import floats

FAST_BUDGET = 60
DEFAULT_MOMENTUM = 0.9
# Steps against the hand computation.
STEP_RTOL, STEP_ATOL = 1e-12, 1e-14
MOMENTUM_RULE = (
    "M = momentum * M - learning_rate * grad, then W = W + M, with M kept in "
    "params['m_' + key] from one step to the next and zero at first"
)
NO_ACCUMULATOR = (
    "momentum_step raised {error} on parameters without accumulators: create "
    "params['m_' + k] (zeros shaped like params[k]) when it is missing, e.g. with "
    "params.get('m_' + k, 0)"
)
UPHILL = "{key} moved up the gradient: " + MOMENTUM_RULE
FIRST_STEP = (
    "{key}: the accumulators start at zero, so the first step is W - learning_rate * grad = "
    "{expected}; got {got}"
)
GRADIENT_CHANGED = (
    "momentum_step changed grad_{key}: only the parameters and their accumulators change"
)
CACHE_TOUCHED = "momentum_step should not touch the caches (keys with '_' are not parameters)"
STEPS_DIFFER = (
    "after {steps} step(s) ({what}, learning rate {learning_rate:g}), {key} should be "
    "{expected}...; got {got}.... By hand: " + MOMENTUM_RULE
)
# A constant gradient: the steps, and the limit they approach.
CONSTANT_STEPS, CONSTANT_RATE = 60, 0.01
# The first two steps (-0.01, -0.019) to this relative tolerance; the last within 1% of -0.1.
CONSTANT_RTOL, LIMIT_RTOL = 1e-6, 0.01
FIRST_CONSTANT_STEP = "the first step should be -learning_rate * grad = -0.01; got {got:.4g}"
SECOND_STEP = "the second step should be 0.9 * (-0.01) - 0.01 = -0.019; got {got:.4g}"
LIMIT_STEP = (
    "after 60 steps with a constant gradient, each step should approach "
    "-learning_rate * grad / (1 - 0.9) = -0.1; got {got:.4g}"
)


# ============================================================================ task side
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
    out = {"after_" + k: floats(params.get(k)) for k in keys}
    out |= {"grad_after_" + k: floats(params.get("grad_" + k)) for k in keys}
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
            out |= {f"c{i}_step{step}_{k}": floats(params.get(k)) for k in keys}
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


# ============================================================================ judge side
def _key_error(out: dict) -> None:
    if "key_error" in out:
        raise Fail(NO_ACCUMULATOR.format(error=out["key_error"]))


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
            raise Fail(UPHILL.format(key=key))
        if new.shape != old.shape or not np.array_equal(new, expected):
            raise Fail(FIRST_STEP.format(key=key, expected=expected.tolist(), got=new.tolist()))
        after = array(out, "grad_after_" + key, f"params['grad_{key}'] after momentum_step")
        if after.shape != grad.shape or not np.array_equal(after, grad):
            raise Fail(GRADIENT_CHANGED.format(key=key))
    if not number(out, "cache_kept", "whether params['cache_a'] was left alone"):
        raise Fail(CACHE_TOUCHED)


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
        mu = DEFAULT_MOMENTUM if momentum is None else momentum
        W = {k: inputs[f"c{i}_{k}"] for k in inputs["keys"]}
        M = {k: np.zeros_like(v) for k, v in W.items()}
        for step in range(n_steps):
            for key in inputs["keys"]:
                M[key] = mu * M[key] - lr * inputs[f"c{i}_grad{step}_{key}"]
                W[key] = W[key] + M[key]
                got = array(out, f"c{i}_step{step}_{key}", f"params[{key!r}]")
                if got.shape == W[key].shape and np.allclose(
                    got, W[key], rtol=STEP_RTOL, atol=STEP_ATOL
                ):
                    continue
                what = "the default momentum 0.9" if momentum is None else f"momentum={momentum}"
                raise Fail(STEPS_DIFFER.format(
                    steps=step + 1, what=what, learning_rate=lr, key=key,
                    expected=np.round(W[key].ravel()[:3], 6).tolist(),
                    got=np.round(got.ravel()[:3], 6).tolist()))  # fmt: skip


def constant_gradient_inputs():
    return {"n_steps": CONSTANT_STEPS, "learning_rate": CONSTANT_RATE}


def judge_constant_gradient(inputs, out):
    _key_error(out)
    positions = array(out, "positions", "the position after each step", shape=(inputs["n_steps"],))
    steps = np.diff(np.concatenate([[0.0], positions]))
    if not np.isclose(steps[0], -0.01, rtol=CONSTANT_RTOL):
        raise Fail(FIRST_CONSTANT_STEP.format(got=steps[0]))
    if not np.isclose(steps[1], -0.019, rtol=CONSTANT_RTOL):
        raise Fail(SECOND_STEP.format(got=steps[1]))
    if not np.isclose(steps[-1], -0.1, rtol=LIMIT_RTOL):
        raise Fail(LIMIT_STEP.format(got=steps[-1]))


CHECKS = [
    Check("5.1.2", "the first step is a plain gradient step; gradients and caches untouched", 1,
          first_step_task, judge_first_step, first_step_inputs, budget=FAST_BUDGET,
          modules=("run_q5",)),
    Check("5.1.2", "steps match a hand computation (momentum 0.9 by default, and 0.5)", 2,
          momentum_steps_task, judge_momentum, momentum_inputs, budget=FAST_BUDGET,
          modules=("run_q5",)),
    Check("5.1.2", "momentum builds up under a constant gradient", 1, constant_gradient_task,
          judge_constant_gradient, constant_gradient_inputs, budget=FAST_BUDGET,
          modules=("run_q5",)),
]  # fmt: skip
