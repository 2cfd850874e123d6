"""The graded Q6 checks (``grader/checks/q6_1_1.py`` ... ``q6_2.py``) judge right.

Fast, in-process with ``verdict``: the solutions pass the checks that need no training, the
untouched kata is "not implemented", realistic wrong answers (a softmax at the end, a ReLU
hidden layer, unzeroed gradients, batch means averaged, no ``model.eval()``, transposed
images, unfrozen SqueezeNet ...) fail the check that must catch them with a message that
teaches, and the judges of the trained networks fail on histories and logits that are off.
Without CIFAR-10, the SUN subset or Flowers-17 their questions are not gradable, with where to
put the data. Slow: the training checks on tiny fake datasets made here (the code path, with
one epoch and no bar), and the grader's Python API on the solutions for Q6.1.1 and Q6.1.2
(full marks, the curves drawn).
"""

from __future__ import annotations

import dataclasses
import importlib
import pickle
import types
from pathlib import Path

import numpy as np
import pytest
from grading import verdict
from q6_fakes import write_cifar, write_flowers, write_squeezenet_weights, write_sun

import grader.grade
from grader.check import Fail
from grader.checks import q6_1_1, q6_1_2, q6_1_3, q6_1_4, q6_2, question_checks
from grader.checks.q6_common import Bar, cross_entropy, judge_accuracy, judge_history
from grader.checks.q6_data import SQUEEZENET_FILE, cifar10_test_labels
from grader.checks.torchnets import RUNS, trained_once
from grader.implementation import Implementation, resolve
from grader.questions import NEEDS_PYTORCH, QUESTIONS
from grader.sandbox import Limits
from grader.submission import Submission

# The grader's own tests run in the slow tier (CI, --run-slow): the fast tier is the student's
# quick self-check, and these exercise every graded check against the solutions and mutants.
pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch", reason=NEEDS_PYTORCH)
pytest.importorskip("torchvision", reason=NEEDS_PYTORCH)
nn = torch.nn

ROOT = Path(__file__).resolve().parent.parent
HAS_SOLUTIONS = (ROOT / "solutions" / "q6_train.py").exists()
needs_solutions = pytest.mark.skipif(not HAS_SOLUTIONS, reason="student release: no solutions/")

CHECKS = [c for q in QUESTIONS if q.id.startswith("6.") for c in question_checks(q.id)]
TRAINING = (
    q6_1_1.fc_training_task,
    q6_1_2.cnn_training_task,
    q6_1_3.cifar_training_task,
    q6_1_4.scenes_training_task,
    q6_2.flowers_training_task,
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _named(question, words):
    (check,) = [c for c in CHECKS if c.question == question and words in c.name]
    return check


def _params(checks):
    return [
        pytest.param(c, id=f"{c.question}-{c.name[:40]}")
        for c in checks
    ]  # fmt: skip


def _relaxed(check, **changes):
    """``check`` with its inputs changed (e.g. one epoch, no bar)."""
    make = check.inputs
    return dataclasses.replace(check, inputs=lambda: make() | changes)


# ----------------------------------------------------------------------------- stand-ins
def _rebound(module, replaced, extra=None):
    """A copy of ``module`` with ``replaced`` functions; its own functions (and those it
    star-imported from ``q6_train``) are rebound to the copy, so they call the replacements."""
    q6_train = importlib.import_module("solutions.q6_train")
    own = (vars(module), vars(q6_train))
    copy = types.ModuleType(module.__name__.rsplit(".", 1)[-1])
    names = dict(vars(module)) | (extra or {}) | replaced
    for key, value in names.items():
        if key not in replaced and isinstance(value, types.FunctionType):
            if any(value.__globals__ is g for g in own):
                rebound = types.FunctionType(
                    value.__code__, copy.__dict__, value.__name__, value.__defaults__,
                    value.__closure__,
                )  # fmt: skip
                rebound.__kwdefaults__ = value.__kwdefaults__
                value = rebound
        copy.__dict__[key] = value
    return copy


def stand_in(**replaced):
    """The solutions' Q6 modules with some functions replaced: ``{module: {name: function}}``."""
    q6 = _rebound(importlib.import_module("solutions.q6_train"), replaced.pop("q6_train", {}))
    modules = {"q6_train": q6}
    public = {k: v for k, v in vars(q6).items() if not k.startswith("_")}
    for name in ("run_q6_1_1", "run_q6_1_2", "run_q6_1_3", "run_q6_1_4", "run_q6_2"):
        module = importlib.import_module(f"solutions.{name}")
        modules[name] = _rebound(module, replaced.pop(name, {}), public)
    assert not replaced, f"unknown modules {list(replaced)}"
    return Implementation.with_modules(modules, label="solutions (stand-in)")


# ----------------------------------------------------------------------------- wrong answers
def _fc_softmax(n_in=1024, n_hidden=64, n_classes=36):
    return nn.Sequential(
        nn.Linear(n_in, n_hidden), nn.Sigmoid(), nn.Linear(n_hidden, n_classes), nn.Softmax(1)
    )


def _fc_relu(n_in=1024, n_hidden=64, n_classes=36):
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_classes))


def _fc_fixed(n_in=1024, n_hidden=64, n_classes=36):
    return nn.Sequential(nn.Linear(1024, 64), nn.Sigmoid(), nn.Linear(64, 36))


def _train_epoch(model, loader, optimizer, device=None, *, mode="ok"):
    """``train_epoch`` with one realistic mistake (``mode``)."""
    F = nn.functional
    if mode != "no train()":
        model.train()
    total, correct, seen, means = 0.0, 0, 0, []
    for x, labels in loader:
        logits = model(x)
        loss = F.cross_entropy(logits, labels, reduction="sum" if mode == "sum" else "mean")
        if mode != "no zero_grad":
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        means.append(loss.item())
        total += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        seen += len(labels)
    if mode == "batch means":
        return sum(means) / len(means), correct / seen
    if mode == "count":
        return total / seen, correct
    return total / seen, correct / seen


def _evaluate(model, loader, device=None, *, mode="ok"):
    F = nn.functional
    if mode != "no eval()":
        model.eval()
    total, correct, seen = 0.0, 0, 0
    with torch.set_grad_enabled(mode == "no no_grad"):
        for x, labels in loader:
            if mode == "reset":  # the counters reset in the loop: only the last batch counts
                total, correct, seen = 0.0, 0, 0
            logits = model(x)
            total += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(1) == labels).sum().item()
            seen += len(labels)
    return total / seen, correct / seen


def _with_mode(function, mode):
    def wrong(*args, **kwargs):
        return function(*args, **kwargs, mode=mode)

    return wrong


def _untransposed(x):
    return torch.as_tensor(x).reshape(-1, 1, 32, 32)


def _cnn_fixed_classes(n_classes=36):
    return importlib.import_module("solutions.run_q6_1_2").make_nist_cnn()


def _mlp_not_cnn(n_classes=36):
    return nn.Sequential(nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, n_classes))


def _read_sun_keeping_blank_lines(root, split):
    root = Path(root)
    lines = (root / f"{split}_files.txt").read_text().split("\n")
    labels = np.loadtxt(root / f"{split}_labels.txt", dtype=np.int64, ndmin=1)
    return [root / line for line in lines], labels


def _read_sun_blank_lines_checked(root, split):
    paths, labels = _read_sun_keeping_blank_lines(root, split)
    if len(paths) != len(labels):
        raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
    return paths, labels


def _read_sun_unchecked(root, split):
    root = Path(root)
    lines = [line for line in (root / f"{split}_files.txt").read_text().splitlines() if line]
    labels = np.loadtxt(root / f"{split}_labels.txt", dtype=np.int64, ndmin=1)
    return [root / line for line in lines], labels  # no check of the lengths


def _transforms_unnormalised(train, size=224):
    from torchvision import transforms

    return transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size),
                               transforms.ToTensor()])  # fmt: skip


def _transforms_never_random(train, size=224):
    return importlib.import_module("solutions.run_q6_2").flowers_transforms(False, size)


def _squeezenet_unfrozen(weights=None, n_classes=17):
    from torchvision import models

    model = models.squeezenet1_1(weights=weights)
    model.classifier[1] = nn.Conv2d(512, n_classes, kernel_size=1)
    return model


def _optimizer_over_everything(model, lr=1e-3):
    return torch.optim.Adam(model.parameters(), lr=lr)


WRONG = [
    ("6.1.1", "maps rows", {"run_q6_1_1": {"make_fc_network": _fc_softmax}}, "ends with a softmax"),
    ("6.1.1", "maps rows", {"run_q6_1_1": {"make_fc_network": _fc_fixed}}, "from the arguments"),
    ("6.1.1", "Q3's network", {"run_q6_1_1": {"make_fc_network": _fc_relu}}, "applies a ReLU"),
    ("6.1.1", "returns the epoch's",
     {"q6_train": {"train_epoch": _with_mode(_train_epoch, "batch means")}},
     "averaged the 3 batch means"),
    ("6.1.1", "returns the epoch's",
     {"q6_train": {"train_epoch": _with_mode(_train_epoch, "count")}}, "not a count"),
    ("6.1.1", "one SGD step",
     {"q6_train": {"train_epoch": _with_mode(_train_epoch, "no zero_grad")}}, "never zeroed"),
    ("6.1.1", "one SGD step",
     {"q6_train": {"train_epoch": _with_mode(_train_epoch, "sum")}}, "summed over the batch"),
    ("6.1.1", "one SGD step",
     {"q6_train": {"train_epoch": _with_mode(_train_epoch, "no train()")}}, "model.train()"),
    ("6.1.1", "evaluate:",
     {"q6_train": {"evaluate": _with_mode(_evaluate, "no eval()")}}, "model.eval()"),
    ("6.1.1", "evaluate:",
     {"q6_train": {"evaluate": _with_mode(_evaluate, "no no_grad")}}, "torch.no_grad()"),
    ("6.1.2", "upright", {"run_q6_1_2": {"nist36_images": _untransposed}}, "transposed"),
    ("6.1.2", "make_nist_cnn",
     {"run_q6_1_2": {"make_nist_cnn": _cnn_fixed_classes}}, "n_classes argument"),
    ("6.1.2", "make_nist_cnn", {"run_q6_1_2": {"make_nist_cnn": _mlp_not_cnn}}, "no nn.Conv2d"),
    ("6.1.4", "read_sun_split",
     {"run_q6_1_4": {"read_sun_split": _read_sun_keeping_blank_lines}}, "blank lines"),
    ("6.1.4", "read_sun_split",
     {"run_q6_1_4": {"read_sun_split": _read_sun_blank_lines_checked}},
     "blank lines are not entries"),
    ("6.1.4", "read_sun_split",
     {"run_q6_1_4": {"read_sun_split": _read_sun_unchecked}}, "should raise ValueError"),
    ("6.2", "flowers_transforms",
     {"run_q6_2": {"flowers_transforms": _transforms_unnormalised}}, "normalise with"),
    ("6.2", "flowers_transforms",
     {"run_q6_2": {"flowers_transforms": _transforms_never_random}}, "augment the training"),
    ("6.2", "finetune_squeezenet",
     {"run_q6_2": {"finetune_squeezenet": _squeezenet_unfrozen}}, "freeze the pretrained"),
    ("6.2", "finetune_squeezenet",
     {"run_q6_2": {"finetune_optimizer": _optimizer_over_everything}}, "exactly classifier[1]"),
]  # fmt: skip


# ----------------------------------------------------------------------------- fast checks
QUICK = [c for c in CHECKS if c.task not in TRAINING]


@needs_solutions
@pytest.mark.parametrize("check", _params(QUICK))
def test_solutions_pass_the_checks_that_need_no_training(check, tmp_path):
    assert verdict(check, resolve("solutions"), tmp_path) == ("passed", "")


@pytest.mark.parametrize(
    "check", _params([c for c in CHECKS if c.task not in TRAINING[2:]])
)  # fmt: skip
def test_untouched_kata_is_not_implemented(check, tmp_path):
    outcome, message = verdict(check, resolve("kata"), tmp_path)
    assert outcome == "not implemented", message
    assert message.startswith(f"Q{check.question} "), message


@needs_solutions
@pytest.mark.parametrize(
    ("question", "words", "replaced", "expected"),
    [
        pytest.param(*w, id=f"{w[0]}-{'-'.join(k for r in w[2].values() for k in r)}-{i}")
        for i, w in enumerate(WRONG)
    ],
)  # fmt: skip
def test_a_wrong_answer_fails_its_check_and_teaches(question, words, replaced, expected, tmp_path):
    sub = stand_in(**replaced)
    check = _named(question, words)
    outcome, message = verdict(check, sub, tmp_path)
    assert outcome == "failed", message
    assert expected in message, message
    # the question's other checks that need no training are not affected
    for other in QUICK:
        if other.question == question and other is not check and other.task is not check.task:
            assert verdict(other, sub, tmp_path / "other")[0] == "passed", other.name


@needs_solutions
def test_the_other_loop_checks_pass_a_loop_that_only_fails_one(tmp_path):
    """Gradients never zeroed: with SGD at lr 0 the epoch's numbers are still right."""
    sub = stand_in(q6_train={"train_epoch": _with_mode(_train_epoch, "no zero_grad")})
    assert verdict(_named("6.1.1", "returns the epoch's"), sub, tmp_path)[0] == "passed"
    summed = stand_in(q6_train={"train_epoch": _with_mode(_train_epoch, "batch means")})
    assert verdict(_named("6.1.1", "one SGD step"), summed, tmp_path)[0] == "passed"


# ----------------------------------------------------------------------------- the judges
def _history(epochs=3, valid_acc=0.8, **overrides):
    out = {
        "history_train_loss": np.linspace(2.0, 1.0, epochs),
        "history_train_acc": np.linspace(0.3, 0.7, epochs),
        "history_valid_loss": np.linspace(2.1, 1.2, epochs),
        "history_valid_acc": np.linspace(0.25, valid_acc, epochs),
        "history_seconds": np.ones(epochs),
        "__none__": [],
    }
    return out | overrides


def _logits_with_accuracy(labels, acc, n_classes=4, seed=0):
    """Logits whose argmax is right on the first ``acc`` fraction of ``labels``."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    predicted = (labels + 1) % n_classes
    k = round(acc * n)
    predicted[:k] = labels[:k]
    logits = rng.normal(size=(n, n_classes)) * 0.1
    logits[np.arange(n), predicted] += 3.0
    return logits.astype(np.float32)


LABELS = np.arange(200) % 4


def _labels_of(inputs, out):
    return LABELS


def test_the_accuracy_judge_applies_the_bar_to_its_own_count():
    bar = Bar(3, 0.7, "validation split", "a hint", "this test")
    judge = judge_accuracy(_labels_of, "train_fc", bar)
    inputs = {"epochs": 3, "min_acc": 0.7}
    judge(inputs, {"logits": _logits_with_accuracy(LABELS, 0.75), "__none__": []})
    with pytest.raises(Fail, match=r"classifies 65\.0% of the validation split.*at least 70%"):
        judge(inputs, {"logits": _logits_with_accuracy(LABELS, 0.65), "__none__": []})
    with pytest.raises(Fail, match="shape"):
        judge(inputs, {"logits": _logits_with_accuracy(LABELS, 0.9)[:-1], "__none__": []})
    with pytest.raises(Fail, match="returned None"):
        judge(inputs, {"logits": None, "__none__": ["logits"]})


def _judged_history(out, epochs=3):
    judge = judge_history(_labels_of, "validation split")
    judge({"epochs": epochs}, out)


def test_the_history_judge_wants_plausible_values_that_agree_with_the_network():
    logits = _logits_with_accuracy(LABELS, 0.8)
    loss = float(cross_entropy(logits.astype(float), LABELS).mean())
    good = _history(valid_acc=0.8, history_valid_loss=np.array([2.0, 1.5, loss]))
    _judged_history(good | {"logits": logits})
    cases = {
        "fractions in": good | {"history_valid_acc": np.array([50.0, 100.0, 160.0])},
        "did not lower the loss": good | {"history_train_loss": np.array([1.0, 1.5, 2.0])},
        "evaluate's accuracy is off": good | {"history_valid_acc": np.array([0.2, 0.4, 0.6])},
        "evaluate's loss is off": good | {"history_valid_loss": np.array([2.0, 1.5, loss * 1.1])},
        r"expected shape \(3,\)": good | {"history_train_acc": np.array([0.1, 0.2])},
    }
    for expected, out in cases.items():
        with pytest.raises(Fail, match=expected):
            _judged_history(out | {"logits": logits})


def test_a_training_run_is_shared_by_its_checks_and_so_is_its_error():
    calls = []

    def train():
        calls.append(1)
        return {"value": np.arange(3)}

    key = ("test-shared", len(RUNS))
    first, second = trained_once(key, train), trained_once(key, train)
    assert len(calls) == 1 and np.array_equal(first["value"], second["value"])

    def broken():
        calls.append(1)
        raise NotImplementedError("Q6.1.1 make_fc_network")

    for _ in range(2):
        with pytest.raises(NotImplementedError, match="Q6.1.1"):
            trained_once(("test-broken", len(RUNS)), broken)
    assert len(calls) == 3  # each key trained once


def test_cifar_labels_are_read_without_running_what_the_file_names(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batch = {"data": np.zeros((3, 3072), np.uint8), "labels": [3, 1, 4]}
    (folder / "test_batch").write_bytes(pickle.dumps(batch))
    assert cifar10_test_labels(tmp_path).tolist() == [3, 1, 4]
    (folder / "test_batch").write_bytes(pickle.dumps({"labels": [1], "x": types.SimpleNamespace}))
    with pytest.raises(pickle.UnpicklingError, match="unexpected"):
        cifar10_test_labels(tmp_path)


# ----------------------------------------------------------------------------- absent data
def _question(qid):
    return next(q for q in QUESTIONS if q.id == qid)


@pytest.fixture
def q6_registered(monkeypatch):
    """The Q6 checks in the grader's registry (whether or not the lead registered them)."""
    if not any(c.question.startswith("6.") for c in grader.grade.CHECKS):
        monkeypatch.setattr(grader.grade, "CHECKS", [*grader.grade.CHECKS, *CHECKS])


@pytest.mark.parametrize(
    ("qid", "env", "needles"),
    [
        pytest.param("6.1.3", "NRK_CIFAR10_DIR", ["CIFAR-10", "cifar-10-batches-py"],
),
        pytest.param("6.1.4", "NRK_SUN_DIR", ["SUN", "train_files.txt"]),
        pytest.param("6.2", "NRK_FLOWERS17_DIR", ["Flowers-17", "val/"]),
    ],
)  # fmt: skip
def test_absent_data_makes_the_question_not_gradable_saying_where_to_put_it(
    qid, env, needles, monkeypatch, tmp_path, q6_registered
):
    monkeypatch.setenv(env, str(tmp_path / "nowhere"))
    reasons = {c.available() for c in CHECKS if c.question == qid}
    assert len(reasons) == 1
    (reason,) = reasons
    assert reason.startswith("not gradable offline")
    for needle in [*needles, str(tmp_path / "nowhere"), env]:
        assert needle in reason, f"{needle!r} missing from: {reason}"
    monkeypatch.setattr(grader.grade, "run_question", lambda *a, **k: pytest.fail("ran"))
    submission = Submission("solutions", package="solutions")
    score, _, _ = grader.grade.grade_question(submission, _question(qid), Limits())
    assert (score.status, score.score, score.max_score) == ("not gradable", 0, 0)
    assert score.reason == reason


# ----------------------------------------------------------------------------- fake datasets
@pytest.fixture
def fake_cifar(monkeypatch, tmp_path):
    import torchvision.datasets.cifar

    root = write_cifar(tmp_path / "cifar10")
    monkeypatch.setenv("NRK_CIFAR10_DIR", str(root))
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    return root


@pytest.fixture
def fake_sun(monkeypatch, tmp_path):
    root = write_sun(tmp_path / "sun", {"train": 2, "test": 2})
    monkeypatch.setenv("NRK_SUN_DIR", str(root))
    return root


@pytest.fixture
def fake_flowers(monkeypatch, tmp_path):
    root = write_flowers(tmp_path / "flowers17")
    monkeypatch.setenv("NRK_FLOWERS17_DIR", str(root))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return root


def test_flowers_without_the_imagenet_weights_is_not_gradable(fake_flowers, tmp_path):
    reason = _named("6.2", "fine-tuned SqueezeNet").available()
    expected = tmp_path / "torch" / "hub" / "checkpoints" / SQUEEZENET_FILE
    assert reason and str(expected) in reason and "TORCH_HOME" in reason, reason
    write_squeezenet_weights(tmp_path / "torch")
    assert _named("6.2", "fine-tuned SqueezeNet").available() is None


def test_fake_cifar_is_found_and_its_labels_read(fake_cifar):
    assert all(c.available() is None for c in CHECKS if c.question == "6.1.3")
    assert len(cifar10_test_labels(fake_cifar)) == 10


def _trained_checks(question):
    return [c for c in CHECKS if c.question == question and c.task in TRAINING]


def _run_present_data_path(question, impl, tmp_path, **changes):
    checks = _trained_checks(question)
    assert checks
    relaxed = {"epochs": 1, "min_acc": 0.0} | changes
    return {c.name: verdict(_relaxed(c, **relaxed), impl, tmp_path / f"c{i}")
            for i, c in enumerate(checks)}  # fmt: skip


@needs_solutions
def test_cifar_training_checks_run_on_a_fake_cifar(fake_cifar, tmp_path):
    results = _run_present_data_path("6.1.3", resolve("solutions"), tmp_path)
    assert all(r == ("passed", "") for r in results.values()), results
    kata = _run_present_data_path("6.1.3", resolve("kata"), tmp_path / "kata")
    assert all(r[0] == "not implemented" for r in kata.values()), kata


@needs_solutions
def test_scene_training_checks_run_on_a_fake_sun(fake_sun, tmp_path):
    assert all(c.available() is None for c in CHECKS if c.question == "6.1.4")
    results = _run_present_data_path("6.1.4", resolve("solutions"), tmp_path)
    assert all(r == ("passed", "") for r in results.values()), results
    outcome, message = _run_present_data_path(
        "6.1.4", resolve("solutions"), tmp_path / "bar", min_acc=1.01
    )[_trained_checks("6.1.4")[0].name]
    assert outcome == "failed" and "expected at least 101%" in message, message


@needs_solutions
def test_flowers_training_checks_run_on_fake_flowers(fake_flowers, tmp_path):
    write_squeezenet_weights(tmp_path / "torch")
    assert all(c.available() is None for c in CHECKS if c.question == "6.2")
    results = _run_present_data_path("6.2", resolve("solutions"), tmp_path)
    assert len(results) == 4 and all(r == ("passed", "") for r in results.values()), results


@pytest.mark.slow
@needs_solutions
def test_one_epoch_of_train_fc_misses_the_bar_and_a_wrong_evaluate_shows_in_the_history(
    tmp_path,
):
    learns, history = _trained_checks("6.1.1")
    outcome, message = verdict(_relaxed(learns, epochs=1), resolve("solutions"), tmp_path)
    assert outcome == "failed" and f"expected at least {q6_1_1.FC_BAR.min_acc:.0%}" in message, (
        message
    )
    assert verdict(_relaxed(history, epochs=1), resolve("solutions"), tmp_path) == ("passed", "")
    reset = stand_in(q6_train={"evaluate": _with_mode(_evaluate, "reset")})
    outcome, message = verdict(_relaxed(history, epochs=1), reset, tmp_path / "reset")
    assert outcome == "failed" and "evaluate's accuracy is off" in message, message
