"""The datasets nnbp knows by name: their files, checksums, classes, and how to fetch them.

Each dataset is four gzipped IDX files. A file is accepted when the SHA-256 of its
*decompressed* content matches the table, so a mirror that recompressed the files (other
gzip level, stripped header) is as good as the original. Fetching streams each file into
a temporary file beside its destination, verifies it, then renames it into place: a
partial or wrong download never sits under the final name.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnbp import download
from nnbp.download import verify_file
from nnbp.errors import BadSource, DataError

MIRROR_ENV = "NNBP_DATA_MIRROR"
"""Environment variable naming a local directory or URL that holds ``<dataset>/<file>``."""
DATA_DIR_ENV = "NNBP_DATA_DIR"
"""Environment variable naming the data directory (``data`` when unset): datasets live in
``<data directory>/<name>/``, fetched or packed ones alike."""

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
FILE_NAMES = (  # the canonical names, in ROLES order, shared by MNIST and Fashion-MNIST
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@dataclass(frozen=True)
class Dataset:
    """A known dataset: its four files, where to get them, and its classes.

    ``files`` maps each role in ROLES to (file name, SHA-256 hex of the decompressed
    content); ``urls`` are public base URLs (ending in ``/``) tried in order.
    """

    name: str
    files: dict[str, tuple[str, str]] = field(hash=False)
    urls: tuple[str, ...]
    class_names: tuple[str, ...]
    image_shape: tuple[int, int] = (28, 28)
    # How image files are made into inputs for networks trained on it (prepare.STYLES):
    # "digit" as MNIST's digits, "object" as Fashion-MNIST's products.
    preparation: str = "digit"

    @property
    def num_classes(self) -> int:
        """How many classes the labels range over (labels are 0..num_classes-1)."""
        return len(self.class_names)


def _files(*sha256: str) -> dict[str, tuple[str, str]]:
    return {
        role: (name, digest) for role, name, digest in zip(ROLES, FILE_NAMES, sha256, strict=True)
    }


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset(
        name="mnist",
        files=_files(
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
        urls=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        class_names=tuple(str(digit) for digit in range(10)),
    ),
    "fashion-mnist": Dataset(
        name="fashion-mnist",
        files=_files(
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
        urls=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        ),
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        preparation="object",
    ),
}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data directory: ``root`` when given, else ``$NNBP_DATA_DIR``, else ``data``."""
    return Path(root if root is not None else os.environ.get(DATA_DIR_ENV) or "data")


def unknown(name: str, root: str | os.PathLike | None = None) -> str | None:
    """Why ``name`` names no dataset (neither known nor packed under ``root``), or None."""
    if name in DATASETS:
        return None
    from nnbp import packed

    if "/" in name or "\\" in name or name.startswith(".") or not name:
        return f"dataset {name!r}: expected a dataset name, not a path"
    directory = data_root(root) / name
    if (directory / packed.META_FILE).is_file():
        return None
    return (
        f"dataset {name!r}: not a known dataset ({', '.join(DATASETS)}) and no packed dataset"
        f" in {directory}/ (make one with `nnbp data pack FOLDER --out {name}`)"
    )


def get_dataset(name: str, root: str | os.PathLike | None = None) -> Dataset:
    """The Dataset called ``name``: a known one, or one packed into ``root/<name>/`` by
    ``nnbp data pack`` (its dataset.json read and checked); DataError otherwise."""
    if name in DATASETS:
        return DATASETS[name]
    from nnbp import packed

    problem = unknown(name, root)
    if problem:
        raise DataError(problem)
    meta = packed.read(data_root(root) / name)
    files = {role: (meta["files"][role]["name"], meta["files"][role]["sha256"]) for role in ROLES}
    return Dataset(
        name=name, files=files, urls=(), class_names=tuple(meta["class_names"]),
        image_shape=tuple(meta["image_shape"]), preparation=meta["preparation"],
    )  # fmt: skip


def dataset_paths(name: str, root: str | os.PathLike | None = None) -> dict[str, Path]:
    """Where the dataset's files live: role -> ``root/<name>/<file name>`` (root: see
    ``data_root``)."""
    dataset = get_dataset(name, root)
    directory = data_root(root) / dataset.name
    return {role: directory / file for role, (file, _) in dataset.files.items()}


def _sources(dataset: Dataset, file: str, mirror: str | None) -> list[str]:
    """Where to look for ``file``, in order: the mirror (if any), then the public URLs."""
    public = [base + file for base in dataset.urls]
    if not mirror:
        return public
    if "://" not in mirror:
        return [str(Path(mirror).expanduser() / dataset.name / file), *public]
    if urllib.parse.urlsplit(mirror).scheme not in ("file", "http", "https"):
        raise DataError(f"{MIRROR_ENV}={mirror}: expected a directory or a file/http/https URL")
    return [f"{mirror.rstrip('/')}/{dataset.name}/{file}", *public]


def fetch(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    mirror: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Make sure the dataset's four files are under ``root/<name>/`` and verified.

    ``root`` is the data directory (default ``$NNBP_DATA_DIR``, else ``data``). A file
    already present with the right decompressed SHA-256 is kept; a packed dataset's files
    are only verified, having no other source. Otherwise the sources are tried in order --
    ``mirror`` (a directory or file/http/https URL holding ``<name>/<file>``; by default
    ``$NNBP_DATA_MIRROR``), then the public URLs -- and the first one that yields the
    right content wins. Returns role -> path. Raises DataError naming the file and every
    source tried, with the reason for each.
    """
    root = data_root(root)
    dataset = get_dataset(name, root)
    paths = dataset_paths(name, root)
    say = progress or (lambda message: None)
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    directory = root / dataset.name
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            f"{directory}: cannot create the data directory: {download.reason(e)}"
        ) from None
    for role, (file, sha256) in dataset.files.items():
        dest, label = paths[role], f"{dataset.name}/{file}"
        if dest.exists():
            if verify_file(dest, sha256):
                say(f"{label}: ok, already present")
                continue
            say(f"{label}: present but not the expected content, fetching it again")
        if not dataset.urls:
            what = "missing" if not dest.exists() else "not the content it was packed with"
            raise DataError(f"{dest}: {what}; pack {dataset.name} again with `nnbp data pack`")
        failures = []
        for source in _sources(dataset, file, mirror):
            try:
                say(download.fetch_one(source, dest, sha256, say))
                break
            except (OSError, http.client.HTTPException, BadSource) as e:
                failures.append(f"{source} ({download.reason(e)})")
                say(f"{label}: {source} failed: {download.reason(e)}")
        else:
            raise DataError(f"{dest}: could not fetch {label}; tried " + "; ".join(failures))
    return paths


Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load(
    name: str | Mapping[str, str | os.PathLike] = "mnist",
    root: str | os.PathLike | None = None,
    *,
    download: bool = True,
) -> Arrays:
    """``((train_images, train_labels), (test_images, test_labels))`` as NumPy arrays.

    ``name`` is a known dataset (fetched into ``root/<name>/`` first unless ``download``
    is False; root: ``$NNBP_DATA_DIR``, else ``data``), a packed one (``nnbp data pack``)
    or a mapping of the four roles (``train_images``, ``train_labels``,
    ``test_images``, ``test_labels``) to IDX files. Images are uint8 (n, rows, cols),
    labels integer classes (n,), as in ``keras.datasets.mnist.load_data()``.
    """
    from nnbp import idx

    if isinstance(name, str):
        paths = fetch(name, root) if download else dataset_paths(name, root)
    else:
        missing = [role for role in ROLES if role not in name]
        if missing:
            raise DataError(f"dataset files: no {missing[0]} given (expected {', '.join(ROLES)})")
        paths = {role: Path(name[role]) for role in ROLES}
    train = idx.read_pair(paths["train_images"], paths["train_labels"])
    test = idx.read_pair(paths["test_images"], paths["test_labels"])
    return train, test
