"""Q2.5 ``run_q2.numerical_gradients``: central differences of a loss, parameter by parameter.

Everything that decides Q2.5: the checks, tolerances and teaching messages. The expected
gradients are exact (a loss with a known gradient) or the grader's own central differences
(:mod:`grader.oracle`, imported by the judge when it runs). The losses the task hands the
submission are no handout answer.

A ``run_q2.py`` written as the handout's script, Q2.5 inline and no ``numerical_gradients``,
is graded by :mod:`grader.checks.script_q2_5`'s checks, listed here too: each set is left out
(not provided) where the other applies.
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail, close
from grader.checks import script_q2_5
from grader.checks.arrays import key_list, keys_text, value_of

# the numerical gradient of a loss whose gradient is known, with eps = 1e-6
KNOWN_TOL = {"rtol": 1e-5, "atol": 1e-7}
# the central differences themselves, exactly, with the eps given
CENTRAL_TOL = {"rtol": 1e-8, "atol": 1e-9}
# relative error against the grader's central differences of the toy network's loss
TOY_TOLERANCE = 1e-6
# params after numerical_gradients against params before (restored, not left perturbed)
RESTORE_TOL = {"rtol": 1e-12, "atol": 1e-15}
CENTRAL_DIFFERENCE = "(loss(w + eps) - loss(w - eps)) / (2 eps)"
RESTORE = "restore each entry to its old value after computing its two losses"
# The self-check of run_q2.gradient_check (the handout's check of backwards, not graded):
# it agrees with a correct backwards within GRADIENT_CHECK_AGREES and flags a gradient 1.5x
# too large with an error above GRADIENT_CHECK_FLAGS.
GRADIENT_CHECK_AGREES = 1e-4
GRADIENT_CHECK_FLAGS = 1e-2


def known_loss(params):
    """A loss with a known gradient: 3 Wa^2, cos(ba) and Wb."""
    return float(
        np.sum(params["Wa"] ** 3) + np.sum(np.sin(params["ba"])) + 0.5 * np.sum(params["Wb"] ** 2)
    )


def known_inputs(seed, eps):
    def make():
        rng = np.random.default_rng(seed)
        return {
            "Wa": rng.normal(size=(3, 2)),
            "ba": rng.normal(size=2),
            "Wb": rng.normal(size=(2, 4)),
            "cache_x": rng.normal(size=(1, 3)),
            "eps": eps,
        }

    return make


KNOWN_KEYS = ("Wa", "ba", "Wb")


def known_task(sub, inputs):
    run_q2 = sub.load("run_q2")
    params = {key: inputs[key].copy() for key in KNOWN_KEYS}
    params["cache_a"] = (inputs["cache_x"],) * 3
    params["grad_Wa"] = np.zeros_like(inputs["Wa"])
    grads = run_q2.numerical_gradients(known_loss, params, float(inputs["eps"]))
    out = {"keys": keys_text(grads) if grads is not None else None}
    for key in KNOWN_KEYS:
        out["grad_" + key] = grads.get("grad_" + key) if isinstance(grads, dict) else None
        out["after_" + key] = params[key]
    out["params_keys"] = keys_text(params)
    return out


def judge_known_keys(inputs, out):
    if "keys" in out.get("__none__", ()):
        raise Fail("numerical_gradients returned None: return the dict of gradients")
    keys = key_list(out)
    expected = sorted("grad_" + k for k in KNOWN_KEYS)
    if keys != expected:
        raise Fail(
            "numerical_gradients returns {'grad_' + key: gradient} for the parameters only (the "
            f"keys without '_': {list(KNOWN_KEYS)}, not cache_a or grad_Wa); got {keys}"
        )
    for key in KNOWN_KEYS:
        grad = value_of(out, "grad_" + key, f"grads['grad_{key}']", shape=inputs[key].shape)
        if not np.any(grad):
            raise Fail(
                f"grads['grad_{key}'] is all zeros, though the loss depends on every entry of "
                f"{key}: (loss(w + eps) - loss(w - eps)) / (2 eps) for each entry w"
            )


def _known_gradients(out, inputs):
    keys = key_list(out)
    for key in KNOWN_KEYS:
        if "grad_" + key not in keys:
            raise Fail(f"numerical_gradients should return grads['grad_{key}']; got {keys}")
        grad = value_of(out, "grad_" + key, f"grads['grad_{key}']")
        if grad.size != inputs[key].size:
            raise Fail(f"grads['grad_{key}'] should have the shape {inputs[key].shape}")
        yield key, grad.reshape(inputs[key].shape)


def judge_known_gradient(inputs, out):
    expected = {
        "Wa": 3 * inputs["Wa"] ** 2,
        "ba": np.cos(inputs["ba"]),
        "Wb": inputs["Wb"],
    }
    for key, grad in _known_gradients(out, inputs):
        close(
            grad,
            expected[key],
            f"the numerical gradient grads['grad_{key}'] of a loss whose exact gradient is known",
            **KNOWN_TOL,
            hint="Perturb one entry at a time, every other entry left as it is.",
            formula=f"Each entry w: {CENTRAL_DIFFERENCE}",
            reread="Q2.5",
        )


def judge_central_eps(inputs, out):
    eps = float(inputs["eps"])
    Wa, ba, Wb = inputs["Wa"], inputs["ba"], inputs["Wb"]
    # The central differences themselves, exactly: (f(w + e) - f(w - e)) / (2 e).
    expected = {"Wa": 3 * Wa**2 + eps**2, "ba": np.cos(ba) * np.sin(eps) / eps, "Wb": Wb}
    one_sided = {"Wa": 3 * Wa**2 + 3 * Wa * eps + eps**2}
    for key, grad in _known_gradients(out, inputs):
        hint = f"With eps = {eps:g}: {CENTRAL_DIFFERENCE} for each entry w."
        if key in one_sided and np.allclose(grad, one_sided[key], rtol=1e-6):
            hint = (
                "That is the one-sided difference (loss(w + eps) - loss(w)) / eps: use the "
                f"central one, {CENTRAL_DIFFERENCE}."
            )
        close(
            grad,
            expected[key],
            f"grads['grad_{key}'] computed with numerical_gradients(loss, params, eps={eps:g})",
            **CENTRAL_TOL,
            hint=hint,
        )


def judge_params_restored(inputs, out):
    """Restoring is this check's own point; gradients far off fail it too (no free points)."""
    keys = key_list(out, "params_keys")
    expected_keys = sorted([*KNOWN_KEYS, "cache_a", "grad_Wa"])
    if keys != expected_keys:
        raise Fail(
            f"numerical_gradients changed the keys of params (now {keys}, before "
            f"{expected_keys}): return the gradients in a new dict"
        )
    for key in KNOWN_KEYS:
        after = value_of(out, "after_" + key, f"params[{key!r}] after numerical_gradients")
        if after.shape != inputs[key].shape or not np.allclose(after, inputs[key], **RESTORE_TOL):
            raise Fail(
                f"params[{key!r}] was left changed by numerical_gradients: {RESTORE} "
                "(old = w[idx]; ...; w[idx] = old)"
            )
    judge_known_gradient(inputs, out)


def toy_gradient_inputs():
    rng = np.random.default_rng(30)
    inputs = {"x": rng.normal(size=(6, 2)), "y": rng.normal(size=(6, 4))}
    for name, n_in, n_out in (("layer1", 2, 3), ("output", 3, 4)):
        inputs["W" + name] = rng.normal(size=(n_in, n_out))
        inputs["b" + name] = rng.normal(size=n_out)
    return inputs


TOY_KEYS = ("Wlayer1", "blayer1", "Woutput", "boutput")


def toy_loss(x, y, params) -> float:
    """The toy network's loss: a tanh layer, a linear output and a smooth loss of its
    difference to ``y``, sum log cosh (no handout answer: the task runs it in the
    submission's process). Every parameter moves it, and through the tanh layer together:
    an entry left perturbed changes the next entries' differences."""
    h = np.tanh(x @ params["Wlayer1"] + params["blayer1"])
    return float(np.sum(np.log(np.cosh(h @ params["Woutput"] + params["boutput"] - y))))


def toy_gradient_task(sub, inputs):
    run_q2 = sub.load("run_q2")
    x, y = inputs["x"], inputs["y"]
    params = {key: inputs[key].copy() for key in TOY_KEYS}

    def loss(p):
        return toy_loss(x, y, p)

    grads = run_q2.numerical_gradients(loss, params, 1e-6)
    out = {"keys": keys_text(grads) if grads is not None else None}
    for key in TOY_KEYS:
        out["grad_" + key] = grads.get("grad_" + key) if isinstance(grads, dict) else None
    return out


def toy_gradients(inputs) -> dict:
    """The grader's central differences of :func:`toy_loss`, by parameter."""
    from grader import oracle

    x, y = inputs["x"], inputs["y"]
    params = {key: np.array(inputs[key]) for key in TOY_KEYS}
    return {
        key: oracle.central_differences(lambda: toy_loss(x, y, params), params[key])
        for key in TOY_KEYS
    }


def judge_toy_gradient(inputs, out):
    from grader import oracle

    if "keys" in out.get("__none__", ()):
        raise Fail("numerical_gradients returned None: return the dict of gradients")
    keys = key_list(out)
    for key, value in toy_gradients(inputs).items():
        if "grad_" + key not in keys:
            raise Fail(f"numerical_gradients should return grads['grad_{key}']; got {keys}")
        grad = value_of(out, "grad_" + key, f"grads['grad_{key}']")
        if grad.size != value.size:
            raise Fail(f"grads['grad_{key}'] should have the shape {value.shape}, got {grad.shape}")
        err = oracle.relative_error(grad.reshape(value.shape), value)
        if err > TOY_TOLERANCE:
            raise Fail(
                f"grads['grad_{key}'] of the toy network's loss differs from the grader's "
                f"central differences (relative error {err:.1e} > {TOY_TOLERANCE:g}): perturb "
                f"one entry at a time, {CENTRAL_DIFFERENCE}, and restore it before the next"
            )


CHECKS = [
    # Q2.5 numerical_gradients
    Check("2.5", "returns grad_ + key for each parameter, skipping cache_ and grad_ keys", 0.75,
          known_task, judge_known_keys, known_inputs(50, 1e-6), budget=60,
          modules=("run_q2",)),
    Check("2.5", "matches the exact gradient of a known function", 1.25,
          known_task, judge_known_gradient, known_inputs(51, 1e-6), budget=60,
          modules=("run_q2",)),
    Check("2.5", "central differences with the eps it is given", 0.75,
          known_task, judge_central_eps, known_inputs(52, 1e-2), budget=60,
          modules=("run_q2",)),
    Check("2.5", "matches backprop of the toy network's loss", 1.25,
          toy_gradient_task, judge_toy_gradient, toy_gradient_inputs, budget=60,
          modules=("run_q2",)),
    Check("2.5", "leaves params as they were", 1,
          known_task, judge_params_restored, known_inputs(53, 1e-6), budget=60,
          modules=("run_q2",)),
    # the same question written inline in the handout's run_q2.py script
    *script_q2_5.CHECKS,
]  # fmt: skip
