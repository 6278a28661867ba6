"""nnbp serve's JSON API on a real loopback server, without a browser: its answers are
``nnbp predict --json``'s records plus activations, hostile requests get JSON errors and
never stop it, 200 concurrent requests are all answered right."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import yaml
from serve_support import paper_digit, png, predict, request, running

import nnbp
from nnbp import metrics
from nnbp.activations import sigmoid
from nnbp.serve.predict import MAX_BODY

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def site(serve_home, tmp_path_factory) -> Path:
    """A copy of serve_home's runs with hostile neighbours: ``escape`` (a symlink to a run
    outside runs/), ``loop`` (a symlink to itself), ``leaky`` (a run whose config.yaml is
    a symlink to a secret outside), ``.hidden`` (a run with a hidden name)."""
    home = tmp_path_factory.mktemp("serve-site")
    runs = home / "runs"
    for name in ("mnist", "small"):
        shutil.copytree(serve_home / "runs" / name, runs / name)
    shutil.copytree(runs / "small", home / "outside" / "stolen")
    (runs / "escape").symlink_to(home / "outside" / "stolen")
    (runs / "loop").symlink_to(runs / "loop")
    (home / "secret.yaml").write_text("password: hunter2\n")
    for name in ("leaky", ".hidden"):
        shutil.copytree(runs / "small", runs / name)
    (runs / "leaky" / "config.yaml").unlink()
    (runs / "leaky" / "config.yaml").symlink_to(home / "secret.yaml")
    (runs / "latest").symlink_to("mnist")
    return home


@pytest.fixture(scope="module")
def base(site):
    with running(site / "runs" / "mnist") as url:
        yield url


def without_extras(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in ("input", "activations")}


@pytest.mark.parametrize("what", ["digit 0", "digit 1", "blank page"])
def test_an_image_is_answered_as_nnbp_predict_json_prints_it(
    what, base, site, mnist_test_digits, invoke
):
    images, _ = mnist_test_digits
    data = png(np.full((60, 80), 255, np.uint8)) if what == "blank page" else None
    data = data or paper_digit(images[int(what.split()[1])])
    path = Path("page.png").resolve()  # invoke runs in the test's own directory
    path.write_bytes(data)
    run = site / "runs" / "mnist"
    answer = predict(base, data, f"?name={quote(str(path))}")

    result = invoke("predict", "--json", "--weights", run, path)
    assert result.exit_code == 0, result.output
    assert without_extras(answer) == json.loads(result.stdout)
    model = nnbp.load(run)
    assert without_extras(answer) == model.predict_records([io.BytesIO(data)], names=[str(path)])[0]
    assert ("warning" in answer) == (what == "blank page")
    # What the network saw: the prepared image, scaled; its output layer, normalised,
    # gives the probabilities.
    prepared = model.prepare_images([path])[0].image
    assert np.allclose(answer["input"], prepared / 255, atol=1e-4)
    hidden, output = (np.array(a) for a in answer["activations"])
    assert hidden.shape == (30,) and output.shape == (10,)
    assert np.allclose(answer["probabilities"], output / output.sum(), atol=2e-6)


def test_pixels_sent_as_json_are_taken_as_prepared(base, site, mnist_test_digits):
    images, _ = mnist_test_digits
    model = nnbp.load(site / "runs" / "mnist")
    row = (images[7] / 255).ravel().tolist()
    answer = predict(base, json.dumps(row).encode(), content_type="application/json")
    assert answer["path"] == "pixels" and answer["label"] == model.predict(images[7:8])[0]
    assert np.allclose(answer["probabilities"], model.predict_proba(images[7:8])[0], atol=1e-6)
    assert np.allclose(np.array(answer["input"]).ravel(), row, atol=1e-4)


def test_activations_are_the_layers_of_the_book(site, mnist_test_digits):
    images, _ = mnist_test_digits
    model = nnbp.load(site / "runs" / "mnist")
    hidden, output = model.activations(images[:5])
    x = images[:5].reshape(5, -1) / 255
    w = [v.astype(np.float64) for v in model.network.w]
    b = [v.astype(np.float64) for v in model.network.b]
    assert np.allclose(hidden, sigmoid(x @ w[0].T + b[0]), rtol=1e-12)  # a = sigma(w x + b)
    assert np.allclose(output, sigmoid(hidden @ w[1].T + b[1]), rtol=1e-12)
    assert np.array_equal(metrics.probabilities(output), model.predict_proba(images[:5]))


def test_a_run_is_picked_by_name(base, mnist_test_digits):
    answer = predict(base, paper_digit(mnist_test_digits[0][0]), "?run=small")
    assert [len(a) for a in answer["activations"]] == [16, 10]


def test_the_runs_are_listed_without_the_ones_that_leave_the_directory(base, site):
    status, listing = request(base, "GET", "/api/runs")
    assert status == 200
    assert [r["name"] for r in listing["runs"]] == ["leaky", "mnist", "small"]
    assert listing["default"] == "mnist"
    mnist = listing["runs"][1]
    rows = metrics.read_log(site / "runs" / "mnist" / "metrics.jsonl")
    assert mnist["epochs"] == 4
    assert mnist["test_accuracy"] == rows[mnist["epoch"] - 1]["test_accuracy"]


def test_a_run_shows_its_files_and_its_test_report(base, site, mnist_test_digits):
    images, labels = mnist_test_digits
    status, run = request(base, "GET", "/api/runs/mnist")
    assert status == 200
    folder = site / "runs" / "mnist"
    assert run["metrics"] == metrics.read_log(folder / "metrics.jsonl")
    assert run["config"] == yaml.safe_load((folder / "config.yaml").read_text())
    assert run["sizes"] == [784, 30, 10] and run["epoch"] == nnbp.load(folder).epoch
    report = nnbp.load(folder).evaluate(images, labels)
    test = run["test"]
    assert test["confusion"] == report.confusion.tolist() and test["n"] == 10_000
    assert test["accuracy"] == report.accuracy
    assert 0 < len(test["errors"]) <= 8
    confidences = [e["confidence"] for e in test["errors"]]
    assert confidences == sorted(confidences, reverse=True)
    for error in test["errors"]:
        assert error["label"] == labels[error["index"]] != error["predicted"]
        assert error["image"] == images[error["index"]].tolist()


def test_a_config_symlinked_out_of_the_run_is_not_read(base):
    status, run = request(base, "GET", "/api/runs/leaky")
    assert status == 200 and run["config"] is None
    assert "hunter2" not in json.dumps(run)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG header declaring a width x height grayscale image, with no pixels after it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


JSON = {"Content-Type": "application/json"}
IMAGE = {"Content-Type": "image/png"}
NOT_READ = "cannot read as an image"
HOSTILE = {
    # name: (method, path, headers, body, status, part of the error)
    "not an image": ("POST", "/api/predict", IMAGE, b"hello, world", 400, NOT_READ),
    "empty body": ("POST", "/api/predict", IMAGE, b"", 400, "empty body"),
    "truncated PNG": ("POST", "/api/predict", IMAGE, None, 400, NOT_READ),
    "huge declared size": ("POST", "/api/predict", IMAGE, png_declaring(8000, 8000), 400,
                           "8000x8000 pixels, more than the 50000000-pixel limit"),
    "decompression bomb": ("POST", "/api/predict", IMAGE, png_declaring(100_000, 100_000), 400,
                           "refused as a possible decompression bomb"),
    "bad JSON": ("POST", "/api/predict", JSON, b"[0.5, ", 400, "not valid JSON"),
    "deep JSON": ("POST", "/api/predict", JSON, b"[" * 100_000, 400, "not valid JSON"),
    "too few pixels": ("POST", "/api/predict", JSON, b"[0.5, 0.5]", 400, "got 2 values"),
    "pixel out of range": ("POST", "/api/predict", JSON, json.dumps([2] * 784).encode(), 400,
                           "value 0 is 2"),
    "NaN pixel": ("POST", "/api/predict", JSON, b"[NaN" + b", 0" * 783 + b"]", 400,
                  "value 0 is NaN"),
    "not a list": ("POST", "/api/predict", JSON, b'{"pixels": 1}', 400, "got dict"),
    "declared too large": ("POST", "/api/predict", {**IMAGE, "Content-Length": str(MAX_BODY + 1)},
                           b"", 413, "over the limit"),
    "run ..": ("GET", "/api/runs/..", {}, None, 404, ""),
    "run %2e%2e": ("GET", "/api/runs/%2e%2e", {}, None, 404, ""),
    "run ..%2F..": ("GET", "/api/runs/..%2F..%2Fsecret.yaml", {}, None, 404, ""),
    "run absolute": ("GET", "/api/runs/%2Fetc%2Fpasswd", {}, None, 404, ""),
    "run symlinked out": ("GET", "/api/runs/escape", {}, None, 404, "no run called 'escape'"),
    "run symlink loop": ("GET", "/api/runs/loop", {}, None, 404, "no run called 'loop'"),
    "run hidden": ("GET", "/api/runs/.hidden", {}, None, 404, "no run called '.hidden'"),
    "run missing": ("GET", "/api/runs/nothere", {}, None, 404, "no run called 'nothere'"),
    "predict with run ..": ("POST", "/api/predict?run=..", IMAGE, b"x", 404, "no run called '..'"),
    "predict with run escape": ("POST", "/api/predict?run=escape", IMAGE, b"x", 404, "escape"),
    "static ..": ("GET", "/static/../catalog.py", {}, None, 404, ""),
    "static %2e%2e": ("GET", "/static/%2e%2e/catalog.py", {}, None, 404, ""),
    "unknown path": ("GET", "/api/nothing", {}, None, 404, "Not Found"),
    "wrong method": ("GET", "/api/predict", {}, None, 405, "Method Not Allowed"),
    "foreign Host": ("GET", "/api/runs", {"Host": "attacker.example"}, None, 400, "refused"),
}  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_request_gets_a_json_error_and_the_server_goes_on(name, base, mnist_test_digits):
    method, path, headers, body, status, text = HOSTILE[name]
    if body is None and method == "POST":
        body = paper_digit(mnist_test_digits[0][0])[:200]  # the truncated PNG
    got, answer = request(base, method, path, body, headers)
    assert (got, set(answer)) == (status, {"error"}), answer
    assert text in answer["error"]
    assert request(base, "GET", "/api/runs")[0] == 200


def test_a_body_over_the_limit_is_refused_while_it_arrives(base):
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    chunks = (b"\0" * 2**16 for _ in range(MAX_BODY // 2**16 + 32))  # no Content-Length
    # The server may answer and close before the client has sent everything.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.request("POST", "/api/predict", body=chunks, headers=IMAGE, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 413 and "over the limit" in json.loads(response.read())["error"]
    conn.close()
    assert request(base, "GET", "/api/runs")[0] == 200


def test_200_concurrent_predictions_are_all_answered_right(base, mnist_test_digits):
    images, _ = mnist_test_digits
    bodies = [paper_digit(images[i]) for i in range(10)]
    expected = [predict(base, body) for body in bodies]
    start = threading.Barrier(200, timeout=60)

    def one(k: int) -> dict:
        start.wait()  # every request in flight at once
        return predict(base, bodies[k % 10])

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = list(pool.map(one, range(200)))
    assert all(a == expected[k % 10] for k, a in enumerate(answers))


def test_a_bug_is_a_json_500_and_the_server_goes_on(base, monkeypatch):
    from nnbp.serve.catalog import Catalog

    def broken(self, name):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Catalog, "details", broken)
    status, answer = request(base, "GET", "/api/runs/mnist")
    assert status == 500 and answer["error"].startswith("internal error (RuntimeError)")
    monkeypatch.undo()
    assert request(base, "GET", "/api/runs/mnist")[0] == 200
