"""What ``POST /api/predict`` answers: the record ``nnbp predict --json`` prints for the
same image, plus what the network saw and how each layer responded.

The body is an image file's bytes (any format ``nnbp predict`` reads, prepared by the
same code with the model's preparation), or, sent as application/json, an array of
rows * cols numbers in [0, 1]: an input already prepared, as an IDX row scaled (no
preparation, like ``nnbp predict --idx``). The answer adds to the record:

    "input":       rows x cols numbers in [0, 1], the network's input (after preparation)
    "activations": one list per layer after the input (hidden layers, then the output),
                   each neuron's activation a = sigma(z)
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np

from nnbp.errors import RequestError
from nnbp.model import Model

MAX_BODY = 8 * 2**20  # largest request body, in bytes: room for a phone's photo
JSON_TYPE = "application/json"


def answer(model: Model, body: bytes, content_type: str, name: str | None) -> dict[str, Any]:
    """The answer to one predict request: ``body`` holds an image file's bytes, or a JSON
    array of pixels when ``content_type`` is application/json; ``name`` is the record's
    ``path`` (an upload's file name). RequestError or ImageError for a bad body."""
    if not body:
        raise RequestError(
            "empty body: expected an image file's bytes, or a JSON array of"
            f" {_pixel_count(model)} numbers in [0, 1]"
        )
    if content_type.split(";")[0].strip().lower() == JSON_TYPE:
        return answer_pixels(model, parse_pixels(model, body), name or "pixels")
    return answer_image(model, body, name or "upload")


def answer_image(model: Model, data: bytes, name: str) -> dict[str, Any]:
    """The record of the image file held in ``data``, prepared as ``nnbp predict`` does
    (``"warning"`` when it shows no ink), plus input and activations."""
    stream = io.BytesIO(data)
    stream.name = name  # the image's name in the record and in error messages
    prepared = model.prepare_images([stream])[0]
    pixels = prepared.image[np.newaxis]
    record = model.predictions([name], model.predict_proba(pixels), [prepared.blank])[0]
    return {**record, **seen(model, pixels)}


def answer_pixels(model: Model, pixels: np.ndarray, name: str) -> dict[str, Any]:
    """The record of one prepared input (1, rows, cols) of floats in [0, 1], plus input
    and activations."""
    record = model.predictions([name], model.predict_proba(pixels))[0]
    return {**record, **seen(model, pixels)}


def seen(model: Model, pixels: np.ndarray) -> dict[str, Any]:
    """``input`` and ``activations`` of one image (1, rows, cols), rounded for the page."""
    rows, cols = model.input_shape
    x = model.inputs(pixels).reshape(rows, cols)
    return {
        "input": np.round(x, 4).tolist(),
        "activations": [np.round(a[0], 6).tolist() for a in model.activations(pixels)],
    }


def parse_pixels(model: Model, body: bytes) -> np.ndarray:
    """A JSON array of rows * cols numbers in [0, 1] -> float64 (1, rows, cols); a
    RequestError saying what was expected otherwise."""
    n = _pixel_count(model)
    expected = f"expected a JSON array of {n} numbers in [0, 1]"
    try:
        values = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestError(f"body is not valid JSON: {expected}") from None
    if not isinstance(values, list) or len(values) != n:
        got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise RequestError(f"{expected}, got {got}")
    for i, v in enumerate(values):
        if type(v) not in (int, float) or not (math.isfinite(v) and 0 <= v <= 1):
            raise RequestError(f"{expected}: value {i} is {json.dumps(v)[:20]}")
    return np.array(values, dtype=np.float64).reshape(1, *model.input_shape)


def _pixel_count(model: Model) -> int:
    rows, cols = model.input_shape
    return rows * cols
