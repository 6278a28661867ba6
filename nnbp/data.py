"""From a config's ``data`` section to the arrays training and evaluation use.

Images become float rows scaled to [0, 1] (``inputs.scale_images``), stored with a last
column of ones (the bias input, see network.py): (n, rows * cols + 1). Labels stay
integer class indices, shape (n,); one-hot targets are made only inside training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnbp import datasets, idx, packed
from nnbp.config import Config
from nnbp.datasets import ROLES
from nnbp.errors import ConfigError, DataError
from nnbp.inputs import scale_images
from nnbp.network import with_ones


@dataclass
class Split:
    """One part of the data: ``x_ones`` (n, n_in + 1), the inputs as rows of floats in [0, 1]
    with a last column of ones (the bias input, see network.py), and integer labels (n,).

    Gathering shuffled mini-batches from x_ones is then one copy, and evaluation needs none.
    """

    x_ones: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, labels: np.ndarray) -> Split:
        """A Split of the inputs x (n, n_in) and their labels (n,)."""
        return cls(with_ones(x), np.asarray(labels))

    @property
    def x(self) -> np.ndarray:
        """The inputs without the ones column, (n, n_in): a view into x_ones."""
        return self.x_ones[:, :-1]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Splits:
    """Training, validation (None when ``data.validation_size`` is 0) and test data."""

    train: Split
    validation: Split | None
    test: Split
    image_shape: tuple[int, int]
    class_names: list[str]
    preparation: str = "digit"  # how image files become inputs (see prepare.py)


def data_paths(cfg: Config) -> dict[str, Path]:
    """The four IDX files the config names: explicit ``data.*`` paths, or the dataset's."""
    explicit = {role: getattr(cfg.data, role) for role in ROLES}
    if any(explicit.values()):
        return {role: Path(p) for role, p in explicit.items()}
    return datasets.dataset_paths(cfg.data.dataset, cfg.data.dir)


def dataset_of(cfg: Config) -> datasets.Dataset | None:
    """The dataset the config trains on: ``data.dataset`` (known or packed), or, with
    explicit ``data.*`` files, the packed dataset they sit in (else ``data.dataset``, whose
    class names then serve when they fit); None when neither can be read."""
    if cfg.data.train_images:
        folder = Path(cfg.data.train_images).resolve().parent
        if (folder / packed.META_FILE).is_file():
            return datasets.get_dataset(folder.name, folder.parent)
    try:
        return datasets.get_dataset(cfg.data.dataset, cfg.data.dir)
    except DataError:
        if cfg.data.train_images:
            return None  # explicit files: data.dataset is not used, so not checked either
        raise


def class_names(cfg: Config) -> list[str]:
    """Names of the output classes: the dataset's when they fit the output layer, else 0..n-1."""
    n = cfg.network.sizes[-1]
    dataset = dataset_of(cfg)
    names = list(dataset.class_names) if dataset is not None else []
    return names if len(names) == n else [str(i) for i in range(n)]


def preparation(cfg: Config) -> str:
    """How image files become inputs for a network trained on the config's data."""
    dataset = dataset_of(cfg)
    return dataset.preparation if dataset is not None else "digit"


def load_splits(cfg: Config) -> Splits:
    """Read, check and scale the config's data; hold out the last ``validation_size`` images.

    The validation set is the *last* ``data.validation_size`` training images, the book's
    50,000 / 10,000 split of MNIST's 60,000 training images.
    """
    paths = data_paths(cfg)
    missing = [p for p in paths.values() if not p.exists()]
    if missing:
        hint = ""
        if not any(getattr(cfg.data, role) for role in ROLES):
            hint = f"; run `nnbp data fetch {cfg.data.dataset} --dest {cfg.data.dir}` first"
            if cfg.data.dataset not in datasets.DATASETS:
                hint = f"; pack {cfg.data.dataset} again with `nnbp data pack`"
        raise DataError(f"{missing[0]}: file not found{hint}")

    n_classes = cfg.network.sizes[-1]
    train_images, train_labels = idx.read_pair(
        paths["train_images"], paths["train_labels"], n_classes
    )
    test_images, test_labels = idx.read_pair(paths["test_images"], paths["test_labels"], n_classes)
    image_shape = train_images.shape[1:]
    if test_images.shape[1:] != image_shape:
        raise DataError(
            f"{paths['test_images']}: images are {test_images.shape[1]}x{test_images.shape[2]}"
            f" but the training images are {image_shape[0]}x{image_shape[1]}"
        )
    n_in = image_shape[0] * image_shape[1]
    if cfg.network.sizes[0] != n_in:
        raise ConfigError(
            f"network.sizes: the first size must be {n_in} (the {image_shape[0]}x{image_shape[1]}"
            f" pixels of {paths['train_images']}), got {cfg.network.sizes[0]}"
        )
    n_val = cfg.data.validation_size
    if n_val >= len(train_labels):
        raise ConfigError(
            f"data.validation_size: expected fewer than the {len(train_labels)} training images"
            f" of {paths['train_images']}, got {n_val}"
        )

    dtype = cfg.training.dtype
    n_train = len(train_labels) - n_val
    train = _split(train_images[:n_train], train_labels[:n_train], dtype)
    validation = None
    if n_val:
        validation = _split(train_images[n_train:], train_labels[n_train:], dtype)
    test = _split(test_images, test_labels, dtype)
    shape = (image_shape[0], image_shape[1])
    return Splits(train, validation, test, shape, class_names(cfg), preparation(cfg))


def _split(images: np.ndarray, labels: np.ndarray, dtype: str) -> Split:
    """uint8 images (n, rows, cols) scaled straight into a Split's x_ones."""
    x_ones = np.ones((len(images), images.shape[1] * images.shape[2] + 1), dtype=dtype)
    scale_images(images, dtype, out=x_ones[:, :-1])
    return Split(x_ones, labels)
