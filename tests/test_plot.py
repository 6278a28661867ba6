"""plot.plot_run on a tiny trained run: the PNGs it writes, and the errors it raises."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnbp import idx
from nnbp.errors import DataError, MissingExtra, RunError
from nnbp.plot import INSTALL_HINT, plot_run

FOUR = [
    "learning_curves.png",
    "confusion_matrix.png",
    "first_layer_weights.png",
    "confident_errors.png",
]


@pytest.fixture
def run(tmp_path: Path, invoke, tiny_config) -> Path:
    """A finished 3-epoch run of the tiny 8x8, 3-class data, in runs/tiny/."""
    result = invoke("train", tiny_config())
    assert result.exit_code == 0, result.output
    return tmp_path / "runs" / "tiny"


def assert_picture(path: Path) -> None:
    """A readable PNG, larger than 100x100, with more than a few colours (not blank)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 100 and image.height > 100
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20, path.name


def rewrite_metrics(run: Path, change) -> None:
    """Apply ``change(record)`` to every line of the run's metrics.jsonl."""
    path = run / "metrics.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(change(r) or r) + "\n" for r in records))


def test_writes_the_four_pictures_in_order(run: Path, tmp_path: Path):
    out = tmp_path / "plots" / "new"  # created, parents too
    written = plot_run(run, out)
    assert written == [out / name for name in FOUR]
    for path in written:
        assert_picture(path)
    assert sorted(p.name for p in out.iterdir()) == sorted(FOUR)  # no temporary files left


def test_trace_adds_the_layer_trace_picture(run: Path, tmp_path: Path, tiny_data):
    def add_trace(record):
        e = record["epoch"]
        record["trace"] = [
            {
                "layer": layer,
                "delta_norm": 0.5 / (e * layer),
                "mean_sigma_prime": 0.2 - 0.01 * e,
                "saturated": 0.1 * layer,
                "grad_w_norm": 10.0 ** -(e + layer),
                "grad_b_norm": 10.0 ** -(e + 2 * layer),
            }
            for layer in (1, 2)
        ]
        # Also the other optional shapes: no validation split, and a halved eta.
        record["validation_accuracy"] = None
        record["eta"] = 3.0 / 2 ** (e - 1)

    rewrite_metrics(run, add_trace)
    # Shifted test labels: the net is now wrong on most test images, so the error
    # picture has images to show (the tiny run otherwise makes none).
    labels = idx.read_labels(tiny_data["test_labels"])
    idx.write_idx(tiny_data["test_labels"], (labels + 1) % 3)
    written = plot_run(run, tmp_path / "plots")
    assert [p.name for p in written] == [*FOUR, "layer_trace.png"]
    for path in written:
        assert_picture(path)


def test_missing_run_files_are_run_errors(run: Path, tmp_path: Path):
    (run / "metrics.jsonl").unlink()
    with pytest.raises(RunError, match=r"metrics\.jsonl: not found"):
        plot_run(run, tmp_path / "plots")
    with pytest.raises(RunError, match="no such run directory"):
        plot_run(tmp_path / "nowhere", tmp_path / "plots")
    assert not (tmp_path / "plots").exists()  # nothing written before the checks pass


def test_missing_weights_is_a_run_error(run: Path, tmp_path: Path):
    (run / "weights.npz").unlink()
    with pytest.raises(RunError, match=r"weights\.npz: not found"):
        plot_run(run, tmp_path / "plots")


@pytest.mark.parametrize(
    ("line2", "message"),
    [
        ('{"epoch": 2, "train_cost": 0.1', r"line 2 is not valid JSON"),
        ("[1, 2]", r"line 2: expected a JSON object with an integer 'epoch'"),
        ('{"epoch": 2, "test_accuracy": "high"}', r"line 2: 'test_accuracy' must be a number"),
        ('{"epoch": 2, "trace": [{"layer": 1}]}', r"line 2: 'trace' must be a list of objects"),
    ],
)
def test_malformed_metrics_line_is_named(run: Path, tmp_path: Path, line2: str, message: str):
    path = run / "metrics.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = line2
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunError, match=rf"metrics\.jsonl: {message}"):
        plot_run(run, tmp_path / "plots")


def test_missing_test_data_is_a_data_error(run: Path, tmp_path: Path, tiny_data):
    tiny_data["test_labels"].unlink()
    with pytest.raises(DataError, match=str(tiny_data["test_labels"])):
        plot_run(run, tmp_path / "plots")


def test_test_data_that_does_not_fit_the_network_is_a_data_error(
    run: Path, tmp_path: Path, tiny_data
):
    idx.write_idx(tiny_data["test_images"], np.zeros((150, 9, 9), np.uint8))
    with pytest.raises(DataError, match="9x9 images .81 inputs., but the network takes 64"):
        plot_run(run, tmp_path / "plots")
    assert not (tmp_path / "plots").exists()


def test_without_matplotlib_says_how_to_install_it(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A None entry in sys.modules makes the import fail, as if the package were absent.
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtra) as info:
        plot_run(run, tmp_path / "plots")
    assert str(info.value) == INSTALL_HINT
    assert "pip install 'nnbp[plot]'" in INSTALL_HINT and "\n" not in INSTALL_HINT
    assert info.value.exit_code == 1
    assert not (tmp_path / "plots").exists()
