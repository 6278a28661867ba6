"""Predict latency through nnbp serve's JSON API: one request at a time, and 200 at once.

    python bench/serve_latency.py [RUN_DIR] [--rounds 5]      (make bench-serve)

Starts ``nnbp serve RUN_DIR --port 0`` in a process of its own (RUN_DIR: runs/latest; if
there is none, the book's network trained for one epoch into a temporary directory),
then times POST /api/predict from the client's side, from sending the request to having
read the whole answer. The image is what the page sends: a 280x280 PNG of a real MNIST
test digit, dark ink on white. Prints median and 95th percentile; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
CONCURRENT = 200  # requests in flight at once
SEQUENTIAL = 300  # requests one after the other, after WARMUP
WARMUP = 20


def drawing() -> bytes:
    """The first MNIST test digit as the page's pad would send it: 280x280 PNG."""
    from nnbp import datasets

    _, (images, _) = datasets.load("mnist")
    big = np.kron(255 - images[0], np.ones((10, 10), np.uint8))
    out = io.BytesIO()
    Image.fromarray(big).save(out, format="PNG")
    return out.getvalue()


def connect(where) -> http.client.HTTPConnection:
    """A connection to the server that sends each write at once, as browsers do
    (http.client writes headers and body separately: with Nagle's algorithm on, the body
    would wait for the server's delayed ACK of the headers, some 40 ms)."""
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=120)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def post(conn: http.client.HTTPConnection, body: bytes, content_type: str) -> float:
    """Seconds for one predict request on ``conn``, checked to succeed."""
    start = time.perf_counter()
    conn.request("POST", "/api/predict", body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise SystemExit(f"predict answered {response.status}: {data[:200]!r}")
    return elapsed


def one_at_a_time(where, body: bytes, content_type: str) -> list[float]:
    """SEQUENTIAL requests on one kept-alive connection, as the page sends them."""
    conn = connect(where)
    for _ in range(WARMUP):
        post(conn, body, content_type)
    times = [post(conn, body, content_type) for _ in range(SEQUENTIAL)]
    conn.close()
    return times


def all_at_once(where, body: bytes, rounds: int) -> tuple[list[float], list[float]]:
    """(each request's latency, each round's wall time) for ``rounds`` rounds of
    CONCURRENT requests released together, one connection each."""
    latencies, walls = [], []

    def one(barrier: threading.Barrier) -> float:
        conn = connect(where)
        barrier.wait()
        try:
            return post(conn, body, "image/png")
        finally:
            conn.close()

    for _ in range(rounds):
        barrier = threading.Barrier(CONCURRENT + 1)
        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            futures = [pool.submit(one, barrier) for _ in range(CONCURRENT)]
            barrier.wait()
            start = time.perf_counter()
            latencies += [f.result() for f in futures]
            walls.append(time.perf_counter() - start)
    return latencies, walls


def row(name: str, times: list[float]) -> str:
    ms = 1000 * np.array(times)
    median, p95 = np.percentile(ms, [50, 95])
    return f"| {name} | {len(ms)} | {median:.1f} | {p95:.1f} |"


def start_server(run: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "nnbp", "serve", str(run), "--port", "0"]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if " at http" not in line:
        server.kill()
        raise SystemExit(f"nnbp serve did not start: {line!r}")
    return server, line.split(" at ")[1].split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", nargs="?", type=Path, help="run directory [runs/latest]")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of 200 requests")
    args = parser.parse_args()
    import nnbp

    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None and not (Path("runs") / "latest").exists():
            run = Path(tmp) / "mnist"
            nnbp.train(REPO / "configs" / "mnist.yaml", overrides={"training.epochs": 1}, out=run)
        run = run or Path("runs") / "latest"
        server, url = start_server(run)
        try:
            where = urlsplit(url)
            png = drawing()
            pixels = json.dumps((np.zeros(784) + 0.5).tolist()).encode()
            single = one_at_a_time(where, png, "image/png")
            as_json = one_at_a_time(where, pixels, "application/json")
            crowd, walls = all_at_once(where, png, args.rounds)
        finally:
            server.terminate()
            server.wait(30)
    model = nnbp.load(run)
    print(f"nnbp serve {run} (sizes {model.sizes}); latency in ms, measured by the client")
    print("\n| requests | n | median | 95th percentile |\n|---|---|---|---|")
    print(row("one PNG drawing at a time", single))
    print(row("784 pixels as JSON, one at a time", as_json))
    print(row(f"{CONCURRENT} PNG drawings at once", crowd))
    rate = CONCURRENT / np.median(walls)
    print(f"\n{CONCURRENT} at once: {np.median(walls):.2f} s per round ({rate:.0f} predictions/s)")


if __name__ == "__main__":
    main()
