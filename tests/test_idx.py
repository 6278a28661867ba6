"""Tests for nnbp.idx: round trips, and a one-line DataError for every malformed file."""

import gzip
import os
import re
import struct
import time
import tracemalloc

import idx2numpy
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnbp import idx
from nnbp.errors import DataError
from nnbp.idx import MAX_IDX_BYTES, read_idx, read_images, read_labels, read_pair, write_idx

# Hypothesis reuses tmp_path across examples; each example overwrites its own file.
FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


def header(code: int, *dims: int) -> bytes:
    """An IDX header: two zero bytes, dtype code, ndim, then big-endian uint32 dims."""
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def put(path, data: bytes, gz: bool = False):
    """Write raw bytes (gzip-compressed if ``gz``) and return the path."""
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def raises_naming(path, match: str = ""):
    """pytest.raises(DataError) whose one-line message names ``path`` (and ``match``)."""
    return pytest.raises(DataError, match=f"^{re.escape(str(path))}.*{match}")


# --- round trips -------------------------------------------------------------

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(7,), (3, 4), (2, 3, 5), (1, 1, 1, 2)]


@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_round_trip(tmp_path, suffix, dtype, shape):
    a = (np.arange(np.prod(shape)).reshape(shape) - 3).astype(dtype)
    path = tmp_path / f"a{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == shape
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable and b.dtype.isnative
    b[...] = 0  # really writeable, not a view of immutable bytes


def test_written_bytes_are_idx2numpy_encoding(tmp_path):
    a = np.arange(12, dtype=">i4").reshape(3, 4)  # big-endian input is normalised
    write_idx(tmp_path / "a.idx", a)
    assert (tmp_path / "a.idx").read_bytes() == idx2numpy.convert_to_string(a.astype(np.int32))
    write_idx(tmp_path / "a.idx.gz", a)
    raw = (tmp_path / "a.idx.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == idx2numpy.convert_to_string(a.astype(np.int32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_array_encoder_matches_idx2numpy(monkeypatch, dtype):
    a = (np.arange(60).reshape(3, 4, 5) * 7 - 50).astype(dtype)
    expected = idx2numpy.convert_to_string(a)
    monkeypatch.setattr(idx, "_IDX2NUMPY_MAX_ELEMENTS", 10)  # force the numpy path
    assert idx._encode("x", a) == expected


def test_gzip_detected_by_magic_not_extension(tmp_path):
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    data = idx2numpy.convert_to_string(a)
    np.testing.assert_array_equal(read_idx(put(tmp_path / "gz.idx", data, gz=True)), a)
    np.testing.assert_array_equal(read_idx(put(tmp_path / "plain.gz", data)), a)


def test_gzip_output_is_deterministic(tmp_path):
    write_idx(tmp_path / "a.idx.gz", np.arange(100, dtype=np.uint8))
    raw = (tmp_path / "a.idx.gz").read_bytes()
    assert raw[4:8] == bytes(4)  # gzip mtime field zero: same array, same bytes


@FIXTURE_OK
@given(
    a=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6)), gz=st.booleans()
)
def test_round_trip_property(tmp_path, a, gz):
    path = tmp_path / ("p.idx.gz" if gz else "p.idx")
    write_idx(path, a)
    np.testing.assert_array_equal(read_idx(path), a)


def test_images_labels_and_pair(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([0, 9, 4], dtype=np.uint8)
    write_idx(tmp_path / "i.gz", images)
    write_idx(tmp_path / "l.gz", labels)
    x, y = read_pair(tmp_path / "i.gz", str(tmp_path / "l.gz"), num_classes=10)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert x.dtype == y.dtype == np.uint8


def test_write_is_atomic_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "a.idx"
    write_idx(path, np.ones(3, np.uint8))

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with raises_naming(path, "No space left"):
        write_idx(path, np.zeros(5, np.uint8))
    assert os.listdir(tmp_path) == ["a.idx"]
    np.testing.assert_array_equal(read_idx(path), np.ones(3, np.uint8))


@pytest.mark.parametrize(
    "array",
    [np.zeros((0, 3), np.uint8), np.array(5, np.uint8), np.ones(3, bool), np.ones(3, np.uint16)],
    ids=["empty", "0-d", "bool", "uint16"],
)
def test_write_rejects_unencodable_arrays(tmp_path, array):
    with raises_naming(tmp_path / "a.idx", "cannot write"):
        write_idx(tmp_path / "a.idx", array)
    assert os.listdir(tmp_path) == []


def test_write_into_missing_directory(tmp_path):
    with raises_naming(tmp_path / "no" / "a.idx", "cannot write"):
        write_idx(tmp_path / "no" / "a.idx", np.ones(3, np.uint8))


# --- malformed files -----------------------------------------------------------

LABELS3 = header(0x08, 3) + bytes([1, 2, 3])
IMAGES = header(0x08, 2, 2, 2) + bytes(range(8))

MALFORMED = {
    "empty": (b"", "empty"),
    "short": (b"\x00\x00\x08", "too short"),
    "bad magic": (b"\x12\x34\x08\x01" + LABELS3[4:], "not an IDX file.*0x12 0x34"),
    "bad magic second byte": (b"\x00\x01\x08\x01" + LABELS3[4:], "not an IDX file"),
    "unknown dtype": (header(0x0A, 3) + b"abc", "unknown IDX dtype code 0x0A"),
    "zero dims": (bytes([0, 0, 8, 0]) + b"x", "0 dimensions"),
    "short dims": (bytes([0, 0, 8, 3]) + b"\x00\x00\x00\x02", "truncated IDX header"),
    "truncated payload": (header(0x08, 60000, 28, 28) + bytes(1000), "truncated.*60000x28x28"),
    "trailing data": (LABELS3 + b"\x00", "trailing data"),
    "huge header": (header(0x08, 0xFFFFFFFF, 0xFFFFFFFF) + bytes(10), "limit"),
    "huge float header": (header(0x0E, 2**28) + bytes(8), "limit"),  # 2 GiB of float64
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_file(tmp_path, case, gz):
    data, match = MALFORMED[case]
    path = put(tmp_path / "bad.idx", data, gz)
    with raises_naming(path, match):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_lying_header_fails_fast_without_allocating(tmp_path, gz):
    # Just under the cap (1 GiB declared), a few bytes present: must not allocate it.
    path = put(tmp_path / "liar.idx", header(0x08, MAX_IDX_BYTES) + bytes(100), gz)
    tracemalloc.start()
    start = time.monotonic()
    with raises_naming(path, "truncated"):
        read_idx(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 2**20 and time.monotonic() - start < 2


def test_gzip_bomb_reads_only_declared_size(tmp_path):
    # 3 declared labels followed by 200 MB of zeros (about 200 kB compressed).
    path = tmp_path / "bomb.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(LABELS3)
        for _ in range(20):
            f.write(bytes(10 * 2**20))
    tracemalloc.start()
    with raises_naming(path, "trailing data"):
        read_idx(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 2**20


@pytest.mark.parametrize(
    "data, match",
    [
        (gzip.compress(IMAGES)[:-12], "corrupt or truncated gzip"),  # cut inside the stream
        (gzip.compress(IMAGES)[:-4], "corrupt or truncated gzip"),  # size trailer missing
        (b"\x1f\x8bthis is not gzip at all", "corrupt or truncated gzip"),
        (gzip.compress(IMAGES) + b"garbage!", "gzip"),
        (gzip.compress(IMAGES)[:10] + b"\xff" * 30, "gzip"),
    ],
    ids=["truncated", "no trailer", "not gzip", "garbage after member", "bad deflate"],
)
def test_broken_gzip(tmp_path, data, match):
    path = put(tmp_path / "x.gz", data)
    with raises_naming(path, match):
        read_idx(path)


def test_missing_file(tmp_path):
    with raises_naming(tmp_path / "nope.gz", "not found"):
        read_idx(tmp_path / "nope.gz")


def test_directory(tmp_path):
    with raises_naming(tmp_path, "directory"):
        read_idx(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file(tmp_path):
    path = put(tmp_path / "secret.idx", LABELS3)
    path.chmod(0)
    with raises_naming(path, "cannot read"):
        read_idx(path)


@pytest.mark.parametrize(
    "data, match",
    [
        (header(0x08, 4) + bytes(4), "expected an IDX images file.*0x00000801"),
        (header(0x08, 2, 2) + bytes(4), "expected an IDX images file.*uint8, 2-D"),
        (header(0x09, 1, 2, 2) + bytes(4), "expected an IDX images file.*int8"),
        (header(0x08, 1, 1, 2, 2) + bytes(4), "uint8, 4-D"),
    ],
    ids=["1-D", "2-D", "int8", "4-D"],
)
def test_read_images_rejects_other_shapes(tmp_path, data, match):
    path = put(tmp_path / "imgs.gz", data, gz=True)
    with raises_naming(path, match):
        read_images(path)


@pytest.mark.parametrize(
    "data, match",
    [
        (header(0x08, 2, 2) + bytes(4), "expected an IDX labels file.*uint8, 2-D"),
        (header(0x0C, 2) + bytes(8), "expected an IDX labels file.*int32"),
        (IMAGES, "0x00000803"),
    ],
    ids=["2-D", "int32", "images"],
)
def test_read_labels_rejects_other_shapes(tmp_path, data, match):
    path = put(tmp_path / "labels", data)
    with raises_naming(path, match):
        read_labels(path)


def test_label_out_of_range(tmp_path):
    path = put(tmp_path / "labels", header(0x08, 5) + bytes([1, 2, 12, 3, 10]))
    with raises_naming(path, "label 12 at index 2.*0..9"):
        read_labels(path, num_classes=10)
    assert read_labels(path, num_classes=13).tolist() == [1, 2, 12, 3, 10]
    with pytest.raises(ValueError):
        read_labels(path, num_classes=0)


def test_read_pair_mismatched_counts(tmp_path):
    images = put(tmp_path / "imgs", IMAGES)  # 2 images
    labels = put(tmp_path / "labels", LABELS3)  # 3 labels
    with pytest.raises(DataError, match=f"{images} holds 2 images but {labels} holds 3 labels"):
        read_pair(images, labels)


def test_read_pair_checks_label_range(tmp_path):
    images = put(tmp_path / "imgs", header(0x08, 3, 1, 1) + bytes(3))
    labels = put(tmp_path / "labels", LABELS3)
    with raises_naming(labels, "label 3 at index 2"):
        read_pair(images, labels, num_classes=3)


# --- fuzzing: anything either reads or raises DataError ------------------------


def read_or_data_error(path) -> None:
    try:
        a = read_idx(path)
    except DataError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)
    else:
        assert isinstance(a, np.ndarray) and a.flags.writeable


@settings(FIXTURE_OK, max_examples=300)
@given(data=st.binary(max_size=64), prefix=st.sampled_from([b"", b"\x00\x00", b"\x1f\x8b"]))
def test_arbitrary_bytes(tmp_path, data, prefix):
    read_or_data_error(put(tmp_path / "fuzz", prefix + data))


VALID = [LABELS3, IMAGES, header(0x0D, 2, 2) + struct.pack(">4f", 1, 2, 3, 4)]


@settings(FIXTURE_OK, max_examples=300)
@given(
    base=st.sampled_from(VALID),
    gz=st.booleans(),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 200)),
    extra=st.binary(max_size=8),
)
def test_mutated_valid_files(tmp_path, base, gz, edits, cut, extra):
    data = bytearray(gzip.compress(base) if gz else base)
    for pos, value in edits:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    read_or_data_error(put(tmp_path / "mutant", bytes(data) + extra))
