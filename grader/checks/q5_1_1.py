"""Q5.1.1 (extra credit): ``init_autoencoder`` and ``autoencoder_forward``.

The checks call the submission on sizes and small random networks made here and judge
against ``grader.oracle`` (Xavier's bound and variance, the forward pass); a forward pass that
matches a wrong layout (sigmoid hidden layers, a ReLU or no output activation) is named.
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail, array, close
from grader.checks.q5_common import (
    HIDDEN_SIZE,
    IN_SIZE,
    LAYERS,
    PARAM_KEYS,
    dump,
    floats,
    params_for,
    params_out,
    random_autoencoder,
    sizes_of,
)

FAST_BUDGET = 60
# The weights' variance against Xavier's 2 / (in + out): this relative tolerance.
VARIANCE_RTOL = 0.15
# The forward pass against the oracle's.
FORWARD_RTOL, FORWARD_ATOL = 1e-7, 1e-10
# The handout's 1024-32-32-32-1024 network: values near 0 or 1, a smaller absolute tolerance.
HANDOUT_ATOL = 1e-12
FORWARD_FORMULA = "sigmoid(relu(relu(relu(x W1 + b1) W2 + b2) W3 + b3) Wout + bout)"
ZERO_BIAS = "b{name} should start at zero"
XAVIER_RANGE = (
    "W{name}: Xavier uniform draws from [-{bound:.4f}, {bound:.4f}] (Q2.1.2), got values up "
    "to {largest:.4f}"
)
XAVIER_VARIANCE = (
    "W{name}: the variance of Xavier-initialised weights is 2 / (in + out) = {variance:.2e}; "
    "got {got:.2e}. Use initialize_weights for each layer."
)
NOT_FRESH = (
    "two calls of {call} gave the same weights: each call should draw fresh random weights "
    "(don't reseed inside init_autoencoder)"
)
# A wrong forward pass the judge recognises: what it says, the activations it matches.
FORWARD_VARIANTS = {
    "the hidden layers apply sigmoid: use relu (Q5.1.1)": ("sigmoid",) * 4,
    "the output applies relu: the last layer ('output') uses sigmoid": ("relu",) * 4,
    "the output layer has no activation: apply sigmoid": ("relu",) * 3 + ("linear",),
}
NOT_IMAGES = "reconstructions are sigmoid outputs: every value should lie in [0, 1]"


# ============================================================================ task side
def init_task(sub, inputs):
    """``init_autoencoder(in, hidden)`` twice per case (``sizes``), seeded first."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i, (in_size, hidden) in enumerate(inputs["sizes"]):
        np.random.seed(inputs["seed"])
        for call in ("first", "second"):
            out.update(dump(run_q5.init_autoencoder(in_size, hidden), f"c{i}_{call}_"))
    return out


def forward_task(sub, inputs):
    """``autoencoder_forward`` of each case ``c<i>_`` (x and params from the grader)."""
    run_q5 = sub.load("run_q5")
    out = {}
    for i in range(inputs["n_cases"]):
        params = params_for(sub, inputs, f"c{i}_")
        out[f"c{i}_reconstruction"] = floats(
            run_q5.autoencoder_forward(inputs[f"c{i}_x"].copy(), params)
        )
    return out


def handout_forward_task(sub, inputs):
    """``autoencoder_forward`` of the handout's network from ``init_autoencoder(1024, 32)``."""
    run_q5 = sub.load("run_q5")
    np.random.seed(inputs["seed"])
    params = run_q5.init_autoencoder(IN_SIZE, HIDDEN_SIZE)
    out = dump(params, "init_")
    out["reconstruction"] = floats(run_q5.autoencoder_forward(inputs["x"].copy(), params))
    return out


# ============================================================================ judge side
def init_inputs():
    return {"sizes": [[1024, 32], [20, 5], [7, 1]], "seed": 0}


def judge_init_handout(inputs, out):
    from grader import oracle

    params = params_out(out, "c0_first_", sizes_of(1024, 32), "init_autoencoder(1024, 32)")
    for name in LAYERS:
        W, b = params["W" + name], params["b" + name]
        if np.any(b != 0):
            raise Fail(ZERO_BIAS.format(name=name))
        bound = oracle.xavier_bound(*W.shape)
        if np.abs(W).max() > bound:
            raise Fail(XAVIER_RANGE.format(name=name, bound=bound, largest=np.abs(W).max()))
        variance = 2.0 / sum(W.shape)
        if abs(W.var() - variance) > VARIANCE_RTOL * variance:
            raise Fail(XAVIER_VARIANCE.format(name=name, variance=variance, got=W.var()))


def judge_init_sizes(inputs, out):
    for i, (in_size, hidden) in enumerate(inputs["sizes"]):
        call = f"init_autoencoder({in_size}, {hidden})"
        sizes = sizes_of(in_size, hidden)
        first = params_out(out, f"c{i}_first_", sizes, call)
        second = params_out(out, f"c{i}_second_", sizes, call)
        if in_size * hidden > 1 and all(
            np.array_equal(first["W" + name], second["W" + name]) for name in LAYERS
        ):
            raise Fail(NOT_FRESH.format(call=call))


FORWARD_SHAPES = ((3, 6, 2), (2, 5, 4), (4, 3, 1), (1, 2, 3))  # (batch, pixels, hidden)


def forward_inputs():
    rng = np.random.default_rng(11)
    inputs = {"n_cases": len(FORWARD_SHAPES)}
    for i, (n, d, h) in enumerate(FORWARD_SHAPES):
        inputs[f"c{i}_x"] = rng.uniform(0, 1, size=(n, d))
        inputs |= {f"c{i}_{k}": v for k, v in random_autoencoder(rng, d, h).items()}
    return inputs


def judge_forward(inputs, out):
    from grader import oracle

    for i in range(inputs["n_cases"]):
        x = inputs[f"c{i}_x"]
        params = {k: inputs[f"c{i}_{k}"] for k in PARAM_KEYS}
        got = array(out, f"c{i}_reconstruction", "autoencoder_forward(x, params)", shape=x.shape,
                    finite=False)  # fmt: skip
        expected, _ = oracle.autoencoder_forward(x, params)
        if np.allclose(got, expected, rtol=FORWARD_RTOL, atol=FORWARD_ATOL):
            continue
        for why, acts in FORWARD_VARIANTS.items():
            layers = tuple(zip(LAYERS, acts))
            if np.allclose(got, oracle.autoencoder_forward(x, params, layers)[0]):
                raise Fail(f"autoencoder_forward: {why}")
        close(got, expected, "autoencoder_forward(x, params)", rtol=FORWARD_RTOL,
              atol=FORWARD_ATOL, hint=f"It should be {FORWARD_FORMULA}.")  # fmt: skip


def handout_forward_inputs():
    return {"seed": 1, "x": np.random.default_rng(1).uniform(size=(5, IN_SIZE))}


def judge_handout_forward(inputs, out):
    from grader import oracle

    params = params_out(out, "init_", sizes_of(IN_SIZE, HIDDEN_SIZE), "init_autoencoder(1024, 32)")
    got = array(out, "reconstruction", "autoencoder_forward of the 1024-32-32-32-1024 network",
                shape=inputs["x"].shape)  # fmt: skip
    if np.any((got < 0) | (got > 1)):
        raise Fail(NOT_IMAGES)
    expected, _ = oracle.autoencoder_forward(inputs["x"], params)
    close(got, expected, "autoencoder_forward of the 1024-32-32-32-1024 network", rtol=FORWARD_RTOL,
          atol=HANDOUT_ATOL, hint=f"It should be {FORWARD_FORMULA}.")  # fmt: skip


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
]  # fmt: skip
