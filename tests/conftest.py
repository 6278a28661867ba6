"""Shared fixtures: a tiny synthetic IDX dataset, config files, and the real MNIST."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnbp import datasets, idx
from nnbp.errors import DataError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _default_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with the default data directory, whatever $NNBP_DATA_DIR is set."""
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)


def make_images(rng: np.random.Generator, labels: np.ndarray, side: int = 8) -> np.ndarray:
    """uint8 (n, side, side) images whose class k lights up rows 2k and 2k+1, plus noise."""
    images = rng.integers(0, 60, size=(len(labels), side, side), dtype=np.uint8)
    for k in np.unique(labels):
        images[labels == k, 2 * k : 2 * k + 2, :] = 220
    return images


@pytest.fixture
def tiny_data(tmp_path: Path) -> dict[str, Path]:
    """Four IDX files of a learnable 3-class problem with 8x8 images: 600 train, 150 test."""
    rng = np.random.default_rng(1234)
    paths = {}
    for part, n in (("train", 600), ("test", 150)):
        labels = rng.integers(0, 3, size=n).astype(np.uint8)
        paths[f"{part}_images"] = tmp_path / f"{part}-images-idx3-ubyte.gz"
        paths[f"{part}_labels"] = tmp_path / f"{part}-labels-idx1-ubyte"
        idx.write_idx(paths[f"{part}_images"], make_images(rng, labels))
        idx.write_idx(paths[f"{part}_labels"], labels)
    return paths


@pytest.fixture
def tiny_config(tmp_path: Path, tiny_data: dict[str, Path]):
    """A function writing a config for the tiny data, with keys changed by ``changes``."""

    def write(name: str = "tiny", **sections) -> Path:
        raw = {
            "name": name,
            "data": {**{k: str(v) for k, v in tiny_data.items()}, "validation_size": 100},
            "network": {"sizes": [64, 10, 3]},
            "training": {"epochs": 3, "mini_batch_size": 10, "eta": 3.0, "seed": 7},
        }
        for section, values in sections.items():
            raw[section] = {**raw.get(section, {}), **values}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    return write


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A CliRunner working in the test's own directory (runs/ goes there, never the checkout's)."""
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def invoke(runner):
    """invoke(*args, input=None): run ``nnbp ARGS`` in the runner; exceptions propagate."""
    from nnbp.cli import cli

    def run(*args, input=None):
        return runner.invoke(
            cli, [str(a) for a in args], input=input, catch_exceptions=False, prog_name="nnbp"
        )

    return run


def assert_one_error_line(result, code: int, text: str) -> None:
    """The command failed with ``code`` and exactly one ``Error: ...`` line holding ``text``."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert text in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """data/ holding the real MNIST, fetched once (through NNBP_DATA_MIRROR when set).

    Outside CI a machine without the data and without network skips these tests; in CI
    (CI=true) that is a failure, never a silent skip.
    """
    root = ROOT / "data"
    try:
        datasets.fetch("mnist", root, mirror=os.environ.get(datasets.MIRROR_ENV) or None)
    except DataError as e:
        if os.environ.get("CI"):
            pytest.fail(f"real MNIST unavailable in CI: {e}")
        pytest.skip(f"real MNIST unavailable: {e}")
    return root


@pytest.fixture(scope="session")
def mnist_run(mnist_dir, tmp_path_factory) -> tuple[Path, str]:
    """(run directory, stdout) of `nnbp train configs/mnist.yaml` for one epoch, seed 1."""
    from click.testing import CliRunner

    from nnbp.cli import cli

    home = tmp_path_factory.mktemp("mnist-run")
    cwd = Path.cwd()
    os.chdir(home)  # runs/ and runs/latest go under the test's own directory
    try:
        result = CliRunner().invoke(
            cli,
            [
                "train",
                str(ROOT / "configs" / "mnist.yaml"),
                "--set",
                f"data.dir={mnist_dir}",
                "--set",
                "training.epochs=1",
                "--set",
                "training.seed=1",
            ],  # fmt: skip
        )
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return home / "runs" / "mnist", result.stdout


@pytest.fixture(scope="session")
def mnist_test_digits(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    """The real MNIST test set: uint8 images (10000, 28, 28) and their labels."""
    folder = mnist_dir / "mnist"
    return idx.read_pair(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="session")
def serve_home(mnist_dir, tmp_path_factory) -> Path:
    """A directory whose runs/ holds two real-MNIST runs for nnbp serve: ``mnist`` (the
    book's [784, 30, 10], 4 epochs, about 93%) and ``small`` ([784, 16, 10], 1 epoch),
    with runs/latest pointing at mnist."""
    import nnbp

    home = tmp_path_factory.mktemp("serve-home")
    config = ROOT / "configs" / "mnist.yaml"
    common = {"data.dir": str(mnist_dir), "training.seed": 1}
    runs = {
        "mnist": {"training.epochs": 4},
        "small": {"training.epochs": 1, "network.sizes": [784, 16, 10]},
    }
    for name, changes in runs.items():
        nnbp.train(config, overrides={**common, **changes}, out=home / "runs" / name)
    (home / "runs" / "latest").symlink_to("mnist", target_is_directory=True)
    return home
