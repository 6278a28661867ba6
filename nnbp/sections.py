"""The config's sections: every key with its default, its meaning and its check.

Each field's metadata holds ``check`` (a function of checks.py: raw value -> clean value,
or ValueError saying what was expected) and ``doc`` (the meaning shown by ``nnbp config
keys`` and in the README). config.py reads files and dicts into these.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from nnbp import checks
from nnbp.augment import AUGMENTATIONS
from nnbp.costs import COSTS
from nnbp.network import DTYPES, INITS

REGULARIZATIONS = ("l2", "l1")
KEEP = ("best", "last")


def key(default: Any, check: Any, doc: str) -> Any:
    """A config key: a dataclass field with its default, check and meaning."""
    return field(default=default, metadata={"check": check, "doc": doc})


@dataclass(frozen=True)
class DataConfig:
    dataset: str = key(
        "mnist",
        checks.dataset,
        "mnist or fashion-mnist (`nnbp data fetch`), or a dataset made by `nnbp data pack`",
    )
    dir: str = key(
        "data",
        checks.path,
        "where datasets live: <dir>/<dataset>/ (relative to the cwd); unset: $NNBP_DATA_DIR"
        " when that is set",
    )
    train_images: str | None = key(
        None, checks.optional_path, "explicit IDX file of training images, instead of the dataset's"
    )
    train_labels: str | None = key(
        None, checks.optional_path, "explicit IDX file of training labels"
    )
    test_images: str | None = key(None, checks.optional_path, "explicit IDX file of test images")
    test_labels: str | None = key(None, checks.optional_path, "explicit IDX file of test labels")
    validation_size: int = key(
        10000, checks.integer(0), "the last N training images are held out for validation; 0: none"
    )


@dataclass(frozen=True)
class NetworkConfig:
    sizes: tuple[int, ...] = key(
        (784, 30, 10), checks.sizes, "neurons per layer, input first; ends must fit the data"
    )
    cost: str = key(
        "quadratic",
        checks.choice(COSTS),
        "quadratic, cross-entropy (sigmoid outputs) or log-likelihood (softmax outputs)",
    )
    init: str = key(
        "large",
        checks.choice(INITS),
        "large: w, b ~ N(0, 1); scaled: w ~ N(0, 1/n_in), b ~ N(0, 1)",
    )


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = key(
        30, checks.integer(1), "passes over the training data (at most, with stopping rules)"
    )
    mini_batch_size: int = key(10, checks.integer(1), "examples per gradient step (m)")
    eta: float = key(3.0, checks.positive_float, "learning rate (eta), > 0")
    lmbda: float = key(
        0.0,
        checks.float_at_least(0.0),
        "regularisation strength lambda (n = training-set size); 0: none",
    )
    regularization: str = key(
        "l2", checks.choice(REGULARIZATIONS), "l2 or l1, applied when lmbda > 0"
    )
    momentum: float = key(
        0.0, checks.fraction, "momentum coefficient mu, 0 <= mu < 1; 0: plain SGD"
    )
    dropout: float = key(
        0.0,
        checks.fraction,
        "share p of hidden neurons left out of each step, 0 <= p < 1 (the rest scaled by"
        " 1/(1 - p), so evaluation uses every neuron as it is); 0: none",
    )
    halve_eta_after: int = key(
        0,
        checks.integer(0),
        "halve eta after N epochs without a better validation accuracy; 0: never",
    )
    max_halvings: int = key(
        7,
        checks.integer(1),
        "with halve_eta_after: stop after this many halvings (7: eta/128, the book's)",
    )
    early_stopping: int = key(
        0, checks.integer(0), "stop after N epochs without a better validation accuracy; 0: never"
    )
    keep: str = key(
        "best",
        checks.choice(KEEP),
        "weights.npz holds the best validation epoch (best) or the last",
    )
    augment: tuple[str, ...] = key(
        (),
        checks.names(AUGMENTATIONS),
        "distortions of the training images, drawn afresh each epoch: shift, flip, affine, elastic",
    )
    augment_options: dict[str, dict[str, float]] = key(
        None,
        checks.options,
        "per kind, e.g. {elastic: {alpha: 34, sigma: 4}, affine: {rotate: 10, shift: 2,"
        " scale: 0.1}, shift: {max_shift: 1}, flip: {p: 0.5}}; unset: those defaults",
    )
    trace: bool = key(
        False,
        checks.boolean,
        "record per-layer learning statistics (nnbp inspect's) in metrics.jsonl",
    )
    blas_threads: int = key(
        0,
        checks.integer(0),
        "BLAS threads for the SGD steps; 0: chosen from the shapes (1 for small ones)",
    )
    seed: int = key(
        0, checks.integer(0), "seed of the one random generator (initialisation, shuffling)"
    )
    dtype: str = key("float32", checks.choice(DTYPES), "floating point type: float32 or float64")


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "network": NetworkConfig,
    "training": TrainingConfig,
}


def key_paths() -> list[str]:
    """Every valid key path: ``name``, ``data.dataset``, ..."""
    paths = ["name"]
    for section, cls in SECTIONS.items():
        paths += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return paths


def describe_keys() -> list[tuple[str, Any, str]]:
    """(key path, default, meaning) for every key, for help texts and docs."""
    rows = [("name", "the config file's name", "run name: the run directory is runs/<name>/")]
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            rows.append((f"{section}.{f.name}", f.default, f.metadata["doc"]))
    return rows
