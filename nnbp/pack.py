"""``nnbp data pack``: a folder of images, one subfolder per class -> a dataset nnbp trains on.

The images are prepared as ``nnbp predict`` prepares them (image.load_image, in the style
asked for), split into training and test sets (a seeded split stratified by class, or a
separate test folder), shuffled, and written as MNIST's four gzipped IDX files plus
``dataset.json`` (packed.py) into ``<data directory>/<name>/``. The files are written into
a temporary folder beside it that is renamed into place at the end: the dataset appears
whole or not at all. Files are read by a pool of processes when there are many (image
decoding is mostly Python and holds the GIL, so threads do not help; docs/PACK_EXPORT.md
has the measurements).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import checks, datasets, folders, idx, packed
from nnbp.errors import DataError, ImageError, UsageError

# --style: the name users know -> the preparation (prepare.STYLES) weights files record.
PACK_STYLES = {"mnist": "digit", "fashion-mnist": "object", "plain": "plain"}
DEFAULT_TEST_FRACTION = 0.2
MAX_SIZE = 1024  # pixels per side: far beyond what a fully-connected network can take in
PARALLEL_FROM = 500  # files: below this, starting worker processes costs more than it saves
_CHUNK = 64  # files per task sent to a worker process
_MAX_WORKERS = 8

OnSkip = Callable[[str, str], None]  # (path, reason) of a file left out
OnProgress = Callable[[int, int], None]  # (files read, files in all)


@dataclass(frozen=True)
class Packed:
    """A packed dataset: where it is, its classes and how many images of each it holds."""

    name: str
    directory: Path
    class_names: list[str]
    preparation: str
    image_shape: tuple[int, int]
    counts: dict[str, list[int]]  # "train" / "test" -> images per class
    skipped: list[tuple[str, str]]  # (path, reason) of each file left out
    ignored: list[str]  # files outside the class folders
    data_dir: str | None = None  # the data directory, when not the default one

    def config(self) -> dict[str, Any]:
        """The config keys that train on this dataset: a start, to be tuned."""
        n_train = sum(self.counts["train"])
        data: dict[str, Any] = {"dataset": self.name}
        if self.data_dir is not None:
            data["dir"] = self.data_dir
        # A tenth of the training images, the last ones (shuffled), held out for validation.
        data["validation_size"] = n_train // 10
        n_in = self.image_shape[0] * self.image_shape[1]
        return {"name": self.name, "data": data,
                "network": {"sizes": [n_in, 30, len(self.class_names)]}}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: what ``nnbp data pack --json`` prints."""
        return {
            "name": self.name,
            "directory": str(self.directory),
            "class_names": self.class_names,
            "preparation": self.preparation,
            "image_shape": list(self.image_shape),
            "counts": self.counts,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "ignored": self.ignored,
            "config": self.config(),
        }


def _check_name(name: str) -> None:
    try:
        checks.dataset(name)
    except ValueError as e:
        raise UsageError(f"--out {name}: expected {e}") from None
    if name in datasets.DATASETS:
        raise UsageError(f"--out {name}: a dataset nnbp fetches; choose another name")


def _read_one(path: str, preparation: str, size: int) -> tuple[np.ndarray | None, str]:
    """(image, "") or (None, why it cannot be read): one file, in a worker process."""
    from nnbp.image import load_image

    try:
        return load_image(path, style=preparation, size=(size, size)), ""
    except ImageError as e:
        return None, str(e)


def _workers(n_files: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if n_files < PARALLEL_FROM:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, _MAX_WORKERS))


def _results(
    paths: Sequence[str], preparation: str, size: int, workers: int
) -> Iterator[tuple[np.ndarray | None, str]]:
    """``_read_one`` of each path, in order, by ``workers`` processes (1: in this one)."""
    prep, sizes = [preparation] * len(paths), [size] * len(paths)
    if workers == 1:
        yield from map(_read_one, paths, prep, sizes)
        return
    pool = ProcessPoolExecutor(workers)
    try:
        yield from pool.map(_read_one, paths, prep, sizes, chunksize=_CHUNK)
    finally:  # an error or --strict stops the reading: the files not yet read are dropped
        pool.shutdown(cancel_futures=True)


def read_classes(
    folder: folders.Folder, preparation: str, size: int, *, strict: bool = False,
    on_skip: OnSkip | None = None, on_progress: OnProgress | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(uint8 images (n, size, size), uint8 labels (n,)) of every readable file of ``folder``.

    A file that is not an image (or too large, or unreadable) is added to
    ``folder.skipped`` and reported to ``on_skip``; with ``strict`` it is a DataError.
    A class left without images is a DataError naming its folder.
    """
    paths = [p for files in folder.classes.values() for p in files]
    labels = np.repeat(np.arange(len(folder.classes)), [len(f) for f in folder.classes.values()])
    images = np.zeros((len(paths), size, size), np.uint8)
    keep = np.zeros(len(paths), bool)
    results = _results(paths, preparation, size, _workers(len(paths), workers))
    with contextlib.closing(results):
        for i, (image, reason) in enumerate(results):
            if image is None:
                if strict:
                    raise DataError(f"{reason} (--strict: every file must be an image)")
                folder.skipped.append((paths[i], reason))
                if on_skip is not None:
                    on_skip(paths[i], reason)
            else:
                images[i], keep[i] = image, True
            if on_progress is not None and ((i + 1) % 1000 == 0 or i + 1 == len(paths)):
                on_progress(i + 1, len(paths))
    counts = np.bincount(labels[keep], minlength=len(folder.classes))
    for name, count in zip(folder.classes, counts, strict=True):
        if count == 0:
            raise DataError(f"{Path(folder.root, name)}: no images in this class folder")
    return images[keep], labels[keep].astype(np.uint8)


def stratified_split(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices), both shuffled: ``fraction`` of each class (rounded,
    at least one image, and at least one left for training) goes to the test set."""
    train, test = [], []
    for k in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == k))
        n_test = min(max(round(fraction * len(members)), 1), len(members) - 1)
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def pack(
    source: str | os.PathLike, name: str, *, test: str | os.PathLike | None = None,
    test_fraction: float | None = None, style: str = "mnist", size: int = 28, seed: int = 0,
    strict: bool = False, root: str | os.PathLike | None = None, overwrite: bool = False,
    on_skip: OnSkip | None = None, on_progress: OnProgress | None = None,
    workers: int | None = None,
) -> Packed:  # fmt: skip
    """Pack the class folders of ``source`` into ``<root>/<name>/`` (root: see
    datasets.data_root); the test set is the class folders of ``test``, or else a
    ``test_fraction`` (default 0.2) of each class drawn with ``seed``.

    ``style`` is one of PACK_STYLES; images become ``size`` x ``size``. Files that are
    not images are skipped (``on_skip(path, reason)``; ``strict``: DataError instead);
    ``on_progress(done, total)`` follows the reading. Nothing is written unless all of it
    is: any error leaves the data directory as it was.
    """
    fraction = _check_options(name, test, test_fraction, style, size)
    target = datasets.data_root(root) / name
    packed.check_target(target, overwrite)
    parts = _scan(source, test, size, strict, on_skip)
    preparation = PACK_STYLES[style]
    read = {
        key: read_classes(part, preparation, size, strict=strict, on_skip=on_skip,
                          on_progress=on_progress, workers=workers)
        for key, part in parts.items()
    }  # fmt: skip
    arrays = _split(read, fraction, np.random.default_rng(seed))
    class_names = list(parts["train"].classes)
    counts = {
        key: np.bincount(arrays[f"{key}_labels"], minlength=len(class_names)).tolist()
        for key in ("train", "test")
    }
    skipped = [s for part in parts.values() for s in part.skipped]
    meta = {
        "name": name, "class_names": class_names, "image_shape": [size, size],
        "preparation": preparation, "counts": counts, "skipped": len(skipped), "seed": seed,
        "test_fraction": None if test is not None else fraction,
    }  # fmt: skip
    packed.write_dataset(target, arrays, meta)
    data_dir = None if root is None else os.fspath(root)
    return Packed(name, target, class_names, preparation, (size, size), counts, skipped,
                  [p for part in parts.values() for p in part.ignored], data_dir)  # fmt: skip


def _check_options(
    name: str, test: object, test_fraction: float | None, style: str, size: int
) -> float:
    """UsageError for options that cannot work together; the test fraction to use."""
    _check_name(name)
    if style not in PACK_STYLES:
        raise UsageError(f"style {style!r}: expected one of {', '.join(PACK_STYLES)}")
    if test is not None and test_fraction is not None:
        raise UsageError("--test and --test-fraction exclude each other")
    fraction = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
    if not 0 < fraction < 1:
        raise UsageError(f"--test-fraction {fraction:g}: expected a number between 0 and 1")
    if not 1 <= size <= MAX_SIZE:
        raise UsageError(f"--size {size}: expected 1 to {MAX_SIZE} pixels")
    return fraction


def _scan(
    source: str | os.PathLike, test: str | os.PathLike | None, size: int, strict: bool,
    on_skip: OnSkip | None,
) -> dict[str, folders.Folder]:  # fmt: skip
    """The class folders of ``source`` (and ``test``), checked before any image is read."""
    parts = {"train": folders.scan(source)}
    if test is not None:
        parts["test"] = folders.scan(test)
    _check_classes(parts)
    n_files = sum(part.n_files for part in parts.values())
    if n_files * size * size > idx.MAX_IDX_BYTES:
        raise DataError(f"{source}: {n_files} images of {size}x{size} pixels exceed the"
                        f" {idx.MAX_IDX_BYTES}-byte limit of an IDX file")  # fmt: skip
    for part in parts.values():
        for path, reason in part.skipped:  # folders the scan could not read, loops
            if strict:
                raise DataError(f"{path}: {reason} (--strict: every file must be an image)")
            if on_skip is not None:
                on_skip(path, reason)
    return parts


def _check_classes(parts: dict[str, folders.Folder]) -> None:
    """At least two classes, and the test folder's classes exactly the training folder's."""
    train = parts["train"]
    if len(train.classes) < 2:
        found = f"only {next(iter(train.classes))!r}" if train.classes else "none"
        raise DataError(f"{train.root}: expected at least 2 class folders, found {found}")
    if "test" in parts and list(parts["test"].classes) != list(train.classes):
        test = parts["test"]
        extra = sorted(set(test.classes) - set(train.classes))
        missing = sorted(set(train.classes) - set(test.classes))
        problem = f"no class folder {missing[0]!r}" if missing else f"an extra class {extra[0]!r}"
        raise DataError(f"{test.root}: {problem}; the test folder needs the training folder's"
                        " classes, no more, no fewer")  # fmt: skip


def _split(
    read: dict[str, tuple[np.ndarray, np.ndarray]], fraction: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The four arrays, by role: the test folder's images or a stratified split, shuffled."""
    images, labels = read["train"]
    if "test" in read:
        train = rng.permutation(len(labels))
        test_images, test_labels = read["test"]
        order = rng.permutation(len(test_labels))
        test_images, test_labels = test_images[order], test_labels[order]
    else:
        train, test = stratified_split(labels, fraction, rng)
        if len(test) == 0:
            raise DataError("every class has a single image: none can be held out for testing;"
                            " give a --test folder")  # fmt: skip
        test_images, test_labels = images[test], labels[test]
    return {"train_images": images[train], "train_labels": labels[train],
            "test_images": test_images, "test_labels": test_labels}  # fmt: skip
