"""From config to arrays: paths, scaling, the validation split and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnbp import config, data, idx
from nnbp.data import Split
from nnbp.errors import ConfigError, DataError
from nnbp.inputs import scale_images


def test_scale_images_to_unit_interval_rows():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    x = scale_images(images, "float32")
    assert x.dtype == np.float32 and x.shape == (1, 4)
    np.testing.assert_allclose(x, [[0.0, 1.0, 0.2, 0.4]], rtol=1e-7)


def test_a_split_holds_its_inputs_with_the_ones_column_and_x_is_a_view():
    x = np.array([[0.25, 0.5], [1.0, 0.0], [0.75, 0.125]], np.float32)
    split = Split.of(x, [2, 0, 1])
    np.testing.assert_array_equal(split.x_ones, [[0.25, 0.5, 1], [1, 0, 1], [0.75, 0.125, 1]])
    assert split.x_ones.dtype == np.float32 and split.x_ones.flags.c_contiguous
    np.testing.assert_array_equal(split.x, x)
    assert np.shares_memory(split.x, split.x_ones)  # no second copy of the inputs
    assert isinstance(split.labels, np.ndarray) and list(split.labels) == [2, 0, 1]
    assert len(split) == 3


def test_validation_is_the_last_training_images(tiny_config, tiny_data):
    splits = data.load_splits(config.load(tiny_config()))
    images, labels = idx.read_pair(tiny_data["train_images"], tiny_data["train_labels"])
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (500, 100, 150)
    np.testing.assert_array_equal(splits.validation.labels, labels[500:])
    np.testing.assert_array_equal(splits.train.x[0], images[0].ravel() / np.float32(255))
    for split in (splits.train, splits.validation, splits.test):
        assert split.x_ones.dtype == np.float32 and (split.x_ones[:, -1] == 1).all()
    assert splits.image_shape == (8, 8)
    assert splits.class_names == ["0", "1", "2"]  # MNIST's names do not fit 3 classes


def test_dataset_paths_and_missing_files_hint(tmp_path):
    cfg = config.from_dict({"data": {"dir": str(tmp_path)}})
    paths = data.data_paths(cfg)
    assert paths["train_images"] == tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    with pytest.raises(DataError, match=r"file not found; run `nnbp data fetch mnist --dest "):
        data.load_splits(cfg)


def test_first_size_must_match_the_images(tiny_config):
    cfg = config.load(tiny_config(network={"sizes": [63, 10, 3]}))
    with pytest.raises(ConfigError, match=r"network.sizes: the first size must be 64"):
        data.load_splits(cfg)


def test_labels_beyond_the_output_layer_are_refused(tiny_config):
    cfg = config.load(tiny_config(network={"sizes": [64, 10, 2]}))
    with pytest.raises(DataError, match="labels"):
        data.load_splits(cfg)


def test_validation_size_must_leave_training_images(tiny_config):
    cfg = config.load(tiny_config(data={"validation_size": 600}))
    with pytest.raises(ConfigError, match=r"data.validation_size: expected fewer than the 600"):
        data.load_splits(cfg)


def test_test_images_of_another_shape(tiny_config, tiny_data):
    idx.write_idx(tiny_data["test_images"], np.zeros((150, 4, 16), dtype=np.uint8))
    with pytest.raises(DataError, match=r"images are 4x16 but the training images are 8x8"):
        data.load_splits(config.load(tiny_config()))
