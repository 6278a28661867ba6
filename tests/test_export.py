"""nnbp export: the ONNX graph, its metadata, its numbers against nnbp's own, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import assert_one_error_line

import nnbp
from nnbp import export, metrics, model_file
from nnbp.errors import MissingExtra
from nnbp.model import Model
from nnbp.network import Network


def run_onnx(path: str | Path, x: np.ndarray) -> np.ndarray:
    """The model's probabilities for inputs x (n, n_in), by onnxruntime."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": x.astype(np.float32)})[0]


def make_model(tmp_path: Path, cost: str, sizes=(6, 5, 4, 3), bias: float = 0.0) -> Model:
    """A random network of ``sizes`` saved as a weights file with class names, loaded."""
    rng = np.random.default_rng(5)
    net = Network.create(list(sizes), rng, init="large", cost=cost, dtype="float32")
    for b in net.b:
        b += bias
    path = tmp_path / f"{cost}.npz"
    model_file.save(path, net, input_shape=(2, 3), class_names=["ant", "bee", "cat"],
                    config_sha256="ab" * 32, epoch=4)  # fmt: skip
    return nnbp.load(path)


@pytest.mark.parametrize(
    "cost, last", [("cross-entropy", "Sigmoid"), ("log-likelihood", "Softmax")]
)
def test_the_graph_is_matrix_products_additions_and_activations(tmp_path, cost, last):
    proto = export.to_onnx(make_model(tmp_path, cost))
    onnx.checker.check_model(proto, full_check=True)
    ops = [node.op_type for node in proto.graph.node]
    # Three layers, then predict's normalisation: a / sum(a), uniform where the sum is 0.
    assert ops == [*["MatMul", "Add", "Sigmoid"] * 2, "MatMul", "Add", last,
                   "ReduceSum", "Div", "Greater", "Where"]  # fmt: skip
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "image" and out.name == "probabilities"
    shape = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert shape == ["N", 6] and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 3]


def test_the_metadata_says_how_to_feed_and_read_it(tmp_path):
    proto = export.to_onnx(make_model(tmp_path, "cross-entropy"))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["class_names"]) == ["ant", "bee", "cat"]
    assert json.loads(meta["input_shape"]) == [2, 3] and meta["input_scaling"] == "pixel / 255"
    assert meta["preparation"] == "digit" and meta["nnbp_version"] == nnbp.__version__
    assert meta["config_sha256"] == "ab" * 32 and meta["epoch"] == "4"
    assert (meta["output_activation"], meta["cost"]) == ("sigmoid", "cross-entropy")
    assert proto.producer_name == "nnbp"


@pytest.mark.parametrize("cost", ["quadratic", "log-likelihood"])
def test_onnxruntime_gives_predicts_probabilities(tmp_path, cost):
    model = make_model(tmp_path, cost)
    export.export(model.weights_file, tmp_path / "m.onnx")
    x = np.random.default_rng(0).random((200, 6))
    got = run_onnx(tmp_path / "m.onnx", x)
    want = metrics.probabilities(model._exact.feedforward(x))  # what predict_proba computes
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)


def test_outputs_that_all_vanish_give_uniform_probabilities(tmp_path):
    # Biases of -200: every float32 sigmoid output is 0, and the row is then uniform, as
    # metrics.probabilities makes a row that sums to 0 (never 0 / 0 = NaN). (nnbp itself
    # computes in float64, where these outputs are about 1e-87 and still differ.)
    model = make_model(tmp_path, "quadratic", bias=-200.0)
    export.export(model.weights_file, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", np.zeros((2, 6)))
    np.testing.assert_array_equal(got, np.float32(1 / 3))
    np.testing.assert_array_equal(metrics.probabilities(np.zeros((2, 3))), 1 / 3)


def test_cli_export_of_a_run(invoke, tiny_config, tmp_path):
    assert invoke("train", tiny_config()).exit_code == 0
    result = invoke("export", "runs/tiny", "-o", "tiny.onnx")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.startswith("exported runs/tiny (epoch ") and "-> tiny.onnx" in result.stdout
    )
    meta = {p.key: p.value for p in onnx.load(tmp_path / "tiny.onnx").metadata_props}
    assert meta["config_sha256"] == nnbp.load("runs/tiny").metadata["config_sha256"]
    latest = invoke("export", "-o", "latest.onnx")  # no RUN: runs/latest
    assert latest.exit_code == 0
    assert (tmp_path / "latest.onnx").read_bytes() == (tmp_path / "tiny.onnx").read_bytes()


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["nowhere", "-o", "m.onnx"], 1, "nowhere: no such run directory or weights file"),
        (["bad.npz", "-o", "m.onnx"], 1, "bad.npz: not a readable weights file"),
        (["good.npz", "-o", "no/such/dir/m.onnx"], 1, "m.onnx: cannot write"),
        (["good.npz"], 2, "Missing option '-o'"),
    ],
)
def test_cli_export_errors_are_one_line(invoke, tmp_path, args, code, message):
    (tmp_path / "bad.npz").write_bytes(b"junk")
    make_model(tmp_path, "quadratic").weights_file.rename(tmp_path / "good.npz")
    result = invoke("export", *args)
    assert_one_error_line(result, code, message)
    assert not (tmp_path / "m.onnx").exists()


def test_without_onnx_export_says_which_extra_to_install(invoke, tmp_path, monkeypatch):
    make_model(tmp_path, "quadratic")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(MissingExtra):
        export.to_onnx(nnbp.load(tmp_path / "quadratic.npz"))
    result = invoke("export", tmp_path / "quadratic.npz", "-o", "m.onnx")
    assert_one_error_line(result, 1, "pip install 'nnbp[onnx]'")


def test_train_never_imports_onnx(tiny_config, tmp_path):
    code = (
        "import sys\nfrom nnbp.cli import main\n"
        f"sys.argv = ['nnbp', 'train', {str(tiny_config())!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxruntime')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "[]"
