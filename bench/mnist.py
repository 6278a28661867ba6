"""The data every implementation trains on: MNIST through nnbp's public loader, or, for a
smoke run, synthetic images of the same shape.

Both give (train_x, train_labels, test_x, test_labels): x (n, 784) floats in [0, 1],
labels (n,) integer classes 0-9. MNIST's validation images (the last 10,000 training
images, the book's 50,000 / 10,000 split) are left out: nothing here uses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_VALIDATION = 10_000


def scale(images: np.ndarray, dtype: Any) -> np.ndarray:
    """uint8 images (n, 28, 28) -> rows (n, 784) of ``dtype`` in [0, 1]."""
    return np.divide(images.reshape(len(images), -1), 255, dtype=dtype)


def load(dtype: Any = np.float32) -> tuple[np.ndarray, ...]:
    """MNIST from ``nnbp.datasets.load`` (fetched into ./data, or from $NNBP_DATA_MIRROR)."""
    from nnbp import datasets

    (train_images, train_labels), (test_images, test_labels) = datasets.load("mnist")
    n_train = len(train_labels) - N_VALIDATION
    return (
        scale(train_images[:n_train], dtype),
        np.asarray(train_labels[:n_train], dtype=np.int64),
        scale(test_images, dtype),
        np.asarray(test_labels, dtype=np.int64),
    )


def synthetic(n_train: int, n_test: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Noisy copies of ten random prototype images, labelled by prototype: learnable, so
    the accuracy sanity check means something, and no download is needed."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((10, 784), dtype=np.float32)
    labels = rng.integers(0, 10, n_train + n_test)
    noise = rng.random((n_train + n_test, 784), dtype=np.float32)
    x = 0.6 * prototypes[labels] + 0.4 * noise
    return x[:n_train], labels[:n_train], x[n_train:], labels[n_train:]
