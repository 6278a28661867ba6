"""nnbp data pack: class folders -> a packed dataset that trains by name; hostile folders."""

from __future__ import annotations

import errno
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import assert_one_error_line
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import nnbp
from nnbp import config, data, datasets, folders, idx, pack, packed
from nnbp.errors import ConfigError, DataError, UsageError
from nnbp.image import MAX_PIXELS, load_image

CLASSES = ("bars", "dots", "empty-ish")


def picture(k: int, rng: np.random.Generator, side: int = 16) -> np.ndarray:
    """uint8 (side, side): class k lights up its own band of rows, on a noisy dark field."""
    a = rng.integers(0, 40, size=(side, side), dtype=np.uint8)
    a[4 * k + 2 : 4 * k + 5, 2:-2] = 230
    return a


def make_folder(root: Path, n: int = 12, classes=CLASSES, seed: int = 0) -> Path:
    """``root/<class>/<i>.png``: n pictures per class, alternately gray and RGB."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            im = Image.fromarray(picture(k, rng), "L")
            (im.convert("RGB") if i % 2 else im).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "pictures")


def plain(folder: Path, root: Path, **options) -> pack.Packed:
    """pack() in the plain style at 16x16 (the pictures' own size) into ``root``."""
    options = {"style": "plain", "size": 16, "root": root, **options}
    return pack.pack(folder, options.pop("name", "shapes"), **options)


def test_pack_writes_mnist_files_and_the_description(folder, tmp_path):
    result = plain(folder, tmp_path / "data", test_fraction=0.25, seed=3)
    target = tmp_path / "data" / "shapes"
    assert result.directory == target and result.class_names == list(CLASSES)
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [*(name for name, _ in datasets.DATASETS["mnist"].files.values()), packed.META_FILE]
    )
    assert result.counts == {"train": [9, 9, 9], "test": [3, 3, 3]}  # 25% of each class
    meta = packed.read(target)
    assert meta["class_names"] == list(CLASSES) and meta["preparation"] == "plain"
    assert meta["image_shape"] == [16, 16] and meta["counts"] == result.counts
    assert (meta["seed"], meta["test_fraction"], meta["skipped"]) == (3, 0.25, 0)
    (x, y), (x_test, y_test) = datasets.load("shapes", tmp_path / "data")  # verified by sha256
    assert x.shape == (27, 16, 16) and x_test.shape == (9, 16, 16)
    # Every file is in exactly one of the sets, with its class's label.
    expected = {
        (k, load_image(p, style="plain", size=(16, 16)).tobytes())
        for k, name in enumerate(CLASSES)
        for p in sorted((folder / name).iterdir())
    }
    got = [(int(k), a.tobytes()) for k, a in zip([*y, *y_test], [*x, *x_test], strict=True)]
    assert sorted(got) == sorted(expected)
    assert list(y) != sorted(y)  # shuffled, so the last training images are of every class


def test_the_split_is_seeded(folder, tmp_path):
    a = plain(folder, tmp_path / "a", seed=1)
    b = plain(folder, tmp_path / "b", seed=1)
    c = plain(folder, tmp_path / "c", seed=2)
    files = [f for f, _ in datasets.DATASETS["mnist"].files.values()]
    read = [[(r.directory / f).read_bytes() for f in files] for r in (a, b, c)]
    assert read[0] == read[1] and read[0] != read[2]
    assert a.counts == {"train": [10, 10, 10], "test": [2, 2, 2]}  # the default: 20%


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=2, max_size=60),
    st.floats(0.01, 0.99),
    st.integers(0, 2**32 - 1),
)
def test_stratified_split_partitions_each_class(labels, fraction, seed):
    labels = np.array(labels)
    train, test = pack.stratified_split(labels, fraction, np.random.default_rng(seed))
    assert sorted([*train, *test]) == list(range(len(labels)))
    for k in np.unique(labels):
        n, n_test = np.count_nonzero(labels == k), np.count_nonzero(labels[test] == k)
        if n == 1:
            assert n_test == 0  # a lone image trains
        else:
            assert n_test == min(max(round(fraction * n), 1), n - 1)


def test_a_test_folder_gives_the_test_set(tmp_path):
    train = make_folder(tmp_path / "train", n=6)
    test = make_folder(tmp_path / "test", n=4, seed=1)
    result = plain(train, tmp_path / "data", test=test)
    assert result.counts == {"train": [6, 6, 6], "test": [4, 4, 4]}
    assert packed.read(result.directory)["test_fraction"] is None


def test_cli_pack_prints_counts_and_config_lines_that_train(invoke, folder, tmp_path):
    result = invoke("data", "pack", folder, "--out", "shapes", "--style", "plain", "--size", 16)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"packed shapes into {Path('data', 'shapes')}: 16x16 images")
    assert "bars            10        2" in lines and "skipped: 0 files" in lines
    config_text = result.stdout.split("# config lines that train on it")[1].split("\n", 1)[1]
    raw = yaml.safe_load(config_text)
    assert raw == {
        "name": "shapes",
        "data": {"dataset": "shapes", "validation_size": 3},
        "network": {"sizes": [256, 30, 3]},
    }
    raw["training"] = {"epochs": 3, "eta": 3.0, "seed": 1}
    (tmp_path / "shapes.yaml").write_text(yaml.safe_dump(raw))
    trained = invoke("train", tmp_path / "shapes.yaml")
    assert trained.exit_code == 0, trained.output
    model = nnbp.load()
    assert model.class_names == list(CLASSES) and model.preparation == "plain"
    predicted = invoke("predict", folder / "dots" / "000.png")
    assert predicted.exit_code == 0 and predicted.stdout.rstrip().endswith("\tdots")
    as_json = invoke("data", "pack", folder, "--out", "shapes", "--overwrite", "--json")
    summary = json.loads(as_json.stdout)
    assert summary["preparation"] == "digit" and summary["counts"]["test"] == [2, 2, 2]
    assert summary["config"]["network"]["sizes"] == [784, 30, 3]


def test_explicit_data_keys_take_the_packed_names_and_preparation(folder, tmp_path):
    result = plain(folder, tmp_path / "data")
    paths = datasets.dataset_paths("shapes", tmp_path / "data")
    cfg = config.Config.from_dict(
        {
            "data": {**{k: str(p) for k, p in paths.items()}, "validation_size": 0},
            "network": {"sizes": [256, 10, 3]},
        }  # fmt: skip
    )
    assert data.class_names(cfg) == result.class_names
    assert data.preparation(cfg) == "plain"
    elsewhere = tmp_path / "copied"
    elsewhere.mkdir()
    for path in paths.values():  # the same files without dataset.json: no names
        (elsewhere / path.name).write_bytes(path.read_bytes())
    cfg = cfg.with_overrides({f"data.{role}": str(elsewhere / p.name) for role, p in paths.items()})
    assert data.class_names(cfg) == ["0", "1", "2"] and data.preparation(cfg) == "digit"


def test_the_data_directory_comes_from_nnbp_data_dir(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "store"))
    result = pack.pack(folder, "shapes", style="plain", size=16)
    assert result.directory == tmp_path / "store" / "shapes"
    cfg = config.Config.from_dict({"data": {"dataset": "shapes"}, "network": {"sizes": [256, 3]}})
    assert cfg.data.dir == str(tmp_path / "store")
    assert data.data_paths(cfg)["test_labels"].parent == result.directory
    # An explicit data.dir wins over the environment.
    with pytest.raises(ConfigError, match="data.dataset: dataset 'shapes': not a known dataset"):
        config.Config.from_dict({"data": {"dataset": "shapes", "dir": "elsewhere"}})


def test_data_fetch_goes_to_nnbp_data_dir(invoke, mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.MIRROR_ENV, str(mnist_dir))  # a copy, not a download
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "store"))
    result = invoke("data", "fetch", "mnist")
    assert result.exit_code == 0, result.output
    files = [Path(line) for line in result.stdout.splitlines()]
    assert files == list(datasets.dataset_paths("mnist", tmp_path / "store").values())
    assert all(f.is_file() for f in files)


# --- hostile folders: one Error: line and nothing written, or a counted skip -------------


def nothing_written(tmp_path: Path) -> bool:
    """No dataset and no temporary folder under the runner's data/."""
    root = tmp_path / "data"
    return not root.exists() or not any(root.iterdir())


def test_a_file_that_is_no_image_is_skipped_and_counted(invoke, folder, tmp_path):
    (folder / "dots" / "notes.txt").write_text("not a picture")
    result = invoke("data", "pack", folder, "--out", "shapes")
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: skipped ")
    assert str(folder / "dots" / "notes.txt") in warnings[0]
    assert "skipped: 1 files" in result.stdout
    assert packed.read(tmp_path / "data" / "shapes")["skipped"] == 1
    strict = invoke("data", "pack", folder, "--out", "other", "--strict")
    assert_one_error_line(strict, 1, str(folder / "dots" / "notes.txt"))
    assert "--strict" in strict.stderr
    assert not (tmp_path / "data" / "other").exists()


def test_an_image_over_the_pixel_limit_is_skipped(invoke, folder, tmp_path):
    def chunk(kind: bytes, content: bytes) -> bytes:
        return (
            struct.pack(">I", len(content))
            + kind
            + content
            + struct.pack(">I", zlib.crc32(kind + content))
        )

    side = int(MAX_PIXELS**0.5) + 1  # a PNG declaring side x side pixels, holding none
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    png = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    (folder / "bars" / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + png)
    result = invoke("data", "pack", folder, "--out", "shapes")
    assert result.exit_code == 0, result.output
    assert "pixel limit" in result.stderr and "huge.png" in result.stderr
    assert "skipped: 1 files" in result.stdout


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: [p.unlink() for p in (f / "dots").iterdir()], "dots: no images in this class"),
        (lambda f: [os.rename(f / c, f.parent / c) for c in CLASSES[1:]],
         "expected at least 2 class folders, found only 'bars'"),
        (lambda f: [os.rename(f / c, f.parent / c) for c in CLASSES], "found none"),
        (lambda f: [p.unlink() for c in CLASSES for p in (f / c).iterdir() if p.name != "000.png"],
         "every class has a single image: none can be held out for testing"),
    ],
)  # fmt: skip
def test_folders_that_cannot_make_a_dataset(invoke, folder, tmp_path, damage, message):
    damage(folder)
    result = invoke("data", "pack", folder, "--out", "shapes")
    assert_one_error_line(result, 1, message)
    assert nothing_written(tmp_path)


def test_a_class_of_files_that_are_no_images_is_an_error(invoke, folder, tmp_path):
    for path in (folder / "dots").iterdir():
        path.write_text("?")
    result = invoke("data", "pack", folder, "--out", "shapes")
    assert result.exit_code == 1
    *warnings, error = result.stderr.strip().splitlines()
    assert len(warnings) == 12 and all(w.startswith("warning: skipped ") for w in warnings)
    assert error == f"Error: {folder / 'dots'}: no images in this class folder"
    assert nothing_written(tmp_path)


def test_an_unreadable_folder_is_one_error(invoke, folder, tmp_path, monkeypatch):
    real = os.scandir
    locked = folder / "dots"

    def scandir(path="."):
        if Path(path) == locked:  # as chmod 000 does for anyone but root
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(folders.os, "scandir", scandir)
    result = invoke("data", "pack", folder, "--out", "shapes")
    assert_one_error_line(result, 1, f"{locked}: cannot read the folder (Permission denied)")
    assert nothing_written(tmp_path)


def test_symlink_loops_are_skipped_not_followed(invoke, folder, tmp_path):
    (folder / "dots" / "again").symlink_to(folder / "dots", target_is_directory=True)
    (folder / "bars" / "a.png").symlink_to(folder / "bars" / "b.png")
    (folder / "bars" / "b.png").symlink_to(folder / "bars" / "a.png")
    result = invoke("data", "pack", folder, "--out", "shapes")
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 3 and all(w.startswith("warning: skipped ") for w in warnings)
    assert any("again: a link to a folder already read (a symlink loop)" in w for w in warnings)
    assert "skipped: 3 files" in result.stdout
    assert packed.read(tmp_path / "data" / "shapes")["counts"]["train"] == [10, 10, 10]


def test_files_outside_class_folders_are_left_out_with_a_warning(invoke, folder):
    (folder / "README.txt").write_text("my digits")
    result = invoke("data", "pack", folder, "--out", "shapes")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        "warning: 1 files outside the class folders left out (README.txt)"
    )


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--out", "mnist"], 2, "--out mnist: a dataset nnbp fetches"),
        (["--out", "../x"], 2, "--out ../x: expected a dataset's name"),
        (["--out", "s", "--test", "t", "--test-fraction", "0.1"], 2, "exclude each other"),
        (["--out", "s", "--test-fraction", "1"], 2, "--test-fraction 1: expected a number"),
        (["--out", "s", "--test", "nowhere"], 1, "nowhere: no such folder"),
        (["--out", "s", "--style", "photo"], 2, "Invalid value for '--style'"),
    ],
)
def test_bad_options_are_one_error_line(invoke, folder, tmp_path, args, code, message):
    result = invoke("data", "pack", folder, *args)
    assert_one_error_line(result, code, message)
    assert nothing_written(tmp_path)


def test_a_test_folder_needs_the_same_classes(invoke, tmp_path):
    train = make_folder(tmp_path / "train", n=4)
    test = make_folder(tmp_path / "test", n=2, classes=("bars", "dots"))
    result = invoke("data", "pack", train, "--out", "s", "--test", test)
    assert_one_error_line(result, 1, "no class folder 'empty-ish'")


def test_an_existing_dataset_is_replaced_only_when_asked(invoke, folder, tmp_path):
    assert invoke("data", "pack", folder, "--out", "shapes").exit_code == 0
    again = invoke("data", "pack", folder, "--out", "shapes", "--seed", "5")
    assert_one_error_line(again, 2, "exists; pass --overwrite to replace it")
    assert packed.read(tmp_path / "data" / "shapes")["seed"] == 0
    replaced = invoke("data", "pack", folder, "--out", "shapes", "--seed", "5", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert packed.read(tmp_path / "data" / "shapes")["seed"] == 5
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["shapes"]
    (tmp_path / "data" / "mine").mkdir()
    (tmp_path / "data" / "mine" / "thesis.tex").write_text("precious")
    refused = invoke("data", "pack", folder, "--out", "mine", "--overwrite")
    assert_one_error_line(refused, 1, "exists and is not a packed dataset; not replacing it")
    assert (tmp_path / "data" / "mine" / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     KeyboardInterrupt()])  # fmt: skip
def test_a_failed_write_leaves_the_previous_dataset(folder, tmp_path, monkeypatch, failure):
    first = plain(folder, tmp_path / "data", seed=1)
    before = {p.name: p.read_bytes() for p in first.directory.iterdir()}
    real, calls = idx.write_idx, []

    def write_idx(path, array, **kw):
        calls.append(path)
        if len(calls) == 3:  # two files written, the third fails
            raise failure
        real(path, array, **kw)

    monkeypatch.setattr(idx, "write_idx", write_idx)
    with pytest.raises(DataError if isinstance(failure, OSError) else KeyboardInterrupt):
        plain(folder, tmp_path / "data", seed=2, overwrite=True)
    assert {p.name: p.read_bytes() for p in first.directory.iterdir()} == before
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["shapes"]  # no temporary left
    calls.clear()
    with pytest.raises(DataError if isinstance(failure, OSError) else KeyboardInterrupt):
        plain(folder, tmp_path / "data", name="fresh", seed=2)
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["shapes"]


def test_worker_processes_read_what_one_process_reads(tmp_path):
    scanned = folders.scan(make_folder(tmp_path / "f", n=20))
    one = pack.read_classes(scanned, "digit", 28, workers=1)
    two = pack.read_classes(scanned, "digit", 28, workers=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_progress_shows_for_large_folders(invoke, folder, monkeypatch):
    from nnbp.cli import data as cli_data

    monkeypatch.setattr(cli_data, "PROGRESS_FROM", 10)
    result = invoke("data", "pack", folder, "--out", "shapes")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1] == "read 36/36 files"


def test_an_unknown_dataset_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError) as e:
        config.Config.from_dict({"data": {"dataset": "cifar", "dir": str(tmp_path)}})
    assert "not a known dataset (mnist, fashion-mnist)" in str(e.value)
    assert "`nnbp data pack FOLDER --out cifar`" in str(e.value)
    with pytest.raises(UsageError):
        pack.pack(tmp_path, "latest/x")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: "not json", "cannot read a packed dataset's description"),
        (lambda m: {**m, "format": "other"}, "not a packed dataset's description"),
        (lambda m: {**m, "format_version": 99}, "format_version 99 is not one this nnbp reads"),
        (lambda m: {**m, "class_names": ["one"]}, "'class_names' must list at least 2 names"),
        (lambda m: {**m, "image_shape": [0, 16]}, "'image_shape' must be [rows, cols]"),
        (lambda m: {**m, "preparation": "sepia"}, "'preparation' must be one of digit"),
        (lambda m: {**m, "files": {**m["files"], "test_labels": {"name": "../x", "sha256": ""}}},
         "'files' must give a file name and sha256"),
    ],
)  # fmt: skip
def test_a_damaged_description_is_one_error_line(invoke, folder, tmp_path, change, message):
    plain(folder, tmp_path / "data")
    path = tmp_path / "data" / "shapes" / packed.META_FILE
    changed = change(json.loads(path.read_text()))
    path.write_text(changed if isinstance(changed, str) else json.dumps(changed))
    (tmp_path / "c.yaml").write_text("data: {dataset: shapes}\nnetwork: {sizes: [256, 3]}\n")
    result = invoke("train", tmp_path / "c.yaml")
    assert_one_error_line(result, 1, message)
    assert str(Path("data", "shapes", packed.META_FILE)) in result.stderr


def test_a_damaged_idx_file_of_a_packed_dataset_is_one_error_line(invoke, folder, tmp_path):
    plain(folder, tmp_path / "data")
    (tmp_path / "data" / "shapes" / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "c.yaml").write_text("data: {dataset: shapes}\nnetwork: {sizes: [256, 3]}\n")
    result = invoke("train", tmp_path / "c.yaml")
    assert_one_error_line(result, 1, "file not found; pack shapes again with `nnbp data pack`")
