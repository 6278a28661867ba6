"""Real data: networks trained on MNIST, exported to ONNX and run by onnxruntime on the
10,000 test images, give nnbp's probabilities; and README's onnxruntime code runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

import nnbp
from nnbp import export, idx

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def test_set(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    return idx.read_pair(
        mnist_dir / "mnist" / "t10k-images-idx3-ubyte.gz",
        mnist_dir / "mnist" / "t10k-labels-idx1-ubyte.gz",
    )


@pytest.fixture(scope="module")
def softmax_run(mnist_dir, test_set, tmp_path_factory) -> Path:
    """configs/mnist.yaml's network with a softmax output layer, two epochs on the first
    10,000 training images (the test set's accuracy is the run's record)."""
    home = tmp_path_factory.mktemp("softmax")
    train = idx.read_pair(
        mnist_dir / "mnist" / "train-images-idx3-ubyte.gz",
        mnist_dir / "mnist" / "train-labels-idx1-ubyte.gz",
    )
    files = {}
    for part, (images, labels) in (("train", train), ("test", test_set)):
        for what, array in (("images", images[:10_000]), ("labels", labels[:10_000])):
            files[f"data.{part}_{what}"] = str(home / f"{part}-{what}")  # plain IDX: quick
            idx.write_idx(files[f"data.{part}_{what}"], array)
    changes = {**files, "data.validation_size": 1000, "network.cost": "log-likelihood",
               "network.init": "scaled", "training.eta": 0.5, "training.epochs": 2,
               "training.seed": 1}  # fmt: skip
    nnbp.train(ROOT / "configs" / "mnist.yaml", overrides=changes, out=home / "run")
    return home / "run"


@pytest.mark.parametrize("which, output", [("sigmoid", "sigmoid"), ("softmax", "softmax")])
def test_onnxruntime_gives_nnbps_probabilities_on_the_test_set(
    which, output, mnist_run, softmax_run, test_set, tmp_path
):
    run = mnist_run[0] if which == "sigmoid" else softmax_run
    model, path = export.export(run, tmp_path / "model.onnx")
    assert model.network.output == output
    images, labels = test_set
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = images.reshape(len(images), -1).astype(np.float32) / 255  # the scaling it records
    got = session.run(None, {"image": x})[0]
    want = model.predict_proba(images)
    assert got.shape == want.shape == (10_000, 10)
    assert np.abs(got - want).max() <= 1e-5
    np.testing.assert_array_equal(got.argmax(axis=1), want.argmax(axis=1))
    accuracy = float(np.mean(got.argmax(axis=1) == labels))
    assert accuracy == model.evaluate(images, labels).accuracy > 0.8


def readme_onnx_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Your own images, and ONNX out\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section is not None, "README.md has no '## Your own images, and ONNX out' section"
    (block,) = re.findall(r"^```python\n(.*?)^```", section[1], re.M | re.S)
    return block


def test_the_readmes_onnxruntime_code_predicts_a_png(mnist_run, test_set, invoke, tmp_path, capsys):
    export.export(mnist_run[0], tmp_path / "model.onnx")  # invoke's runner works in tmp_path
    images, labels = test_set
    # A scan-like PNG: MNIST's first test digit, dark ink on white, 84x84, RGB.
    page = Image.fromarray(255 - images[0], "L").resize((84, 84), Image.Resampling.BILINEAR)
    page.convert("RGB").save(tmp_path / "digit.png")
    block = readme_onnx_block()
    assert len(block.strip().splitlines()) <= 14
    exec(compile(block, "README.md's onnxruntime block", "exec"), {"__name__": "__readme__"})
    name, confidence = capsys.readouterr().out.split()
    predicted = invoke("predict", "--weights", mnist_run[0], "digit.png")
    assert predicted.exit_code == 0, predicted.output
    _, label, expected = predicted.stdout.split("\t")[:3]
    assert name == label == str(labels[0])
    assert float(confidence) == pytest.approx(float(expected), abs=1.5e-4)
