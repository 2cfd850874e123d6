"""Q2: the fully connected network in numpy (``nn.py``, ``run_q2.py``).

Conventions the checks accept, as the handout states them or leaves them open:

* the loss is the cross-entropy *summed* over the batch, so every gradient is a sum too;
* layer ``name`` keeps ``params['W' + name]`` ``(in, out)``, ``params['b' + name]`` ``(out,)``
  (a ``(1, out)`` bias used consistently is accepted: the tasks probe the convention with the
  submission's ``initialize_weights`` and hand biases over in it), the forward cache
  ``params['cache_' + name] = (X, pre_act, post_act)`` and ``params['grad_W' + name]``,
  ``params['grad_b' + name]``;
* randomness from the legacy ``np.random`` functions or a ``default_rng()``; the batch
  splitter may drop the leftover partial batch.

Every expected value is computed here, in the grader's process, with :mod:`grader.oracle`
(central differences of the grader's own network loss for the gradients), never with the
submission's code.
"""

from __future__ import annotations

import numpy as np

from grader import oracle
from grader.check import Check, Fail, array, close, number
from grader.checks import common

STABILITY_HINT = (
    "Subtract each row's max before exp (Q1.1: softmax ignores the shift): each row's own "
    "max, not the global max of the whole array."
)


# The teaching messages the grader and the self-check tests (tests/test_nn_*.py) share.
W_CONSTANT = "Draw each weight at random from [-a, a], a = sqrt(6 / (in + out))."
SOFTMAX_DEFINITION = (
    "softmax(x)[i, j] = exp(x[i, j] - max_k x[i, k]) / sum_k exp(x[i, k] - max_k x[i, k])"
)
SUM_NOT_MEAN = "sum over the batch, don't average"
GRADIENT_SUM = "the loss is summed over the batch, so sum the gradient too; don't average"
NO_GRADIENT = (
    "every entry is zero: compute the gradient (backwards stores X.T @ delta_pre and "
    "delta_pre summed over the batch)"
)
BATCH_SIZE_IS_ROWS = "batch_size is the number of rows per batch, not the number of batches."
NO_BATCHES = (
    "get_random_batches returned no batches: shuffle the indices (np.random.permutation(N)) "
    "and append (x[idx], y[idx]) for each slice of batch_size of them"
)
FEWER_THAN_BATCH_SIZE = (
    "With fewer samples than batch_size, return one batch holding all N samples (or none, "
    "when you drop the leftover partial batch); np.split(x, N // batch_size) asks for 0 "
    "sections there and raises."
)
LOG_OF_ZERO = (
    "Advice, not a failure: compute_loss_and_acc(y, probs) gives NaN or inf when a "
    "probability is exactly 0 (0 * log 0). The handout's softmax never returns an exact 0 for "
    "moderate logits, so your code is right for the handout; to be safe with extreme logits, "
    "take the log of the labels' probabilities only (np.log(probs[y == 1])) or clip probs."
)
HARD_MAX = (
    "softmax is not a hard max: every class keeps a probability exp(x_j - max) / sum, "
    "only the largest logit's is close to 1"
)


# ----------------------------------------------------------------------------- helpers
def _keys(params) -> str:
    """The keys of a params dict, for the judge (one string: lists of str may be empty)."""
    return "\n".join(sorted(str(k) for k in params)) if isinstance(params, dict) else ""


def _key_list(out: dict, key: str = "keys") -> list[str]:
    value = out.get(key, "")
    return value.split("\n") if isinstance(value, str) and value else []


def _value(out: dict, key: str, what: str, **kwargs) -> np.ndarray:
    """``array(out, key, ...)`` with a message for a stored ``None`` (not a forgotten return)."""
    if key in out.get("__none__", ()):
        raise Fail(f"{what} is None: expected an array")
    return array(out, key, what, **kwargs)


def _in_convention(params: dict, row_bias: bool) -> dict:
    """Copies of ``params`` with biases reshaped to ``(1, out)`` when ``row_bias``."""
    return {
        k: (np.array(v).reshape(1, -1) if row_bias and k.startswith("b") else np.array(v))
        for k, v in params.items()
    }


def _one_hot(labels, n_classes: int) -> np.ndarray:
    y = np.zeros((len(labels), n_classes))
    y[np.arange(len(labels)), labels] = 1.0
    return y


def _unchanged(out: dict, key: str, original: np.ndarray, function: str, name: str, fix: str):
    after = out.get(key)
    if not (isinstance(after, np.ndarray) and np.array_equal(after, original, equal_nan=True)):
        raise Fail(
            f"{function} changed its argument `{name}` in place; compute a new array instead "
            f"({fix})"
        )


# ----------------------------------------------------------------------------- Q2.1.2
def init_layers_inputs():
    return {"layers": [[3, 4, "layer1"], [4, 2, "output"], [1, 1, ""], [60, 7, "hidden2"]]}


def init_layers_task(sub, inputs):
    nn = sub.load("nn")
    params = {}
    for n_in, n_out, name in inputs["layers"]:
        nn.initialize_weights(int(n_in), int(n_out), params, name)
    out = {"keys": _keys(params)}
    for i, (_, _, name) in enumerate(inputs["layers"]):
        out[f"W{i}"] = params.get("W" + name)
        out[f"b{i}"] = params.get("b" + name)
    return out


def judge_init_layers(inputs, out):
    keys = _key_list(out)
    for i, (n_in, n_out, name) in enumerate(inputs["layers"]):
        call = f"initialize_weights({n_in}, {n_out}, params, {name!r})"
        for key in ("W" + name, "b" + name):
            if key not in keys:
                raise Fail(
                    f"{call} must store params[{key!r}], keeping the other layers' entries; "
                    f"after four calls on one dict, params holds {keys}"
                )
        W = _value(out, f"W{i}", f"params[{'W' + name!r}]")
        if W.shape != (n_in, n_out):
            raise Fail(
                f"{call}: W{name} should have shape (in_size, out_size) = {(n_in, n_out)}, "
                f"got {W.shape}"
            )
        if W.dtype.kind != "f":
            raise Fail(f"{call}: W{name} should hold floats, got dtype {W.dtype}")
        if W.size > 1 and np.ptp(W) == 0:
            raise Fail(f"{call}: W{name} is constant ({W.flat[0]!r} everywhere). {W_CONSTANT}")
        b = _value(out, f"b{i}", f"params[{'b' + name!r}]")
        if b.shape not in ((n_out,), (1, n_out)):
            raise Fail(f"{call}: b{name} should have shape (out_size,) = ({n_out},), got {b.shape}")
        if np.any(b != 0):
            raise Fail(f"{call}: the bias starts at zero (b = np.zeros(out_size)), got {b}")


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
        yield n_in, n_out, _value(out, f"W{i}", what, shape=(n_in, n_out))


XAVIER_FORMULA = "a = sqrt(6 / (in + out)) (Xavier's uniform bound)"


def judge_xavier_uniform(inputs, out):
    for n_in, n_out, W in _init_weights(inputs, out):
        bound = oracle.xavier_bound(n_in, n_out)
        worst = float(np.abs(W).max())
        if worst > bound * (1 + 1e-12):
            raise Fail(
                f"Xavier draws W from [-a, a], a = {bound:.4f} for a "
                f"{n_in} x {n_out} layer, but |W| reaches {worst:.4f}. Use a uniform "
                "distribution (np.random.uniform(-a, a, size)): a normal one has tails.",
                reread="Q2.1.2",
                formula=XAVIER_FORMULA,
            )
        if W.size >= 10_000:
            # The shape, whatever the scale (Var(W) has its own check): a uniform on [-m, m]
            # puts half its mass beyond m / 2; a normal (m its largest draw) a few percent.
            frac = float(np.mean(np.abs(W) > worst / 2))
            if abs(frac - 0.5) > 6 * np.sqrt(0.25 / W.size):
                raise Fail(
                    f"{frac:.1%} of the weights of a {n_in} x {n_out} layer lie beyond half the "
                    f"largest |W| ({worst:.4f}); a uniform distribution puts 50% there. Draw W "
                    "with np.random.uniform(-a, a, size).",
                    reread="Q2.1.2",
                    formula=XAVIER_FORMULA,
                )


def judge_xavier_variance(inputs, out):
    for n_in, n_out, W in _init_weights(inputs, out):
        n = W.size
        a2 = oracle.xavier_bound(n_in, n_out) ** 2  # a**2 for the uniform on [-a, a]
        expected = a2 / 3  # = 2 / (in + out)
        # Sampling error of the variance of n uniforms: (mu4 - sigma^4) / n, mu4 = a^4 / 5.
        var_tol = 6 * np.sqrt((a2**2 / 5 - a2**2 / 9) / n)
        mean_tol = 6 * np.sqrt(expected / n)
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
        k: _value(out, k, "W of initialize_weights(20, 10, ...)", shape=(20, 10))
        for k in ("first", "second", "h1", "h2")
    }
    if np.ptp(arrays["first"]) == 0:
        raise Fail("W is constant: draw each weight at random from [-a, a]")
    if np.array_equal(arrays["first"], arrays["second"]):
        raise Fail(
            "two calls of initialize_weights(20, 10, ...) gave identical weights: draw fresh "
            "random numbers each call (don't reseed inside initialize_weights)"
        )
    if np.array_equal(arrays["h1"], arrays["h2"]):
        raise Fail(
            "two layers of the same shape got identical weights: draw fresh random numbers "
            "for each layer (don't reseed inside initialize_weights)"
        )


# ----------------------------------------------------------------------------- Q2.2.1
SIGMOID_HINT = (
    "For large |x| exp overflows: 1 / (1 + exp(-x)) still gives the right 0, but "
    "exp(x) / (1 + exp(x)) gives inf / inf = NaN. Pick the form by the sign of x, or use "
    "scipy.special.expit (see Q1.6)."
)


def sigmoid_values_inputs():
    rng = np.random.default_rng(10)
    return {"x": rng.uniform(-30, 30, size=(6, 7)), "v": rng.uniform(-10, 10, size=5)}


def sigmoid_values_task(sub, inputs):
    nn = sub.load("nn")
    x, v = inputs["x"], inputs["v"]
    return {"s": nn.sigmoid(x), "s_neg": nn.sigmoid(-x), "s_vec": nn.sigmoid(v), "x_after": x}


def judge_sigmoid_values(inputs, out):
    x, v = inputs["x"], inputs["v"]
    s = array(out, "s", "sigmoid(x)", shape=x.shape, hint=SIGMOID_HINT)
    _unchanged(out, "x_after", x, "sigmoid", "x", "e.g. `z = -x`, not `x *= -1`")
    hint = dict(formula="sigmoid(x) = 1 / (1 + exp(-x)), elementwise", reread="Q2.2.1")
    close(s, oracle.sigmoid(x), "sigmoid(x) for x in [-30, 30]", rtol=1e-9, atol=1e-15, **hint)
    s_vec = array(out, "s_vec", "sigmoid(v) of a vector", shape=v.shape, hint=SIGMOID_HINT)
    close(s_vec, oracle.sigmoid(v), "sigmoid of a vector", rtol=1e-9, atol=1e-15, **hint)
    s_neg = array(out, "s_neg", "sigmoid(-x)", shape=x.shape, hint=SIGMOID_HINT)
    close(s_neg, 1 - s, "sigmoid(-x) against 1 - sigmoid(x)", rtol=0, atol=1e-12)


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
    for key, what in (("s_vec", "sigmoid([-1000, -745, -50, 0, 50, 745, 1000])"),
                      ("s", "sigmoid(x) for x in [-1000, 1000]")):  # fmt: skip
        x = inputs["v" if key == "s_vec" else "x"]
        s = array(out, key, what, shape=x.shape, hint=SIGMOID_HINT)
        if np.any((s < 0) | (s > 1)):
            raise Fail(f"{what}: sigmoid values must lie in [0, 1], got {s.min()} to {s.max()}")
        close(s, oracle.sigmoid(x), what, rtol=1e-9, atol=1e-12, hint=SIGMOID_HINT)


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
        out[f"keys{i}"] = _keys(params)
        if isinstance(cache, (tuple, list)):
            out[f"cache_len{i}"] = len(cache)
            for j, item in enumerate(cache[:3]):
                out[f"cache{i}_{j}"] = np.asarray(item)
        else:
            out[f"cache_type{i}"] = type(cache).__name__
    return out


def judge_forward_values(inputs, out):
    for i, name, X, W, b in _forward_cases(inputs):
        what = f"forward(X, params, {name!r}) for a {W.shape[0]} -> {W.shape[1]} layer"
        post = array(out, f"post{i}", what, shape=(len(X), W.shape[1]))
        _unchanged(out, f"X_after{i}", X, "forward", "X", "don't write into X")
        expected = oracle.sigmoid(X @ W + b)
        hint = "forward returns activation(X @ W + b), with sigmoid by default"
        if np.allclose(post, X @ W + b, rtol=1e-9, atol=1e-12):
            hint = "it returned X @ W + b: apply the activation to it."
        elif np.allclose(post, oracle.sigmoid(X @ W), rtol=1e-9, atol=1e-12):
            hint = "it matches sigmoid(X @ W): add the bias b before the activation."
        close(post, expected, what, rtol=1e-9, atol=1e-12, hint=hint)


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
            rtol=1e-9,
            atol=1e-12,
            hint=f"forward(X, params, name, activation) should apply {label}, not sigmoid",
        )


def judge_forward_cache(inputs, out):
    for i, name, X, W, b in _forward_cases(inputs):
        key = "cache_" + name
        if f"cache_len{i}" not in out:
            found = out.get(f"cache_type{i}", "NoneType")
            where = "is missing" if found == "NoneType" else f"is a {found}"
            raise Fail(
                f"forward(X, params, {name!r}) must store params[{key!r}] = (X, pre_act, "
                f"post_act) for backwards; params[{key!r}] {where} "
                f"(params holds {_key_list(out, f'keys{i}')})"
            )
        length = int(number(out, f"cache_len{i}", f"len(params[{key!r}])"))
        if length != 3:
            raise Fail(f"params[{key!r}] is the tuple (X, pre_act, post_act), got {length} items")
        shape = (len(X), W.shape[1])
        pre, post = X @ W + b, oracle.sigmoid(X @ W + b)
        cached_X = array(out, f"cache{i}_0", f"params[{key!r}][0]")
        if cached_X.shape != X.shape or not np.array_equal(cached_X, X):
            raise Fail(f"params[{key!r}][0] should be the layer's input X")
        cached_pre = array(out, f"cache{i}_1", f"params[{key!r}][1]")
        if cached_pre.shape == shape and np.allclose(cached_pre, post, rtol=1e-9, atol=1e-12):
            raise Fail(
                f"params[{key!r}][1] holds post_act: cache[1] should be pre_act = X @ W + b; "
                "the order is (X, pre_act, post_act)"
            )
        if cached_pre.shape != shape:
            raise Fail(f"cache[1] should be pre_act = X @ W + b of shape {shape}")
        close(cached_pre, pre, "cache[1] should be pre_act = X @ W + b; it", rtol=1e-9, atol=1e-12)
        cached_post = array(out, f"cache{i}_2", f"params[{key!r}][2]")
        returned = array(out, f"post{i}", "forward(...)")
        if cached_post.shape != returned.shape or not np.array_equal(cached_post, returned):
            raise Fail(
                f"params[{key!r}][2] should be post_act, the value forward returns; the order "
                "is (X, pre_act, post_act)"
            )


# ----------------------------------------------------------------------------- Q2.2.2
def softmax_inputs(low, high, shift=0.0, seed=0, near_top=False):
    """7 x 5 logits uniform in [low, high] plus a shift per row. ``near_top``: two more
    logits of each row lie within 3 of its max, so that even logits as wide apart as 1000
    give probabilities that are not one-hot (a hard max earns nothing)."""

    def make():
        rng = np.random.default_rng(seed)
        x = rng.uniform(low, high, size=(7, 5))
        if near_top:
            for row in x:
                others = [j for j in rng.permutation(len(row)) if j != np.argmax(row)][:2]
                row[others] = row.max() - rng.uniform(0.1, 3.0, size=2)
        return {"x": x + shift * rng.uniform(-1, 1, size=(7, 1))}

    return make


def softmax_task(sub, inputs):
    nn = sub.load("nn")
    x = inputs["x"]
    return {"probs": nn.softmax(x), "x_after": x}


def judge_softmax(inputs, out):
    x = inputs["x"]
    probs = array(out, "probs", "softmax(x)", shape=x.shape, hint=STABILITY_HINT)
    sums = probs.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=1e-9):
        raise Fail(
            "each row of softmax(x) must sum to 1: normalise along axis=1 (one example per "
            f"row), not over the whole array or the columns (row sums: {np.round(sums, 4)})"
        )
    hard_max = _one_hot(np.argmax(x, axis=1), x.shape[1])
    if np.array_equal(probs, hard_max):
        raise Fail(f"softmax(x) returned the one-hot of each row's argmax. {HARD_MAX}")
    close(
        probs,
        oracle.softmax(x),
        "softmax(x)",
        rtol=1e-7,
        atol=1e-12,
        formula=SOFTMAX_DEFINITION,
        reread="Q2.2.2",
    )


def judge_softmax_untouched(inputs, out):
    """In place is this check's own mistake; a wrong softmax fails it too (no free points)."""
    _unchanged(out, "x_after", inputs["x"], "softmax", "x", "e.g. `x = x - m`, not `x -= m`")
    judge_softmax(inputs, out)


# ----------------------------------------------------------------------------- Q2.2.3
def loss_inputs():
    """12 rows over 5 classes; the argmax of probs is the label on exactly 7 of them."""
    rng = np.random.default_rng(20)
    n, c = 12, 5
    labels = rng.integers(0, c, size=n)
    logits = rng.normal(scale=1.5, size=(n, c))
    right = np.zeros(n, dtype=bool)
    right[rng.permutation(n)[:7]] = True
    for i in range(n):
        others = np.delete(logits[i], labels[i]).max()
        logits[i, labels[i]] = others + 0.5 if right[i] else others - 0.5
    return {"y": _one_hot(labels, c), "probs": oracle.softmax(logits)}


def loss_task(sub, inputs):
    nn = sub.load("nn")
    y, probs = inputs["y"], inputs["probs"]
    result = nn.compute_loss_and_acc(y, probs)
    out = {"y_after": y, "probs_after": probs}
    try:
        out["loss"], out["acc"] = result
    except (TypeError, ValueError):
        out["result"] = repr(result)[:200]
    return out


def _loss_and_acc(out):
    if "result" in out:
        raise Fail(f"compute_loss_and_acc should return the pair (loss, acc), got {out['result']}")
    return number(out, "loss", "the loss"), number(out, "acc", "the accuracy")


def judge_loss(inputs, out):
    y, probs = inputs["y"], inputs["probs"]
    loss, _ = _loss_and_acc(out)
    _unchanged(out, "probs_after", probs, "compute_loss_and_acc", "probs", "don't write into it")
    _unchanged(out, "y_after", y, "compute_loss_and_acc", "y", "don't write into it")
    expected = oracle.cross_entropy_sum(y, probs)
    hint = ""
    if np.isclose(loss * len(y), expected, rtol=1e-9):
        hint = f" It equals the sum divided by N = {len(y)}: {SUM_NOT_MEAN}."
    elif np.isclose(-loss, expected, rtol=1e-9):
        hint = " It has the wrong sign: the loss is minus the sum of the log-probabilities."
    if not np.isclose(loss, expected, rtol=1e-9, atol=1e-12):
        raise Fail(
            f"loss = {loss!r} for {len(y)} rows, expected "
            f"{expected!r} (the cross-entropy summed over the batch).{hint}",
            reread="Q2.2.3",
            formula="loss = -sum_i log(probs[i, label_i])",
        )


def judge_accuracy(inputs, out):
    y, probs = inputs["y"], inputs["probs"]
    _, acc = _loss_and_acc(out)
    expected = oracle.accuracy(y, probs)
    if not 0 <= acc <= 1:
        raise Fail(
            f"accuracy is a fraction in [0, 1] (not a count or a percentage), got {acc} for "
            f"{len(y)} rows of which {round(expected * len(y))} are right"
        )
    if not np.isclose(acc, expected):
        raise Fail(
            f"accuracy = {acc}, expected {expected}: the fraction of rows whose argmax of probs "
            "equals the argmax of y"
        )


def loss_sanity_inputs():
    """The handout's sanity values: uniform predictions, and confident right ones."""
    labels = np.repeat(np.arange(4), 10)
    y = _one_hot(labels, 4)
    uniform = np.full((40, 4), 0.25)
    uniform[np.arange(40), (labels + 1) % 4] += 1e-9  # ties broken towards a wrong class...
    uniform[np.arange(40)[::4], labels[::4]] += 2e-9  # ...except for every 4th example
    uniform /= uniform.sum(axis=1, keepdims=True)
    confident = y * (1 - 3e-9) + 1e-9
    return {"y": y, "uniform": uniform, "confident": confident}


def loss_sanity_task(sub, inputs):
    nn = sub.load("nn")
    out = {}
    for case in ("uniform", "confident"):
        result = nn.compute_loss_and_acc(inputs["y"], inputs[case])
        try:
            out[f"loss_{case}"], out[f"acc_{case}"] = result
        except (TypeError, ValueError):
            out["result"] = repr(result)[:200]
    return out


def judge_loss_sanity(inputs, out):
    """The loss only (the accuracy has its own check); an averaged loss is left to the
    first check, so that each mistake costs one check."""
    if "result" in out:
        raise Fail(f"compute_loss_and_acc should return the pair (loss, acc), got {out['result']}")
    y = inputs["y"]
    cases = {
        "uniform": "predictions of 1/4 for every class on 40 rows",
        "confident": "confident, right predictions (probability 1 - 3e-9 on the label)",
    }
    for case, label in cases.items():
        loss = number(out, f"loss_{case}", f"the loss for {label}")
        expected = oracle.cross_entropy_sum(y, inputs[case])
        if not any(
            np.isclose(loss, value, rtol=1e-6, atol=1e-6) for value in (expected, expected / 40)
        ):
            raise Fail(
                f"for {label} the loss should be {expected:.6g} (-sum log p of the labels; "
                f"40 ln 4 = {-40 * np.log(0.25):.4g} for the uniform ones), got {loss!r}"
            )


# ----------------------------------------------------------------------------- Q2.3
BACKPROP_TOLERANCE = 1e-6  # relative error, float64
CHECKLIST = " Check the order: first through the activation's derivative, then the weights."
CHECKLIST_FORMULA = (
    "delta_pre = delta * activation_deriv(post_act); then grad_W = X.T @ delta_pre and "
    "grad_b = delta_pre summed over the batch."
)
_ACTIVATIONS = oracle.ACTIVATIONS


def _net_forward(h, params, layers, y):
    """The grader's summed cross-entropy of the network ``layers`` from input ``h``."""
    for name, act in layers:
        h = _ACTIVATIONS[act][0](h @ params["W" + name] + params["b" + name])
    return oracle.cross_entropy_sum(y, oracle.softmax(h))


def network_inputs(hidden, seed, n=6, widths=(4, 5), n_classes=3):
    """A network (hidden layers ``hidden``, then a linear ``output``), a batch, and each
    layer's input and true ``delta`` (dL/d post_act), computed with the grader's oracle."""

    def make():
        layers = [*hidden, ("output", "linear")]
        dims = [*widths, n_classes]
        for attempt in range(100):
            rng = np.random.default_rng(seed + 1000 * attempt)
            params = {}
            for (name, _), d_in, d_out in zip(layers, dims[:-1], dims[1:]):
                params["W" + name] = rng.normal(scale=0.8, size=(d_in, d_out))
                params["b" + name] = rng.normal(scale=0.5, size=d_out)
            X = rng.normal(size=(n, dims[0]))
            y = _one_hot(rng.integers(0, n_classes, size=n), n_classes)
            h, inputs_of, pres, posts = X, {}, {}, {}
            away_from_kinks = True
            for name, act in layers:
                inputs_of[name] = h
                pre = pres[name] = h @ params["W" + name] + params["b" + name]
                away_from_kinks &= act != "relu" or np.abs(pre).min() > 1e-3
                h = posts[name] = _ACTIVATIONS[act][0](pre)
            if away_from_kinks:
                break
        inputs = {"X": X, "y": y, "layers": [list(layer) for layer in layers], **params}
        d = oracle.softmax(h) - y  # dL/d logits; the output layer is linear
        for name, act in reversed(layers):
            inputs["h_" + name] = inputs_of[name]
            inputs["post_" + name] = posts[name]
            inputs["pre_" + name] = pres[name]
            inputs["delta_" + name] = d
            d = (d * _ACTIVATIONS[act][1](posts[name])) @ params["W" + name].T
        return inputs

    return make


def _layers(inputs):
    return [(name, act) for name, act in inputs["layers"]]


def backwards_task(sub, inputs):
    nn = sub.load("nn")
    row_bias = common.row_bias(nn)
    layers = _layers(inputs)
    params = _in_convention(
        {k + name: inputs[k + name] for name, _ in layers for k in ("W", "b")}, row_bias
    )
    out = {"row_bias": row_bias}
    for name, act in layers:
        h = inputs["h_" + name].copy()
        try:
            nn.forward(h, params, name, _ACTIVATIONS[act][0])
        except NotImplementedError:  # forward not written yet: the handout's cache, made here
            params["cache_" + name] = (h, inputs["pre_" + name], inputs["post_" + name])
    for name, act in reversed(layers):
        delta = inputs["delta_" + name].copy()
        out["grad_X_" + name] = nn.backwards(delta, params, name, _ACTIVATIONS[act][1])
        out["delta_after_" + name] = delta
        out["grad_W_" + name] = params.get("grad_W" + name)
        out["grad_b_" + name] = params.get("grad_b" + name)
    out["keys"] = _keys(params)
    return out


def _stored(out, kind, name):
    key = "grad_" + kind + name
    if key not in _key_list(out):
        raise Fail(
            f"backwards(delta, params, {name!r}, ...) must store params[{key!r}]; params holds "
            f"{_key_list(out)}"
        )
    return _value(out, f"grad_{kind}_{name}", f"params[{key!r}]")


def _param_shape(inputs, kind, name, out):
    shape = inputs[kind + name].shape
    if kind == "b" and number(out, "row_bias", "the bias convention"):
        shape = (1, *shape)
    return shape


def judge_gradient_shapes(inputs, out):
    """The shapes, of gradients actually computed: zeros stored as placeholders earn nothing."""
    for name, _ in _layers(inputs):
        for kind in ("W", "b"):
            grad = _stored(out, kind, name)
            if not np.any(grad):
                raise Fail(f"params['grad_{kind}{name}']: {NO_GRADIENT}")
            shape = _param_shape(inputs, kind, name, out)
            if grad.shape != shape:
                raise Fail(
                    f"params['grad_{kind}{name}'] has shape {grad.shape}; it must have the shape "
                    f"of params['{kind}{name}'], {shape}",
                    reread="Q2.3",
                    formula="(grad_W = X.T @ delta_pre is (in, out))",
                )


def _numeric_gradient(inputs, kind, name):
    """Central differences of the grader's summed loss with respect to W, b or the input."""
    layers = _layers(inputs)
    params = {k: np.array(inputs[k]) for name_, _ in layers for k in ("W" + name_, "b" + name_)}
    start = [n for n, _ in layers].index(name)
    y = inputs["y"]
    if kind == "X":
        h = np.array(inputs["h_" + name])
        return oracle.central_differences(lambda: _net_forward(h, params, layers[start:], y), h)
    return oracle.central_differences(
        lambda: _net_forward(inputs["X"], params, layers, y), params[kind + name]
    )


def _batch_hint(analytic, expected, n):
    if n > 1 and np.allclose(analytic * n, expected, rtol=1e-6, atol=1e-9):
        return f" It equals the expected value divided by the batch size {n}: {GRADIENT_SUM}."
    return ""


def _judge_gradient(inputs, out, kind, lenient=False):
    """``lenient``: a gradient of the right size is compared whatever its shape (the shapes
    have their own checks)."""
    n = len(inputs["X"])
    for name, act in reversed(_layers(inputs)):
        expected = _numeric_gradient(inputs, kind, name)
        if kind == "X":
            what = f"the grad_X returned by backwards(delta, params, {name!r}, ...)"
            analytic = array(out, "grad_X_" + name, what)
            if lenient and analytic.size == expected.size:
                analytic = analytic.reshape(expected.shape)
            if analytic.shape != expected.shape:
                raise Fail(
                    f"{what}: expected the shape of the layer's input X, {expected.shape}, got "
                    f"{analytic.shape}",
                    reread="Q2.3",
                    formula="grad_X = delta_pre @ W.T",
                )
            fix = (CHECKLIST, "grad_X = (delta * activation_deriv(post_act)) @ W.T")
        else:
            what = f"params['grad_{kind}{name}']"
            analytic = _stored(out, kind, name)
            if analytic.size != expected.size or (kind == "W" and analytic.shape != expected.shape):
                raise Fail(
                    f"{what} has shape {analytic.shape}; it must have the shape of "
                    f"params['{kind}{name}'], {expected.shape}"
                )
            analytic = analytic.reshape(expected.shape)
            fix = (CHECKLIST, CHECKLIST_FORMULA)
        err = oracle.relative_error(analytic, expected)
        if err > BACKPROP_TOLERANCE:
            hint = _batch_hint(analytic, expected, n)
            raise Fail(
                f"{what} (a {act} layer) differs from central differences of the summed loss "
                f"(relative error {err:.1e} > {BACKPROP_TOLERANCE:g}).{hint or fix[0]}",
                reread="Q2.3",
                formula="" if hint else fix[1],
            )


def judge_grad_W(inputs, out):
    _judge_gradient(inputs, out, "W")


def judge_grad_b(inputs, out):
    _judge_gradient(inputs, out, "b")


def judge_grad_X(inputs, out):
    _judge_gradient(inputs, out, "X")


def judge_other_activations(inputs, out):
    """On one sample (summing and averaging agree there), grad_b and grad_X of any shape
    holding the right values: both go through activation_deriv."""
    for kind in ("b", "X"):
        _judge_gradient(inputs, out, kind, lenient=True)


def judge_delta_untouched(inputs, out):
    """On one sample, like the activation check, so that only a wrong backwards (not an
    averaged or transposed gradient, which have their own checks) fails it as well."""
    for name, _ in _layers(inputs):
        _unchanged(
            out,
            "delta_after_" + name,
            inputs["delta_" + name],
            f"backwards(delta, params, {name!r}, ...)",
            "delta",
            "e.g. `delta_pre = delta * activation_deriv(post_act)`, not `delta *= ...`",
        )
    judge_other_activations(inputs, out)


# ----------------------------------------------------------------------------- Q2.4 batches
def _rows(n, d, c):
    """Rows that identify their sample: x[i, 0] = i and y[i, :] = 10 i."""
    ids = np.arange(n, dtype=float)
    return ids[:, None] + np.linspace(0, 0.5, d)[None, :], np.repeat(ids[:, None], c, axis=1) * 10


def _summarise_batches(batches, prefix, out):
    """What the judge needs of a list of batches: sizes, widths and the ids of the rows."""
    if batches is None:
        out[prefix + "sizes"] = None
        return
    sizes, y_sizes, widths, x_ids, y_ids = [], [], [], [], []
    for i, batch in enumerate(batches):
        try:
            bx, by = batch
        except (TypeError, ValueError):
            out[prefix + "not_a_pair"] = f"batch {i} is {type(batch).__name__} {batch!r}"[:300]
            return
        bx, by = np.asarray(bx), np.asarray(by)
        sizes.append(len(bx) if bx.ndim else -1)
        y_sizes.append(len(by) if by.ndim else -1)
        widths.append([bx.shape[1] if bx.ndim == 2 else -1, by.shape[1] if by.ndim == 2 else -1])
        if bx.ndim == 2 and by.ndim == 2 and len(bx) == len(by) and bx.shape[1] and by.shape[1]:
            x_ids.append(bx[:, 0])
            y_ids.append(by[:, 0])
    out[prefix + "sizes"] = np.array(sizes, dtype=np.int64)
    out[prefix + "y_sizes"] = np.array(y_sizes, dtype=np.int64)
    out[prefix + "widths"] = np.array(widths, dtype=np.int64).reshape(-1, 2)
    out[prefix + "x_ids"] = np.concatenate(x_ids) if x_ids else np.zeros(0)
    out[prefix + "y_ids"] = np.concatenate(y_ids) if y_ids else np.zeros(0)


def batches_inputs(cases, calls=1):
    def make():
        return {"cases": cases, "calls": calls}

    return make


def batches_task(sub, inputs):
    nn = sub.load("nn")
    out = {}
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        x, y = _rows(n, d, k)
        x_before, y_before = x.copy(), y.copy()
        for call in range(inputs["calls"]):
            batches = nn.get_random_batches(x, y, batch_size)
            _summarise_batches(batches, f"c{c}_{call}_", out)
        out[f"c{c}_changed"] = not (np.array_equal(x, x_before) and np.array_equal(y, y_before))
    return out


def _batch_summary(out, c, call, n, d, k, batch_size):
    prefix = f"c{c}_{call}_"
    call_text = f"get_random_batches(x, y, {batch_size}) with N = {n}"
    if prefix + "not_a_pair" in out:
        problem = out[prefix + "not_a_pair"]
        raise Fail(f"{call_text}: each batch should be a pair (batch_x, batch_y); {problem}")
    if prefix + "sizes" in out.get("__none__", ()):
        raise Fail(f"{call_text} returned None: return the list of batches")
    if number(out, f"c{c}_changed", "changed") and call == 0:
        raise Fail(f"{call_text} changed x or y in place: index copies (x[idx]), don't shuffle x")
    sizes = array(out, prefix + "sizes", "the batch sizes", shape=(None,))
    y_sizes = array(out, prefix + "y_sizes", "the batch sizes", shape=(None,))
    widths = array(out, prefix + "widths", "the batch widths", shape=(None, 2))
    if np.any(sizes < 0) or np.any(widths != [d, k]):
        bad = int(np.flatnonzero(np.any(widths != [d, k], axis=1) | (sizes < 0))[0])
        raise Fail(
            f"{call_text}: batches keep the columns: batch_x should be (B, {d}) and batch_y "
            f"(B, {k}) arrays, but batch {bad} has x rows of width {widths[bad, 0]} and y rows "
            f"of width {widths[bad, 1]} (-1: not a 2-D array)"
        )
    if not np.array_equal(sizes, y_sizes):
        raise Fail(
            f"{call_text}: each batch has as many x rows as y rows; got {sizes.tolist()} "
            f"x rows and {y_sizes.tolist()} y rows"
        )
    if n >= batch_size and not sizes.sum():
        raise Fail(
            f"{call_text}: {NO_BATCHES} (expected {n // batch_size} batches of {batch_size} "
            f"rows, got {len(sizes)} batches holding no rows)"
        )
    x_ids = array(out, prefix + "x_ids", "the rows", shape=(None,))
    y_ids = array(out, prefix + "y_ids", "the rows", shape=(None,))
    return call_text, sizes, x_ids, y_ids


def _judge_partition(call_text, n, batch_size, sizes, x_ids, y_ids):
    if not np.array_equal(y_ids, x_ids * 10.0):
        raise Fail(
            f"{call_text}: the rows of x and y must stay paired (x[i] with y[i]): shuffle both "
            "with the same indices, batch_x = x[idx] and batch_y = y[idx]"
        )
    ids = np.round(x_ids).astype(np.int64)
    if len(np.unique(ids)) != len(ids):
        raise Fail(
            f"{call_text}: a sample appeared twice: each belongs to exactly one batch. Shuffle "
            "a permutation of the indices (np.random.permutation(N)), don't sample with "
            "replacement"
        )
    leftover = n % batch_size
    short = sizes[sizes != batch_size]
    missing = n - len(ids)
    if missing and not (missing == leftover and len(short) == 0):
        allowed = (
            f"only the {leftover} left over by a partial last batch may be dropped"
            if leftover
            else f"N is a multiple of {batch_size}, so every sample fits in a full batch"
        )
        raise Fail(
            f"{call_text}: {missing} of {n} samples are in no batch; {allowed} (loop over "
            "range(0, N, batch_size))"
        )


def judge_batches_partition(inputs, out):
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        call_text, sizes, x_ids, y_ids = _batch_summary(out, c, 0, n, d, k, batch_size)
        _judge_partition(call_text, n, batch_size, sizes, x_ids, y_ids)


def _judge_sizes(call_text, n, batch_size, sizes):
    leftover = n % batch_size
    short = sizes[sizes != batch_size]
    if len(short) > 1 or np.any(short != leftover):
        shown = sizes.tolist() if len(sizes) <= 20 else f"{sizes[:20].tolist()} ..."
        spare = f" (one may hold the {leftover} left over)" if leftover else ""
        raise Fail(
            f"{call_text}: every batch should have {batch_size} rows{spare}; got {len(sizes)} "
            f"batches of sizes {shown}. {BATCH_SIZE_IS_ROWS}"
        )


def judge_batches_sizes(inputs, out):
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        call_text, sizes, _, _ = _batch_summary(out, c, 0, n, d, k, batch_size)
        _judge_sizes(call_text, n, batch_size, sizes)


def judge_batches_large(inputs, out):
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        call_text, sizes, x_ids, y_ids = _batch_summary(out, c, 0, n, d, k, batch_size)
        _judge_sizes(call_text, n, batch_size, sizes)
        _judge_partition(call_text, n, batch_size, sizes, x_ids, y_ids)


def batches_edge_task(sub, inputs):
    """Like :func:`batches_task`, case by case, the error of a call that raises kept as that
    case's answer: an edge case that crashes is judged with a message about that case."""
    out = {}
    for c, case in enumerate(inputs["cases"]):
        try:
            result = batches_task(sub, {**inputs, "cases": [case]})
        except NotImplementedError:
            raise  # the kata's stub: "not implemented", like every other check
        except Exception as exc:  # noqa: BLE001 - the submission's error is the result here
            out[f"c{c}_raised"] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        out.update({f"c{c}" + key[2:]: value for key, value in result.items()})
    return out


def judge_batches_edge(inputs, out):
    """Edge cases, after a normal case (the first) that must give batches: N < batch_size
    (one batch of all N samples, or none when the leftover is dropped), batch_size 1,
    batch_size N. A crash on these sizes fails only this check."""
    for c, (n, d, k, batch_size) in enumerate(inputs["cases"]):
        call_text = f"get_random_batches(x, y, {batch_size}) with N = {n}"
        if f"c{c}_raised" in out:
            hint = f" {FEWER_THAN_BATCH_SIZE}" if n < batch_size else ""
            raise Fail(f"{call_text} raised {out[f'c{c}_raised']}.{hint}")
        call_text, sizes, x_ids, y_ids = _batch_summary(out, c, 0, n, d, k, batch_size)
        if c == 0:
            continue  # the normal case: only that it gives batches (no vacuous pass)
        if n < batch_size and sizes.tolist() not in ([], [n]):
            raise Fail(
                f"{call_text}: expected one batch of all {n} samples, or none when the "
                f"leftover partial batch is dropped; got batches of sizes {sizes.tolist()}. "
                f"{FEWER_THAN_BATCH_SIZE}"
            )
        _judge_sizes(call_text, n, batch_size, sizes)
        _judge_partition(call_text, n, batch_size, sizes, x_ids, y_ids)


def _orders(inputs, out):
    n, d, k, batch_size = inputs["cases"][0]
    orders = []
    for call in range(inputs["calls"]):
        call_text, sizes, x_ids, _ = _batch_summary(out, 0, call, n, d, k, batch_size)
        orders.append((np.round(x_ids).astype(np.int64), sizes))
    return call_text, orders


def judge_batches_shuffled(inputs, out):
    call_text, orders = _orders(inputs, out)
    ids, sizes = orders[0]
    if np.array_equal(ids, np.arange(len(ids))):
        raise Fail(
            f"{call_text}: the batches follow the data's order: shuffle the indices "
            "(np.random.permutation(N)) before cutting them into batches"
        )
    ends = np.cumsum(sizes)
    runs = [ids[end - size : end] for end, size in zip(ends, sizes) if size > 1]
    if runs and all(np.array_equal(np.diff(run), np.ones(len(run) - 1)) for run in runs):
        raise Fail(
            f"{call_text}: each batch is a run of consecutive samples: shuffle the samples "
            "(np.random.permutation(N)), not only the order of the batches"
        )


def judge_batches_fresh(inputs, out):
    call_text, orders = _orders(inputs, out)
    if all(np.array_equal(orders[0][0], ids) for ids, _ in orders[1:]):
        if np.array_equal(orders[0][0], np.arange(len(orders[0][0]))):
            raise Fail(
                f"{call_text}: {len(orders)} calls all gave the data's order: shuffle the "
                "indices with a fresh permutation each call (np.random.permutation(N))"
            )
        raise Fail(
            f"{call_text}: {len(orders)} calls gave the same order: draw a fresh permutation "
            "each call, so that every epoch sees new batches (don't reseed inside "
            "get_random_batches)"
        )


# ----------------------------------------------------------------------------- Q2.4 train
TOY_LAYERS = (("layer1", 2, 25), ("output", 25, 4))


def train_inputs(seed, batch_size, learning_rate=0.05, max_iters=150):
    """Four separable 2-D clusters (10 per class, standardised) and Xavier initial params."""

    def make():
        rng = np.random.default_rng(seed)
        centres = np.array([[-2.0, -2.0], [-2.0, 2.0], [2.0, -2.0], [2.0, 2.0]])
        x = np.repeat(centres, 10, axis=0) + rng.normal(scale=0.3, size=(40, 2))
        inputs = {
            "x": x,
            "y": _one_hot(np.repeat(np.arange(4), 10), 4),
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "max_iters": max_iters,
        }
        for name, n_in, n_out in TOY_LAYERS:
            bound = oracle.xavier_bound(n_in, n_out)
            inputs["W" + name] = rng.uniform(-bound, bound, size=(n_in, n_out))
            inputs["b" + name] = np.zeros(n_out)
        return inputs

    return make


def _toy_params(inputs):
    return {k + name: inputs[k + name] for name, _, _ in TOY_LAYERS for k in ("W", "b")}


def train_task(sub, inputs):
    run_q2 = sub.load("run_q2")  # NotProvided for a script: the check is "not provided"
    row_bias = common.row_bias(sub.load("nn"))
    params = _in_convention(_toy_params(inputs), row_bias)
    history = run_q2.train(
        inputs["x"],
        inputs["y"],
        params,
        batch_size=int(inputs["batch_size"]),
        learning_rate=float(inputs["learning_rate"]),
        max_iters=int(inputs["max_iters"]),
        log_every=None,
    )
    out = {"keys": _keys(params)}
    for key in _toy_params(inputs):
        out["p_" + key] = params.get(key)
    if history is None:
        out["history"] = None
    else:
        try:
            out["history"] = np.array([[float(h[0]), float(h[1])] for h in history])
        except (TypeError, ValueError, IndexError) as exc:
            out["history_problem"] = f"{type(exc).__name__}: {exc}"[:300]
    return out


def judge_train_history(inputs, out):
    iters = int(inputs["max_iters"])
    if "history_problem" in out:
        raise Fail(
            "train should return its history: one (loss, accuracy) pair per iteration "
            f"(epoch); reading it failed with {out['history_problem']}"
        )
    if "history" in out.get("__none__", ()):
        raise Fail(
            "train returned None: return its history, one (loss, accuracy) pair per iteration "
            "(epoch)"
        )
    history = array(
        out, "history", f"the history of train(..., max_iters={iters})", shape=(None, 2),
        hint="The training loss became NaN or inf: step against the gradient, "
        "W <- W - learning_rate * grad_W, with the learning rate given.",
    )  # fmt: skip
    if len(history) != iters:
        raise Fail(
            f"train(..., max_iters={iters}) should return one (loss, accuracy) entry per "
            f"iteration (epoch), got {len(history)}"
        )
    losses, accs = history[:, 0], history[:, 1]
    if np.any((accs < 0) | (accs > 1)):
        raise Fail(f"the accuracies in train's history are fractions in [0, 1], got {accs.max()}")
    if not losses[-1] < 0.5 * losses[0]:
        raise Fail(
            f"the epoch loss in train's history went from {losses[0]:.2f} to only "
            f"{losses[-1]:.2f} in {iters} epochs on easily separable data (lr "
            f"{inputs['learning_rate']}): each batch, run forward and backwards, then apply "
            "W <- W - learning_rate * grad_W to every parameter"
        )


def judge_train_fits(inputs, out):
    x, y = inputs["x"], inputs["y"]
    before = _toy_params(inputs)
    after = {}
    keys = _key_list(out)
    for key in before:
        if key not in keys:
            raise Fail(f"after train, params[{key!r}] is missing; params holds {keys}")
        shape = (None, None) if key.startswith("W") else None
        after[key] = _value(
            out, "p_" + key, f"params[{key!r}] after train", shape=shape,
            hint="Training diverged: W <- W - learning_rate * grad_W, with the given rate.",
        )  # fmt: skip
    if all(np.array_equal(np.ravel(after[k]), np.ravel(v)) for k, v in before.items()):
        raise Fail(
            "train left params as they were: update them in place, "
            "params[k] -= learning_rate * params['grad_' + k] for every parameter k"
        )
    layers = [("layer1", "sigmoid")]
    try:
        logits, _ = oracle.mlp_logits(x, after, layers)
        probs = oracle.softmax(logits)
    except ValueError as exc:
        raise Fail(f"the trained params do not fit the network's shapes: {exc}") from None
    loss_before = oracle.mlp_loss(x, y, before, layers)
    loss_after = oracle.cross_entropy_sum(y, probs)
    acc_after = oracle.accuracy(y, probs)
    if not (loss_after <= 0.25 * loss_before and acc_after >= 0.95):
        raise Fail(
            f"on four well-separated clusters, {inputs['max_iters']} epochs (batch size "
            f"{inputs['batch_size']}, lr {inputs['learning_rate']}) should bring the loss of "
            f"the returned params from {loss_before:.1f} to at most {0.25 * loss_before:.1f} "
            f"and the accuracy to 95%; the grader's forward pass gives {loss_after:.1f} and "
            f"{acc_after:.0%}. Each batch: forward, loss, backwards, then W <- W - "
            "learning_rate * grad_W for every parameter (the gradients are sums, not means)."
        )


# ----------------------------------------------------------------------------- Q2.5
def _known_loss(params):
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
    grads = run_q2.numerical_gradients(_known_loss, params, float(inputs["eps"]))
    out = {"keys": _keys(grads) if grads is not None else None}
    for key in KNOWN_KEYS:
        out["grad_" + key] = grads.get("grad_" + key) if isinstance(grads, dict) else None
        out["after_" + key] = params[key]
    out["params_keys"] = _keys(params)
    return out


def judge_known_keys(inputs, out):
    if "keys" in out.get("__none__", ()):
        raise Fail("numerical_gradients returned None: return the dict of gradients")
    keys = _key_list(out)
    expected = sorted("grad_" + k for k in KNOWN_KEYS)
    if keys != expected:
        raise Fail(
            "numerical_gradients returns {'grad_' + key: gradient} for the parameters only (the "
            f"keys without '_': {list(KNOWN_KEYS)}, not cache_a or grad_Wa); got {keys}"
        )
    for key in KNOWN_KEYS:
        grad = _value(out, "grad_" + key, f"grads['grad_{key}']", shape=inputs[key].shape)
        if not np.any(grad):
            raise Fail(
                f"grads['grad_{key}'] is all zeros, though the loss depends on every entry of "
                f"{key}: (loss(w + eps) - loss(w - eps)) / (2 eps) for each entry w"
            )


def _known_gradients(out, inputs):
    keys = _key_list(out)
    for key in KNOWN_KEYS:
        if "grad_" + key not in keys:
            raise Fail(f"numerical_gradients should return grads['grad_{key}']; got {keys}")
        grad = _value(out, "grad_" + key, f"grads['grad_{key}']")
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
            rtol=1e-5,
            atol=1e-7,
            hint="Perturb one entry at a time, every other entry left as it is.",
            formula="Each entry w: (loss(w + eps) - loss(w - eps)) / (2 eps)",
            reread="Q2.5",
        )


def judge_central_eps(inputs, out):
    eps = float(inputs["eps"])
    Wa, ba, Wb = inputs["Wa"], inputs["ba"], inputs["Wb"]
    # The central differences themselves, exactly: (f(w + e) - f(w - e)) / (2 e).
    expected = {"Wa": 3 * Wa**2 + eps**2, "ba": np.cos(ba) * np.sin(eps) / eps, "Wb": Wb}
    one_sided = {"Wa": 3 * Wa**2 + 3 * Wa * eps + eps**2}
    for key, grad in _known_gradients(out, inputs):
        hint = f"With eps = {eps:g}: (loss(w + eps) - loss(w - eps)) / (2 eps) for each entry w."
        if key in one_sided and np.allclose(grad, one_sided[key], rtol=1e-6):
            hint = (
                "That is the one-sided difference (loss(w + eps) - loss(w)) / eps: use the "
                "central one, (loss(w + eps) - loss(w - eps)) / (2 eps)."
            )
        close(
            grad,
            expected[key],
            f"grads['grad_{key}'] computed with numerical_gradients(loss, params, eps={eps:g})",
            rtol=1e-8,
            atol=1e-9,
            hint=hint,
        )


def judge_params_restored(inputs, out):
    """Restoring is this check's own point; gradients far off fail it too (no free points)."""
    keys = _key_list(out, "params_keys")
    expected_keys = sorted([*KNOWN_KEYS, "cache_a", "grad_Wa"])
    if keys != expected_keys:
        raise Fail(
            f"numerical_gradients changed the keys of params (now {keys}, before "
            f"{expected_keys}): return the gradients in a new dict"
        )
    for key in KNOWN_KEYS:
        after = _value(out, "after_" + key, f"params[{key!r}] after numerical_gradients")
        if after.shape != inputs[key].shape or not np.allclose(
            after, inputs[key], rtol=1e-12, atol=1e-15
        ):
            raise Fail(
                f"params[{key!r}] was left changed by numerical_gradients: restore each entry "
                "to its old value after computing its two losses (old = w[idx]; ...; w[idx] = "
                "old)"
            )
    judge_known_gradient(inputs, out)


def toy_gradient_inputs():
    rng = np.random.default_rng(30)
    inputs = {"x": rng.normal(size=(6, 2)), "y": _one_hot(rng.integers(0, 4, size=6), 4)}
    for name, n_in, n_out in (("layer1", 2, 3), ("output", 3, 4)):
        inputs["W" + name] = rng.normal(size=(n_in, n_out))
        inputs["b" + name] = rng.normal(size=n_out)
    return inputs


TOY_KEYS = ("Wlayer1", "blayer1", "Woutput", "boutput")


def toy_gradient_task(sub, inputs):
    run_q2 = sub.load("run_q2")
    x, y = inputs["x"], inputs["y"]
    params = {key: inputs[key].copy() for key in TOY_KEYS}

    def loss(p):
        return oracle.mlp_loss(x, y, p, [("layer1", "sigmoid")])

    grads = run_q2.numerical_gradients(loss, params, 1e-6)
    out = {"keys": _keys(grads) if grads is not None else None}
    for key in TOY_KEYS:
        out["grad_" + key] = grads.get("grad_" + key) if isinstance(grads, dict) else None
    return out


def judge_toy_gradient(inputs, out):
    if "keys" in out.get("__none__", ()):
        raise Fail("numerical_gradients returned None: return the dict of gradients")
    x, y = inputs["x"], inputs["y"]
    params = {key: inputs[key] for key in TOY_KEYS}
    grads = oracle.mlp_gradients(x, y, params, [("layer1", "sigmoid")])
    expected = {key: grads[key] for key in ("Woutput", "boutput", "Wlayer1", "blayer1")}
    keys = _key_list(out)
    for key, value in expected.items():
        if "grad_" + key not in keys:
            raise Fail(f"numerical_gradients should return grads['grad_{key}']; got {keys}")
        grad = _value(out, "grad_" + key, f"grads['grad_{key}']")
        if grad.size != value.size:
            raise Fail(f"grads['grad_{key}'] should have the shape {value.shape}, got {grad.shape}")
        err = oracle.relative_error(grad.reshape(value.shape), value)
        if err > 1e-6:
            raise Fail(
                f"grads['grad_{key}'] of the toy network's summed loss differs from backprop "
                f"(relative error {err:.1e} > 1e-6): perturb one entry at a time, "
                "(loss(w + eps) - loss(w - eps)) / (2 eps), and restore it before the next"
            )


# ----------------------------------------------------------------------------- the checks
NET_SIGMOID = network_inputs([("layer1", "sigmoid")], seed=40)
NET_OTHERS = network_inputs(
    [("layer1", "tanh"), ("layer2", "relu")], seed=41, n=1, widths=(3, 4, 5), n_classes=4
)
NET_ONE_SAMPLE = network_inputs([("layer1", "sigmoid")], seed=42, n=1)
TOY_TRAIN_5 = train_inputs(seed=5, batch_size=5)
TOY_TRAIN_7 = train_inputs(seed=7, batch_size=7)

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
    # Q2.2.2 softmax
    Check("2.2.2", "rows are probability distributions equal to the definition", 1,
          softmax_task, judge_softmax, softmax_inputs(-5, 5), budget=30),
    Check("2.2.2", "a different large shift per row changes nothing", 0.75,
          softmax_task, judge_softmax, softmax_inputs(-20, 20, shift=1e3, seed=1, near_top=True),
          budget=30),
    Check("2.2.2", "finite for logits up to 1000 in magnitude", 0.75,
          softmax_task, judge_softmax, softmax_inputs(-1e3, 1e3, seed=2, near_top=True),
          budget=30),
    Check("2.2.2", "leaves its argument x unchanged", 0.5,
          softmax_task, judge_softmax_untouched, softmax_inputs(-5, 5, seed=3), budget=30),
    # Q2.2.3 compute_loss_and_acc
    Check("2.2.3", "the loss is the cross-entropy summed over the batch", 1.25,
          loss_task, judge_loss, loss_inputs, budget=30),
    Check("2.2.3", "the accuracy is the fraction of rows predicted right", 1,
          loss_task, judge_accuracy, loss_inputs, budget=30),
    Check("2.2.3", "the handout's sanity losses (uniform and confident predictions)", 0.75,
          loss_sanity_task, judge_loss_sanity, loss_sanity_inputs, budget=30),
    # Q2.3 backwards
    Check("2.3", "stores grad_W and grad_b shaped like W and b", 1,
          backwards_task, judge_gradient_shapes, NET_SIGMOID, budget=30),
    Check("2.3", "grad_W matches central differences (sigmoid and linear layers)", 1.5,
          backwards_task, judge_grad_W, NET_SIGMOID, budget=30),
    Check("2.3", "grad_b matches central differences (sigmoid and linear layers)", 1.25,
          backwards_task, judge_grad_b, NET_SIGMOID, budget=30),
    Check("2.3", "the returned grad_X matches central differences", 1.25,
          backwards_task, judge_grad_X, NET_SIGMOID, budget=30),
    Check("2.3", "uses the activation_deriv it is given (tanh and ReLU layers)", 1.25,
          backwards_task, judge_other_activations, NET_OTHERS, budget=30),
    Check("2.3", "leaves delta unchanged", 0.75,
          backwards_task, judge_delta_untouched, NET_ONE_SAMPLE, budget=30),
    # Q2.4 get_random_batches and the training loop
    Check("2.4", "batches cover every sample once, x and y rows paired", 1.25,
          batches_task, judge_batches_partition,
          batches_inputs([[40, 3, 2, 5], [23, 2, 4, 5], [100, 1, 3, 20], [66, 4, 2, 16]]),
          budget=60),
    Check("2.4", "batches have batch_size rows (one smaller leftover allowed)", 0.75,
          batches_task, judge_batches_sizes,
          batches_inputs([[40, 3, 2, 5], [23, 2, 4, 5], [140, 2, 2, 32]]), budget=60),
    Check("2.4", "the samples are shuffled", 0.5,
          batches_task, judge_batches_shuffled, batches_inputs([[100, 2, 2, 10]]), budget=60),
    Check("2.4", "each call draws a new order", 0.5,
          batches_task, judge_batches_fresh, batches_inputs([[100, 2, 2, 10]], calls=3),
          budget=60),
    Check("2.4", "splits 10,800 samples of 1024 values (NIST36's training set) in time", 0.5,
          batches_task, judge_batches_large, batches_inputs([[10800, 1024, 36, 64]]),
          budget=180),
    Check("2.4", "edge case: fewer samples than batch_size (N = 7, batch_size 10)", 0.25,
          batches_edge_task, judge_batches_edge, batches_inputs([[40, 2, 1, 10], [7, 2, 1, 10]]),
          budget=60),
    Check("2.4", "edge case: batch_size 1 and batch_size N (one-row batches, one batch)",
          0.25, batches_edge_task, judge_batches_edge,
          batches_inputs([[40, 2, 1, 10], [12, 1, 3, 1], [10, 4, 2, 10]]),
          budget=60),
    Check("2.4", "train returns one (loss, accuracy) per epoch and the loss falls", 0.5,
          train_task, judge_train_history, TOY_TRAIN_7, budget=120, modules=("run_q2", "nn")),
    Check("2.4", "train fits separable toy data (the grader's loss of the trained params)", 1,
          train_task, judge_train_fits, TOY_TRAIN_5, budget=120, modules=("run_q2", "nn")),
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
]  # fmt: skip
