"""Tests for nnbp.datasets: fetch from a fake mirror, verification, failures. No network."""

import functools
import gzip
import hashlib
import http.server
import os
import re
import threading
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nnbp import datasets, download, idx
from nnbp.datasets import DATASETS, ROLES, Dataset, dataset_paths, fetch, get_dataset
from nnbp.download import verify_file
from nnbp.errors import DataError

NAMES = {  # role -> canonical file name
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A 'tiny' dataset registered in DATASETS, its files in a mirror directory.

    The public URLs are file:// URLs of directories that do not exist, so a test that
    falls through to them fails fast and offline.
    """
    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror"
    (mirror / "tiny").mkdir(parents=True)
    arrays = {
        "train_images": rng.integers(0, 256, (6, 4, 4), dtype=np.uint8),
        "train_labels": rng.integers(0, 3, 6, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (2, 4, 4), dtype=np.uint8),
        "test_labels": rng.integers(0, 3, 2, dtype=np.uint8),
    }
    files = {}
    for role, array in arrays.items():
        path = mirror / "tiny" / NAMES[role]
        idx.write_idx(path, array)
        files[role] = (NAMES[role], hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest())
    public = [tmp_path / "public1", tmp_path / "public2"]  # not created: unreachable
    urls = tuple(directory.as_uri() + "/" for directory in public)
    dataset = Dataset("tiny", files, urls, ("a", "b", "c"), image_shape=(4, 4))
    monkeypatch.setitem(DATASETS, "tiny", dataset)
    return SimpleNamespace(
        dataset=dataset,
        mirror=mirror,
        root=tmp_path / "data",
        arrays=arrays,
        urls=urls,
        public=public,
    )


def run_fetch(fake, mirror):
    """fetch('tiny') into fake.root; returns (paths, progress messages)."""
    messages: list[str] = []
    paths = fetch("tiny", fake.root, mirror=mirror, progress=messages.append)
    return paths, messages


def assert_fetched(fake, paths):
    assert paths == dataset_paths("tiny", fake.root)
    images, labels = idx.read_pair(paths["train_images"], paths["train_labels"], 3)
    np.testing.assert_array_equal(images, fake.arrays["train_images"])
    np.testing.assert_array_equal(labels, fake.arrays["train_labels"])
    # Only the four final files: no temporary file left behind.
    assert sorted(p.name for p in (fake.root / "tiny").iterdir()) == sorted(NAMES.values())


def test_fetch_from_mirror_directory_then_skip(fake):
    paths, messages = run_fetch(fake, str(fake.mirror))
    assert_fetched(fake, paths)
    assert len(messages) == 4
    assert all("copied from" in m and m.endswith("sha256 ok") for m in messages)
    assert messages[0].startswith(f"tiny/train-images-idx3-ubyte.gz: copied from {fake.mirror}")

    # Second time: everything is present and verified, no source is even looked at.
    paths, messages = run_fetch(fake, str(fake.root / "no-such-mirror"))
    assert_fetched(fake, paths)
    assert messages == [f"tiny/{name}: ok, already present" for name in NAMES.values()]


def test_recompressed_mirror_file_is_accepted(fake):
    path = fake.mirror / "tiny" / NAMES["train_images"]
    original = path.read_bytes()
    with open(path, "wb") as raw, gzip.GzipFile("other-name", "wb", 9, raw, mtime=12345) as gz:
        gz.write(gzip.decompress(original))
    assert path.read_bytes() != original
    paths, _ = run_fetch(fake, str(fake.mirror))
    assert_fetched(fake, paths)


@pytest.mark.parametrize(
    "corrupt, reason",
    [
        (lambda data: gzip.compress(gzip.decompress(data)[:-1] + b"\x07"), "sha256"),
        (lambda data: data[:-6], "not a valid gzip file"),
        (lambda data: b"<html>404</html>", "not a valid gzip file"),
    ],
    ids=["wrong content", "truncated gzip", "not gzip"],
)
def test_corrupt_mirror_file(fake, corrupt, reason):
    path = fake.mirror / "tiny" / NAMES["train_images"]
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(DataError) as info:
        run_fetch(fake, str(fake.mirror))
    message = str(info.value)
    final = fake.root / "tiny" / NAMES["train_images"]
    assert message.startswith(f"{final}: could not fetch tiny/train-images-idx3-ubyte.gz")
    assert f"{path} ({reason}" in message and "\n" not in message
    assert list((fake.root / "tiny").iterdir()) == []  # no final file, no temp file


def test_all_sources_failing_names_each(fake):
    empty = fake.root.parent / "empty-mirror"
    empty.mkdir()
    with pytest.raises(DataError) as info:
        run_fetch(fake, str(empty))
    message = str(info.value)
    tried = [empty / "tiny" / NAMES["train_images"]] + [
        u + NAMES["train_images"] for u in fake.urls
    ]
    for source in tried:
        assert f"{source} (not found)" in message
    assert list((fake.root / "tiny").iterdir()) == []


def test_falls_back_to_public_url(fake):
    # The mirror has a wrong file; the second public URL has the right one.
    good = fake.mirror / "tiny"
    bad = fake.root.parent / "bad-mirror"
    (bad / "tiny").mkdir(parents=True)
    for name in NAMES.values():
        (bad / "tiny" / name).write_bytes(gzip.compress(b"wrong"))
    good.rename(fake.public[1])
    paths, messages = run_fetch(fake, str(bad))
    assert_fetched(fake, paths)
    assert f"{bad / 'tiny' / NAMES['train_images']} failed: sha256" in messages[0]
    assert f"copied from {fake.urls[1]}" in messages[-1]


def test_file_url_mirror(fake):
    paths, messages = run_fetch(fake, fake.mirror.as_uri() + "/")
    assert_fetched(fake, paths)
    assert f"copied from {fake.mirror.as_uri()}/tiny/" in messages[0]


def test_present_but_corrupt_file_is_replaced(fake):
    final = fake.root / "tiny" / NAMES["test_labels"]
    final.parent.mkdir(parents=True)
    final.write_bytes(b"garbage")
    paths, messages = run_fetch(fake, str(fake.mirror))
    assert_fetched(fake, paths)
    assert "present but not the expected content" in messages[-2]


def test_unsupported_mirror_scheme(fake):
    with pytest.raises(DataError, match=f"^{datasets.MIRROR_ENV}=ftp://h/x: expected a directory"):
        run_fetch(fake, "ftp://h/x")


@pytest.fixture
def http_mirror(fake, monkeypatch):
    """The fake mirror served over HTTP on 127.0.0.1 (loopback only, no network)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=fake.mirror)
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_mirror_with_percentages(fake, http_mirror, monkeypatch):
    monkeypatch.setattr(download, "_CHUNK", 16)  # small chunks: tiny files count as large
    paths, messages = run_fetch(fake, http_mirror)
    assert_fetched(fake, paths)
    first = f"tiny/train-images-idx3-ubyte.gz: downloaded from {http_mirror}/tiny/"
    assert any(m.startswith(first) and m.endswith("kB), sha256 ok") for m in messages)
    percents = [m for m in messages if re.fullmatch(r"tiny/\S+: \d\d% of \d+\.\d kB", m)]
    assert percents and all(m.startswith("tiny/") for m in percents)


def test_http_404_is_a_reason(fake, http_mirror):
    (fake.mirror / "tiny" / NAMES["train_images"]).unlink()
    with pytest.raises(DataError, match=r"/tiny/train-images-idx3-ubyte.gz \(HTTP 404 "):
        run_fetch(fake, http_mirror)


def test_verify_file(fake, tmp_path):
    good = fake.mirror / "tiny" / NAMES["train_labels"]
    sha = fake.dataset.files["train_labels"][1]
    assert verify_file(good, sha) and verify_file(str(good), sha.upper())
    assert not verify_file(good, "0" * 64)
    (tmp_path / "plain").write_bytes(gzip.decompress(good.read_bytes()))
    (tmp_path / "cut.gz").write_bytes(good.read_bytes()[:-5])
    for path in (tmp_path / "plain", tmp_path / "cut.gz", tmp_path / "missing.gz", tmp_path):
        assert not verify_file(path, sha)


def test_get_dataset_and_paths(tmp_path):
    assert get_dataset("mnist").num_classes == 10
    assert get_dataset("mnist").class_names == tuple("0123456789")
    assert get_dataset("fashion-mnist").class_names[-1] == "Ankle boot"
    with pytest.raises(DataError, match="'cifar'.*mnist, fashion-mnist"):
        get_dataset("cifar")
    paths = dataset_paths("fashion-mnist", tmp_path)
    assert list(paths) == list(ROLES)
    assert paths["test_labels"] == tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    assert dataset_paths("mnist")["train_images"] == Path("data/mnist/train-images-idx3-ubyte.gz")
    for dataset in DATASETS.values():
        assert {name for name, _ in dataset.files.values()} == set(NAMES.values())
        assert dataset.urls and all(url.endswith("/") for url in dataset.urls)
        assert dataset.image_shape == (28, 28)


@pytest.fixture(scope="module")
def mirror_readme() -> str:
    """The text of the data mirror's README.md ($NNBP_DATA_MIRROR, a directory or file://
    URL), which lists each file's checksums; skipped without one, a failure in CI."""
    mirror = os.environ.get(datasets.MIRROR_ENV, "")
    if mirror.startswith("file:"):
        mirror = urllib.parse.unquote(urllib.parse.urlsplit(mirror).path)
    readme = Path(mirror, "README.md") if mirror and "://" not in mirror else None
    if readme is None or not readme.is_file():
        reason = f"no README.md in ${datasets.MIRROR_ENV} ({mirror or 'not set'})"
        if os.environ.get("CI"):
            pytest.fail(f"the data mirror must be given in CI: {reason}")
        pytest.skip(reason)
    return readme.read_text()


def readme_table(readme: str, section: str) -> dict[str, str]:
    """file name -> decompressed sha256, from the README's table for ``section``/."""
    text = readme.split(f"## {section}/", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\S+\.gz) \|(?:[^|]*\|){3} ([0-9a-f]{64}) \|", text, re.M)
    return dict(rows)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_checksums_match_the_mirrors_readme(mirror_readme, name):
    table = readme_table(mirror_readme, name)
    assert len(table) == 4
    assert dict(DATASETS[name].files.values()) == table
    if name == "fashion-mnist":
        names = re.search(r"Class names in label order:\s*(.*?)\.\n", mirror_readme, re.S)
        assert DATASETS[name].class_names == tuple(names[1].replace("\n", " ").split(", "))
