"""Hostile input: every bad file is refused with a one-line error, in bounded time and memory.

Each case runs ``python -m nnbp`` in a subprocess whose address space is capped
(RLIMIT_AS) and whose run time is capped by a timeout: a file that made nnbp allocate
what its header claims, or hang, fails the test instead of the machine. The fuzz tests
(hypothesis) feed arbitrary and mutated bytes to the loaders: the answer is a valid
result or nnbp's own error, never another exception.
"""

from __future__ import annotations

import gzip
import io
import os
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnbp import config, idx, model_file
from nnbp.errors import ConfigError, ModelFileError
from nnbp.network import Network

MEMORY_CAP = 1 << 30  # 1 GiB of address space: several times what these commands need
TIME_CAP = 60  # seconds: a hang detector, far above the fraction of a second they take


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def nnbp(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}  # fewer BLAS buffers under the cap
    return subprocess.run(
        [sys.executable, "-m", "nnbp", *map(str, args)], cwd=cwd, env=env, text=True,
        capture_output=True, timeout=TIME_CAP, preexec_fn=_limits,
    )  # fmt: skip


def refused(result: subprocess.CompletedProcess, code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert text in lines[0]


@pytest.fixture
def weights(tmp_path) -> Path:
    path = tmp_path / "w.npz"
    net = Network.create([784, 8, 10], np.random.default_rng(0))
    model_file.save(path, net, input_shape=(28, 28), class_names=list("0123456789"),
                    config_sha256="x")  # fmt: skip
    return path


@pytest.fixture
def labels(tmp_path) -> Path:
    path = tmp_path / "labels.idx"
    idx.write_idx(path, np.zeros(10, np.uint8))
    return path


def test_idx_header_claiming_more_than_the_file(tmp_path, weights, labels):
    liar = tmp_path / "liar.idx"
    liar.write_bytes(struct.pack(">IIII", 0x803, 0xFFFFFFFF, 28, 28) + bytes(1000))
    refused(nnbp("evaluate", weights, "--images", liar, "--labels", labels, cwd=tmp_path), 1,
            str(liar))  # fmt: skip
    gz = tmp_path / "liar.idx.gz"
    gz.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 10**6, 28, 28) + bytes(1000)))
    refused(nnbp("evaluate", weights, "--images", gz, "--labels", labels, cwd=tmp_path), 1,
            str(gz))  # fmt: skip


def test_gzip_bomb(tmp_path, weights, labels):
    """A 1 MB .gz that inflates to 1 GiB: reading stops at what the header declares."""
    bomb = tmp_path / "bomb-images.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    with open(bomb, "wb") as f:
        f.write(packer.compress(struct.pack(">IIII", 0x803, 10, 28, 28)))
        zeros = bytes(1 << 24)
        for _ in range(64):
            f.write(packer.compress(zeros))
        f.write(packer.flush())
    assert bomb.stat().st_size < 2 << 20
    result = nnbp("evaluate", weights, "--images", bomb, "--labels", labels, cwd=tmp_path)
    refused(result, 1, str(bomb))


def _alias_bomb(leaf: str) -> str:
    levels = ["&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 12):
        name, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        levels.append(f"&{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return leaf.replace("BOMB", "[" + ", ".join(levels) + "]")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_alias_bomb("network: {sizes: BOMB}\n"), "network.sizes: expected a list"),
        (_alias_bomb("training: {eta: BOMB}\n"), "training.eta: expected a number"),
        # libyaml in PyYAML 6.0.4 refuses this depth; older ones parse it, and the key is
        # refused instead: one line either way, in bounded time (the file is small).
        ("a: " + "[" * 20000 + "]" * 20000 + "\n", ("not valid YAML", "a: unknown key")),
        ("x: [" + ", ".join(["1"] * 40000) + "]\n", "bytes, not a config file"),
    ],
)
def test_yaml_that_expands_or_nests_without_bound(tmp_path, text, message):
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    result = nnbp("config", "show", path, cwd=tmp_path)
    expected = (message,) if isinstance(message, str) else message
    refused(result, 2, next((m for m in expected if m in result.stderr), expected[0]))


def test_image_declaring_an_enormous_size(tmp_path, weights):
    png = io.BytesIO()
    from PIL import Image

    Image.new("L", (8, 8)).save(png, "PNG")
    data = bytearray(png.getvalue())
    # IHDR starts at byte 8: length, type, then width and height; fix its CRC after.
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path = tmp_path / "huge.png"
    path.write_bytes(bytes(data))
    refused(nnbp("predict", "--weights", weights, path, cwd=tmp_path), 1, str(path))


def test_weights_file_declaring_a_huge_array(tmp_path):
    path = tmp_path / "w.npz"
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (1 << 40,)}
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("w0.npy", buf.getvalue() + bytes(64))
    refused(nnbp("evaluate", path, "--images", path, "--labels", path, cwd=tmp_path), 1,
            "declares 8796093022208 bytes")  # fmt: skip


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_and_directories_as_paths(tmp_path, weights, labels, device):
    if not Path(device).exists():
        pytest.skip(f"no {device}")
    refused(nnbp("config", "show", device, cwd=tmp_path), 2, "not a regular file")
    refused(nnbp("config", "show", tmp_path, cwd=tmp_path), 2, "")
    refused(nnbp("evaluate", device, cwd=tmp_path), 1, device)
    refused(nnbp("evaluate", weights, "--images", device, "--labels", labels, cwd=tmp_path),
            1, device)  # fmt: skip
    refused(nnbp("predict", "--weights", weights, device, cwd=tmp_path), 1, device)
    refused(nnbp("predict", "--weights", weights, tmp_path, cwd=tmp_path), 1, str(tmp_path))


def test_a_fifo_is_refused_not_waited_on(tmp_path, weights):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    refused(nnbp("config", "show", fifo, cwd=tmp_path), 2, "not a regular file")
    refused(nnbp("predict", "--weights", weights, fifo, cwd=tmp_path), 1, str(fifo))


# --- fuzz: the loaders answer with a result or their own error, nothing else ------------

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2000))
def test_fuzz_config_loader_with_arbitrary_bytes(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    try:
        config.load(path)
    except ConfigError as e:
        assert "\n" not in str(e)


_VALID_CONFIG = (Path(__file__).resolve().parent.parent / "configs" / "mnist.yaml").read_bytes()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(_VALID_CONFIG) - 1), st.integers(0, 255)), max_size=8
    ),  # fmt: skip
    cut=st.integers(0, len(_VALID_CONFIG)),
)
def test_fuzz_config_loader_with_mutated_config(tmp_path, edits, cut):
    data = bytearray(_VALID_CONFIG)
    for at, value in edits:
        data[at] = value
    path = tmp_path / "mutated.yaml"
    path.write_bytes(bytes(data[:cut]))
    try:
        config.load(path)
    except ConfigError as e:
        assert "\n" not in str(e)


def _valid_weights() -> bytes:
    import tempfile

    net = Network.create([6, 3, 2], np.random.default_rng(0))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.npz"
        model_file.save(path, net, input_shape=(2, 3), class_names=["a", "b"], config_sha256="x")
        return path.read_bytes()


_VALID_WEIGHTS = _valid_weights()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=3000),
        st.tuples(
            st.lists(
                st.tuples(st.integers(0, len(_VALID_WEIGHTS) - 1), st.integers(0, 255)), max_size=6
            ),  # fmt: skip
            st.integers(0, len(_VALID_WEIGHTS)),
        ).map(lambda t: _mutate(_VALID_WEIGHTS, *t)),
    )
)
def test_fuzz_model_file_loader(tmp_path, data):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        net, meta = model_file.load(path)
    except ModelFileError as e:
        assert "\n" not in str(e)
    else:
        assert net.sizes == [int(n) for n in np.load(path)["sizes"]]


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    out = bytearray(data)
    for at, value in edits:
        out[at] = value
    return bytes(out[:cut]) if cut else bytes(out)
