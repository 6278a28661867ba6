"""The Python API as a notebook uses it: nnbp.train, Run, nnbp.load, Model, Report, Config,
nnbp.datasets; and the README's "From Python" code, run on tiny data."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import make_images
from PIL import Image

import nnbp
from nnbp import datasets, idx, runs
from nnbp.errors import ConfigError, DataError, ImageError, UsageError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def raw(tiny_data, tmp_path, monkeypatch) -> dict:
    """A dict of config keys for the tiny data (2 epochs); the test works in tmp_path."""
    monkeypatch.chdir(tmp_path)  # runs/ goes there
    return {
        "name": "api",
        "data": {**{k: str(v) for k, v in tiny_data.items()}, "validation_size": 100},
        "network": {"sizes": [64, 10, 3]},
        "training": {"epochs": 2, "mini_batch_size": 10, "eta": 3.0, "seed": 7},
    }


@pytest.fixture
def run(raw) -> nnbp.Run:
    return nnbp.train(raw)


@pytest.fixture
def test_set(tiny_data) -> tuple[np.ndarray, np.ndarray]:
    return idx.read_pair(tiny_data["test_images"], tiny_data["test_labels"])


def test_train_from_a_dict_gives_a_finished_run(raw, tmp_path):
    seen = []
    run = nnbp.train(raw, on_epoch=seen.append)
    assert isinstance(run, nnbp.Run)
    assert run.directory.resolve() == (tmp_path / "runs" / "api").resolve()
    assert isinstance(run.config, nnbp.Config) and run.config.name == "api"
    assert run.config.training.epochs == 2 and run.config.network.sizes == (64, 10, 3)
    assert (run.epochs_trained, run.stop_reason) == (2, "")
    rows = run.metrics
    assert [r["epoch"] for r in rows] == [1, 2] and rows == seen  # what on_epoch saw
    # The kept weights are the best validation epoch's (the first of equals).
    accuracies = [r["validation_accuracy"] for r in rows]
    assert run.kept_epoch == 1 + accuracies.index(max(accuracies))
    kept = rows[run.kept_epoch - 1]
    assert run.test_accuracy == kept["test_accuracy"] > 0.9
    assert run.validation_accuracy == kept["validation_accuracy"]
    assert runs.status(run.directory) == "finished"
    model = run.model
    assert isinstance(model, nnbp.Model) and model.epoch == run.kept_epoch
    latest = nnbp.load()  # None: runs/latest, this run
    np.testing.assert_array_equal(latest.network.flat, model.network.flat)


def test_a_true_from_on_epoch_ends_a_finished_loadable_run(raw):
    raw["training"]["epochs"] = 5
    seen = []

    def on_epoch(row):
        seen.append(row["epoch"])
        return True

    run = nnbp.train(raw, on_epoch=on_epoch)
    assert seen == [1] and run.epochs_trained == 1 and len(run.metrics) == 1
    assert run.stop_reason == "on_epoch"
    assert runs.status(run.directory) == "finished"
    assert nnbp.load(run.directory).epoch == 1


def test_a_yaml_file_with_list_overrides_and_a_config_with_mapping_overrides(raw, tmp_path):
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump({**raw, "training": {**raw["training"], "epochs": 5}}))
    by_file = nnbp.train(path, overrides=["training.epochs=1"], out="by-file")
    cfg = nnbp.Config.from_yaml(path)
    by_config = nnbp.train(cfg, overrides={"training.epochs": 1}, out="by-config")
    assert by_file.config == by_config.config and by_file.epochs_trained == 1

    def plain(run):
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in run.metrics]

    assert plain(by_file) == plain(by_config)  # the same seed: the same training


def test_load_a_run_directory_or_a_weights_file(run, tmp_path):
    by_dir = nnbp.load(run.directory)
    by_file = nnbp.load(run.directory / "weights.npz")
    assert by_dir.run_dir == by_file.run_dir == run.directory
    elsewhere = tmp_path / "copy.npz"
    shutil.copy(run.directory / "weights.npz", elsewhere)
    alone = nnbp.load(elsewhere)
    assert alone.run_dir is None and alone.weights_file == elsewhere
    for model in (by_dir, by_file, alone):
        np.testing.assert_array_equal(model.network.flat, by_dir.network.flat)
        assert model.sizes == [64, 10, 3] and model.input_shape == (8, 8)
        assert model.class_names == ["0", "1", "2"] and model.cost == "quadratic"
        assert model.epoch == run.kept_epoch


def _write_pngs(images: np.ndarray, where: Path) -> list[str]:
    where.mkdir()
    paths = []
    for i, image in enumerate(images):
        paths.append(str(where / f"{i}.png"))
        Image.fromarray(image, mode="L").save(paths[-1])
    return paths


def test_predict_agrees_across_every_form_of_images(run, test_set, tmp_path):
    model = nnbp.load(run.directory)
    images, labels = test_set[0][:20], test_set[1][:20]
    proba = model.predict_proba(images)
    assert proba.shape == (20, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    predicted = model.predict(images)
    np.testing.assert_array_equal(predicted, proba.argmax(axis=1))
    assert np.mean(predicted == labels) > 0.9  # the model did learn
    forms = {
        "rows": images.reshape(20, 64),
        "floats": images / 255.0,
        "float rows": (images / 255.0).reshape(20, 64),
        "files": _write_pngs(images, tmp_path / "pngs"),  # 8x8 gray: read pixel for pixel
    }
    for name, form in forms.items():
        np.testing.assert_array_equal(model.predict(form), predicted, err_msg=name)
        np.testing.assert_allclose(model.predict_proba(form), proba, rtol=0, atol=1e-12,
                                   err_msg=name)  # fmt: skip
    # float32 pixels are taken as they are: the same answers to float32's precision.
    floats32 = (images / 255.0).astype(np.float32)
    np.testing.assert_array_equal(model.predict(floats32), predicted)
    np.testing.assert_allclose(model.predict_proba(floats32), proba, rtol=1e-5)


def test_images_that_do_not_fit_say_what_was_expected(run, test_set, tmp_path):
    model = nnbp.load(run.directory)
    images = test_set[0][:4]
    with pytest.raises(DataError, match=r"floats must lie in \[0, 1\], got \d+ to 220"):
        model.predict(images.astype(np.float64))  # pixel values, not scaled
    with pytest.raises(DataError, match=r"floats must lie in \[0, 1\], got -0.5 to"):
        model.predict_proba(np.full((2, 8, 8), -0.5))
    shape = r"expected images of shape \(n, 8, 8\) or \(n, 64\), got "
    for wrong in (np.zeros((4, 7, 8), np.uint8), np.zeros((4, 63), np.uint8),
                  np.zeros(64, np.uint8), np.zeros((1, 1, 8, 8), np.uint8)):  # fmt: skip
        with pytest.raises(DataError, match=shape + re.escape(str(wrong.shape))):
            model.predict(wrong)
    with pytest.raises(DataError, match=r"expected uint8 pixels or floats in \[0, 1\], got int64"):
        model.predict(images.astype(np.int64))
    with pytest.raises(UsageError, match="give a list of image paths, not one path"):
        model.predict(str(tmp_path / "one.png"))
    missing = tmp_path / "missing.png"
    with pytest.raises(ImageError, match=f"^{re.escape(str(missing))}: file not found"):
        model.predict([missing])
    for error in (DataError, UsageError, ImageError):
        assert issubclass(error, nnbp.NnbpError)


def test_evaluate_reports_the_accuracy_of_predict(run, test_set):
    model = nnbp.load(run.directory)
    images, labels = test_set
    report = model.evaluate(images, labels)
    assert isinstance(report, nnbp.Report)
    predicted = model.predict(images)
    assert report.accuracy == np.mean(predicted == labels)
    assert report.n == len(labels) == report.confusion.sum()
    assert np.trace(report.confusion) == np.count_nonzero(predicted == labels)
    for k in range(3):  # row k: the images of class k, by predicted class
        assert list(report.confusion[k]) == [
            np.count_nonzero((labels == k) & (predicted == j)) for j in range(3)
        ]
    assert [c["support"] for c in report.per_class] == list(np.bincount(labels, minlength=3))
    assert np.isfinite(report.cost) and report.cost > 0
    assert json.loads(json.dumps(report.to_dict()))["accuracy"] == report.accuracy
    # The run's own record of its kept epoch: the same test set, the same accuracy.
    assert report.accuracy == run.test_accuracy
    with pytest.raises(DataError, match="labels must lie in 0..2"):
        model.evaluate(images, np.full(len(labels), 3))
    with pytest.raises(DataError, match=f"expected {len(labels)} integer labels"):
        model.evaluate(images, labels[:-1])


def test_config_from_a_dict_a_yaml_file_and_with_overrides(tmp_path):
    keys = {"training": {"eta": 3.0}, "network": {"sizes": [784, 30, 10]}}
    cfg = nnbp.Config.from_dict(keys)
    assert cfg.name == "run" and cfg.training.eta == 3.0
    assert nnbp.Config.from_dict(keys, name="mine").name == "mine"
    by_list = nnbp.Config.from_dict(keys, ["training.eta=0.5", "network.sizes=[784, 100, 10]"])
    by_map = nnbp.Config.from_dict(keys, {"training.eta": 0.5, "network.sizes": [784, 100, 10]})
    assert by_list == by_map and by_list.network.sizes == (784, 100, 10)
    assert keys == {"training": {"eta": 3.0}, "network": {"sizes": [784, 30, 10]}}  # untouched
    changed = cfg.with_overrides({"training.eta": 0.5, "network.sizes": [784, 100, 10]})
    assert changed == by_list and cfg.training.eta == 3.0  # a new Config; the old one stays
    assert cfg.with_overrides(["training.seed=3"]).training.seed == 3
    assert changed.digest() != cfg.digest()

    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump(keys))
    from_file = nnbp.Config.from_yaml(path, {"training.eta": 0.5})
    assert from_file.name == "book"  # the file's stem
    assert from_file == nnbp.Config.from_dict(keys, ["training.eta=0.5"], name="book")
    assert nnbp.Config.from_yaml(str(path), ["training.eta=0.5"]) == from_file

    with pytest.raises(ConfigError, match="training.eta: expected a number > 0, got -1"):
        cfg.with_overrides({"training.eta": -1})
    with pytest.raises(ConfigError, match="did you mean 'training.eta'"):
        nnbp.Config.from_dict(keys, ["training.etaa=1"])
    with pytest.raises(ConfigError, match="training.epochs: expected an integer >= 1"):
        nnbp.Config.from_dict({"training": {"epochs": 0}})


def test_datasets_load_explicit_idx_files(tiny_data):
    (train_images, train_labels), (test_images, test_labels) = nnbp.datasets.load(
        {role: str(path) for role, path in tiny_data.items()}
    )
    assert train_images.dtype == np.uint8 and train_images.shape == (600, 8, 8)
    assert test_images.shape == (150, 8, 8) and test_labels.shape == (150,)
    expected = idx.read_pair(tiny_data["train_images"], tiny_data["train_labels"])
    np.testing.assert_array_equal(train_images, expected[0])
    np.testing.assert_array_equal(train_labels, expected[1])
    partial = {role: path for role, path in tiny_data.items() if role != "test_labels"}
    with pytest.raises(DataError, match="no test_labels given"):
        nnbp.datasets.load(partial)


def test_every_public_name_resolves():
    for name in nnbp.__all__:
        assert getattr(nnbp, name) is not None, name
        assert name in dir(nnbp)
    assert callable(nnbp.load) and callable(nnbp.train)
    assert nnbp.datasets.load is datasets.load and issubclass(nnbp.NnbpError, Exception)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nnbp.nope  # noqa: B018


def test_import_nnbp_does_not_import_numpy():
    code = "import sys, nnbp; nnbp.__version__; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- README.md's "From Python" ------------------------------------------------------------
#
# The section's ```python blocks run in order, in one namespace, in a temporary directory.
# They may show MNIST: the known datasets are replaced by tiny ones of the same shape (28x28,
# their classes) in a mirror the real fetch code copies from, nnbp.train trains at most 2
# epochs with 100 validation images, and every .png file the blocks name is written first.


def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## From Python\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        pytest.skip("README.md has no '## From Python' section")
    blocks = re.findall(r"^```python\n(.*?)^```", match[1], re.M | re.S)
    assert blocks, "README.md's 'From Python' section has no ```python block"
    return blocks


def _tiny_datasets(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace each known dataset with 28x28 images of its classes, served from ``mirror``."""
    rng = np.random.default_rng(0)
    for name, dataset in list(datasets.DATASETS.items()):
        (mirror / name).mkdir(parents=True)
        k, files = dataset.num_classes, {}
        for part, n in (("train", 700), ("test", 100)):
            labels = rng.integers(0, k, size=n).astype(np.uint8)
            arrays = {"images": make_images(rng, labels, side=28), "labels": labels}
            for what, array in arrays.items():
                role = f"{part}_{what}"
                file = dataset.files[role][0]
                idx.write_idx(mirror / name / file, array)
                content = gzip.decompress((mirror / name / file).read_bytes())
                files[role] = (file, hashlib.sha256(content).hexdigest())
        unreachable = (mirror.parent / "no-such-host").as_uri() + "/"
        monkeypatch.setitem(
            datasets.DATASETS, name, dataclasses.replace(dataset, files=files, urls=(unreachable,))
        )
    monkeypatch.setenv(datasets.MIRROR_ENV, str(mirror))


def _small_train(monkeypatch: pytest.MonkeyPatch) -> None:
    """nnbp.train with 2 epochs and 100 validation images, whatever the blocks ask."""
    real = nnbp.train
    small = {"training.epochs": 2, "data.validation_size": 100}

    def train(config, *, overrides=None, **kw):
        if overrides is None or isinstance(overrides, Mapping):
            overrides = {**(overrides or {}), **small}
        else:
            overrides = [*overrides, *(f"{key}={value}" for key, value in small.items())]
        return real(config, overrides=overrides, **kw)

    monkeypatch.setattr(nnbp, "train", train)


def test_the_readmes_from_python_code_runs(tmp_path, monkeypatch, capsys):
    blocks = _readme_blocks()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    shutil.copytree(ROOT / "configs", home / "configs")  # configs/mnist.yaml and the others
    _tiny_datasets(tmp_path / "mirror", monkeypatch)
    _small_train(monkeypatch)
    digit = make_images(np.random.default_rng(1), np.array([3], np.uint8), side=28)[0]
    for name in sorted(set(re.findall(r"[\"']([^\"'\s]+\.png)[\"']", "\n".join(blocks)))):
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(digit, mode="L").save(home / name)
    namespace: dict = {"__name__": "__readme__"}
    for i, block in enumerate(blocks, 1):
        exec(compile(block, f"README.md 'From Python' block {i}", "exec"), namespace)
    assert capsys.readouterr().out.strip()  # the blocks print what they show
