"""Q6.1.1: the fully connected network in PyTorch (run_q6_1_1.py) and the training loop it
introduces, ``train_epoch`` and ``evaluate`` (q6_train.py)."""

import copy

import pytest
from strategies import pytorch_or_skip, torch_batches

from grader.checks.q6_1_1 import (
    A_COUNT,
    ACC_MESSAGE,
    EVALUATE_TRAINS,
    FC_PARAMS,
    FC_PARAMS_MESSAGE,
    FROM_ARGUMENTS,
    LOSS_MESSAGE,
    LOSS_RTOL,
    NEVER_CALLED,
    NOT_DETERMINISTIC,
    NOT_EVAL,
    NOT_STEPPED,
    NOT_TRAINING,
    NOT_ZEROED,
    SGD_STEPS,
    STEP_ATOL,
    SUMMED_BATCH,
    USES_SIGMOID,
    WITH_GRADIENTS,
    loss_hint,
)
from grader.checks.q6_common import LOSS_NOT_LOWERED, NO_SOFTMAX, is_probabilities
from grader.checks.torchnets import HISTORY_KEYS, batches, recorder

torch = pytorch_or_skip()
nn, F = torch.nn, torch.nn.functional

pytestmark = [pytest.mark.q6_1_1, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def q6(impl_module):
    return impl_module("q6_train")


@pytest.fixture(scope="module")
def run_q6_1_1(impl_module):
    return impl_module("run_q6_1_1")


def _small_model(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Dropout(dropout), nn.Linear(8, 3))


def _toy(n=10, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=generator), torch.randint(0, 3, (n,), generator=generator)


def _result(value, what):
    assert isinstance(value, tuple | list) and len(value) == 2, (
        f"{what} should return a pair (loss, accuracy), got {value!r}"
    )
    return float(value[0]), float(value[1])


# ----------------------------------------------------------------------------- the network
def test_fc_network_maps_rows_to_logits(run_q6_1_1):
    model = run_q6_1_1.make_fc_network()
    out = model(torch.rand(8, 1024))
    assert tuple(out.shape) == (8, 36), f"make_fc_network()(x) for x (8, 1024): got {out.shape}"
    assert torch.isfinite(out).all()
    assert not is_probabilities(out.detach().numpy()), NO_SOFTMAX
    custom = run_q6_1_1.make_fc_network(10, 7, 3)(torch.rand(2, 10))
    assert tuple(custom.shape) == (2, 3), f"make_fc_network(10, 7, 3): {FROM_ARGUMENTS}"


def test_fc_network_is_q3s_1024_64_36_with_a_sigmoid_hidden_layer(run_q6_1_1):
    model = run_q6_1_1.make_fc_network()
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == FC_PARAMS, FC_PARAMS_MESSAGE.format(expected=FC_PARAMS, got=n_params)
    hidden = []
    last = [m for m in model.modules() if isinstance(m, nn.Linear) and m.in_features == 64]
    assert last, "expected an output layer nn.Linear(64, 36)"
    last[0].register_forward_hook(lambda module, inputs, output: hidden.append(inputs[0]))
    model(torch.randn(16, 1024) * 5)
    assert hidden and ((hidden[0] > 0) & (hidden[0] < 1)).all(), (
        f"the hidden layer's outputs are not all in (0, 1), a sigmoid's: {USES_SIGMOID}"
    )


# ----------------------------------------------------------------------------- train_epoch
def test_train_epoch_reports_the_epochs_mean_loss_and_accuracy(q6):
    model = _small_model()
    x, labels = _toy(10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the parameters stay put
    loss, acc = _result(
        q6.train_epoch(model, batches(x, labels, 4), optimizer, "cpu"), "train_epoch"
    )
    with torch.no_grad():
        logits = model(x)
        losses = F.cross_entropy(logits, labels, reduction="none").double().numpy()
        n_correct = (logits.argmax(1) == labels).sum().item()
    _assert_loss_acc("train_epoch", loss, acc, losses, n_correct, batch_size=4)


def _assert_loss_acc(what, loss, acc, losses, n_correct, batch_size):
    """The grader's verdict on an epoch's ``(loss, acc)``, given the per-sample ``losses``."""
    n, expected = len(losses), float(losses.mean())
    hint = loss_hint(loss, losses, batch_size)
    assert loss == pytest.approx(expected, rel=LOSS_RTOL), LOSS_MESSAGE.format(
        what=what, loss=loss, setting="", n=n, expected=expected, hint=hint
    )
    assert acc != n_correct or n_correct in (0, 1), A_COUNT.format(what=what, acc=acc)
    assert acc == pytest.approx(n_correct / n), ACC_MESSAGE.format(
        what=what, acc=acc, correct=n_correct, n=n, fraction=n_correct / n
    )


def _sgd_reference(model, given, lr, zero_grad=True, reduction="mean"):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for x, labels in given:
        if zero_grad:
            optimizer.zero_grad()
        F.cross_entropy(model(x), labels, reduction=reduction).backward()
        optimizer.step()
    return model


def test_train_epoch_takes_one_optimiser_step_per_batch_on_the_mean_loss(q6):
    x, labels = _toy(12, seed=1)
    given = batches(x, labels, 4)
    model = _small_model(seed=1)
    start = copy.deepcopy(model)
    q6.train_epoch(model, given, torch.optim.SGD(model.parameters(), lr=0.5), "cpu")
    trained = dict(model.named_parameters())

    def matches(reference):
        return all(
            torch.allclose(trained[name], p, atol=STEP_ATOL)
            for name, p in reference.named_parameters()
        )

    if matches(_sgd_reference(copy.deepcopy(start), given, 0.5)):
        return
    hints = {
        NOT_ZEROED: _sgd_reference(copy.deepcopy(start), given, 0.5, zero_grad=False),
        SUMMED_BATCH: _sgd_reference(copy.deepcopy(start), given, 0.5, reduction="sum"),
        NOT_STEPPED: start,
    }
    hint = next((h for h, reference in hints.items() if matches(reference)), "")
    pytest.fail(SGD_STEPS.format(lr=0.5, n=len(given), hint=hint).strip(), pytrace=False)


def test_train_epoch_puts_the_model_in_training_mode(q6):
    model = recorder(_small_model(dropout=0.5))
    model.eval()
    x, labels = _toy(8)
    q6.train_epoch(model, batches(x, labels, 4), torch.optim.SGD(model.parameters(), lr=0.1))
    assert model.calls, NEVER_CALLED.format(what="train_epoch")
    assert all(training for training, _ in model.calls), NOT_TRAINING


def test_repeated_train_epochs_drive_the_loss_near_zero(q6):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = torch_batches((20,), 5, n_batches=2, batch_size=16)
    for _ in range(150):
        loss, acc = _result(q6.train_epoch(model, data, optimizer), "train_epoch")
        if loss < 0.02:
            break
    assert loss < 0.05 and acc == 1.0, (
        f"150 epochs of Adam (lr 1e-2) over the same 2 batches of 16 samples left the loss at "
        f"{loss:.3f} and accuracy at {acc:.2f}: a working loop memorises them (loss near 0)"
    )


# ----------------------------------------------------------------------------- evaluate
def test_evaluate_is_the_mean_loss_and_accuracy_over_all_samples(q6):
    model = _small_model(seed=2)
    x, labels = _toy(11, seed=2)
    loss, acc = _result(q6.evaluate(model, batches(x, labels, 4), "cpu"), "evaluate")
    with torch.no_grad():
        logits = model(x)
        losses = F.cross_entropy(logits, labels, reduction="none").double().numpy()
    n_correct = (logits.argmax(1) == labels).sum().item()
    _assert_loss_acc("evaluate", loss, acc, losses, n_correct, batch_size=4)


def test_evaluate_runs_in_eval_mode_without_gradients_and_trains_nothing(q6):
    model = recorder(_small_model(seed=3, dropout=0.5))
    model.train()
    before = copy.deepcopy(model.state_dict())
    given = batches(*_toy(8, seed=3), 4)
    first = _result(q6.evaluate(model, given), "evaluate")
    second = _result(q6.evaluate(model, given), "evaluate")
    assert model.calls, NEVER_CALLED.format(what="evaluate")
    assert not any(training for training, _ in model.calls), NOT_EVAL
    assert not any(grad for _, grad in model.calls), WITH_GRADIENTS
    assert first == second, NOT_DETERMINISTIC
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"{EVALUATE_TRAINS} ({name} changed)"


# ----------------------------------------------------------------------------- the loop
def test_fit_records_one_entry_per_epoch_and_picks_the_cpu_without_cuda(q6, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    labels = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    data = torch.utils.data.TensorDataset(x, labels)
    train = torch.utils.data.DataLoader(data, batch_size=10, shuffle=True)
    valid = torch.utils.data.DataLoader(data, batch_size=32)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 4))
    history = q6.fit(model, train, valid, torch.optim.Adam(model.parameters(), 1e-2), 5)
    assert history["device"] == "cpu"
    for key in HISTORY_KEYS:
        assert len(history[key]) == 5, f"history[{key!r}] should hold one value per epoch"
    assert all(0 <= a <= 1 for a in history["train_acc"] + history["valid_acc"])
    first, last = history["train_loss"][0], history["train_loss"][-1]
    assert last < first, LOSS_NOT_LOWERED.format(first=first, last=last)
    assert history["valid_acc"][-1] >= 0.8, "4 quadrant classes should be learnt in 5 epochs"
