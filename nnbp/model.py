"""A trained network with what it was trained on: load it, predict, evaluate.

``nnbp.load(path)`` gives a ``Model``: the network of a run directory or a weights file,
its class names, input shape and metadata, and the one check that a set of images fits
it. Inputs are images as arrays (n, rows, cols) or rows (n, rows * cols), uint8 pixels
or floats in [0, 1], or a list of image files (prepared the way MNIST's digits were,
see image.py).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnbp import metrics, model_file, runs
from nnbp.errors import DataError, ImageError, NnbpError, UsageError
from nnbp.inputs import scale_images
from nnbp.metrics import Report
from nnbp.model_data import LabelledData
from nnbp.network import Network

if TYPE_CHECKING:
    from nnbp.image import Prepared, Source

Images = np.ndarray | Sequence["Source"]
NO_INK = "no ink found"  # the warning of a blank image, in predict's output and records


@dataclass(frozen=True)
class Model(LabelledData):
    """A trained network and its metadata (see model_file.py for what the metadata holds)."""

    network: Network
    metadata: dict[str, Any]
    weights_file: Path | None = None
    run_dir: Path | None = None  # the run directory, when the weights sit in one

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Model:
        """The model of a run directory or a weights file; None: the newest run (runs/latest)."""
        weights, run = runs.resolve_weights(None if path is None else Path(path))
        net, meta = model_file.load(weights)
        model = cls(net, meta, weights, run)
        if model.input_shape[0] * model.input_shape[1] != net.sizes[0]:
            raise DataError(
                f"{weights}: the metadata's input_shape {list(model.input_shape)} does not fit"
                f" the network's {net.sizes[0]} inputs"
            )
        return model

    @property
    def sizes(self) -> list[int]:
        """Layer sizes, input first."""
        return self.network.sizes

    @property
    def cost(self) -> str:
        """The cost function the network was trained with (quadratic, cross-entropy, ...)."""
        return self.network.cost

    @property
    def input_shape(self) -> tuple[int, int]:
        """(rows, cols) of the images the network reads."""
        shape = self.metadata.get("input_shape") or (28, 28)
        return int(shape[0]), int(shape[1])

    @property
    def class_names(self) -> list[str]:
        """One name per output neuron (the digits' names are "0" to "9")."""
        names = [str(n) for n in self.metadata.get("class_names") or []]
        k = self.sizes[-1]
        return names if len(names) == k else [str(i) for i in range(k)]

    @property
    def preparation(self) -> str:
        """How image files become its inputs (prepare.STYLES); "digit" for weights files
        written before nnbp recorded it."""
        return self.metadata.get("preparation") or "digit"

    @property
    def epoch(self) -> int | None:
        """The training epoch the weights come from."""
        return self.metadata.get("epoch")

    def check_images(self, images: np.ndarray, source: str = "images") -> None:
        """DataError naming ``source`` unless ``images`` is (n, rows, cols) or (n, pixels)
        fitting the network's input."""
        rows, cols = self.input_shape
        fits = images.ndim == 3 and images.shape[1:] == (rows, cols)
        fits = fits or (images.ndim == 2 and images.shape[1] == rows * cols)
        if not fits:
            raise DataError(
                f"{source}: expected images of shape (n, {rows}, {cols}) or (n, {rows * cols}),"
                f" got {images.shape}"
            )

    def check_labels(self, labels: np.ndarray, n: int, source: str = "labels") -> None:
        """DataError unless ``labels`` are n integer classes of this network."""
        k = self.sizes[-1]
        if labels.ndim != 1 or len(labels) != n or labels.dtype.kind not in "iu":
            raise DataError(
                f"{source}: expected {n} integer labels, got {labels.dtype} {labels.shape}"
            )
        if n and (labels.min() < 0 or labels.max() >= k):
            raise DataError(f"{source}: labels must lie in 0..{k - 1}, got {labels.max()}")

    @functools.cached_property
    def _exact(self) -> Network:
        # Predictions are computed in float64, so that an image's printed probabilities do
        # not depend on the other images of its batch (float32 matrix products round
        # differently for different batch sizes).
        net = self.network
        return Network([w.astype(np.float64) for w in net.w], [b.astype(np.float64) for b in net.b],
                       net.cost)  # fmt: skip

    def describe(self) -> str:
        """Which weights these are: ``runs/mnist (epoch 27, test 95.35%)``."""
        where = self.run_dir if self.run_dir is not None else self.weights_file
        shown = str(where)
        with contextlib.suppress(ValueError, TypeError):
            shown = str(Path(where).resolve().relative_to(Path.cwd()))
        details = [f"epoch {self.epoch}"] if self.epoch is not None else []
        accuracy = self._kept_test_accuracy()
        if accuracy is not None:
            details.append(f"test {100 * accuracy:.2f}%")
        return f"{shown} ({', '.join(details)})" if details else shown

    def _kept_test_accuracy(self) -> float | None:
        """The test accuracy metrics.jsonl records for the kept epoch, if the run has it."""
        if self.run_dir is None or self.epoch is None:
            return None
        try:
            rows = metrics.read_log(self.run_dir / runs.METRICS_FILE)
        except NnbpError:
            return None
        row = next((r for r in rows if r.get("epoch") == self.epoch), None)
        value = None if row is None else row.get("test_accuracy")
        return value if isinstance(value, float) else None

    def inputs(self, images: Images, *, invert: bool | None = None) -> np.ndarray:
        """The network's input rows (n, n_in), float64 in [0, 1], for ``images``.

        A list of paths (or binary file objects) is read with the model's preparation
        (``invert`` forces or forbids the inversion of dark ink on light paper; None
        detects it).
        """
        if not isinstance(images, np.ndarray):
            images = self.read_images(images, invert=invert)
        self.check_images(images)
        dtype = np.float64
        if images.dtype == np.uint8:
            return scale_images(images, dtype)
        if images.dtype.kind != "f":
            raise DataError(
                f"images: expected uint8 pixels or floats in [0, 1], got {images.dtype}"
            )
        rows = images.reshape(len(images), -1)
        if len(rows) and not (rows.min() >= 0 and rows.max() <= 1):
            raise DataError(
                f"images: floats must lie in [0, 1], got {rows.min():g} to {rows.max():g}"
                " (uint8 pixels are scaled by nnbp; floats are taken as already scaled)"
            )
        return rows.astype(dtype, copy=False)

    def read_images(self, paths: Sequence[Source], *, invert: bool | None = None) -> np.ndarray:
        """uint8 (n, rows, cols): each file prepared as ``nnbp predict`` does (the model's
        ``preparation``); ImageError naming the first file that cannot be read."""
        return _stack([p.image for p in self.prepare_images(paths, invert=invert)], self)

    def prepare_images(
        self, sources: Sequence[Source], *, invert: bool | None = None, stages: bool = False
    ) -> list[Prepared]:
        """Each path or binary file object prepared with the model's ``preparation``
        (``stages``: keep the pictures ``predict --show`` draws); ImageError naming the
        first that cannot be read."""
        from nnbp.image import prepare

        if isinstance(sources, str | os.PathLike):
            raise UsageError(f"{sources}: give a list of image paths, not one path")
        size, style = self.input_shape, self.preparation
        return [prepare(s, invert=invert, size=size, style=style, stages=stages) for s in sources]

    def read_images_skipping(
        self, paths: Sequence[str], *, invert: bool | None = None, stages: bool = False
    ) -> tuple[list[str], list[Prepared], list[ImageError]]:
        """(paths read, their preparations, the errors of the others): one bad file of
        many is reported, not fatal."""
        good, prepared, failures = [], [], []
        for path in paths:
            try:
                prepared += self.prepare_images([path], invert=invert, stages=stages)
                good.append(path)
            except ImageError as e:
                failures.append(e)
        return good, prepared, failures

    def predict_records(
        self,
        sources: Sequence[Source],
        *,
        invert: bool | None = None,
        names: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """One record per image path or binary file object, exactly as ``nnbp predict
        --json`` prints it (``"warning": "no ink found"`` for a blank page). ``names``
        replace the paths in the records (an upload's file name); ImageError naming the
        first source that cannot be read."""
        prepared = self.prepare_images(sources, invert=invert)
        if names is None:
            from nnbp.image import source_name

            names = [source_name(s) for s in sources]
        images = _stack([p.image for p in prepared], self)
        return self.predictions(names, self.predict_proba(images), [p.blank for p in prepared])

    def predict_proba(self, images: Images, *, invert: bool | None = None) -> np.ndarray:
        """(n, k) probabilities: the output activations normalised to sum to 1 per image."""
        return metrics.probabilities(self._exact.feedforward(self.inputs(images, invert=invert)))

    def predict(self, images: Images, *, invert: bool | None = None) -> np.ndarray:
        """(n,) the predicted class of each image (the most active output neuron)."""
        return self._exact.feedforward(self.inputs(images, invert=invert)).argmax(axis=1)

    def activations(self, images: Images, *, invert: bool | None = None) -> list[np.ndarray]:
        """Every layer's activations a^l for ``images``, input excluded: [(n, sizes[1]), ...,
        (n, sizes[-1])], the hidden layers' then the output's, in the float64 of predict."""
        from nnbp.network import Workspace, feedforward, with_ones

        net, x = self._exact, self.inputs(images, invert=invert)
        ws = Workspace(net.sizes, len(x), net.dtype, backward=False)
        with np.errstate(over="ignore"):  # sigmoid's expected overflow, as in feedforward
            feedforward(net, ws, with_ones(x, net.dtype))
        return ws.a

    def predictions(
        self,
        names: Sequence[str],
        probabilities: np.ndarray,
        blank: Sequence[bool] | None = None,
    ) -> list[dict[str, Any]]:
        """One record per image, as ``nnbp predict --json`` prints it; ``blank`` says which
        images had no ink (their record carries ``"warning": "no ink found"``)."""
        records = []
        labelled = self.class_names != [str(i) for i in range(self.sizes[-1])]
        blank = [False] * len(names) if blank is None else blank
        for name, p, empty in zip(names, probabilities, blank, strict=True):
            k = int(p.argmax())
            record = {
                "path": str(name),
                "label": k,
                "confidence": round(float(p[k]), 6),
                "probabilities": [round(float(v), 6) for v in p],
            }
            if labelled:
                record["name"] = self.class_names[k]
            if empty:
                record["warning"] = NO_INK
            records.append(record)
        return records

    def evaluate(self, images: np.ndarray, labels: np.ndarray) -> Report:
        """Accuracy, cost, confusion matrix and per-class scores on labelled images."""
        x = self.inputs(images)
        labels = np.asarray(labels)
        self.check_labels(labels, len(x))
        a = self._exact.feedforward(x)
        confusion = metrics.confusion_matrix(labels, a.argmax(axis=1), self.sizes[-1])
        return Report(
            accuracy=metrics.accuracy(a, labels),
            cost=metrics.mean_cost(self.cost, a, labels),
            n=int(len(labels)),
            confusion=confusion,
            per_class=metrics.per_class(confusion, self.class_names),
        )

    def confident_errors(self, images: np.ndarray, labels: np.ndarray, n: int) -> list[dict]:
        """The n wrongly classified images with the most confidence on the wrong class."""
        probabilities = self.predict_proba(images)
        return metrics.confident_errors(probabilities, np.asarray(labels), n)


def _stack(images: list[np.ndarray], model: Model) -> np.ndarray:
    """uint8 (n, rows, cols) of n prepared images (n may be 0)."""
    return np.stack(images) if images else np.zeros((0, *model.input_shape), np.uint8)


def load(path: str | os.PathLike | None = None) -> Model:
    """The model of a run directory or a weights file; None: the newest run (runs/latest)."""
    return Model.load(path)
