"""nnbp: train fully-connected sigmoid networks with matrix-based backpropagation.

    import nnbp
    run = nnbp.train("configs/mnist.yaml", overrides={"training.epochs": 2})
    model = nnbp.load(run.directory)          # or a weights file; None: runs/latest
    (x, y), (x_test, y_test) = nnbp.datasets.load("mnist")
    model.predict(x_test[:10]); model.evaluate(x_test, y_test).accuracy

The names below are imported on first use, so that ``nnbp --help`` starts without
loading NumPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Config",
    "Model",
    "Network",
    "NnbpError",
    "Report",
    "Run",
    "__version__",
    "datasets",
    "load",
    "train",
]

# Public name -> the module that defines it.
_HOMES = {
    "Config": "nnbp.config",
    "Model": "nnbp.model",
    "Network": "nnbp.network",
    "NnbpError": "nnbp.errors",
    "Report": "nnbp.metrics",
    "Run": "nnbp.training",
    "load": "nnbp.model",
    "train": "nnbp.training",
}

if TYPE_CHECKING:
    from nnbp import datasets
    from nnbp.config import Config
    from nnbp.errors import NnbpError
    from nnbp.model import Model, Report, load
    from nnbp.network import Network
    from nnbp.training import Run, train


def __getattr__(name: str) -> Any:
    if name == "datasets":
        return importlib.import_module("nnbp.datasets")
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'nnbp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
