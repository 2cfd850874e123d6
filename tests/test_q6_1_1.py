"""Q6.1.1: the fully connected network in PyTorch (run_q6_1_1.py) and the training loop it
introduces, ``train_epoch`` and ``evaluate`` (q6_train.py)."""

import copy

import pytest
from strategies import one_torch_thread, torch_batches

from grader.questions import NEEDS_PYTORCH

torch = pytest.importorskip("torch", reason=NEEDS_PYTORCH)
pytest.importorskip("torchvision", reason=NEEDS_PYTORCH)
nn, F = torch.nn, torch.nn.functional

pytestmark = pytest.mark.q6_1_1


@pytest.fixture(autouse=True)
def _threads():
    yield from one_torch_thread()


# The reference reaches 75.4% validation accuracy on the bundled NIST36 stand-in after these
# 15 epochs (README, Q6).
FC_EPOCHS = 15
FC_MIN_VALID_ACC = 0.70


@pytest.fixture(scope="module")
def q6(impl_module):
    return impl_module("q6_train")


@pytest.fixture(scope="module")
def run_q6_1_1(impl_module):
    return impl_module("run_q6_1_1")


class Recorder(nn.Module):
    """Wraps a model; records ``(training, grad_enabled)`` at each forward."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.inner(x)


def _small_model(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Dropout(dropout), nn.Linear(8, 3))


def _toy(n=10, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=generator), torch.randint(0, 3, (n,), generator=generator)


def _batches(x, labels, size):
    """A plain list of batches: the last one smaller when ``size`` does not divide N."""
    return [(x[i : i + size], labels[i : i + size]) for i in range(0, len(x), size)]


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
    probabilities = (out >= 0).all() and torch.allclose(out.sum(1), torch.ones(8), atol=1e-3)
    assert not probabilities, (
        "the network's rows sum to 1: it ends with a softmax. Return the logits: "
        "F.cross_entropy applies the (log-)softmax itself"
    )
    custom = run_q6_1_1.make_fc_network(10, 7, 3)(torch.rand(2, 10))
    assert tuple(custom.shape) == (2, 3), "make_fc_network(n_in, n_hidden, n_classes)"


def test_fc_network_is_q3s_1024_64_36_with_a_sigmoid_hidden_layer(run_q6_1_1):
    model = run_q6_1_1.make_fc_network()
    n_params = sum(p.numel() for p in model.parameters())
    expected = 1024 * 64 + 64 + 64 * 36 + 36
    assert n_params == expected, (
        f"Q3's network 1024 -> 64 -> 36 has {expected} parameters (two linear layers with "
        f"biases); make_fc_network() has {n_params}"
    )
    hidden = []
    last = [m for m in model.modules() if isinstance(m, nn.Linear) and m.in_features == 64]
    assert last, "expected an output layer nn.Linear(64, 36)"
    last[0].register_forward_hook(lambda module, inputs, output: hidden.append(inputs[0]))
    model(torch.randn(16, 1024) * 5)
    assert hidden and ((hidden[0] > 0) & (hidden[0] < 1)).all(), (
        "the hidden layer's outputs should be sigmoids, in (0, 1), like Q3's network"
    )


# ----------------------------------------------------------------------------- train_epoch
def test_train_epoch_reports_the_epochs_mean_loss_and_accuracy(q6):
    model = _small_model()
    x, labels = _toy(10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the parameters stay put
    loss, acc = _result(
        q6.train_epoch(model, _batches(x, labels, 4), optimizer, "cpu"), "train_epoch"
    )
    with torch.no_grad():
        logits = model(x)
        expected_loss = F.cross_entropy(logits, labels).item()
        n_correct = (logits.argmax(1) == labels).sum().item()
        batch_means = [F.cross_entropy(model(xb), yb).item() for xb, yb in _batches(x, labels, 4)]
    hint = ""
    if abs(loss - sum(batch_means) / 3) < 1e-5:
        hint = " You averaged the 3 batch means: weight each by its size (the last has 2 samples)."
    elif abs(loss - sum(batch_means)) < 1e-5:
        hint = " You summed the batch means: divide by the number of samples."
    assert loss == pytest.approx(expected_loss, rel=1e-5), (
        f"train_epoch's loss {loss:.6f}: expected the mean cross-entropy per sample over the "
        f"epoch, {expected_loss:.6f}.{hint}"
    )
    assert acc != n_correct or n_correct in (0, 1), "return the accuracy as a fraction, not a count"
    assert acc == pytest.approx(n_correct / 10), (
        f"train_epoch's accuracy {acc}: expected {n_correct}/10 samples whose logits' argmax is "
        "their label"
    )


def _sgd_reference(model, batches, lr, zero_grad=True, reduction="mean"):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for x, labels in batches:
        if zero_grad:
            optimizer.zero_grad()
        F.cross_entropy(model(x), labels, reduction=reduction).backward()
        optimizer.step()
    return model


def test_train_epoch_takes_one_optimiser_step_per_batch_on_the_mean_loss(q6):
    x, labels = _toy(12, seed=1)
    batches = _batches(x, labels, 4)
    model = _small_model(seed=1)
    start = copy.deepcopy(model)
    q6.train_epoch(model, batches, torch.optim.SGD(model.parameters(), lr=0.5), "cpu")
    trained = dict(model.named_parameters())

    def matches(reference):
        return all(
            torch.allclose(trained[name], p, atol=1e-6) for name, p in reference.named_parameters()
        )

    if matches(_sgd_reference(copy.deepcopy(start), batches, 0.5)):
        return
    hints = {
        "the gradients are never zeroed: call optimizer.zero_grad() before each backward": (
            _sgd_reference(copy.deepcopy(start), batches, 0.5, zero_grad=False)
        ),
        "the loss is summed over the batch: use F.cross_entropy's mean (its default)": (
            _sgd_reference(copy.deepcopy(start), batches, 0.5, reduction="sum")
        ),
        "the parameters did not change: call loss.backward() and optimizer.step()": start,
    }
    hint = next((h for h, reference in hints.items() if matches(reference)), "")
    pytest.fail(
        "after train_epoch with SGD (lr 0.5) over 3 batches, the parameters differ from 3 SGD "
        "steps, each on one batch's mean cross-entropy (zero_grad, loss, backward, step). " + hint,
        pytrace=False,
    )


def test_train_epoch_puts_the_model_in_training_mode(q6):
    model = Recorder(_small_model(dropout=0.5))
    model.eval()
    x, labels = _toy(8)
    q6.train_epoch(model, _batches(x, labels, 4), torch.optim.SGD(model.parameters(), lr=0.1))
    assert model.calls, "train_epoch never called the model"
    assert all(training for training, _ in model.calls), (
        "train_epoch ran the model in evaluation mode: call model.train() first (evaluate "
        "switches it to eval mode, and dropout or batch norm behave differently)"
    )


def test_repeated_train_epochs_drive_the_loss_near_zero(q6):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    batches = torch_batches((20,), 5, n_batches=2, batch_size=16)
    for _ in range(150):
        loss, acc = _result(q6.train_epoch(model, batches, optimizer), "train_epoch")
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
    loss, acc = _result(q6.evaluate(model, _batches(x, labels, 4), "cpu"), "evaluate")
    with torch.no_grad():
        logits = model(x)
    expected = F.cross_entropy(logits, labels).item()
    assert loss == pytest.approx(expected, rel=1e-5), (
        f"evaluate's loss {loss:.6f}: expected the mean cross-entropy over all 11 samples, "
        f"{expected:.6f} (weight each batch by its size)"
    )
    assert acc == pytest.approx((logits.argmax(1) == labels).float().mean().item()), (
        "evaluate's accuracy: the fraction of samples whose logits' argmax is their label"
    )


def test_evaluate_runs_in_eval_mode_without_gradients_and_trains_nothing(q6):
    model = Recorder(_small_model(seed=3, dropout=0.5))
    model.train()
    before = copy.deepcopy(model.state_dict())
    batches = _batches(*_toy(8, seed=3), 4)
    first = _result(q6.evaluate(model, batches), "evaluate")
    second = _result(q6.evaluate(model, batches), "evaluate")
    assert model.calls, "evaluate never called the model"
    assert not any(training for training, _ in model.calls), (
        "evaluate ran the model in training mode: call model.eval() (dropout must be off)"
    )
    assert not any(grad for _, grad in model.calls), (
        "evaluate computed with gradients enabled: wrap it in `with torch.no_grad():`"
    )
    assert first == second, "evaluate should be deterministic (eval mode, nothing trained)"
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"evaluate changed the parameter {name}"


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
    for key in ("train_loss", "train_acc", "valid_loss", "valid_acc", "seconds"):
        assert len(history[key]) == 5, f"history[{key!r}] should hold one value per epoch"
    assert all(0 <= a <= 1 for a in history["train_acc"] + history["valid_acc"])
    assert history["train_loss"][-1] < history["train_loss"][0], "training did not lower the loss"
    assert history["valid_acc"][-1] >= 0.8, "4 quadrant classes should be learnt in 5 epochs"


@pytest.mark.slow
def test_fc_network_learns_nist36(run_q6_1_1, q6, figures_dir):
    _, history = run_q6_1_1.train_fc(epochs=FC_EPOCHS)
    q6.save_history(history, figures_dir, "q6_1_1", "Q6.1.1 fully connected network, NIST36")
    acc = history["valid_acc"][-1]
    assert acc >= FC_MIN_VALID_ACC, (
        f"after {FC_EPOCHS} epochs of train_fc (Adam, lr 1e-3, batches of 32) the network reaches "
        f"{acc:.1%} validation accuracy on NIST36; expected at least {FC_MIN_VALID_ACC:.0%} "
        "(check the network and the loop: Q3's network gets about 75%)"
    )
