"""A stand-in for the lecture's ``tensorflow.examples.tutorials.mnist.input_data``.

``read_data_sets(dir, one_hot=True)`` returns an object with ``train``, ``validation`` and
``test`` data sets; each has ``images`` (float32, [n, 784], in [0, 1]), ``labels`` and
``next_batch(n)``, as in TensorFlow 1.x (55,000 training images, 5,000 for validation).

The MNIST test labels are not part of it: they stay with the course's grader, which measures a
network's test accuracy itself. ``test.images`` are here (to look at, and to predict);
``test.labels`` raises :class:`LabelsWithheld`, which says to evaluate on ``validation`` instead,
as one does while developing a model anyway.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from coursekit.data import mnist

WITHHELD = ("the MNIST test labels stay with the course's grader: measure accuracy on "
            "mnist.validation (5,000 labelled images the network never trains on); the grader "
            "measures your network on the 10,000 test images, and check() shows it")


class LabelsWithheld(RuntimeError):
    """Raised when a notebook asks for the MNIST test labels; the message says what to use."""


class DataSet:
    """Images and labels with ``next_batch``; reshuffles at each epoch from its own seeded RNG.

    ``images`` are float32 pixels in [0, 1], or the raw uint8 pixels: those are converted when
    used, a batch at a time by ``next_batch`` and all at once on the first read of ``images``
    (after which batches come from that array, as in TensorFlow 1.x). Reading MNIST then costs
    a few milliseconds instead of a quarter of a second, which counts for a grader that trains
    a submission several times.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None, seed: int | None = None):
        self._raw = images if images.dtype == np.uint8 else None
        self._images = None if self._raw is not None else images
        self._labels = labels
        self._n = int(images.shape[0])
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(self._n)
        self._pos = self._n  # forces a shuffle on the first batch
        self._started = False
        self.epochs_completed = 0

    @property
    def images(self) -> np.ndarray:
        if self._images is None:
            self._images = mnist.pixels(self._raw)
        return self._images

    @property
    def labels(self) -> np.ndarray:
        if self._labels is None:
            raise LabelsWithheld(WITHHELD)
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._n

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` images and labels; a new random order at each epoch."""
        if self._labels is None:
            raise LabelsWithheld(WITHHELD)
        if not 0 < batch_size <= self.num_examples:
            raise ValueError(f"batch_size must be in 1..{self.num_examples}, got {batch_size}")
        if self._pos + batch_size > self.num_examples:
            if self._started:
                self.epochs_completed += 1
            self._started = True
            self._order = self._rng.permutation(self.num_examples)
            self._pos = 0
        idx = self._order[self._pos : self._pos + batch_size]
        self._pos += batch_size
        if self._images is None:
            return mnist.pixels(self._raw[idx]), self._labels[idx]
        return self._images[idx], self._labels[idx]


class Datasets(NamedTuple):
    train: DataSet
    validation: DataSet
    test: DataSet


def read_data_sets(
    train_dir: str | os.PathLike[str] | None = None,
    one_hot: bool = True,
    validation_size: int = 5000,
    seed: int | None = None,
) -> Datasets:
    """Load MNIST like TF1's ``input_data.read_data_sets``; ``train_dir`` defaults to the cache.

    A ``train_dir`` with no MNIST files in it (the lecture passes ``"MNIST_data/"``) falls back to
    the shared cache, so notebooks work unchanged. The test set comes without its labels.
    """
    names = [mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS, mnist.TEST_IMAGES]
    directory = Path(train_dir) if train_dir else None
    if directory is None or not (directory / mnist.TRAIN_IMAGES).exists():
        directory = mnist.cache_dir()
    directory = mnist.ensure(directory, names)

    def labels(name: str) -> np.ndarray:
        raw = mnist.read_idx(directory / name)
        return mnist.one_hot(raw) if one_hot else raw.astype(np.int64)

    def images(name: str) -> np.ndarray:  # uint8: DataSet converts them when they are used
        raw = mnist.read_idx(directory / name)
        return raw.reshape(raw.shape[0], -1)

    train_images = images(mnist.TRAIN_IMAGES)
    train_labels = labels(mnist.TRAIN_LABELS)
    test_images = images(mnist.TEST_IMAGES)
    v = validation_size
    return Datasets(
        train=DataSet(train_images[v:], train_labels[v:], seed=seed),
        validation=DataSet(train_images[:v], train_labels[:v], seed=seed),
        test=DataSet(test_images, None, seed=seed),
    )
