"""Helpers for the tests of ``nnbp serve``: a server in a thread, raw HTTP requests, and
MNIST digits as image files and as pen strokes."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium package; .ci/run installs it


@contextlib.contextmanager
def running(run_dir: Path) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT``) of ``nnbp serve RUN_DIR`` on a free
    loopback port, served from a thread until the block ends."""
    from nnbp.serve.catalog import Catalog
    from nnbp.serve.server import listen, server, url

    sock = listen("127.0.0.1", 0)
    instance = server(Catalog(run_dir), sock)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert instance.started, "the server did not start"
    try:
        yield url(sock).rstrip("/")
    finally:
        instance.should_exit = True
        thread.join(30)
        sock.close()


def request(
    base: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, Any]:
    """(status, decoded JSON body) of one request sent as is (no path normalisation)."""
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    return response.status, json.loads(data)


def predict(base: str, body: bytes, query: str = "", content_type: str = "image/png") -> Any:
    """The answer of a successful ``POST /api/predict``."""
    status, answer = request(base, "POST", f"/api/predict{query}", body,
                             {"Content-Type": content_type})  # fmt: skip
    assert status == 200, answer
    return answer


def png(pixels: np.ndarray) -> bytes:
    """A uint8 array (h, w) as the bytes of a grayscale PNG file."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def paper_digit(pixels: np.ndarray, scale: int = 4) -> bytes:
    """An MNIST digit (28, 28) as a photo-like PNG: dark ink on white paper, ``scale``
    times larger, so that the preparation has real work to do."""
    big = np.kron(255 - pixels, np.ones((scale, scale), np.uint8))
    return png(np.pad(big, 12, constant_values=255))


def strokes(pixels: np.ndarray, threshold: int = 128) -> list[tuple[int, int, int]]:
    """A digit as short horizontal pen strokes: (row, first column, last column) of each
    run of pixels above ``threshold``."""
    out = []
    for r, row in enumerate(pixels > threshold):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
        runs = zip(edges[::2], edges[1::2], strict=True)
        out += [(r, int(start), int(stop) - 1) for start, stop in runs]
    return out
