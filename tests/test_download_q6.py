"""Q6's datasets one command away (``python -m coursedata.download q6``), without a network.

A threaded ``http.server`` on 127.0.0.1 (stopped after the test, and by a timer at the latest)
serves small archives made here in each dataset's real format: CIFAR-10's tarball of pickled
batches, Flowers-17's ``17flowers.tgz`` (``jpg/image_NNNN.jpg``) with its ``datasplits.mat``,
the SUN subset's folder of scene images and list files, SqueezeNet's checkpoint. Their
checksums are computed here and injected where the real ones are read (torchvision's
``CIFAR10`` class attributes, the Flowers-17 archive table, the SUN sha256 option, the weights'
hash prefix). The real download code installs them, then the loaders the scripts and the
grader use read them where Q6 looks (``$NRK_DATA_DIR/external/<name>``). Fast tier, but for
two Flowers-17 variations that extract its 1360 images again (slow tier).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import pickle
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

import coursedata
from coursedata import download, external
from grader.checks import q6_data

ROOT = Path(__file__).resolve().parent.parent
HAS_SOLUTIONS = (ROOT / "solutions" / "run_q6_1_4.py").exists()
SERVER_LIFETIME = 120.0  # seconds: the loopback server stops by itself after this at the latest


# --------------------------------------------------------------------------- fixtures
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(folder served, base URL) of a threaded http.server bound to 127.0.0.1 only."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    timer = threading.Timer(SERVER_LIFETIME, httpd.shutdown)
    timer.daemon = True
    timer.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    timer.cancel()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def closed_base():
    """A loopback base URL nobody listens on (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def data_dir(monkeypatch, tmp_path):
    """A fresh data dir (``$NRK_DATA_DIR``) and torch home; no dataset variables, no proxy."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("NRK_DATA_DIR", str(folder))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for location in (external.CIFAR10, external.SUN, external.FLOWERS17):
        monkeypatch.delenv(location.env_var, raising=False)
    monkeypatch.delenv(external.SUN_URL_ENV, raising=False)
    monkeypatch.delenv(external.SUN_SHA256_ENV, raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    coursedata.clear_cache()
    yield folder
    coursedata.clear_cache()


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def jpeg(rng, size=(12, 10)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


# --------------------------------------------------------------------------- CIFAR-10
CIFAR_NAMES = [f"data_batch_{i}" for i in range(1, 6)]


def make_cifar(www: Path, n_per_batch=6, n_test=10, seed=0):
    """``cifar-10-python.tar.gz`` as the official one: ``cifar-10-batches-py/`` holding five
    training batches, ``test_batch`` and ``batches.meta``, pickled dicts (``data`` uint8
    (N, 3072), ``labels`` a list of ints). Returns the md5s torchvision's class attributes
    hold, and the test labels."""
    rng = np.random.default_rng(seed)
    folder = www / "cifar-build" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    md5s, test_labels = {}, None
    for name in [*CIFAR_NAMES, "test_batch"]:
        n = n_test if name == "test_batch" else n_per_batch
        labels = rng.integers(0, 10, n).tolist()
        batch = {
            "batch_label": name,
            "labels": labels,
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "filenames": [f"img_{i}.png" for i in range(n)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
        md5s[name] = md5_of(folder / name)
        if name == "test_batch":
            test_labels = labels
    meta = {"num_cases_per_batch": n_per_batch, "label_names": [f"c{i}" for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    md5s["batches.meta"] = md5_of(folder / "batches.meta")
    (folder / "readme.html").write_text("<p>CIFAR-10</p>")
    archive = www / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return md5s, md5_of(archive), test_labels


@pytest.fixture
def fake_cifar(server, monkeypatch):
    """Serve a small CIFAR-10 and point torchvision's own class at it (URL and md5s)."""
    pytest.importorskip("torchvision", reason="CIFAR-10 comes through torchvision")
    from torchvision.datasets import CIFAR10

    www, base = server
    md5s, archive_md5, test_labels = make_cifar(www)
    monkeypatch.setattr(CIFAR10, "url", f"{base}/cifar-10-python.tar.gz")
    monkeypatch.setattr(CIFAR10, "tgz_md5", archive_md5)
    monkeypatch.setattr(CIFAR10, "train_list", [[n, md5s[n]] for n in CIFAR_NAMES])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5s["test_batch"]]])
    meta = {"filename": "batches.meta", "key": "label_names", "md5": md5s["batches.meta"]}
    monkeypatch.setattr(CIFAR10, "meta", meta)
    return test_labels


def test_cifar10_is_installed_where_q6_1_3_reads_it(fake_cifar, data_dir, impl_module, capsys):
    root = external.install_cifar10(timeout=5)
    assert root == data_dir / "external" / "cifar10" == q6_data.cifar10_root()
    assert q6_data.cifar10_available() is None, "the grader finds it"
    np.testing.assert_array_equal(q6_data.cifar10_test_labels(root), fake_cifar)
    train, test = impl_module("run_q6_1_3").cifar10_datasets(download=False)  # the default root
    assert (len(train), len(test)) == (30, 10)
    image, label = test[3]
    assert tuple(image.shape) == (3, 32, 32) and label == fake_cifar[3]
    assert files_under(data_dir) == sorted(
        ["downloads/cifar-10-python.tar.gz"]
        + [f"external/cifar10/cifar-10-batches-py/{n}" for n in [*CIFAR_NAMES, "test_batch"]]
        + ["external/cifar10/cifar-10-batches-py/batches.meta"]
        + ["external/cifar10/cifar-10-batches-py/readme.html"]
    ), "the archive is kept, nothing is left in staging"
    capsys.readouterr()
    external.install_cifar10(timeout=5)  # a rerun checks and does nothing more
    assert "already in" in capsys.readouterr().out


def test_a_cifar_archive_with_a_wrong_md5_installs_nothing(fake_cifar, data_dir, monkeypatch):
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(CIFAR10, "tgz_md5", "0" * 32)
    with pytest.raises(download.ChecksumError, match="cifar-10-python.tar.gz"):
        external.install_cifar10(timeout=5)
    assert files_under(data_dir) == []


def test_a_corrupt_cifar_batch_installs_nothing(fake_cifar, data_dir, monkeypatch):
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", "f" * 32]])
    with pytest.raises(download.ChecksumError, match="torchvision's md5 checks"):
        external.install_cifar10(timeout=5)
    assert not (data_dir / "external" / "cifar10" / "cifar-10-batches-py").exists()
    assert not (data_dir / "downloads" / "cifar-10-python.tar.gz").exists(), "deleted to refetch"


# --------------------------------------------------------------------------- Flowers-17
def make_flowers(www: Path, seed=0):
    """``17flowers.tgz`` (``jpg/image_0001.jpg`` .. ``image_1360.jpg``, 80 per class in class
    order, and ``jpg/files.txt``) and ``datasplits.mat`` (``trn1..3``, ``val1..3``,
    ``tst1..3``: 1-based image numbers, 40 / 20 / 20 per class). Returns the archives' table
    and the handout's split (``trn2``, ``val2``, ``tst2``) as sets of image numbers."""
    rng = np.random.default_rng(seed)
    total = external.FLOWERS17_CLASSES * external.FLOWERS17_PER_CLASS
    with tarfile.open(www / "17flowers.tgz", "w:gz") as tar:
        names = [f"image_{n:04d}.jpg" for n in range(1, total + 1)]
        add_bytes(tar, "jpg/files.txt", "\n".join(names).encode())
        for name in names:
            add_bytes(tar, f"jpg/{name}", jpeg(rng, (8, 8)))
    splits = {}
    for k in (1, 2, 3):
        trn, val, tst = [], [], []
        for c in range(external.FLOWERS17_CLASSES):
            numbers = c * 80 + 1 + rng.permutation(80)
            trn += numbers[:40].tolist()
            val += numbers[40:60].tolist()
            tst += numbers[60:].tolist()
        for key, values in ((f"trn{k}", trn), (f"val{k}", val), (f"tst{k}", tst)):
            splits[key] = np.asarray(values, dtype=np.float64)[None, :]
    scipy.io.savemat(www / "datasplits.mat", splits)
    archives = {
        "images": external.Archive("/17flowers.tgz", md5=md5_of(www / "17flowers.tgz")),
        "splits": external.Archive("/datasplits.mat", md5=md5_of(www / "datasplits.mat")),
    }
    handout = external.FLOWERS17_SPLIT
    return archives, {name: set(splits[key].ravel().astype(int)) for name, key in handout.items()}


@pytest.fixture(scope="module")
def flowers_www(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flowers")
    archives, split = make_flowers(folder)
    return folder, archives, split


def served(archives, base):
    return {k: external.Archive(base + a.url, md5=a.md5) for k, a in archives.items()}


@pytest.fixture
def fake_flowers(server, flowers_www):
    www, base = server
    folder, archives, split = flowers_www
    for name in ("17flowers.tgz", "datasplits.mat"):
        (www / name).symlink_to(folder / name)
    return served(archives, base), split


def test_flowers17_is_split_as_the_handout_where_q6_2_reads_it(fake_flowers, data_dir, impl_module):
    archives, split = fake_flowers
    root = external.install_flowers17(timeout=5, archives=archives)
    assert root == data_dir / "external" / "flowers17" == q6_data.flowers_root()
    for name, numbers in split.items():
        files = q6_data.image_folder_files(root / name)
        got = {int(f.split("_")[-1][:4]) for f in files}
        assert got == numbers, f"{name}/ holds datasplits.mat's {external.FLOWERS17_SPLIT[name]}"
        for f in files:  # image k is in the folder of its class, (k - 1) // 80
            label, image = f.split("/")
            assert int(label) == (int(image[6:10]) - 1) // 80
    found = impl_module("run_q6_2").flowers17_datasets()  # the default root, given code
    assert {s: len(d) for s, d in found.items()} == {"train": 680, "val": 340, "test": 340}
    assert found["train"].classes == found["test"].classes and len(found["test"].classes) == 17
    reason = q6_data.flowers_available()
    assert reason is not None and "SqueezeNet" in reason, "only the weights are missing now"
    assert external.flowers17_ready(root)


@pytest.mark.slow  # extracts and hashes the 1360 images again (seconds)
def test_a_flowers_rerun_is_verified_without_the_network(fake_flowers, data_dir, closed_base):
    archives, _ = fake_flowers
    root = external.install_flowers17(timeout=5, archives=archives)
    offline = {
        k: external.Archive(f"{closed_base}/{a.filename}", md5=a.md5) for k, a in archives.items()
    }
    assert external.install_flowers17(timeout=2, archives=offline) == root
    image = next((root / "val").rglob("*.jpg"))
    image.write_bytes(b"changed")
    assert not external.flowers17_ready(root), "the manifest's sha256 catches a changed image"
    with pytest.raises(download.DownloadError, match="--force"):  # the archives are kept
        external.install_flowers17(timeout=2, archives=offline)
    external.install_flowers17(timeout=2, archives=offline, force=True)
    assert external.flowers17_ready(root)
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")], "no staging left"


def test_flowers_with_a_wrong_md5_installs_nothing(fake_flowers, data_dir):
    archives, _ = fake_flowers
    archives["splits"] = external.Archive(archives["splits"].url, md5="0" * 32)
    with pytest.raises(download.ChecksumError, match="datasplits.mat"):
        external.install_flowers17(timeout=5, archives=archives)
    assert not (data_dir / "external" / "flowers17").exists()
    assert files_under(data_dir / "downloads") == ["17flowers.tgz"], "only the verified archive"


@pytest.mark.slow  # extracts and hashes the 1360 images again (seconds)
def test_a_flowers_archive_missing_images_installs_nothing(server, flowers_www, data_dir):
    www, base = server
    folder, archives, _ = flowers_www
    (www / "datasplits.mat").symlink_to(folder / "datasplits.mat")
    source, copy = folder / "17flowers.tgz", www / "17flowers.tgz"
    with tarfile.open(source) as src, tarfile.open(copy, "w:gz") as dst:
        for member in src:
            if member.name != "jpg/image_0500.jpg":
                dst.addfile(member, src.extractfile(member))
    archives = served(archives, base)
    archives["images"] = external.Archive(archives["images"].url, md5=md5_of(www / "17flowers.tgz"))
    with pytest.raises(download.DownloadError, match="image_0500.jpg"):
        external.install_flowers17(timeout=5, archives=archives)
    assert not (data_dir / "external" / "flowers17").exists()


# --------------------------------------------------------------------------- SUN
SCENES = ("aquarium", "desert", "kitchen")


def make_sun_zip(path: Path, seed=0, n_test_labels=None):
    """A zip of the bag-of-words homework's ``data/`` folder: scene folders of JPEGs and the
    four list files (paths relative to the folder, one integer label per line)."""
    rng = np.random.default_rng(seed)
    labels = {}
    with zipfile.ZipFile(path, "w") as zf:
        for split, n in (("train", 4), ("test", 2)):
            files, labels[split] = [], []
            for label, scene in enumerate(SCENES):
                for i in range(n):
                    name = f"{scene}/sun_{split}{i}.jpg"
                    zf.writestr(f"data/{name}", jpeg(rng, (20, 16)))
                    files.append(name)
                    labels[split].append(label)
            kept = labels[split]
            if split == "test" and n_test_labels is not None:
                kept = kept[:n_test_labels]
            zf.writestr(f"data/{split}_files.txt", "\n".join(files) + "\n")
            zf.writestr(f"data/{split}_labels.txt", "\n".join(map(str, kept)) + "\n")
    return labels


def test_sun_has_no_default_source_and_says_how_to_give_one(data_dir):
    with pytest.raises(download.DownloadError) as err:
        external.install_sun(timeout=2)
    message = str(err.value)
    for needle in ("no public copy", "--sun-url", "NRK_SUN_URL", "--sun-sha256", "NRK_SUN_DIR"):
        assert needle in message
    assert str(data_dir / "external" / "sun") in message
    assert files_under(data_dir) == []


def test_sun_from_the_course_archive_is_installed_where_q6_1_4_reads_it(server, data_dir):
    www, base = server
    labels = make_sun_zip(www / "hw1_data.zip")
    digest = sha256_of(www / "hw1_data.zip")
    root = external.install_sun(source=f"{base}/hw1_data.zip", sha256=digest, timeout=5)
    assert root == data_dir / "external" / "sun" == q6_data.sun_root()
    assert q6_data.sun_available() is None, "the grader finds it"
    np.testing.assert_array_equal(q6_data.sun_labels(root, "test"), labels["test"])
    assert external.check_sun(root) == {"train": 12, "test": 6}
    assert (data_dir / "downloads" / "sun-hw1_data.zip").is_file()


@pytest.mark.parametrize("form", ["tar.gz", "folder"])
def test_sun_from_an_instructors_own_copy(form, data_dir, tmp_path):
    labels = make_sun_zip(tmp_path / "copy.zip")
    with zipfile.ZipFile(tmp_path / "copy.zip") as zf:
        zf.extractall(tmp_path / "unpacked")  # unpacked/data/...
    source = tmp_path / "unpacked" / "data"
    if form == "tar.gz":
        source = tmp_path / "copy.tar.gz"
        with tarfile.open(source, "w:gz") as tar:
            tar.add(tmp_path / "unpacked" / "data", arcname="hw1/data")  # nested deeper
    digest = None if form == "folder" else sha256_of(source)
    root = external.install_sun(source=source, sha256=digest)
    assert root == q6_data.sun_root() and q6_data.sun_available() is None
    np.testing.assert_array_equal(q6_data.sun_labels(root, "train"), labels["train"])


@pytest.mark.skipif(not HAS_SOLUTIONS, reason="student release: read_sun_split is the student's")
def test_the_reference_loader_reads_the_installed_sun(server, data_dir, tmp_path):
    import importlib

    pytest.importorskip("torch", reason="Q6 needs PyTorch")
    labels = make_sun_zip(tmp_path / "local.zip")
    external.install_sun(source=tmp_path / "local.zip")  # a local copy works as well
    train, test = importlib.import_module("solutions.run_q6_1_4").sun_datasets(image_size=16)
    assert (len(train), len(test)) == (12, 6)
    assert test.labels.tolist() == labels["test"]
    assert tuple(test[0][0].shape) == (3, 16, 16)


def test_sun_with_a_wrong_sha256_or_a_bad_layout_installs_nothing(server, data_dir):
    www, base = server
    make_sun_zip(www / "good.zip")
    with pytest.raises(download.ChecksumError, match="good.zip"):
        external.install_sun(source=f"{base}/good.zip", sha256="0" * 64, timeout=5)
    make_sun_zip(www / "short.zip", n_test_labels=4)
    with pytest.raises(download.DownloadError, match="test_files.txt lists 6 images but"):
        external.install_sun(source=f"{base}/short.zip", timeout=5)
    assert not (data_dir / "downloads" / "sun-short.zip").exists(), "unverified: not reused"
    assert not (data_dir / "external" / "sun").exists()
    evil = www / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.txt", "no")
    with pytest.raises(download.DownloadError, match="unsafe"):
        external.install_sun(source=f"{base}/evil.zip", timeout=5)
    assert not (data_dir.parent / "outside.txt").exists()
    assert not (data_dir / "external" / "sun").exists()


# --------------------------------------------------------------------------- SqueezeNet
def test_squeezenet_weights_are_checked_by_their_hash_prefix(server, tmp_path):
    www, base = server
    (www / "weights.pth").write_bytes(b"pretend checkpoint")
    prefix = sha256_of(www / "weights.pth")[:8]
    good = external.Weights(f"{base}/weights.pth", hash_prefix=prefix)
    path = external.install_squeezenet(weights=good, timeout=5)
    assert path == tmp_path / "torch" / "hub" / "checkpoints" / "weights.pth"
    assert path.read_bytes() == b"pretend checkpoint"
    path.unlink()
    bad = external.Weights(f"{base}/weights.pth", hash_prefix="00000000")
    with pytest.raises(download.ChecksumError, match="does not start with 00000000"):
        external.install_squeezenet(weights=bad, timeout=5)
    assert not path.exists()


# --------------------------------------------------------------------------- one command
def test_one_command_makes_q6_gradable(fake_cifar, fake_flowers, server, monkeypatch, data_dir):
    www, base = server
    archives, _ = fake_flowers
    monkeypatch.setattr(external, "FLOWERS17_ARCHIVES", archives)
    (www / "squeezenet.pth").write_bytes(b"weights")
    # the grader looks for SqueezeNet 1.1's real file name in torch's cache
    weights = external.Weights(
        f"{base}/squeezenet.pth", hash_prefix=sha256_of(www / "squeezenet.pth")[:8]
    )
    monkeypatch.setattr(external, "SQUEEZENET", weights)
    monkeypatch.setattr(q6_data, "SQUEEZENET_FILE", weights.filename)
    make_sun_zip(www / "sun.zip")
    reasons = [q6_data.cifar10_available(), q6_data.sun_available()]
    assert all(reasons) and q6_data.flowers_available(), "not gradable before"
    status = download.main(["q6", "--timeout", "5", "--sun-url", f"{base}/sun.zip"])
    assert status == 0
    assert q6_data.cifar10_available() is None
    assert q6_data.sun_available() is None
    assert q6_data.flowers_available() is None


def test_offline_the_command_fails_fast_with_the_manual_steps(
    closed_base, monkeypatch, data_dir, capsys
):
    pytest.importorskip("torchvision", reason="CIFAR-10 comes through torchvision")
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(CIFAR10, "url", f"{closed_base}/cifar-10-python.tar.gz")
    monkeypatch.setattr(
        external,
        "FLOWERS17_ARCHIVES",
        {k: external.Archive(f"{closed_base}/{a.filename}", md5=a.md5)
         for k, a in external.FLOWERS17_ARCHIVES.items()},
    )  # fmt: skip
    monkeypatch.setattr(external, "SQUEEZENET", external.Weights(f"{closed_base}/s.pth", "00"))
    status = download.main(["q6", "--timeout", "2"])
    err = capsys.readouterr().err
    assert status == 1
    assert "not installed: cifar10, flowers17, squeezenet, sun" in err
    for needle in ("cifar-10-python.tar.gz", "17flowers.tgz", "s.pth", "To install by hand"):
        assert needle in err
    assert str(data_dir / "downloads") in err, "says where to put an archive fetched by hand"
    assert "--sun-url" in err
    assert files_under(data_dir) == [], "nothing half-installed"


def test_the_command_takes_one_dataset_and_refuses_unknown_names(capsys):
    with pytest.raises(SystemExit) as exit_:
        download.main(["flowers"])
    assert exit_.value.code == 2
    assert "choose among nist36, q6, cifar10, flowers17, squeezenet, sun" in capsys.readouterr().err


def test_the_download_lays_out_data_where_the_scripts_look(impl_module, monkeypatch, tmp_path):
    """One definition of the folders: the download's, the grader's and q6_train's agree."""
    pytest.importorskip("torch", reason="q6_train needs PyTorch")
    q6_train = impl_module("q6_train")
    for location in (external.CIFAR10, external.SUN, external.FLOWERS17):
        default = q6_train.dataset_root(location.env_var, location.name)
        assert location.root() == default
        monkeypatch.setenv(location.env_var, str(tmp_path / location.name))
        assert location.root() == q6_train.dataset_root(location.env_var, location.name)
    assert q6_data.cifar10_root() == tmp_path / "cifar10"
    assert q6_data.sun_root() == tmp_path / "sun"
    assert q6_data.flowers_root() == tmp_path / "flowers17"


# --------------------------------------------------------------------------- Gradescope
def test_gradescope_setup_fetches_q6_data_at_build_time_only_when_asked(tmp_path):
    import subprocess
    import zipfile as zipmodule

    from grader.packaging import build_gradescope_zip

    def setup_of(**options):
        path = build_gradescope_zip(tmp_path / f"ag{len(options)}.zip", **options)
        with zipmodule.ZipFile(path) as zf:
            return zf.read("setup.sh").decode()

    plain = setup_of()
    assert "coursedata.download" not in plain and '"$SOURCE[torch]"' in plain
    url = "https://course.example/hw1 data.zip"
    setup = setup_of(with_q6_data=True, sun_url=url, sun_sha256="ab" * 32)
    lines = setup.splitlines()
    fetch = "python3 -m coursedata.download cifar10 flowers17 squeezenet"
    sun = f"python3 -m coursedata.download sun --sun-url '{url}' --sun-sha256 {'ab' * 32}"
    assert fetch in lines and sun in lines
    assert '"$SOURCE[torch,download]"' in setup, "pooch comes with the download extra"
    install = next(i for i, line in enumerate(lines) if "pip install" in line)
    ready = next(i for i, line in enumerate(lines) if "autograder ready" in line)
    assert install < lines.index(fetch) < ready, "after installing, before the final check"
    assert lines.index(sun) < lines.index('rm -rf "$SOURCE/data/downloads"') < ready
    assert "set -euo pipefail" in setup, "a failed download fails the image build"
    without_sun = setup_of(with_q6_data=True)
    assert fetch in without_sun.splitlines() and "Q6.1.4 stays not gradable" in without_sun
    for text in (setup, without_sun):
        script = tmp_path / "setup.sh"
        script.write_text(text)
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_gradescope_zip_cli_takes_the_q6_data_options(tmp_path, capsys):
    from grader.__main__ import gradescope_zip_main

    with pytest.raises(SystemExit):
        gradescope_zip_main([str(tmp_path / "a.zip"), "--sun-url", "x"])
    assert "--with-q6-data" in capsys.readouterr().err
    assert gradescope_zip_main([str(tmp_path / "b.zip"), "--with-q6-data"]) == 0
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert "coursedata.download cifar10" in zf.read("setup.sh").decode()
