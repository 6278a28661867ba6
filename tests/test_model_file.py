"""weights.npz: round trip, metadata, and every kind of file it refuses."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from nnbp import __version__, model_file
from nnbp.errors import ModelFileError
from nnbp.network import Network


def _save(path, net=None, **kw):
    net = net or Network.create([6, 4, 3], np.random.default_rng(0))
    model_file.save(
        path, net, input_shape=(2, 3), class_names=["a", "b", "c"], config_sha256="abc", **kw
    )
    return net


def test_round_trip_keeps_arrays_and_metadata(tmp_path):
    path = tmp_path / "weights.npz"
    net = _save(path)
    loaded, meta = model_file.load(path)
    assert loaded.sizes == [6, 4, 3] and loaded.cost == "quadratic"
    for p, q in zip(net.w + net.b, loaded.w + loaded.b, strict=True):
        np.testing.assert_array_equal(p, q)
        assert p.dtype == q.dtype
    assert meta == {
        "format": "nnbp-weights",
        "format_version": 1,
        "nnbp_version": __version__,
        "activation": "sigmoid",
        "cost": "quadratic",
        "dtype": "float32",
        "input_shape": [2, 3],
        "input_scaling": "pixel / 255",
        "class_names": ["a", "b", "c"],
        "config_sha256": "abc",
        "output_activation": "sigmoid",
        "epoch": None,
        "preparation": "digit",
    }
    # Loads with plain numpy and no pickles.
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["b0", "b1", "metadata", "sizes", "w0", "w1"]
    assert [p.name for p in tmp_path.iterdir()] == ["weights.npz"]  # no temp file left


def _rewrite(path, change):
    """Load the archive's arrays, let ``change`` edit the dict, write it back."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(path, **arrays)


def _set_meta(**fields):
    def change(arrays):
        meta = json.loads(str(arrays["metadata"][()]))
        meta.update(fields)
        arrays["metadata"] = np.array(json.dumps(meta))

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set_meta(format_version=2), "format version 2 is newer than this nnbp reads"),
        (_set_meta(format="other"), "not an nnbp weights file (format is not 'nnbp-weights')"),
        (_set_meta(cost="hinge"), "unsupported activation/cost"),
        (lambda a: a.update(metadata=np.array("{nope")), "the metadata entry is not JSON"),
        (lambda a: a.pop("metadata"), "no 'metadata' or 'sizes' entry"),
        (lambda a: a.update(sizes=np.array([6, 5, 3])), "layer 0 has weights (4, 6)"),
        (lambda a: a.update(sizes=np.array([6, 4, 3, 2])), "disagree with sizes [6, 4, 3, 2]"),
        (lambda a: a.update(sizes=np.array([6.0, 4, 3])), "'sizes' must list at least 2"),
        (lambda a: a.update(w0=a["w0"].astype(np.int32)), "layer 0 is int32/float32"),
        (lambda a: a.update(b1=a["b1"][:2]), "layer 1 has weights (3, 4) and biases (2,)"),
    ],
)
def test_inconsistent_files_are_refused(tmp_path, change, message):
    path = tmp_path / "weights.npz"
    _save(path)
    _rewrite(path, change)
    with pytest.raises(ModelFileError) as e:
        model_file.load(path)
    assert str(e.value).startswith(str(path)) and message in str(e.value)


class _Payload:
    """Unpickling this would create a file: proof that something ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_objects_are_never_loaded(tmp_path):
    path = tmp_path / "weights.npz"
    marker = tmp_path / "executed"
    _save(path)
    _rewrite(path, lambda a: a.update(metadata=np.array([_Payload(marker)], dtype=object)))
    with pytest.raises(ModelFileError, match="entry metadata.npy holds Python objects"):
        model_file.load(path)
    assert not marker.exists()


def test_a_small_file_declaring_a_huge_array_is_refused_without_allocating(tmp_path):
    path = tmp_path / "weights.npz"
    _save(path)
    # Rewrite the w0 entry's header to claim 2**40 float32 values, keeping its 96 bytes.
    with zipfile.ZipFile(path) as z:
        entries = {name: z.read(name) for name in z.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**20, 2**20)}
    )
    old = io.BytesIO(entries["w0.npy"])
    np.lib.format.read_magic(old)
    np.lib.format.read_array_header_1_0(old)
    entries["w0.npy"] = header.getvalue() + old.read()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    with pytest.raises(ModelFileError, match="entry w0.npy declares 4398046511104 bytes"):
        model_file.load(path)


def test_truncated_garbage_missing_and_directory(tmp_path):
    path = tmp_path / "weights.npz"
    _save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a readable weights file"):
        model_file.load(path)
    path.write_bytes(b"hello, I am not a zip file at all")
    with pytest.raises(ModelFileError):
        model_file.load(path)
    with pytest.raises(ModelFileError, match="weights file not found"):
        model_file.load(tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match="weights file is not a file"):
        model_file.load(tmp_path)


def test_a_zip_that_is_not_npz(tmp_path):
    path = tmp_path / "weights.npz"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hi")
    path.write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError):
        model_file.load(path)


def test_an_unwritable_destination_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="cannot write"):
        _save(tmp_path / "no-such-dir" / "weights.npz")
