"""Q2.3 ``backwards``: one layer's gradients, checked against central differences.

Everything that decides Q2.3: the checks, the tolerance and the teaching messages. The
networks, their true deltas and the central differences come from :mod:`grader.oracle`,
imported by ``inputs()`` and the judges when they run (the grader's process only); the task
hands the submission's ``forward`` the grader's activations (:func:`networks.replay`).
"""

from __future__ import annotations

import numpy as np

from grader.check import Check, Fail, array, number
from grader.checks import common
from grader.checks.arrays import key_list, keys_text, one_hot, unchanged, value_of
from grader.checks.networks import DERIVATIVES, GIVEN_ACTIVATIONS, in_convention, replay

BACKPROP_TOLERANCE = 1e-6  # relative error, float64
GRADIENT_SUM = "the loss is summed over the batch, so sum the gradient too; don't average"
NO_GRADIENT = (
    "every entry is zero: compute the gradient (backwards stores X.T @ delta_pre and "
    "delta_pre summed over the batch)"
)
CHECKLIST = " Check the order: first through the activation's derivative, then the weights."
CHECKLIST_FORMULA = (
    "delta_pre = delta * activation_deriv(post_act); then grad_W = X.T @ delta_pre and "
    "grad_b = delta_pre summed over the batch."
)
GRAD_X_FORMULA = "grad_X = (delta * activation_deriv(post_act)) @ W.T"
MUST_STORE = "backwards(delta, params, {name!r}, ...) must store params[{key!r}]"
GRAD_SHAPE = (
    "params[{grad_key!r}] has shape {got}; it must have the shape of params[{key!r}], {shape}"
)
# the networks' ReLU layers keep every pre-activation this far from the kink at 0
RELU_KINK = 1e-3
# the self-check: two identical passes give the same gradients
REPEAT_RTOL = 1e-12
# A gradient this close to the expected one times the batch size was averaged, not summed.
AVERAGED_TOL = {"rtol": 1e-6, "atol": 1e-9}


def _net_forward(h, params, layers, y):
    """The grader's summed cross-entropy of the network ``layers`` from input ``h``."""
    from grader import oracle

    for name, act in layers:
        h = oracle.ACTIVATIONS[act][0](h @ params["W" + name] + params["b" + name])
    return oracle.cross_entropy_sum(y, oracle.softmax(h))


def network_inputs(hidden, seed, n=6, widths=(4, 5), n_classes=3):
    """A network (hidden layers ``hidden``, then a linear ``output``), a batch, and each
    layer's input and true ``delta`` (dL/d post_act), computed with the grader's oracle."""

    def make():
        from grader import oracle

        activations = oracle.ACTIVATIONS
        layers = [*hidden, ("output", "linear")]
        dims = [*widths, n_classes]
        for attempt in range(100):
            rng = np.random.default_rng(seed + 1000 * attempt)
            params = {}
            for (name, _), d_in, d_out in zip(layers, dims[:-1], dims[1:]):
                params["W" + name] = rng.normal(scale=0.8, size=(d_in, d_out))
                params["b" + name] = rng.normal(scale=0.5, size=d_out)
            X = rng.normal(size=(n, dims[0]))
            y = one_hot(rng.integers(0, n_classes, size=n), n_classes)
            h, inputs_of, pres, posts = X, {}, {}, {}
            away_from_kinks = True
            for name, act in layers:
                inputs_of[name] = h
                pre = pres[name] = h @ params["W" + name] + params["b" + name]
                away_from_kinks &= act != "relu" or np.abs(pre).min() > RELU_KINK
                h = posts[name] = activations[act][0](pre)
            if away_from_kinks:
                break
        inputs = {"X": X, "y": y, "layers": [list(layer) for layer in layers], **params}
        d = oracle.softmax(h) - y  # dL/d logits; the output layer is linear
        for name, act in reversed(layers):
            inputs["h_" + name] = inputs_of[name]
            inputs["post_" + name] = posts[name]
            inputs["pre_" + name] = pres[name]
            inputs["delta_" + name] = d
            d = (d * activations[act][1](posts[name])) @ params["W" + name].T
        return inputs

    return make


def _layers(inputs):
    return [(name, act) for name, act in inputs["layers"]]


def backwards_task(sub, inputs):
    nn = sub.load("nn")
    row_bias = common.row_bias(nn)
    layers = _layers(inputs)
    params = in_convention(
        {k + name: inputs[k + name] for name, _ in layers for k in ("W", "b")}, row_bias
    )
    out = {"row_bias": row_bias}
    for name, act in layers:
        h = inputs["h_" + name].copy()
        fallback = nn.sigmoid if act == "sigmoid" else GIVEN_ACTIVATIONS[act]
        activation = replay(inputs["pre_" + name], inputs["post_" + name], fallback)
        try:
            nn.forward(h, params, name, activation)
        except NotImplementedError:  # forward not written yet: the handout's cache, made here
            params["cache_" + name] = (h, inputs["pre_" + name], inputs["post_" + name])
    for name, act in reversed(layers):
        delta = inputs["delta_" + name].copy()
        out["grad_X_" + name] = nn.backwards(delta, params, name, DERIVATIVES[act])
        out["delta_after_" + name] = delta
        out["grad_W_" + name] = params.get("grad_W" + name)
        out["grad_b_" + name] = params.get("grad_b" + name)
    out["keys"] = keys_text(params)
    return out


def _stored(out, kind, name):
    key = "grad_" + kind + name
    if key not in key_list(out):
        raise Fail(MUST_STORE.format(name=name, key=key) + f"; params holds {key_list(out)}")
    return value_of(out, f"grad_{kind}_{name}", f"params[{key!r}]")


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
                    GRAD_SHAPE.format(
                        grad_key=f"grad_{kind}{name}", got=grad.shape, key=kind + name, shape=shape
                    ),
                    reread="Q2.3",
                    formula="(grad_W = X.T @ delta_pre is (in, out))",
                )


def _numeric_gradient(inputs, kind, name):
    """Central differences of the grader's summed loss with respect to W, b or the input."""
    from grader import oracle

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


def batch_hint(analytic, expected, n) -> str:
    """A hint when ``analytic`` looks like ``expected`` averaged over a batch of ``n``."""
    analytic = np.asarray(analytic, dtype=float)
    if n > 1 and np.allclose(analytic * n, expected, **AVERAGED_TOL):
        return f" It equals the expected value divided by the batch size {n}: {GRADIENT_SUM}."
    return ""


def _judge_gradient(inputs, out, kind, lenient=False):
    """``lenient``: a gradient of the right size is compared whatever its shape (the shapes
    have their own checks)."""
    from grader import oracle

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
            fix = (CHECKLIST, GRAD_X_FORMULA)
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
            hint = batch_hint(analytic, expected, n)
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
        unchanged(
            out,
            "delta_after_" + name,
            inputs["delta_" + name],
            f"backwards(delta, params, {name!r}, ...)",
            "delta",
            "e.g. `delta_pre = delta * activation_deriv(post_act)`, not `delta *= ...`",
        )
    judge_other_activations(inputs, out)


NET_SIGMOID = network_inputs([("layer1", "sigmoid")], seed=40)
NET_OTHERS = network_inputs(
    [("layer1", "tanh"), ("layer2", "relu")], seed=41, n=1, widths=(3, 4, 5), n_classes=4
)
NET_ONE_SAMPLE = network_inputs([("layer1", "sigmoid")], seed=42, n=1)

CHECKS = [
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
]  # fmt: skip
