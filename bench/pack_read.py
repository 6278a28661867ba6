"""How fast ``nnbp data pack`` reads image files: one process against a pool of them.

    python bench/pack_read.py [N_FILES] [ROUNDS]      (defaults: 4000 files, 3 rounds)

Writes N_FILES of MNIST's test digits as image files (the variants of
tests/test_pack_realdata.py: four sizes, both polarities, gray and RGB, PNG and JPEG)
into a temporary folder, then times ``pack.read_classes`` with 1 worker, with 2 threads
(for the record: decoding holds the GIL) and with the pool ``nnbp data pack`` uses,
alternating, best of ROUNDS. Needs data/mnist.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from pack_export import save_digit  # noqa: E402

from nnbp import folders, idx, pack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def threaded(folder: folders.Folder) -> None:
    paths = [p for files in folder.classes.values() for p in files]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(pack._read_one, paths, ["digit"] * len(paths), [28] * len(paths)))


def main(n_files: int = 4000, rounds: int = 3) -> None:
    mnist = ROOT / "data" / "mnist"
    images, labels = idx.read_pair(
        mnist / "t10k-images-idx3-ubyte.gz", mnist / "t10k-labels-idx1-ubyte.gz"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(n_files):
            (Path(tmp) / str(labels[n])).mkdir(exist_ok=True)
            save_digit(images[n], n, Path(tmp) / str(labels[n]) / f"{n:05d}")
        folder = folders.scan(tmp)
        pool = pack._workers(n_files, None)
        ways = {
            "1 process": lambda: pack.read_classes(folder, "digit", 28, workers=1),
            "2 threads": lambda: threaded(folder),
            f"{pool} processes": lambda: pack.read_classes(folder, "digit", 28),
        }
        best = dict.fromkeys(ways, float("inf"))
        for _ in range(rounds):
            for name, way in ways.items():
                start = time.perf_counter()
                way()
                best[name] = min(best[name], time.perf_counter() - start)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{n_files} files, {os.cpu_count()} cores, load average {load:.2f}")
    for name, seconds in best.items():
        print(f"{name:>12}: {seconds:6.2f} s  {1e3 * seconds / n_files:6.3f} ms/file"
              f"  x{best['1 process'] / seconds:.2f}")  # fmt: skip


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
