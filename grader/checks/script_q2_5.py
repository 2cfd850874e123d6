"""Q2.5 written inline in the handout's ``run_q2.py`` script (module-level code, no
``numerical_gradients`` function).

The handout's starter ``run_q2.py`` is a script: it builds the toy data ``x``, ``y``, trains
``params`` and ends with Q2.5's block, ``params_orig = copy.deepcopy(params)``, then the
student's central differences written into ``params['grad_' + k]``, then the given
``total_error`` loop. Such a submission has no ``numerical_gradients`` for Q2.5's other checks
to call (they are left out: :class:`grader.implementation.ScriptLacks`); these checks run the
script instead, under a budget, in the submission's process, and judge the values it leaves:

* the task runs ``run_q2.py`` as ``python run_q2.py`` would (``__name__ == "__main__"``, the
  submission's ``nn.py``, numpy seeded, its output kept out of the grader's) and returns, as
  they were when the handout's given ``total_error`` loop last changed it (the end of Q2.5's
  block, before or after training), else at the end: ``params``, every other dict holding
  the toy network's parameters (the snapshot ``params_orig``) and every candidate data set
  ((N, 2) inputs beside (N, 4) one-hot labels: ``x, y``, the last batch ``xb, yb``);
* the judge, in the grader's process, computes the toy network's exact gradient at the final
  parameters on that data with :mod:`grader.oracle` and compares the script's numerical
  gradients with it; the snapshot tells whether the parameters were restored and that the
  gradients are the script's own numbers, not backprop's left in place (the unfilled starter).

The checks apply only to a flat submission whose ``run_q2.py`` defines no
``numerical_gradients``; for the kata, the solutions or a ``run_q2.py`` with the function they
are left out (not provided), so exactly one set of Q2.5 checks carries the question's points.
Q2.5's question module lists :data:`CHECKS` beside its own.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from grader.check import Check, Fail

QUESTION = "2.5"
#: Seconds of wall time for the whole script: the handout's runs 500 epochs, then Q2.5.
SCRIPT_BUDGET = 180
#: The handout's toy network: 2 -> 25 (sigmoid, 'layer1') -> 4 (softmax, 'output').
TOY_SHAPES = {"Wlayer1": (2, 25), "blayer1": (25,), "Woutput": (25, 4), "boutput": (4,)}
HIDDEN = (("layer1", "sigmoid"),)
#: Relative error (norms, :func:`grader.oracle.relative_error`) between the script's
#: numerical gradient and the exact one: central differences with the handout's eps = 1e-6
#: are within about 1e-8; a one-sided difference, a wrong divisor or a stale forward pass are
#: off by far more.
GRADIENT_TOLERANCE = 1e-5
#: A restored entry is its old value again (``v[idx] = old``); ``+= eps`` then ``-= eps``
#: leaves rounding only.
RESTORED_RTOL, RESTORED_ATOL = 1e-12, 1e-15
#: At most this many candidate data sets and parameter snapshots come back from the script.
MAX_FOUND = 8

HOW = (
    "For each entry w of each parameter (the keys of params without '_'): set w + eps, run "
    "the whole network (forward through layer1 and output) and its loss on the data, set "
    "w - eps, do it again, restore w, and store (loss_plus - loss_minus) / (2 eps) in "
    "params['grad_' + k] at that entry."
)
NOT_RUN = (
    "run_q2.py did not run to its end, so its Q2.5 block was not graded: {error}. The grader "
    "runs it as `python run_q2.py`, with your nn.py."
)
NO_SNAPSHOT = (
    "run_q2.py keeps no copy of params from before its gradient check (the handout's "
    "`params_orig = copy.deepcopy(params)`): the grader compares params with it to see that "
    "the numerical gradients are new numbers and the parameters were restored."
)
UNCHANGED = (
    "params['grad_*'] are still backprop's, exactly as in params_orig: Q2.5's block must "
    "write the numerical gradients into params['grad_' + k]. " + HOW
)
TRAINED_AFTER = (
    "the parameters in params are not those of params_orig (taken before the gradient "
    "check): something changed them after Q2.5's block (training after it?). The grader "
    "reads params when the handout's total_error loop ends (else at the end of run_q2.py): "
    "keep that loop right after your gradient check, as the handout's starter has it."
)
NOT_RESTORED = (
    "params[{key!r}] differs from params_orig[{key!r}] by {diff:.1e} after the gradient "
    "check: restore each entry to its old value after computing its two losses (old = "
    "v[idx]; v[idx] = old + eps; ...; v[idx] = old - eps; ...; v[idx] = old)."
)


# ----------------------------------------------------------------------------- task
def _script_path(sub):
    """The submission's run_q2.py to run, or NotProvided (another set of checks grades it)."""
    from grader.implementation import NotProvided

    package = getattr(sub, "package", None)
    if package is not None or getattr(sub, "folder", None) is None:
        raise NotProvided(
            f"{package or 'this implementation'}'s run_q2.py defines numerical_gradients: "
            "Q2.5's other checks call it"
        )
    run_q2 = sub.load("run_q2")  # NotSubmitted when there is no run_q2.py: 0 points
    if "numerical_gradients" in vars(run_q2):
        raise NotProvided("run_q2.py defines numerical_gradients(): Q2.5's other checks call it")
    return sub.folder / "run_q2.py"


def _toy_dict(value) -> bool:
    """A dict holding the toy network's parameters (a ``(1, out)`` bias accepted)."""
    if not isinstance(value, dict):
        return False
    for key, shape in TOY_SHAPES.items():
        array = value.get(key)
        if not (isinstance(array, np.ndarray) and array.dtype.kind in "fiu"):
            return False
        if array.shape not in (shape, (1, *shape)):
            return False
    return True


def _one_hot(value) -> bool:
    return (
        isinstance(value, np.ndarray)
        and value.dtype.kind in "fiub"
        and value.ndim == 2
        and value.shape[1] == 4
        and value.shape[0] > 0
        and np.all((value == 0) | (value == 1))
        and np.all(value.sum(axis=1) == 1)
    )


def _data_sets(namespace) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs, one-hot labels) pairs among the script's arrays: ``x, y`` and ``xb, yb``
    first, then any (N, 2) array beside (N, 4) one-hot labels."""
    named = [(namespace.get(a), namespace.get(b)) for a, b in (("x", "y"), ("xb", "yb"))]
    arrays = [v for v in namespace.values() if isinstance(v, np.ndarray)]
    inputs = [v for v in arrays if v.ndim == 2 and v.shape[1] == 2 and v.dtype.kind == "f"]
    labels = [v for v in arrays if _one_hot(v)]
    found = []
    for xs, ys in [*named, *((a, b) for a in inputs for b in labels if len(a) == len(b))]:
        ok = isinstance(xs, np.ndarray) and _one_hot(ys) and xs.shape == (len(ys), 2)
        if ok and not any(xs is a and ys is b for a, b in found):
            found.append((xs, ys))
    return found[:MAX_FOUND]


def _state(namespace) -> dict:
    """Copies of what the judges read in the script's namespace: ``params``, the other dicts
    of the toy network's parameters (snapshots) and the candidate data sets."""
    out = {}
    params = namespace.get("params")
    out["has_params"] = int(_toy_dict(params))
    if _toy_dict(params):
        for key, value in params.items():
            if isinstance(key, str) and (key in TOY_SHAPES or key[5:] in TOY_SHAPES):
                out["p_" + key] = np.array(value, dtype=float)
    copies = [v for v in namespace.values() if _toy_dict(v) and v is not params]
    for i, copy in enumerate(copies[:MAX_FOUND]):
        for key in TOY_SHAPES:
            out[f"s{i}_{key}"] = np.array(copy[key], dtype=float)
            if "grad_" + key in copy:
                out[f"s{i}_grad_{key}"] = np.array(copy["grad_" + key], dtype=float)
    out["n_snapshots"] = min(len(copies), MAX_FOUND)
    data = _data_sets(namespace)
    for i, (xs, ys) in enumerate(data):
        out[f"d{i}_x"], out[f"d{i}_y"] = np.array(xs, dtype=float), np.array(ys, dtype=float)
    out["n_data"] = len(data)
    return out


class _AfterTheCheck:
    """A trace of the script's own lines (its top level, and the functions it defines, such as
    a ``main()``) that keeps the state each time the handout's ``total_error`` changes: the
    given error loop closes Q2.5's block, so its last change is the state Q2.5 left, also when
    training comes after it ("you can do this before or after training the network"). A
    script without that loop is judged on what its ``main()`` (or its top level) ends with.
    The submission's other files (``nn.py``) and the libraries are not traced."""

    def __init__(self, code):
        self.filename = code.co_filename
        self.total, self.state, self.returned = None, None, None

    def __call__(self, frame, event, arg):  # sys.settrace: a new frame
        return self._line if frame.f_code.co_filename == self.filename else None

    def _line(self, frame, event, arg):
        try:  # an error here would surface in the script, at its line: never let one out
            namespace = frame.f_locals
            total = namespace.get("total_error")
            if total is not None and total is not self.total:
                self.total, self.state = total, _state(namespace)
            elif event == "return" and _toy_dict(namespace.get("params")):
                self.returned = _state(namespace)  # a main() that ends with its params
        except Exception:
            pass
        return self._line

    def result(self, namespace) -> dict:
        """The state Q2.5 left: at the last change of total_error, else at the end."""
        self._line(_Frame(namespace), "end", None)  # a change on the script's last line
        if self.state is not None:
            return self.state
        if self.returned is not None and not _toy_dict(namespace.get("params")):
            return self.returned
        return _state(namespace)


class _Frame:
    def __init__(self, namespace):
        self.f_locals = namespace


@contextlib.contextmanager
def _off_screen():
    """While the script runs, nothing it draws opens a window or waits: matplotlib's Agg
    backend, whatever the environment (MPLBACKEND) or an earlier import chose, and the calls
    that would show, wait or change the backend (plt.show(), plt.pause(), matplotlib.use())
    return at once. The script's figures are closed after it."""
    import matplotlib
    import matplotlib.pyplot as plt

    os.environ["MPLBACKEND"] = "Agg"
    # switch_backend itself, not matplotlib.use(): use() returns early when Agg is already the
    # configured backend, and pyplot would then resolve its backend on the first figure through
    # switch_backend, ignored below ('NoneType' object has no attribute 'FigureCanvas')
    plt.switch_backend("Agg")
    saved = [(plt, "show"), (plt, "pause"), (plt, "switch_backend"), (matplotlib, "use")]
    saved = [(owner, name, getattr(owner, name)) for owner, name in saved]
    for owner, name, _ in saved:
        setattr(owner, name, _ignored)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
        plt.close("all")


def _ignored(*args, **kwargs) -> None:
    return None


def script_task(sub, inputs):
    """Run the submission's run_q2.py as a script; return what its Q2.5 block left."""
    import builtins
    import io
    import sys

    path = _script_path(sub)
    sub.load("nn")  # the submission's nn (and util) under the names the script imports
    np.random.seed(int(inputs["seed"]))
    namespace = {"__name__": "__main__", "__file__": str(path), "__builtins__": builtins}
    code = compile(path.read_text(encoding="utf-8", errors="replace"), str(path), "exec")
    out = {}
    argv, sys.argv = sys.argv, [str(path)]
    printed = io.StringIO()
    trace = _AfterTheCheck(code)
    try:
        with contextlib.redirect_stdout(printed), _off_screen():
            sys.settrace(trace)
            try:
                exec(code, namespace)
            finally:
                sys.settrace(None)
    except SystemExit as exc:  # a script may end with sys.exit(): its values stay
        if exc.code not in (None, 0):
            out["error"] = f"it called sys.exit({exc.code!r})"
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        sys.argv = argv
    out["printed"] = printed.getvalue()[-2000:]
    out.update(trace.result(namespace))
    return out


def script_inputs():
    return {"seed": 0}


# ----------------------------------------------------------------------------- judges
def _count(out, key) -> int:
    value = out.get(key)
    return int(value) if isinstance(value, np.ndarray) and value.size == 1 else 0


def _final_params(out):
    if "error" in out:
        raise Fail(NOT_RUN.format(error=out["error"]))
    if not _count(out, "has_params"):
        raise Fail(
            "run_q2.py left no `params` dict holding the toy network's parameters (Wlayer1 "
            "(2, 25), blayer1, Woutput (25, 4), boutput): the handout's script keeps them, "
            "and its numerical gradients, in `params`."
        )
    params = {key: out["p_" + key].reshape(shape) for key, shape in TOY_SHAPES.items()}
    grads = {}
    for key, shape in TOY_SHAPES.items():
        value = out.get("p_grad_" + key)
        if not isinstance(value, np.ndarray) or value.size != int(np.prod(shape)):
            raise Fail(
                f"params['grad_{key}'] is missing or not shaped like params[{key!r}] {shape} "
                "at the end of run_q2.py. " + HOW
            )
        if not np.all(np.isfinite(value)):
            raise Fail(f"params['grad_{key}'] holds NaN or inf at the end of run_q2.py. " + HOW)
        grads[key] = value.reshape(shape)
    return params, grads


def _snapshots(out):
    for i in range(_count(out, "n_snapshots")):
        snap = {key: out[f"s{i}_{key}"].reshape(shape) for key, shape in TOY_SHAPES.items()}
        grads = {
            key: out[f"s{i}_grad_{key}"]
            for key in TOY_SHAPES
            if isinstance(out.get(f"s{i}_grad_{key}"), np.ndarray)
        }
        yield snap, grads


def _snapshot(out, params, grads):
    """The copy of params taken before the gradient check: same parameters (to rounding), and
    gradients that the check replaced."""
    snapshots = list(_snapshots(out))
    if not snapshots:
        raise Fail(NO_SNAPSHOT)
    near = [
        (snap, old)
        for snap, old in snapshots
        if all(np.allclose(snap[k], params[k], rtol=1e-5, atol=1e-5) for k in TOY_SHAPES)
    ]
    if not near:
        raise Fail(TRAINED_AFTER)
    for _, old in near:
        if len(old) == len(TOY_SHAPES) and all(
            np.array_equal(np.ravel(old[k]), np.ravel(grads[k])) for k in TOY_SHAPES
        ):
            raise Fail(UNCHANGED)
    return near[0][0]


def _errors(params, grads, xs, ys, scale):
    from grader import oracle

    exact = oracle.mlp_gradients(xs, ys, params, list(HIDDEN))
    return {k: oracle.relative_error(grads[k], scale * exact[k]) for k in TOY_SHAPES}


def judge_script_gradients(inputs, out):
    params, grads = _final_params(out)
    _snapshot(out, params, grads)
    data = [(out[f"d{i}_x"], out[f"d{i}_y"]) for i in range(_count(out, "n_data"))]
    if not data:
        raise Fail(
            "run_q2.py left no toy data to check its gradients on: the handout's `x` (40, 2) "
            "and one-hot `y` (40, 4)."
        )
    best = None
    for xs, ys in data:  # the loss summed over the data (the handout's), or averaged
        for scale in (1.0, 1.0 / len(xs)):
            errors = _errors(params, grads, xs, ys, scale)
            if max(errors.values()) <= GRADIENT_TOLERANCE:
                return
            if best is None or max(errors.values()) < max(best.values()):
                best = errors
    worst = max(best, key=best.get)
    listed = ", ".join(f"grad_{k} {e:.1e}" for k, e in best.items())
    raise Fail(
        "the numerical gradients run_q2.py leaves in params differ from the exact gradient of "
        f"the toy network's loss at its parameters (relative errors {listed}; at most "
        f"{GRADIENT_TOLERANCE:g} expected, worst params['grad_{worst}']). " + HOW,
        reread="Q2.5",
        formula="Each entry w: (loss(w + eps) - loss(w - eps)) / (2 eps)",
    )


def judge_script_restored(inputs, out):
    """Restoring is this check's own point; gradients far off fail it too (no free points)."""
    params, grads = _final_params(out)
    snap = _snapshot(out, params, grads)
    for key in TOY_SHAPES:
        if not np.allclose(params[key], snap[key], rtol=RESTORED_RTOL, atol=RESTORED_ATOL):
            diff = float(np.max(np.abs(params[key] - snap[key])))
            raise Fail(NOT_RESTORED.format(key=key, diff=diff))
    judge_script_gradients(inputs, out)


# ----------------------------------------------------------------------------- the checks
NAME_GRADIENTS = "run_q2.py's inline gradient check: its numerical gradients are the toy network's"
NAME_RESTORED = "run_q2.py's inline gradient check: leaves params as they were"

CHECKS = [
    Check(QUESTION, NAME_GRADIENTS, 4, script_task, judge_script_gradients, script_inputs,
          budget=SCRIPT_BUDGET, modules=("run_q2", "nn")),
    # What params hold after the loop is seen inside the submission's process only (a task
    # there can be made to report anything): teaching feedback, as Q2.5's function check. A
    # loop that does not restore is graded by the gradients that drift after it.
    Check(QUESTION, NAME_RESTORED, 1, script_task, judge_script_restored, script_inputs,
          budget=SCRIPT_BUDGET, modules=("run_q2", "nn"), feedback=True),
]  # fmt: skip
