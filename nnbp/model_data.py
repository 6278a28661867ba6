"""A model's labelled data: its run's test set, IDX files checked to fit its network.

A part of ``Model`` (model.py) kept apart: reading labelled IDX files is one job,
predicting and evaluating another.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnbp import runs
from nnbp.errors import DataError, UsageError

if TYPE_CHECKING:
    from nnbp.network import Network


class LabelledData:
    """Reading test data for a model: needs ``run_dir``, ``weights_file``, ``sizes``,
    ``input_shape`` and ``check_images`` from the class it is mixed into."""

    network: Network
    run_dir: Path | None
    weights_file: Path | None

    def test_files(self) -> tuple[Path, Path]:
        """(images, labels): the test set's IDX files named in the run's config.yaml."""
        from nnbp import config, data

        if self.run_dir is None:
            raise UsageError(
                f"{self.weights_file}: no config.yaml beside the weights file to name the test"
                " data; give the images and labels"
            )
        paths = data.data_paths(config.load(self.run_dir / runs.CONFIG_FILE))
        return paths["test_images"], paths["test_labels"]

    def test_data(self) -> tuple[np.ndarray, np.ndarray, Path]:
        """(images, labels, images file) of the test set named in the run's config.yaml."""
        images, labels = self.test_files()
        return (*self.read_labelled(images, labels), images)

    def read_labelled(self, images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
        """An IDX pair of images and labels, checked to fit this model."""
        from nnbp import idx

        pixels, targets = idx.read_pair(images, labels, num_classes=self.sizes[-1])
        rows, cols = pixels.shape[1:]  # an IDX images file is (n, rows, cols)
        if rows * cols != self.sizes[0]:
            raise DataError(
                f"{images}: {rows}x{cols} images ({rows * cols} inputs), but the network"
                f" takes {self.sizes[0]} inputs"
            )
        self.check_images(pixels, str(images))
        return pixels, targets

    def read_idx_images(self, path: str | os.PathLike) -> np.ndarray:
        """uint8 (n, rows, cols): every image of an IDX images file, checked to fit this model."""
        from nnbp import idx

        pixels = idx.read_images(path)
        if pixels.shape[1:] != self.input_shape:
            rows, cols = self.input_shape
            raise DataError(
                f"{os.fspath(path)}: images are {pixels.shape[1]}x{pixels.shape[2]}, the network"
                f" takes {rows}x{cols}"
            )
        return pixels
