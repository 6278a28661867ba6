"""``nnbp export``: a trained network as an ONNX model, for runtimes other than nnbp.

The graph is the network's feedforward, a = sigma(a W^T + b) per layer (nnbp's rows of
examples, see network.py), in float32, the output layer's sigma being the sigmoid or the
softmax the cost chose, followed by what ``nnbp predict`` reports: the output activations
divided by their sum (metrics.probabilities, uniform when they sum to 0).

    input   image          float32 (N, n_in): pixels scaled as nnbp scales them (/ 255)
    output  probabilities  float32 (N, k): each row sums to 1

The model's metadata (``metadata_props``) says how to feed it and read it: class_names
(JSON list), input_shape (JSON [rows, cols]), input_scaling, preparation (how an image
file becomes the input, image.STYLES), nnbp_version, config_sha256 (of the run that
trained it), epoch, output_activation, cost. The onnx package (``pip install
'nnbp[onnx]'``) builds and checks it; it is imported only here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import __version__
from nnbp.atomic import atomic_write_bytes
from nnbp.errors import MissingExtra, ModelFileError
from nnbp.model import Model

OPSET = 13  # Softmax over one axis and ReduceSum's axes as an input both date from 13
INSTALL_HINT = "nnbp export needs the onnx package: pip install 'nnbp[onnx]'"
INPUT, OUTPUT = "image", "probabilities"


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise MissingExtra(INSTALL_HINT) from None
    return onnx


def metadata(model: Model) -> dict[str, str]:
    """The ONNX model's metadata_props: every value a string (JSON for lists)."""
    meta = model.metadata
    return {
        "class_names": json.dumps(model.class_names),
        "input_shape": json.dumps(list(model.input_shape)),
        "input_scaling": str(meta.get("input_scaling", "pixel / 255")),
        "preparation": model.preparation,
        "nnbp_version": __version__,
        "config_sha256": str(meta.get("config_sha256") or ""),
        "epoch": "" if model.epoch is None else str(model.epoch),
        "output_activation": model.network.output,
        "cost": model.cost,
    }


def to_onnx(model: Model) -> Any:
    """The network of ``model`` as a checked ``onnx.ModelProto`` (see the module's doc)."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    net = model.network
    nodes, weights = [], []
    a = INPUT
    for l, (w, b) in enumerate(zip(net.w, net.b, strict=True)):
        # nnbp's w[l] is (n_out, n_in); a row of examples times w^T gives (N, n_out).
        weights.append(numpy_helper.from_array(np.ascontiguousarray(w.T, np.float32), f"w{l}"))
        weights.append(numpy_helper.from_array(np.asarray(b, np.float32), f"b{l}"))
        last = l == len(net.w) - 1
        sigma = "Softmax" if last and net.output == "softmax" else "Sigmoid"
        attributes = {"axis": -1} if sigma == "Softmax" else {}
        nodes += [
            helper.make_node("MatMul", [a, f"w{l}"], [f"wa{l}"]),
            helper.make_node("Add", [f"wa{l}", f"b{l}"], [f"z{l}"]),
            helper.make_node(sigma, [f"z{l}"], [f"a{l}"], **attributes),
        ]
        a = f"a{l}"
    k = net.sizes[-1]
    weights += [
        numpy_helper.from_array(np.array([1], np.int64), "class_axis"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
        numpy_helper.from_array(np.full((1, k), 1 / k, np.float32), "uniform"),
    ]
    # metrics.probabilities: a / sum(a) per row, uniform where the sum is 0.
    nodes += [
        helper.make_node("ReduceSum", [a, "class_axis"], ["total"], keepdims=1),
        helper.make_node("Div", [a, "total"], ["share"]),
        helper.make_node("Greater", ["total", "zero"], ["positive"]),
        helper.make_node("Where", ["positive", "share", "uniform"], [OUTPUT]),
    ]
    graph = helper.make_graph(
        nodes, f"nnbp {net.sizes}",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", net.sizes[0]])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", k])],
        initializer=weights,
    )  # fmt: skip
    proto = helper.make_model(
        graph, producer_name="nnbp", producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=f"nnbp network {net.sizes}: image (N, {net.sizes[0]}) float32 pixels / 255"
        f" -> probabilities (N, {k}), as nnbp predict reports them",
    )  # fmt: skip
    # The oldest IR version the opset needs, so that older runtimes load it too.
    proto.ir_version = min(proto.ir_version, 7)
    helper.set_model_props(proto, metadata(model))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(target: str | os.PathLike | None, out: str | os.PathLike) -> tuple[Model, Path]:
    """Write the model of a run directory or weights file (None: the newest run) to
    ``out`` as ONNX, atomically; (the model, the path written)."""
    model = Model.load(target)
    proto = to_onnx(model)
    out = Path(out)
    try:
        atomic_write_bytes(out, proto.SerializeToString())
    except OSError as e:
        raise ModelFileError(f"{out}: cannot write ({e.strerror or e})") from None
    return model, out
