"""Q2.1.2 ``initialize_weights``: Xavier-uniform weights and zero biases per layer.

Everything that decides Q2.1.2: the checks (task, judge, weight, budget), the statistical
bars and the teaching messages. Expected values come from :mod:`grader.oracle`, imported by
the judges when they run (the grader's process only).
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail
from grader.checks.arrays import key_list, keys_text, value_of

W_CONSTANT = "Draw each weight at random from [-a, a], a = sqrt(6 / (in + out))."
XAVIER_FORMULA = "a = sqrt(6 / (in + out)) (Xavier's uniform bound)"
UNIFORM_NOT_NORMAL = (
    "Use a uniform distribution (np.random.uniform(-a, a, size)): a normal one has tails."
)
ZERO_BIAS = "the bias starts at zero (b = np.zeros(out_size))"
NO_RESEED = "(don't reseed inside initialize_weights)"
W_SHAPE = "W{name} should have shape (in_size, out_size) = {shape}, got {got}"
B_SHAPE = "b{name} should have shape (out_size,) = ({n_out},), got {got}"
# |W| may exceed Xavier's bound a by rounding only.
BOUND_SLACK = 1e-12
# The statistical bars: a mean, variance or fraction this many standard errors off fails.
SIGMAS = 6


def init_layers_inputs():
    return {"layers": [[3, 4, "layer1"], [4, 2, "output"], [1, 1, ""], [60, 7, "hidden2"]]}


def init_layers_task(sub, inputs):
    nn = sub.load("nn")
    params = {}
    for n_in, n_out, name in inputs["layers"]:
        nn.initialize_weights(int(n_in), int(n_out), params, name)
    out = {"keys": keys_text(params)}
    for i, (_, _, name) in enumerate(inputs["layers"]):
        out[f"W{i}"] = params.get("W" + name)
        out[f"b{i}"] = params.get("b" + name)
    return out


def judge_init_layers(inputs, out):
    keys = key_list(out)
    for i, (n_in, n_out, name) in enumerate(inputs["layers"]):
        call = f"initialize_weights({n_in}, {n_out}, params, {name!r})"
        for key in ("W" + name, "b" + name):
            if key not in keys:
                raise Fail(
                    f"{call} must store params[{key!r}], keeping the other layers' entries; "
                    f"after four calls on one dict, params holds {keys}"
                )
        W = value_of(out, f"W{i}", f"params[{'W' + name!r}]")
        if W.shape != (n_in, n_out):
            raise Fail(f"{call}: " + W_SHAPE.format(name=name, shape=(n_in, n_out), got=W.shape))
        if W.dtype.kind != "f":
            raise Fail(f"{call}: W{name} should hold floats, got dtype {W.dtype}")
        if W.size > 1 and np.ptp(W) == 0:
            raise Fail(f"{call}: W{name} is constant ({W.flat[0]!r} everywhere). {W_CONSTANT}")
        b = value_of(out, f"b{i}", f"params[{'b' + name!r}]")
        if b.shape not in ((n_out,), (1, n_out)):
            raise Fail(f"{call}: " + B_SHAPE.format(name=name, n_out=n_out, got=b.shape))
        if np.any(b != 0):
            raise Fail(f"{call}: {ZERO_BIAS}, got {b}")


def init_weights_inputs(sizes, seed):
    def make():
        return {"sizes": sizes, "seed": seed}

    return make


def init_weights_task(sub, inputs):
    nn = sub.load("nn")
    np.random.seed(inputs["seed"])  # reproducible for the legacy functions; harmless otherwise
    out = {}
    for i, (n_in, n_out) in enumerate(inputs["sizes"]):
        params = {}
        nn.initialize_weights(int(n_in), int(n_out), params, "layer")
        out[f"W{i}"] = params.get("Wlayer")
    return out


def _init_weights(inputs, out):
    for i, (n_in, n_out) in enumerate(inputs["sizes"]):
        what = f"W of initialize_weights({n_in}, {n_out}, params, 'layer')"
        yield n_in, n_out, value_of(out, f"W{i}", what, shape=(n_in, n_out))


def judge_xavier_uniform(inputs, out):
    from grader import oracle

    for n_in, n_out, W in _init_weights(inputs, out):
        bound = oracle.xavier_bound(n_in, n_out)
        worst = float(np.abs(W).max())
        if worst > bound * (1 + BOUND_SLACK):
            raise Fail(
                f"Xavier draws W from [-a, a], a = {bound:.4f} for a "
                f"{n_in} x {n_out} layer, but |W| reaches {worst:.4f}. {UNIFORM_NOT_NORMAL}",
                reread="Q2.1.2",
                formula=XAVIER_FORMULA,
            )
        if W.size >= 10_000:
            # The shape, whatever the scale (Var(W) has its own check): a uniform on [-m, m]
            # puts half its mass beyond m / 2; a normal (m its largest draw) a few percent.
            frac = float(np.mean(np.abs(W) > worst / 2))
            if abs(frac - 0.5) > SIGMAS * np.sqrt(0.25 / W.size):
                raise Fail(
                    f"{frac:.1%} of the weights of a {n_in} x {n_out} layer lie beyond half the "
                    f"largest |W| ({worst:.4f}); a uniform distribution puts 50% there. Draw W "
                    "with np.random.uniform(-a, a, size).",
                    reread="Q2.1.2",
                    formula=XAVIER_FORMULA,
                )


def judge_xavier_variance(inputs, out):
    from grader import oracle

    for n_in, n_out, W in _init_weights(inputs, out):
        n = W.size
        a2 = oracle.xavier_bound(n_in, n_out) ** 2  # a**2 for the uniform on [-a, a]
        expected = a2 / 3  # = 2 / (in + out)
        # Sampling error of the variance of n uniforms: (mu4 - sigma^4) / n, mu4 = a^4 / 5.
        var_tol = SIGMAS * np.sqrt((a2**2 / 5 - a2**2 / 9) / n)
        mean_tol = SIGMAS * np.sqrt(expected / n)
        if abs(W.mean()) > mean_tol:
            raise Fail(
                f"W of a {n_in} x {n_out} layer should be centred on 0, its mean is "
                f"{W.mean():.3g}: draw from [-a, a], not [0, a]"
            )
        if abs(W.var() - expected) > var_tol:
            raise Fail(
                f"Var(W) = {W.var():.6f} for a {n_in} x {n_out} layer, expected "
                f"{expected:.6f} (+- {var_tol:.6f}): draw uniformly from [-a, a] with Xavier's a",
                reread="Q2.1.2",
                formula=XAVIER_FORMULA + ", whose variance is a^2 / 3 = 2 / (in + out)",
            )


def init_fresh_task(sub, inputs):
    nn = sub.load("nn")
    first, second, both = {}, {}, {}
    nn.initialize_weights(20, 10, first, "a")
    nn.initialize_weights(20, 10, second, "a")
    nn.initialize_weights(20, 10, both, "h1")
    nn.initialize_weights(20, 10, both, "h2")
    return {
        "first": first.get("Wa"),
        "second": second.get("Wa"),
        "h1": both.get("Wh1"),
        "h2": both.get("Wh2"),
    }


def judge_init_fresh(inputs, out):
    arrays = {
        k: value_of(out, k, "W of initialize_weights(20, 10, ...)", shape=(20, 10))
        for k in ("first", "second", "h1", "h2")
    }
    if np.ptp(arrays["first"]) == 0:
        raise Fail("W is constant: draw each weight at random from [-a, a]")
    if np.array_equal(arrays["first"], arrays["second"]):
        raise Fail(
            "two calls of initialize_weights(20, 10, ...) gave identical weights: draw fresh "
            f"random numbers each call {NO_RESEED}"
        )
    if np.array_equal(arrays["h1"], arrays["h2"]):
        raise Fail(
            "two layers of the same shape got identical weights: draw fresh random numbers "
            f"for each layer {NO_RESEED}"
        )


CHECKS = [
    # Q2.1.2 initialize_weights
    Check("2.1.2", "stores W (in, out) and a zero bias under each layer's name", 1,
          init_layers_task, judge_init_layers, init_layers_inputs, budget=30),
    Check("2.1.2", "W is uniform on [-a, a], a = sqrt(6 / (in + out))", 0.75,
          init_weights_task, judge_xavier_uniform,
          init_weights_inputs([[1, 1], [2, 25], [25, 4], [1024, 64]], seed=1), budget=60),
    Check("2.1.2", "Var(W) = 2 / (in + out), centred on 0", 0.75,
          init_weights_task, judge_xavier_variance,
          init_weights_inputs([[1024, 64], [64, 36]], seed=2), budget=60),
    Check("2.1.2", "each call draws fresh weights", 0.5,
          init_fresh_task, judge_init_fresh, budget=30),
]  # fmt: skip
