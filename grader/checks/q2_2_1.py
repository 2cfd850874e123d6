"""Q2.2.1 ``sigmoid`` and ``forward``: a layer's activation of ``X @ W + b`` and its cache.

Everything that decides Q2.2.1: the checks, tolerances and teaching messages. Expected values
come from :mod:`grader.oracle`, imported by the judges when they run.
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail, array, close, number
from grader.checks.arrays import key_list, keys_text, unchanged

SIGMOID_HINT = (
    "For large |x| exp overflows: 1 / (1 + exp(-x)) still gives the right 0, but "
    "exp(x) / (1 + exp(x)) gives inf / inf = NaN. Pick the form by the sign of x, or use "
    "scipy.special.expit (see Q1.6)."
)
SIGMOID_FORMULA = "sigmoid(x) = 1 / (1 + exp(-x)), elementwise"
SIGMOID_RANGE = "sigmoid values must lie in [0, 1]"
SIGMOID_SYMMETRY = "sigmoid(-x) should equal 1 - sigmoid(x)"
# sigmoid(-1000), sigmoid(0), sigmoid(1000) against 0, 1/2, 1 (the self-check)
EXTREMES_ATOL = 1e-12
# sigmoid_deriv (given) against central differences of sigmoid (the self-check)
SLOPE_EPS = 1e-6
SLOPE_ATOL = 1e-8
SLOPE = "sigmoid's slope (by central differences) should be s * (1 - s) (Q1.4)"
# sigmoid against the oracle on moderate inputs (|x| <= 30), and sigmoid(-x) against 1 - s
SIGMOID_TOL = {"rtol": 1e-9, "atol": 1e-15}
SYMMETRY_TOL = {"rtol": 0, "atol": 1e-12}
# sigmoid on inputs up to 1000 in magnitude, forward's values and its cache
FORWARD_TOL = {"rtol": 1e-9, "atol": 1e-12}
FORWARD_DEFAULT = "forward returns activation(X @ W + b), with sigmoid by default"
PRE_ACT = "cache[1] should be pre_act = X @ W + b"
POST_ACT = "cache[2] should be post_act, the value forward returns"
CACHED_X = "cache[0] should be the layer's input X"
CACHE_MISSING = "forward(X, params, {name!r}) must store params[{key!r}] = (X, pre_act, post_act)"
CACHE_TUPLE = "the cache is the tuple (X, pre_act, post_act)"
APPLY_ACTIVATION = "forward(X, params, name, activation) should apply {label}, not sigmoid"


def sigmoid_values_inputs():
    rng = np.random.default_rng(10)
    return {"x": rng.uniform(-30, 30, size=(6, 7)), "v": rng.uniform(-10, 10, size=5)}


def sigmoid_values_task(sub, inputs):
    nn = sub.load("nn")
    x, v = inputs["x"], inputs["v"]
    return {"s": nn.sigmoid(x), "s_neg": nn.sigmoid(-x), "s_vec": nn.sigmoid(v), "x_after": x}


def judge_sigmoid_values(inputs, out):
    from grader import oracle

    x, v = inputs["x"], inputs["v"]
    s = array(out, "s", "sigmoid(x)", shape=x.shape, hint=SIGMOID_HINT)
    unchanged(out, "x_after", x, "sigmoid", "x", "e.g. `z = -x`, not `x *= -1`")
    hint = dict(formula=SIGMOID_FORMULA, reread="Q2.2.1")
    close(s, oracle.sigmoid(x), "sigmoid(x) for x in [-30, 30]", **SIGMOID_TOL, **hint)
    s_vec = array(out, "s_vec", "sigmoid(v) of a vector", shape=v.shape, hint=SIGMOID_HINT)
    close(s_vec, oracle.sigmoid(v), "sigmoid of a vector", **SIGMOID_TOL, **hint)
    s_neg = array(out, "s_neg", "sigmoid(-x)", shape=x.shape, hint=SIGMOID_HINT)
    close(s_neg, 1 - s, "sigmoid(-x) against 1 - sigmoid(x)", **SYMMETRY_TOL)


def sigmoid_extreme_inputs():
    rng = np.random.default_rng(11)
    return {
        "v": np.array([-1000.0, -745.0, -50.0, 0.0, 50.0, 745.0, 1000.0]),
        "x": rng.uniform(-1000, 1000, size=(5, 6)),
    }


def sigmoid_extreme_task(sub, inputs):
    nn = sub.load("nn")
    return {"s_vec": nn.sigmoid(inputs["v"]), "s": nn.sigmoid(inputs["x"])}


def judge_sigmoid_extreme(inputs, out):
    from grader import oracle

    for key, what in (("s_vec", "sigmoid([-1000, -745, -50, 0, 50, 745, 1000])"),
                      ("s", "sigmoid(x) for x in [-1000, 1000]")):  # fmt: skip
        x = inputs["v" if key == "s_vec" else "x"]
        s = array(out, key, what, shape=x.shape, hint=SIGMOID_HINT)
        if np.any((s < 0) | (s > 1)):
            raise Fail(f"{what}: {SIGMOID_RANGE}, got {s.min()} to {s.max()}")
        close(s, oracle.sigmoid(x), what, **FORWARD_TOL, hint=SIGMOID_HINT)


def _layer_cases(zero_bias):
    rng = np.random.default_rng(12)
    cases = []
    for n, d_in, d_out, name in ((5, 4, 3, "layer1"), (1, 2, 6, ""), (8, 1, 1, "output")):
        cases.append(
            {
                "name": name,
                "X": rng.normal(size=(n, d_in)),
                "W": rng.normal(size=(d_in, d_out)),
                "b": np.zeros(d_out) if zero_bias else rng.normal(size=d_out),
            }
        )
    return cases


def forward_inputs(zero_bias=False):
    """Three layers; with ``zero_bias`` (the activation and cache checks) a forgotten bias
    costs only the check of the values."""

    def make():
        inputs = {"names": []}
        for i, case in enumerate(_layer_cases(zero_bias)):
            inputs["names"].append(case["name"])
            for key in ("X", "W", "b"):
                inputs[f"{key}{i}"] = case[key]
        return inputs

    return make


def _forward_cases(inputs):
    for i, name in enumerate(inputs["names"]):
        yield i, name, inputs[f"X{i}"], inputs[f"W{i}"], inputs[f"b{i}"]


def forward_task(sub, inputs):
    nn = sub.load("nn")
    out = {}
    for i, name, X, W, b in _forward_cases(inputs):
        params = {"W" + name: W.copy(), "b" + name: b.copy()}
        out[f"post{i}"] = nn.forward(X, params, name)
        out[f"X_after{i}"] = X
        cache = params.get("cache_" + name)
        out[f"keys{i}"] = keys_text(params)
        if isinstance(cache, (tuple, list)):
            out[f"cache_len{i}"] = len(cache)
            for j, item in enumerate(cache[:3]):
                out[f"cache{i}_{j}"] = np.asarray(item)
        else:
            out[f"cache_type{i}"] = type(cache).__name__
    return out


def judge_forward_values(inputs, out):
    from grader import oracle

    for i, name, X, W, b in _forward_cases(inputs):
        what = f"forward(X, params, {name!r}) for a {W.shape[0]} -> {W.shape[1]} layer"
        post = array(out, f"post{i}", what, shape=(len(X), W.shape[1]))
        unchanged(out, f"X_after{i}", X, "forward", "X", "don't write into X")
        expected = oracle.sigmoid(X @ W + b)
        hint = FORWARD_DEFAULT
        if np.allclose(post, X @ W + b, **FORWARD_TOL):
            hint = "it returned X @ W + b: apply the activation to it."
        elif np.allclose(post, oracle.sigmoid(X @ W), **FORWARD_TOL):
            hint = "it matches sigmoid(X @ W): add the bias b before the activation."
        close(post, expected, what, **FORWARD_TOL, hint=hint)


ACTIVATION_CASES = ("util.tanh", "util.linear", "util.relu", "a custom function 0.5 z^2")


def _activation(label):
    return {
        "util.tanh": np.tanh,
        "util.linear": lambda z: z,
        "util.relu": lambda z: np.maximum(z, 0.0),
        "a custom function 0.5 z^2": lambda z: 0.5 * z**2,
    }[label]


def forward_activation_task(sub, inputs):
    nn = sub.load("nn")
    X, W, b = inputs["X0"], inputs["W0"], inputs["b0"]
    out = {}
    for k, label in enumerate(ACTIVATION_CASES):
        params = {"Wh": W.copy(), "bh": b.copy()}
        out[f"post{k}"] = nn.forward(X, params, "h", _activation(label))
    return out


def judge_forward_activation(inputs, out):
    X, W, b = inputs["X0"], inputs["W0"], inputs["b0"]
    pre = X @ W + b
    for k, label in enumerate(ACTIVATION_CASES):
        what = f"forward(X, params, 'h', activation) with {label}"
        post = array(out, f"post{k}", what, shape=pre.shape)
        close(
            post,
            _activation(label)(pre),
            what,
            **FORWARD_TOL,
            hint=APPLY_ACTIVATION.format(label=label),
        )


def judge_forward_cache(inputs, out):
    from grader import oracle

    for i, name, X, W, b in _forward_cases(inputs):
        key = "cache_" + name
        if f"cache_len{i}" not in out:
            found = out.get(f"cache_type{i}", "NoneType")
            where = "is missing" if found == "NoneType" else f"is a {found}"
            raise Fail(
                CACHE_MISSING.format(name=name, key=key)
                + f" for backwards; params[{key!r}] {where} "
                f"(params holds {key_list(out, f'keys{i}')})"
            )
        length = int(number(out, f"cache_len{i}", f"len(params[{key!r}])"))
        if length != 3:
            raise Fail(f"params[{key!r}]: {CACHE_TUPLE}, got {length} items")
        shape = (len(X), W.shape[1])
        pre, post = X @ W + b, oracle.sigmoid(X @ W + b)
        cached_X = array(out, f"cache{i}_0", f"params[{key!r}][0]")
        if cached_X.shape != X.shape or not np.array_equal(cached_X, X):
            raise Fail(f"params[{key!r}][0]: {CACHED_X}")
        cached_pre = array(out, f"cache{i}_1", f"params[{key!r}][1]")
        if cached_pre.shape == shape and np.allclose(cached_pre, post, **FORWARD_TOL):
            raise Fail(
                f"params[{key!r}][1] holds post_act: cache[1] should be pre_act = X @ W + b; "
                "the order is (X, pre_act, post_act)"
            )
        if cached_pre.shape != shape:
            raise Fail(f"{PRE_ACT} of shape {shape}")
        close(cached_pre, pre, f"{PRE_ACT}; it", **FORWARD_TOL)
        cached_post = array(out, f"cache{i}_2", f"params[{key!r}][2]")
        returned = array(out, f"post{i}", "forward(...)")
        if cached_post.shape != returned.shape or not np.array_equal(cached_post, returned):
            raise Fail(f"params[{key!r}][2]: {POST_ACT}; the order is (X, pre_act, post_act)")


CHECKS = [
    # Q2.2.1 sigmoid and forward
    Check("2.2.1", "sigmoid(x) = 1 / (1 + exp(-x)) on arrays of any shape", 1,
          sigmoid_values_task, judge_sigmoid_values, sigmoid_values_inputs, budget=30),
    Check("2.2.1", "sigmoid stays finite and in [0, 1] for |x| up to 1000", 0.75,
          sigmoid_extreme_task, judge_sigmoid_extreme, sigmoid_extreme_inputs, budget=30),
    Check("2.2.1", "forward returns sigmoid(X @ W + b)", 1,
          forward_task, judge_forward_values, forward_inputs(), budget=30),
    Check("2.2.1", "forward applies the activation it is given", 0.5,
          forward_activation_task, judge_forward_activation, forward_inputs(zero_bias=True),
          budget=30),
    Check("2.2.1", "forward caches (X, pre_act, post_act)", 0.75,
          forward_task, judge_forward_cache, forward_inputs(zero_bias=True), budget=30),
]  # fmt: skip
