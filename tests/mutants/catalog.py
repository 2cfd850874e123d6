"""Realistic wrong solutions (mutants) and accepted variants of one student submission.

``student/nn.py`` is an independent, correct submission in the handout's flat layout, written
the way a student fills in the template. Each entry of ``CATALOG`` derives a variant from it
by exact source replacements (``edits``: every ``old`` must occur exactly once, so a stale
entry fails loudly), or names a complete file of its own (``folder``: ``<folder>/nn.py``).

* ``expect="fail"``: a realistic mistake. The Q2 checks must catch it: at least one test of
  each question in ``caught_by`` fails, and, where a fragment of the teaching message is
  given, one of that question's failure messages contains it (case-insensitively).
* ``expect="pass"``: an accepted convention. Every Q2 and Q1 check must pass.
* ``gap``: a known weakness of the checks that lets a mutant through (or hides its message).
  The mutant test then expects the shortfall (a strict xfail): once the checks improve, it
  fails until the ``gap`` is removed here.

``tests/test_mutants.py`` runs the checks on each variant. Nothing in this folder is named
``test_*.py`` and there is no conftest here, so pytest never collects these files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUDENT = HERE / "student" / "nn.py"


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    expect: str  # "fail" or "pass"
    edits: tuple[tuple[str, str], ...] = ()
    # for "fail": pytest marker of each question that must catch it -> a fragment of the
    # failure message to look for ("" when any failure will do)
    caught_by: dict[str, str] = field(default_factory=dict)
    folder: str | None = None  # a complete nn.py in tests/mutants/<folder>/ instead of edits
    gap: str = ""  # why the checks currently miss it (see the module docstring)


def fail(name, description, edits, caught_by, gap=""):
    return Variant(name, description, "fail", tuple(edits), dict(caught_by), gap=gap)


def accept(name, description, edits=(), folder=None):
    return Variant(name, description, "pass", tuple(edits), folder=folder)


CATALOG = (
    # ------------------------------------------------------------------ Q2.1.2 Xavier
    fail(
        "xavier_normal",
        "Xavier drawn from a normal distribution with the Xavier variance 2 / (in + out)",
        [
            (
                "W = np.random.uniform(-lim, lim, (in_size, out_size))",
                "W = np.random.normal(0, np.sqrt(2 / (in_size + out_size)), (in_size, out_size))",
            )
        ],
        {"q2_1_2": "uniform distribution"},
    ),
    fail(
        "xavier_wrong_bound",
        "Xavier uniform with the bound sqrt(1 / (in + out)) instead of sqrt(6 / (in + out))",
        [
            (
                "lim = np.sqrt(6) / np.sqrt(in_size + out_size)",
                "lim = np.sqrt(1) / np.sqrt(in_size + out_size)",
            )
        ],
        {"q2_1_2": "Var(W)"},
    ),
    fail(
        "xavier_reseeded",
        "initialize_weights calls np.random.seed(0): every layer of a shape gets the same W",
        [
            (
                "W = np.random.uniform(-lim, lim, (in_size, out_size))",
                "np.random.seed(0)\n    W = np.random.uniform(-lim, lim, (in_size, out_size))",
            )
        ],
        {"q2_1_2": "don't reseed"},
    ),
    # ------------------------------------------------------------------ Q2.2.1 forward
    fail(
        "forward_ignores_activation",
        "forward always applies sigmoid, ignoring its activation argument",
        [("post_act = activation(pre_act)", "post_act = sigmoid(pre_act)")],
        {"q2_2_1": "not sigmoid", "q1": "Q1.3"},
    ),
    fail(
        "forward_cache_order",
        "forward caches (X, post_act, pre_act), not the handout's (X, pre_act, post_act)",
        [
            (
                "params['cache_' + name] = (X, pre_act, post_act)",
                "params['cache_' + name] = (X, post_act, pre_act)",
            )
        ],
        {"q2_2_1": "cache[1] should be pre_act", "q2_3": ""},
    ),
    # ------------------------------------------------------------------ Q2.2.2 softmax
    fail(
        "softmax_no_max_shift",
        "softmax exponentiates the raw logits (no max shift): overflows for large logits",
        [("s = np.exp(x + c)", "s = np.exp(x)")],
        {"q2_2_2": "subtract each row's max"},
    ),
    fail(
        "softmax_global_max",
        "softmax subtracts the max of the whole batch instead of each row's",
        [("c = -np.max(x, axis=1).reshape(-1, 1)", "c = -np.max(x)")],
        {"q2_2_2": "not the global max"},
    ),
    fail(
        "softmax_wrong_axis",
        "softmax normalised over the columns (axis=0) instead of each row",
        [("res = s / np.sum(s, axis=1).reshape(-1, 1)", "res = s / np.sum(s, axis=0)")],
        {"q2_2_2": "normalise along axis=1"},
    ),
    fail(
        "softmax_in_place",
        "softmax shifts its input in place (x += c), changing the caller's array",
        [("s = np.exp(x + c)", "x += c\n    s = np.exp(x)")],
        {"q2_2_2": "in place"},
    ),
    # ------------------------------------------------------------------ Q2.2.3 loss, accuracy
    fail(
        "loss_averaged",
        "cross-entropy averaged over the batch instead of summed",
        [
            (
                "loss = -np.sum(y * np.log(np.clip(probs, 1e-300, None)))",
                "loss = -np.mean(np.sum(y * np.log(np.clip(probs, 1e-300, None)), axis=1))",
            )
        ],
        {"q2_2_3": "don't average"},
    ),
    fail(
        "accuracy_is_a_count",
        "accuracy returned as the number of correct rows, not a fraction",
        [
            (
                "acc = np.sum(np.argmax(y, axis=1) == np.argmax(probs, axis=1)) / y.shape[0]",
                "acc = np.sum(np.argmax(y, axis=1) == np.argmax(probs, axis=1))",
            )
        ],
        {"q2_2_3": "fraction"},
    ),
    # ------------------------------------------------------------------ Q2.3 backwards
    fail(
        "grad_b_averaged",
        "grad_b averaged over the batch instead of summed",
        [("grad_b = np.sum(d, axis=0)", "grad_b = np.mean(d, axis=0)")],
        {"q2_3": "don't average"},
    ),
    fail(
        "grad_W_averaged",
        "grad_W divided by the batch size",
        [("grad_W = np.dot(X.T, d)", "grad_W = np.dot(X.T, d) / X.shape[0]")],
        {"q2_3": "don't average"},
    ),
    fail(
        "backwards_skips_activation_deriv",
        "backwards uses delta directly, skipping the derivative of the activation",
        [("d = delta * activation_deriv(post_act)", "d = delta")],
        {"q2_3": "first through the activation"},
    ),
    fail(
        "backwards_deriv_of_pre_act",
        "backwards evaluates activation_deriv at pre_act, though it takes post_act",
        [
            (
                "d = delta * activation_deriv(post_act)",
                "d = delta * activation_deriv(pre_act)",
            )
        ],
        {"q2_3": "central differences"},
    ),
    fail(
        "backwards_grad_X_transposed",
        "backwards returns W @ d.T, grad_X transposed (forgot to transpose back)",
        [("grad_X = np.dot(d, W.T)", "grad_X = np.dot(W, d.T)")],
        {"q2_3": ""},
    ),
    fail(
        "grad_W_transposed",
        "grad_W computed as d.T @ X, shaped (out, in) instead of W's (in, out)",
        [("grad_W = np.dot(X.T, d)", "grad_W = np.dot(d.T, X)")],
        {"q2_3": "it must have the shape of"},
    ),
    fail(
        "backwards_delta_in_place",
        "backwards multiplies the caller's delta in place (delta *= activation_deriv(...))",
        [
            (
                "d = delta * activation_deriv(post_act)",
                "delta *= activation_deriv(post_act)\n    d = delta",
            )
        ],
        {"q2_3": "in place"},
    ),
    # ------------------------------------------------------------------ Q2.4 batches
    fail(
        "batches_count_not_size",
        "get_random_batches splits into batch_size batches (np.array_split), not batches "
        "of batch_size rows",
        [
            (
                "    for start in range(0, n, batch_size):\n"
                "        chosen = idx[start:start + batch_size]\n",
                "    for chosen in np.array_split(idx, batch_size):\n",
            )
        ],
        {"q2_4": "not the number of batches"},
    ),
    fail(
        "batches_off_by_one",
        "get_random_batches stops at n - batch_size: the last full batch is lost",
        [
            (
                "for start in range(0, n, batch_size):",
                "for start in range(0, n - batch_size, batch_size):",
            )
        ],
        {"q2_4": "in no batch"},
    ),
    fail(
        "batches_with_replacement",
        "get_random_batches samples indices with replacement (np.random.choice(n, n))",
        [("idx = np.arange(n)\n    np.random.shuffle(idx)", "idx = np.random.choice(n, n)")],
        {"q2_4": "appeared twice"},
    ),
    fail(
        "batches_y_not_shuffled",
        "get_random_batches shuffles the rows of x but takes y in the data's order",
        [
            (
                "batches.append((x[chosen], y[chosen]))",
                "batches.append((x[chosen], y[start:start + batch_size]))",
            )
        ],
        {"q2_4": "stay paired"},
    ),
    fail(
        "batches_not_shuffled",
        "get_random_batches forgets to shuffle: the batches follow the data's order",
        [("    np.random.shuffle(idx)\n", "")],
        {"q2_4": "shuffle the indices"},
    ),
    fail(
        "batches_reseeded",
        "get_random_batches reseeds the generator on each call: the same order every epoch",
        [("    np.random.shuffle(idx)\n", "    np.random.seed(0)\n    np.random.shuffle(idx)\n")],
        {"q2_4": "don't reseed"},
    ),
    # ------------------------------------------------------------------ accepted variants
    accept(
        "loops",
        "Python loops over the samples instead of vectorisation (forward, softmax, loss, "
        "backwards, batches)",
        folder="loops",
    ),
    accept(
        "drop_partial_batch",
        "get_random_batches drops the leftover partial batch",
        [
            (
                "for start in range(0, n, batch_size):",
                "for start in range(0, n - batch_size + 1, batch_size):",
            )
        ],
    ),
    accept(
        "bias_row",
        "a (1, out) bias used consistently: initialize_weights makes it, backwards keeps it",
        [
            ("b = np.zeros(out_size)", "b = np.zeros((1, out_size))"),
            ("grad_b = np.sum(d, axis=0)", "grad_b = np.sum(d, axis=0, keepdims=True)"),
        ],
    ),
    accept(
        "default_rng",
        "np.random.default_rng() instead of the legacy np.random functions",
        [
            (
                "W = np.random.uniform(-lim, lim, (in_size, out_size))",
                "W = np.random.default_rng().uniform(-lim, lim, (in_size, out_size))",
            ),
            ("np.random.shuffle(idx)", "np.random.default_rng().shuffle(idx)"),
        ],
    ),
    accept(
        "sigmoid_plain",
        "sigmoid as 1 / (1 + np.exp(-x)): exp overflows to inf for x << 0 (a RuntimeWarning), "
        "but the result is the correct, finite 0",
        [
            (
                "    x = np.asarray(x, dtype=np.float64)\n"
                "    res = np.empty_like(x)\n"
                "    # exp of a negative number never overflows: pick the form that only uses one\n"
                "    pos = x >= 0\n"
                "    res[pos] = 1.0 / (1.0 + np.exp(-x[pos]))\n"
                "    ex = np.exp(x[~pos])\n"
                "    res[~pos] = ex / (1.0 + ex)\n",
                "    res = 1.0 / (1.0 + np.exp(-x))\n",
            )
        ],
    ),
)

BY_NAME = {variant.name: variant for variant in CATALOG}


class StaleCatalog(AssertionError):
    """An edit's ``old`` text does not occur exactly once in ``student/nn.py``."""


def source(variant: Variant) -> str:
    """The nn.py source of ``variant``."""
    if variant.folder is not None:
        return (HERE / variant.folder / "nn.py").read_text(encoding="utf-8")
    text = STUDENT.read_text(encoding="utf-8")
    for old, new in variant.edits:
        count = text.count(old)
        if count != 1:
            raise StaleCatalog(
                f"{variant.name}: {old!r} occurs {count} times in {STUDENT} (expected once)"
            )
        text = text.replace(old, new)
    return text


def materialise(variant: Variant, folder: Path) -> Path:
    """Write ``variant`` as a flat-layout folder (nn.py only: the project's util.py is used)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nn.py").write_text(source(variant), encoding="utf-8")
    return folder
