"""Tests of coursedata: the NIST36 loader, the bundled stand-in, its builder and the download.

No network: downloads go to an ``http.server`` on 127.0.0.1 started here, or to a closed port.
Nothing is written into the repository's ``data/`` (everything goes to ``tmp_path``).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import logging
import re
import shutil
import socket
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from running import write_official

import coursedata
from coursedata import build_standin, download
from coursedata.nist36 import CLASSES, DATA_DIR, STANDIN_NAME, DataError, load_nist36

N_ROWS = {"train": 10674, "valid": 3600, "test": 1800}
SHORT_CLASSES = {"K": 382, "Q": 413, "X": 432, "G": 447}  # samples in the source
PHOTO_SHA256 = download.REMOTES["images.zip"].members
PHOTO_CHARS = {"01_list.jpg": 115, "02_letters.jpg": 36, "03_haiku.jpg": 54, "04_deep.jpg": 41}


# --------------------------------------------------------------------------- helpers


def upright(x: np.ndarray) -> np.ndarray:
    """(N, 1024) NIST36 rows -> (N, 32, 32) upright images."""
    return x.reshape(-1, 32, 32).transpose(0, 2, 1)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No data-dir override from the environment, no proxy for the loopback server."""
    monkeypatch.delenv("NRK_DATA_DIR", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    coursedata.clear_cache()
    yield
    coursedata.clear_cache()


@pytest.fixture(scope="module")
def standin_dir(tmp_path_factory) -> Path:
    """A data dir holding only the committed stand-in (official files in data/ are ignored)."""
    folder = tmp_path_factory.mktemp("standin")
    try:
        (folder / STANDIN_NAME).symlink_to(DATA_DIR / STANDIN_NAME)
    except OSError:
        shutil.copy(DATA_DIR / STANDIN_NAME, folder / STANDIN_NAME)
    return folder


@pytest.fixture(scope="module")
def standin(standin_dir) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    coursedata.clear_cache()
    return {split: load_nist36(split, standin_dir) for split in coursedata.SPLITS}


@pytest.fixture(scope="module")
def standin_npz() -> dict[str, np.ndarray]:
    with np.load(DATA_DIR / STANDIN_NAME) as npz:
        return {k: npz[k] for k in npz.files}


@pytest.fixture(scope="module")
def source_npz() -> dict[str, np.ndarray]:
    path = build_standin.default_source()
    if not path.is_file():
        pytest.skip(f"EMNIST source {path} not available (set NRK_EMNIST36)")
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


# --------------------------------------------------------------------------- the stand-in


def test_standin_is_small():
    assert (DATA_DIR / STANDIN_NAME).stat().st_size < 6_000_000


@pytest.mark.parametrize("split", coursedata.SPLITS)
def test_standin_shapes_dtypes_and_ranges(standin, split):
    x, y = standin[split]
    assert x.shape == (N_ROWS[split], 1024) and x.dtype == np.float64
    assert y.shape == (N_ROWS[split], 36) and y.dtype == np.float64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y)) == {0.0, 1.0}
    np.testing.assert_array_equal(y.sum(axis=1), 1.0)


def test_standin_class_counts(standin):
    counts = {s: np.bincount(standin[s][1].argmax(axis=1), minlength=36) for s in standin}
    assert (counts["valid"] == 100).all() and (counts["test"] == 50).all()
    expected_train = np.full(36, 300)
    for char, total in SHORT_CLASSES.items():
        expected_train[CLASSES.index(char)] = total - 150
    np.testing.assert_array_equal(counts["train"], expected_train)


def test_standin_is_dark_ink_on_white(standin):
    x, _ = standin["valid"]
    assert np.median(x) == 1.0
    assert 0.75 < x.mean() < 0.95
    assert (x.min(axis=1) < 0.2).all(), "every image has some dark ink"


def test_standin_padding_is_background(standin):
    img = upright(standin["train"][0])
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert (img[:, border] == 1.0).all()


def test_standin_rows_are_stored_transposed(standin):
    # A handwritten "1" is a tall, thin stroke: upright, its ink spans more rows than
    # columns; read without the transpose it would be wide and flat.
    x, y = standin["train"]
    ones = upright(x[y[:, CLASSES.index("1")] == 1])
    ink = ones < 0.5
    height = ink.any(axis=2).sum(axis=1)
    width = ink.any(axis=1).sum(axis=1)
    assert np.median(height) > 1.5 * np.median(width)
    assert (height > width).mean() > 0.9


def test_standin_matches_source_glyph(standin_npz, source_npz):
    pos_of = {int(i): p for p, i in enumerate(source_npz["byclass_index"])}
    for split in coursedata.SPLITS:
        for row in (0, len(standin_npz[f"{split}_labels"]) - 1):
            p = pos_of[int(standin_npz[f"{split}_source_index"][row])]
            glyph = source_npz["images"][p]
            assert standin_npz[f"{split}_labels"][row] == source_npz["labels"][p]
            img = standin_npz[f"{split}_data"][row].reshape(32, 32).T
            np.testing.assert_array_equal(img[2:30, 2:30], 255 - glyph)
            assert not np.array_equal(img.T[2:30, 2:30], 255 - glyph), "glyph is asymmetric"


def test_standin_splits_are_disjoint(standin_npz):
    index = {s: set(standin_npz[f"{s}_source_index"].tolist()) for s in coursedata.SPLITS}
    assert all(len(index[s]) == N_ROWS[s] for s in index)
    assert not index["train"] & index["valid"]
    assert not index["train"] & index["test"]
    assert not index["valid"] & index["test"]
    assert "".join(standin_npz["classes"].tolist()) == CLASSES


def test_builder_is_deterministic(tmp_path, standin_npz):
    source = build_standin.default_source()
    if not source.is_file():
        pytest.skip(f"EMNIST source {source} not available (set NRK_EMNIST36)")
    out = tmp_path / "rebuilt.npz"
    assert build_standin.main(["--source", str(source), "--out", str(out)]) == 0
    with np.load(out) as rebuilt:
        assert sorted(rebuilt.files) == sorted(standin_npz)
        for key, value in standin_npz.items():
            assert rebuilt[key].dtype == value.dtype, key
            np.testing.assert_array_equal(rebuilt[key], value, err_msg=key)


def test_loaded_arrays_are_fresh_copies(standin_dir):
    x, y = load_nist36("test", standin_dir)
    x[:] = -1
    y[:] = 7
    x2, y2 = load_nist36("test", standin_dir)
    assert x2.min() >= 0 and y2.max() == 1


# --------------------------------------------------------------------------- loader choices


def test_official_files_are_preferred(tmp_path, standin_dir, monkeypatch):
    shutil.copy(standin_dir / STANDIN_NAME, tmp_path / STANDIN_NAME)
    written = write_official(tmp_path, n=5)
    x, y = load_nist36("valid", tmp_path)
    np.testing.assert_array_equal(x, written["valid"]["valid_data"])
    np.testing.assert_array_equal(y, written["valid"]["valid_labels"])
    assert x.dtype == y.dtype == np.float64
    monkeypatch.setenv("NRK_DATA_DIR", str(tmp_path))
    assert coursedata.data_dir() == tmp_path
    assert load_nist36("train")[0].shape == (5, 1024)
    assert "official" in coursedata.nist36_source() and str(tmp_path) in coursedata.nist36_source()


def test_source_sentence_names_the_standin(standin_dir):
    sentence = coursedata.nist36_source(standin_dir)
    assert "stand-in" in sentence and "coursedata.download" in sentence
    assert "\n" not in sentence


def test_source_is_logged_once(standin_dir, caplog):
    with caplog.at_level(logging.INFO, logger="coursedata.nist36"):
        load_nist36("test", standin_dir)
        load_nist36("valid", standin_dir)
    messages = [r.getMessage() for r in caplog.records if r.name == "coursedata.nist36"]
    assert messages == [coursedata.nist36_source(standin_dir)]


def test_partial_official_set_is_an_error(tmp_path, standin_dir):
    shutil.copy(standin_dir / STANDIN_NAME, tmp_path / STANDIN_NAME)
    write_official(tmp_path, splits=("train", "valid"))
    with pytest.raises(DataError, match=r"nist36_test\.mat missing") as err:
        load_nist36("train", tmp_path)
    assert "all three" in str(err.value)
    with pytest.raises(DataError, match="incomplete"):
        coursedata.nist36_source(tmp_path)


def test_unknown_split(standin_dir):
    with pytest.raises(DataError, match="expected one of train, valid, test"):
        load_nist36("validation", standin_dir)


def test_missing_standin(tmp_path):
    with pytest.raises(DataError, match=r"nist36_standin\.npz.*not found.*expected"):
        load_nist36("train", tmp_path)


def test_corrupt_standin(tmp_path):
    (tmp_path / STANDIN_NAME).write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match=r"cannot read .*nist36_standin\.npz.*expected"):
        load_nist36("train", tmp_path)


def test_corrupt_mat_names_the_file(tmp_path):
    write_official(tmp_path)
    (tmp_path / "nist36_valid.mat").write_bytes(b"\x00garbage" * 100)
    load_nist36("train", tmp_path)  # the good files still load
    with pytest.raises(DataError, match=r"cannot read .*nist36_valid\.mat.*expected") as err:
        load_nist36("valid", tmp_path)
    assert err.value.__cause__ is not None


BAD_CONTENT = {
    "wrong keys": (
        {"data": np.zeros((3, 1024)), "labels": np.eye(36)[:3]},
        r"missing key.*expected \['valid_data', 'valid_labels'\]",
    ),
    "data not N x 1024": (
        {"valid_data": np.zeros((3, 1000)), "valid_labels": np.eye(36)[:3]},
        r"shape \(3, 1000\); expected valid_data N x 1024",
    ),
    "labels not N x 36": (
        {"valid_data": np.zeros((3, 1024)), "valid_labels": np.zeros((3, 10))},
        r"shape \(3, 10\); expected .*N x 36 one-hot",
    ),
    "different N": (
        {"valid_data": np.zeros((4, 1024)), "valid_labels": np.eye(36)[:3]},
        r"4 images but 3 labels",
    ),
    "values above 1": (
        {"valid_data": np.full((3, 1024), 255.0), "valid_labels": np.eye(36)[:3]},
        r"values in \[255, 255\]; expected pixels in \[0, 1\]",
    ),
    "negative values": (
        {"valid_data": -np.ones((3, 1024)), "valid_labels": np.eye(36)[:3]},
        r"expected pixels in \[0, 1\]",
    ),
    "labels not one-hot": (
        {"valid_data": np.zeros((3, 1024)), "valid_labels": np.full((3, 36), 1 / 36)},
        r"not one-hot .*expected each row to be 35 zeros and a single 1",
    ),
    "two ones in a row": (
        {"valid_data": np.zeros((2, 1024)), "valid_labels": np.eye(36)[:2] + np.eye(36)[[5, 6]]},
        r"not one-hot",
    ),
}


@pytest.mark.parametrize("content, pattern", BAD_CONTENT.values(), ids=BAD_CONTENT.keys())
def test_bad_official_content(tmp_path, content, pattern):
    write_official(tmp_path, valid=content)
    with pytest.raises(DataError, match=pattern) as err:
        load_nist36("valid", tmp_path)
    assert "nist36_valid.mat" in str(err.value)


def test_changed_file_is_read_again(tmp_path):
    write_official(tmp_path, n=3)
    assert load_nist36("test", tmp_path)[0].shape == (3, 1024)
    write_official(tmp_path, n=4, splits=("test",))
    assert load_nist36("test", tmp_path)[0].shape == (4, 1024)


# --------------------------------------------------------------------------- photos


def test_sample_photos_are_the_course_files():
    photos = coursedata.load_sample_images()
    assert [p.name for p in photos] == sorted(PHOTO_SHA256)
    for p in photos:
        assert sha256_bytes(p.read_bytes()) == PHOTO_SHA256[p.name], p.name


def test_ground_truth():
    truth = coursedata.load_ground_truth()
    assert sorted(truth) == [p.name for p in coursedata.load_sample_images()]
    chars = {
        name: sum(len(re.sub("[^A-Z0-9]", "", line)) for line in lines)
        for name, lines in truth.items()
    }
    assert chars == PHOTO_CHARS
    assert sum(chars.values()) == 246
    assert truth["02_letters.jpg"][-1] == "1234567890"


def test_missing_sample_photos(tmp_path):
    with pytest.raises(DataError, match="no sample photos"):
        coursedata.load_sample_images(tmp_path)


BAD_TRUTH = {
    "not json": "{images: 1",
    "not an object": json.dumps(["01_list.jpg"]),
    "no images": json.dumps({"about": "x"}),
    "images not a mapping": json.dumps({"images": [["A"]]}),
    "lines not a list": json.dumps({"images": {"a.jpg": "HELLO"}}),
    "line not a string": json.dumps({"images": {"a.jpg": ["OK", 3]}}),
    "no lines": json.dumps({"images": {"a.jpg": []}}),
}


@pytest.mark.parametrize("text", BAD_TRUTH.values(), ids=BAD_TRUTH.keys())
def test_bad_ground_truth_schema(tmp_path, text):
    path = tmp_path / "ground_truth.json"
    path.write_text(text)
    with pytest.raises(DataError, match=r"expected \{\"images\""):
        coursedata.load_ground_truth(path)


# --------------------------------------------------------------------------- download


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """(folder served, base URL) of a threaded http.server on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def closed_url():
    """A loopback URL nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/data.zip"


def make_data_zip(tmp_path: Path) -> tuple[bytes, dict[str, str]]:
    """A data.zip like the course's (files in a data/ folder): bytes, member sha256s."""
    mats = tmp_path / "mats"
    write_official(mats, n=4)
    buf = io.BytesIO()
    members = {}
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data/readme.txt", "not wanted")
        for path in sorted(mats.iterdir()):
            zf.write(path, f"data/{path.name}")
            members[path.name] = sha256_bytes(path.read_bytes())
    return buf.getvalue(), members


def test_download_fails_fast_offline(tmp_path, closed_url):
    dest = tmp_path / "data"
    # A refused connection is an error at once (no retry loop): no timing asserted here.
    with pytest.raises(download.DownloadError) as err:
        download.download("data.zip", dest, url=closed_url, timeout=2)
    message = str(err.value)
    assert closed_url in message
    assert "by hand" in message and str(dest) in message
    assert "stand-in keeps working" in message
    assert files_under(tmp_path) == []


def test_download_cli_offline(tmp_path, closed_url, monkeypatch, capsys):
    remote = download.REMOTES["data.zip"]
    monkeypatch.setitem(
        download.REMOTES, "data.zip", download.Remote(closed_url, remote.sha256, remote.members)
    )
    status = download.main(["--dest", str(tmp_path), "--only", "data.zip", "--timeout", "2"])
    assert status == 1
    assert closed_url in capsys.readouterr().err


def test_download_and_extract(tmp_path, http_root):
    root, base_url = http_root
    payload, members = make_data_zip(tmp_path)
    (root / "data.zip").write_bytes(payload)
    dest = tmp_path / "data"
    paths = download.download(
        "data.zip", dest, url=f"{base_url}/data.zip", sha256=sha256_bytes(payload), members=members
    )
    assert sorted(p.name for p in paths) == sorted(members)
    assert files_under(dest) == sorted(["downloads/data.zip", *members])
    x, y = load_nist36("train", dest)
    assert x.shape == (4, 1024) and y.shape == (4, 36)
    assert "official" in coursedata.nist36_source(dest)
    # Installed and verified: a second run does not touch the network.
    again = download.download("data.zip", dest, url="http://127.0.0.1:9/none", members=members)
    assert again == [dest / n for n in members]


def test_download_checksum_mismatch_keeps_nothing(tmp_path, http_root):
    root, base_url = http_root
    payload, members = make_data_zip(tmp_path)
    (root / "data.zip").write_bytes(payload)
    dest = tmp_path / "data"
    with pytest.raises(download.ChecksumError, match="checksum mismatch for data.zip"):
        download.download(
            "data.zip", dest, url=f"{base_url}/data.zip", sha256="0" * 64, members=members
        )
    assert not dest.exists() or files_under(dest) == []


def test_member_checksum_mismatch_extracts_nothing(tmp_path, http_root):
    root, base_url = http_root
    payload, members = make_data_zip(tmp_path)
    (root / "data.zip").write_bytes(payload)
    members["nist36_test.mat"] = "f" * 64
    dest = tmp_path / "data"
    with pytest.raises(download.ChecksumError, match=r"nist36_test\.mat.*expected f{64}"):
        download.download(
            "data.zip", dest, url=f"{base_url}/data.zip", sha256=None, members=members
        )
    assert not list(dest.glob("*.mat")) and not list(dest.glob(".*"))
    assert not (dest / "downloads" / "data.zip").exists(), "unverified archive is dropped"


def test_fetch_http_error_is_clear(tmp_path, http_root):
    _, base_url = http_root
    with pytest.raises(download.DownloadError, match=r"could not download data\.zip from .*404"):
        download.fetch("data.zip", tmp_path / "dl", url=f"{base_url}/missing.zip")
    assert not (tmp_path / "dl").exists()


def test_fetch_defaults_come_from_the_table(tmp_path, http_root):
    root, base_url = http_root
    (root / "images.zip").write_bytes(b"x")
    path = download.fetch("images.zip", tmp_path / "dl", url=f"{base_url}/images.zip")
    assert path.read_bytes() == b"x"  # images.zip has no published archive hash
    assert download.REMOTES["data.zip"].sha256 == (
        "3a0adb5ea27e61d43e6ab8f3d3d96ee867e5721234794b0fa33b3416235e6fa1"
    )
