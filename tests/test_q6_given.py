"""Q6's given code: the device choice, where external datasets are looked for and the clear
errors when they (or SqueezeNet's weights) are missing, the frame reader of Q6.3, the curves,
and the scripts. Nothing here downloads anything.

These check code that is the same in kata and solutions, so they carry no question marker:
the grader does not score them (an untouched kata would earn their points).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from running import run_module, write_official
from strategies import pytorch_or_skip

from coursedata.scripts import missing

torch = pytorch_or_skip()
torchvision = pytest.importorskip("torchvision")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def q6(impl_module):
    return impl_module("q6_train")


def test_q6_tests_run_torch_on_one_thread():
    """Every test module that needs PyTorch asks for one torch thread with
    ``pytest.mark.usefixtures("one_torch_thread")`` (a module without it oversubscribes 2
    shared cores: 172 s against 31 s for Q6.1.1's 15 epochs)."""
    assert torch.get_num_threads() == 1  # this module's own
    here = Path(__file__).resolve().parent
    users = [p for p in sorted(here.glob("test_*.py")) if "= pytorch_or_skip()" in p.read_text()]
    assert len(users) >= 7, [p.name for p in users]
    for path in users:
        marks = importlib.import_module(path.stem).pytestmark
        marks = marks if isinstance(marks, list) else [marks]
        assert any(m.name == "usefixtures" and "one_torch_thread" in m.args for m in marks), (
            f"{path.name} runs torch on every core: add "
            'pytest.mark.usefixtures("one_torch_thread") to its pytestmark'
        )


@pytest.fixture
def no_downloads(monkeypatch):
    """Any attempt to download fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_pick_device_is_cuda_only_when_available(q6, monkeypatch):
    assert q6.pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert q6.pick_device().type == "cpu"


def test_dataset_root_is_the_environment_variable_else_data_external(q6, monkeypatch, tmp_path):
    monkeypatch.delenv("NRK_DATA_DIR", raising=False)
    monkeypatch.delenv("NRK_TEST_DIR", raising=False)
    assert q6.dataset_root("NRK_TEST_DIR", "thing") == ROOT / "data" / "external" / "thing"
    monkeypatch.setenv("NRK_TEST_DIR", str(tmp_path))
    assert q6.dataset_root("NRK_TEST_DIR", "thing") == tmp_path


def test_random_shift_moves_each_image_by_at_most_pad_pixels(q6):
    torch.manual_seed(0)
    images = torch.zeros(64, 1, 9, 9)
    images[:, 0, 4, 4] = 1.0
    shifted = q6.random_shift(images, pad=2)
    assert shifted.shape == images.shape
    where = torch.stack([torch.nonzero(image[0])[0] for image in shifted]) - 4
    assert where.abs().max() <= 2 and len({tuple(w.tolist()) for w in where}) > 5
    assert torch.equal(q6.random_shift(images, pad=0), images)


def _assert_clear(message, *needles):
    assert "not available here" in message, message
    for needle in needles:
        assert str(needle) in message, f"{needle!r} missing from: {message}"


def test_missing_cifar10_says_where_to_put_it(impl_module, q6, tmp_path, no_downloads):
    run_q6_1_3 = impl_module("run_q6_1_3")
    with pytest.raises(q6.DatasetMissing) as info:
        run_q6_1_3.cifar10_datasets(tmp_path / "nowhere", download=False)
    _assert_clear(str(info.value), "CIFAR-10", tmp_path / "nowhere", "NRK_CIFAR10_DIR")


def test_missing_sun_says_where_to_put_it(impl_module, q6, tmp_path):
    with pytest.raises(q6.DatasetMissing) as info:
        impl_module("run_q6_1_4").sun_datasets(tmp_path)
    _assert_clear(str(info.value), "SUN", tmp_path, "train_files.txt", "NRK_SUN_DIR")


def test_missing_flowers_says_where_to_put_it(impl_module, q6, tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(q6.DatasetMissing) as info:
        impl_module("run_q6_2").flowers17_datasets(tmp_path)
    _assert_clear(str(info.value), "Flowers-17", tmp_path, "val/", "NRK_FLOWERS17_DIR")


def test_missing_weights_say_where_to_put_them(q6, monkeypatch, tmp_path, no_downloads):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(q6.DatasetMissing) as info:
        q6.squeezenet_weights(download=False)
    expected = tmp_path / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
    _assert_clear(str(info.value), "SqueezeNet", expected, "TORCH_HOME")


def test_weights_in_the_cache_are_used(q6, monkeypatch, tmp_path, no_downloads):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert q6.squeezenet_weights(download=False).url.endswith(cached.name)


@pytest.mark.parametrize(
    ("module", "env", "args"),
    [
        ("run_q6_1_3", "NRK_CIFAR10_DIR", ["--no-download"]),
        ("run_q6_1_4", "NRK_SUN_DIR", []),
        ("run_q6_2", "NRK_FLOWERS17_DIR", []),
    ],
)
def test_scripts_report_missing_data_in_one_clear_line(
    impl_module, module, env, args, monkeypatch, capsys, tmp_path, no_downloads
):
    monkeypatch.setenv(env, str(tmp_path / "empty"))
    script = impl_module(module)
    own = (script.__name__, impl_module("q6_train").__name__)
    stubs = missing(*(f for f in vars(script).values() if getattr(f, "__module__", "") in own))
    if stubs:  # the script says so first, before it looks for (or downloads) its data
        pytest.skip(f"{module} needs {', '.join(stubs)} before it reads its data")
    code = script.main([*args, "--epochs", "1", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    _assert_clear(err, tmp_path / "empty", env)
    assert "Traceback" not in err


def test_read_frames_of_a_gif_and_a_folder(impl_module, tmp_path):
    import imageio.v3 as iio

    read_frames = impl_module("run_q6_3").read_frames
    frames = np.zeros((6, 16, 20, 3), dtype=np.uint8)
    frames[np.arange(6), :, :, 0] = (np.arange(6) * 40)[:, None, None]
    iio.imwrite(tmp_path / "clip.gif", frames, extension=".gif", loop=0)
    got = read_frames(tmp_path / "clip.gif")
    assert len(got) == 6 and got[0].shape == (16, 20, 3) and got[0].dtype == np.uint8
    assert len(read_frames(tmp_path / "clip.gif", every=2)) == 3
    assert len(read_frames(tmp_path / "clip.gif", max_frames=2)) == 2
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (2, 0, 1):
        iio.imwrite(folder / f"frame_{i}.png", np.full((8, 8), 100 * i, dtype=np.uint8))
    got = read_frames(folder)
    assert [f[0, 0, 0] for f in got] == [0, 100, 200] and got[0].shape == (8, 8, 3)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # imageio tries its legacy plugins
def test_an_unreadable_video_is_a_clear_error(impl_module, tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not a video")
    with pytest.raises(OSError, match="cannot read"):
        impl_module("run_q6_3").read_frames(video)


def test_save_history_writes_the_numbers_and_the_curves(q6, tmp_path):
    history = {"device": "cpu", "train_loss": [2.0, 1.0], "train_acc": [0.3, 0.6]}
    history |= {"valid_loss": [2.1, 1.4], "valid_acc": [0.25, 0.5], "seconds": [1.0, 1.1]}
    figure = q6.save_history(history, tmp_path / "out", "run", "a title")
    assert figure == tmp_path / "out" / "run_curves.png" and figure.stat().st_size > 0
    assert (tmp_path / "out" / "run.json").is_file()
    assert "validation accuracy 0.500" in q6.summary(history)


def test_untouched_kata_script_says_what_is_not_implemented(capsys, tmp_path):
    import kata.run_q6_1_1

    assert kata.run_q6_1_1.main(["--epochs", "1", "--out", str(tmp_path)]) == 1
    assert "not implemented yet: Q6.1.1" in capsys.readouterr().err


@pytest.mark.slow
def test_scripts_run_as_modules(tmp_path):
    proc = run_module("kata.run_q6_1_1", "--epochs", "1", "--out", str(tmp_path))
    assert proc.returncode == 1 and "not implemented yet: Q6.1.1" in proc.stderr, proc.stderr
    if importlib.util.find_spec("solutions") is None:
        return  # a student release
    # the entry points, not the training: NIST36 in its official format, 72 rows per split
    data = tmp_path / "nist36"
    write_official(data, n=72)
    for module in ("solutions.run_q6_1_1", "solutions.run_q6_1_2"):
        proc = run_module(module, "--epochs", "1", "--out", str(tmp_path),
                          env={"NRK_DATA_DIR": str(data)})  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    names = {p.name for p in tmp_path.iterdir()}
    assert {"q6_1_1.json", "q6_1_1_curves.png", "q6_1_2.json", "q6_1_2_curves.png"} <= names
    assert "q6_1_2_vs_q6_1_1.png" in names and "Q6.1.1 FC" in proc.stdout


def test_fit_on_splits_trains_a_fresh_model_and_measures_it_on_the_test_split(q6):
    from torch.utils.data import TensorDataset

    if missing(q6.train_epoch, q6.evaluate):
        pytest.skip("fit_on_splits calls train_epoch and evaluate (Q6.1.1), not written yet")
    torch.manual_seed(0)
    x, labels = torch.randn(20, 4), torch.randint(0, 3, (20,))
    train, test = TensorDataset(x[:14], labels[:14]), TensorDataset(x[14:], labels[14:])
    made = []

    def make_model():
        made.append(torch.nn.Linear(4, 3))
        return made[-1]

    model, history = q6.fit_on_splits(make_model, train, test, 2, 5, 1e-2, device="cpu")
    assert model is made[0] and len(made) == 1
    assert {k: len(history[k]) for k in q6.HISTORY_KEYS} == dict.fromkeys(q6.HISTORY_KEYS, 2)
    assert history["valid_loss"][-1] == pytest.approx(
        q6.evaluate(model, [(x[14:], labels[14:])])[0]
    )


def test_report_writes_the_curves_and_prints_the_summary(q6, tmp_path, capsys):
    history = {"device": "cpu", "train_loss": [2.0], "train_acc": [0.3], "valid_loss": [2.1]}
    history |= {"valid_acc": [0.25], "seconds": [1.0]}
    figure = q6.report(history, tmp_path, "run", "Q6.1.1 a title")
    q6.report(history, tmp_path, "other", "Q6.1.2 CNN, NIST36", "Q6.1.2 CNN")
    out = capsys.readouterr().out.splitlines()
    assert figure == tmp_path / "run_curves.png" and (tmp_path / "run.json").is_file()
    assert out[0] == f"Q6.1.1 {q6.summary(history)}" and out[1] == f"curves: {figure}"
    assert out[2].startswith("Q6.1.2 CNN after 1 epochs")


@pytest.mark.skipif(importlib.util.find_spec("solutions") is None, reason="no solutions/")
def test_a_q6_script_trains_and_reports_through_its_main(tmp_path, monkeypatch, capsys):
    """Q6.1.4's main on a tiny SUN folder: the given plumbing from the command line to the
    curves (the datasets' own scripts are not gradable offline)."""
    from q6_fakes import write_sun

    import solutions.run_q6_1_4 as script

    monkeypatch.setenv("NRK_SUN_DIR", str(write_sun(tmp_path / "sun")))
    out = tmp_path / "out"
    args = ["--epochs", "1", "--image-size", "16", "--bow-accuracy", "0.5", "--out", str(out)]
    assert script.main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert printed.startswith("Q6.1.4 after 1 epochs") and "bag-of-words 0.500" in printed
    assert {"q6_1_4.json", "q6_1_4_curves.png"} <= {p.name for p in out.iterdir()}
