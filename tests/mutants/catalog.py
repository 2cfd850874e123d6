"""Realistic wrong solutions (mutants) and accepted variants of one student submission.

``student/nn.py`` is an independent, correct submission in the handout's flat layout, written
the way a student fills in the template. Each entry of ``CATALOG`` derives a variant from it
by exact source replacements (``edits``: every ``old`` must occur exactly once, so a stale
entry fails loudly), or names a complete file of its own (``folder``: ``<folder>/nn.py``).

* ``expect="fail"``: a realistic mistake. The Q2 checks must catch it: at least one test of
  each question in ``caught_by`` fails, and, where a fragment of the teaching message is
  given, one of that question's failure messages contains it (case-insensitively).
* ``expect="pass"``: an accepted convention. Every Q2 and Q1 check must pass, except the
  grader's feedback checks (no points) named in ``feedback``.
* ``feedback``: for an accepted variant, the grader's feedback checks it fails, per question
  marker, with a fragment of their teaching message (``{"q2_2_2": "in place"}``: code that
  writes into its argument gets full points, a note in the feedback, and an advisory note,
  not a failure, from the self-check).
* ``gap``: a known weakness of the checks that lets a mutant through (or hides its message).
  The mutant test then expects the shortfall (a strict xfail): once the checks improve, it
  fails until the ``gap`` is removed here.
* ``grades``: the points a careful TA gives the variant, per question id (``{"2.4": 4.77}``),
  asserted against the grader. An accepted variant gets full points on every Q2 question
  unless it says otherwise. The table test (``test_selfcheck_and_grader_agree``) runs the
  grader and the self-check on each entry, question by question: the self-check passes
  exactly when the grader gives full points, and a failure carries the ``caught_by`` message
  in both. Its rows are the Q2 questions of ``caught_by`` (accepted variants: every Q2
  question) plus every question in ``grades``, so an entry graded on Q3, Q4 or Q5 (with the
  files for it in its folder) adds those rows.
* ``folder``: a complete submission in ``tests/mutants/<folder>/`` (every ``*.py`` there);
  ``stubs`` names kata files written into it with each ``raise NotImplementedError(...)``
  replaced by ``pass`` (the handout's unfilled starter); the other handout files a question
  needs (``run_q2.py``, ``run_q3.py``, ``run_q5.py``) come from ``solutions/``.
* ``skip``: names of grader checks the table leaves out for time (the correct but slow
  ``np.delete`` loop on 10,800 rows); the other tests still run them.

``tests/test_mutants.py`` runs the checks on each variant. Nothing in this folder is named
``test_*.py`` and there is no conftest here, so pytest never collects these files.
"""

from __future__ import annotations

import re
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
    grades: dict[str, float] = field(default_factory=dict)  # question id -> the TA's points
    stubs: tuple[str, ...] = ()  # kata modules written as the handout's unfilled starter
    skip: tuple[str, ...] = ()  # grader checks the agreement table leaves out (time)
    # for "pass": marker of each question whose feedback checks it fails -> a message fragment
    feedback: dict[str, str] = field(default_factory=dict)


def fail(name, description, edits, caught_by, gap="", grades=None, folder=None, stubs=()):
    return Variant(
        name, description, "fail", tuple(edits), dict(caught_by), folder=folder, gap=gap,
        grades=dict(grades or {}), stubs=tuple(stubs),
    )  # fmt: skip


def accept(name, description, edits=(), folder=None, grades=None, skip=(), feedback=None):
    return Variant(
        name, description, "pass", tuple(edits), folder=folder, grades=dict(grades or {}),
        skip=tuple(skip), feedback=dict(feedback or {}),
    )  # fmt: skip


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
    accept(
        "softmax_in_place",
        "softmax shifts its input in place (x += c), changing the caller's array: right "
        "values, full points; the handout does not ask to leave x unchanged (feedback)",
        [("s = np.exp(x + c)", "x += c\n    s = np.exp(x)")],
        feedback={"q2_2_2": "in place"},
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
    accept(
        "backwards_delta_in_place",
        "backwards multiplies the caller's delta in place (delta *= activation_deriv(...)): "
        "right gradients, full points; the handout does not ask to leave delta unchanged",
        [
            (
                "d = delta * activation_deriv(post_act)",
                "delta *= activation_deriv(post_act)\n    d = delta",
            )
        ],
        feedback={"q2_3": "in place"},
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
    # ------------------------------------------------------------------ from student-patterns.md
    fail(
        "softmax_overflows",
        "softmax as exp(x) * exp(-max): the max is subtracted after exp, which overflows",
        [("s = np.exp(x + c)", "s = np.exp(x) * np.exp(c)")],
        {"q2_2_2": "subtract each row's max"},
    ),
    fail(
        "softmax_hard_max",
        "softmax as the one-hot of each row's argmax (a hard max): rows sum to 1, values wrong",
        [
            (
                "res = s / np.sum(s, axis=1).reshape(-1, 1)",
                "res = np.eye(x.shape[1])[np.argmax(x, axis=1)]",
            )
        ],
        {"q2_2_2": "not a hard max"},
        grades={"2.2.2": 0.0},
    ),
    fail(
        "loss_per_row",
        "the loss summed over the classes only: a vector of one loss per row, not a number",
        [
            (
                "loss = -np.sum(y * np.log(np.clip(probs, 1e-300, None)))",
                "loss = -np.sum(y * np.log(np.clip(probs, 1e-300, None)), axis=1)",
            )
        ],
        {"q2_2_3": "single number"},
    ),
    fail(
        "grad_b_row_shaped",
        "grad_b kept as (1, out) (keepdims) while b is (out,)",
        [("grad_b = np.sum(d, axis=0)", "grad_b = np.sum(d, axis=0, keepdims=True)")],
        {"q2_3": "it must have the shape of"},
    ),
    accept(
        "batches_shuffle_x_in_place",
        "get_random_batches shuffles the caller's x and y in place (x[:] = x[p]) before "
        "cutting: right batches, full points; the handout does not ask to leave x unchanged",
        [
            (
                "    idx = np.arange(n)\n    np.random.shuffle(idx)\n",
                "    p = np.random.permutation(n)\n    x[:] = x[p]\n    y[:] = y[p]\n"
                "    idx = np.arange(n)\n",
            )
        ],
        feedback={"q2_4": "in place"},
    ),
    fail(
        "batches_overlap",
        "each batch draws its own batch_size samples (np.random.choice without replacement "
        "within a batch only): batches overlap and some samples are never used",
        [
            (
                "        chosen = idx[start:start + batch_size]\n",
                "        chosen = np.random.choice(n, min(batch_size, n - start), replace=False)\n",
            )
        ],
        {"q2_4": "appeared twice"},
    ),
    fail(
        "batches_too_large",
        "np.array_split(idx, n // batch_size): the right number of batches, but some hold more "
        "than batch_size rows",
        [
            (
                "    for start in range(0, n, batch_size):\n"
                "        chosen = idx[start:start + batch_size]\n",
                "    for chosen in np.array_split(idx, max(n // batch_size, 1)):\n",
            )
        ],
        {"q2_4": "batch_size is the number of rows per batch"},
    ),
    fail(
        "batches_share_one_buffer",
        "every batch is written into one preallocated buffer: all batches alias the last one",
        [
            (
                "    for start in range(0, n, batch_size):\n"
                "        chosen = idx[start:start + batch_size]\n"
                "        batches.append((x[chosen], y[chosen]))\n",
                "    bx = np.empty((batch_size, x.shape[1]))\n"
                "    by = np.empty((batch_size, y.shape[1]))\n"
                "    for start in range(0, n, batch_size):\n"
                "        chosen = idx[start:start + batch_size]\n"
                "        k = len(chosen)\n"
                "        bx[:k] = x[chosen]\n"
                "        by[:k] = y[chosen]\n"
                "        batches.append((bx[:k], by[:k]))\n",
            )
        ],
        {"q2_4": "appeared twice"},
    ),
    fail(
        "batches_np_split",
        "get_random_batches drops the leftover, then np.split(idx, n // batch_size): correct "
        "on every realistic size, crashes with 0 sections when N < batch_size",
        [
            (
                "    for start in range(0, n, batch_size):\n"
                "        chosen = idx[start:start + batch_size]\n",
                "    idx = idx[:n - n % batch_size]\n"
                "    for chosen in np.split(idx, n // batch_size):\n",
            )
        ],
        {"q2_4": "np.split(x, N // batch_size)"},
        grades={"2.4": 4.77},  # all but the small N < batch_size edge check (0.25 of 5.5)
    ),
    fail(
        "starter",
        "the handout's unfilled starter: functions that `pass` or return None, "
        "get_random_batches returning [] (nn.py, run_q2.py, run_q3.py, run_q5.py)",
        [],
        {m: "" for m in ("q2_1_2", "q2_2_1", "q2_2_2", "q2_2_3", "q2_3", "q2_4", "q2_5")},
        folder="starter",
        stubs=("run_q2", "run_q3", "run_q5"),
        grades={
            q: 0.0
            for q in (
                "2.1.2",
                "2.2.1",
                "2.2.2",
                "2.2.3",
                "2.3",
                "2.4",
                "2.5",
                "3.1",
                "5.1.1",
                "5.1.2",
                "5.2",
                "5.3.1",
                "5.3.2",
            )
        },
    ),  # fmt: skip
    # ------------------------------------------------------------------ accepted variants
    accept(
        "loss_literal",
        "the handout's loss, literally: -np.sum(y * np.log(probs)) (NaN only on exact zeros, "
        "which no softmax produces)",
        [
            (
                "loss = -np.sum(y * np.log(np.clip(probs, 1e-300, None)))",
                "loss = -np.sum(y * np.log(probs))",
            )
        ],
        grades={"3.1": 5.0},  # Q3's training loop computes the loss with it too
    ),
    accept(
        "batches_np_delete",
        "get_random_batches removes one random row at a time with np.delete (correct, slow: "
        "about 45 s for 10,800 rows)",
        [
            (
                "    n = x.shape[0]\n"
                "    idx = np.arange(n)\n"
                "    np.random.shuffle(idx)\n"
                "    for start in range(0, n, batch_size):\n"
                "        chosen = idx[start:start + batch_size]\n"
                "        batches.append((x[chosen], y[chosen]))\n",
                "    x_left, y_left = x.copy(), y.copy()\n"
                "    while len(x_left) > 0:\n"
                "        bx, by = [], []\n"
                "        for i in range(min(batch_size, len(x_left))):\n"
                "            r = np.random.randint(len(x_left))\n"
                "            bx.append(x_left[r])\n"
                "            by.append(y_left[r])\n"
                "            x_left = np.delete(x_left, r, axis=0)\n"
                "            y_left = np.delete(y_left, r, axis=0)\n"
                "        batches.append((np.array(bx), np.array(by)))\n",
            )
        ],
        skip=("splits 10,800 samples of 1024 values (NIST36's training set) in time",),
    ),
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


ROOT = HERE.parent.parent


def stub_source(module: str) -> str:
    """The kata's ``module`` as the handout's unfilled starter: flat imports, and each
    ``raise NotImplementedError(...)`` replaced by ``pass``."""
    text = (ROOT / "kata" / f"{module}.py").read_text(encoding="utf-8")
    text = re.sub(r"^from \.(\w+) import", r"from \1 import", text, flags=re.M)
    return re.sub(r"raise NotImplementedError\([^)]*\)", "pass", text)


def flat_solution(module: str) -> str | None:
    """``solutions/<module>.py`` with flat imports (None in a student release)."""
    path = ROOT / "solutions" / f"{module}.py"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    return re.sub(r"^from \.(\w+) import", r"from \1 import", text, flags=re.M)


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


def materialise(variant: Variant, folder: Path, complete: bool = False) -> Path:
    """Write ``variant`` as a flat-layout folder: nn.py (the project's util.py is used); with
    ``complete``, also its own other files and stubs, and the solutions' run_q2.py, run_q3.py
    and run_q5.py where it has none (what its Q2.4-Q5 checks need)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nn.py").write_text(source(variant), encoding="utf-8")
    if not complete:
        return folder
    if variant.folder is not None:
        for path in (HERE / variant.folder).glob("*.py"):
            (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for module in variant.stubs:
        (folder / f"{module}.py").write_text(stub_source(module), encoding="utf-8")
    return add_solution_scripts(folder)


def add_solution_scripts(folder: Path) -> Path:
    """Write the solutions' run_q2.py, run_q3.py and run_q5.py (flat) where ``folder`` has none."""
    for module in ("run_q2", "run_q3", "run_q5"):
        text = flat_solution(module)
        if text is not None and not (folder / f"{module}.py").exists():
            (folder / f"{module}.py").write_text(text, encoding="utf-8")
    return folder
