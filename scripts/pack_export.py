"""The figures of docs/PACK_EXPORT.md: MNIST's test digits saved as image files, packed with
``nnbp data pack`` and trained on, beside the same digits from IDX; then a run exported
with ``nnbp export`` and run by onnxruntime.

    python scripts/pack_export.py WORK_DIR [RUN_DIR]      (RUN_DIR default: runs/best)

WORK_DIR receives the image folders, the packed dataset (WORK_DIR/data/mnist-files) and
the runs; data/mnist must hold MNIST (``nnbp data fetch mnist``). Needs the onnx extra
and onnxruntime.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

import nnbp
from nnbp import export, idx

ROOT = Path(__file__).resolve().parent.parent
N_TRAIN = 8000  # test digits 0..7999 train, 8000..9999 test
# A small network that trains steadily: cross-entropy and scaled initialisation converge
# in 30 epochs of a few thousand images, so a comparison is not at the mercy of one epoch.
TRAINING = {"epochs": 30, "eta": 0.5, "lmbda": 1.0, "seed": 1, "keep": "last"}
NETWORK = {"sizes": [784, 30, 10], "cost": "cross-entropy", "init": "scaled"}


def save_digit(digit: np.ndarray, n: int, path: Path) -> None:
    """As tests/test_pack_realdata.py: 28/56/40/84 px, both polarities, gray/RGB, PNG/JPEG."""
    side = (28, 56, 40, 84)[n % 4]
    im = Image.fromarray(digit if n % 2 == 0 else 255 - digit, "L")
    if side != 28:
        im = im.resize((side, side), Image.Resampling.BILINEAR)
    if n % 3 == 0:
        im = im.convert("RGB")
    if n % 5 == 0:
        im.save(path.with_suffix(".jpg"), quality=95)
    else:
        im.save(path.with_suffix(".png"))


def pack_and_train(work: Path, images: np.ndarray, labels: np.ndarray) -> None:
    parts = {"train": slice(0, N_TRAIN), "test": slice(N_TRAIN, len(labels))}
    for part, where in parts.items():
        for n, i in enumerate(range(where.start, where.stop)):
            (work / part / str(labels[i])).mkdir(parents=True, exist_ok=True)
            save_digit(images[i], n, work / part / str(labels[i]) / f"{i:05d}")
    command = ["nnbp", "data", "pack", str(work / "train"), "--test", str(work / "test"),
               "--out", "mnist-files", "--dest", str(work / "data"), "--overwrite"]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True,
                         check=True)  # fmt: skip
    print(f"$ {' '.join(command)}    # {time.perf_counter() - start:.1f} s")
    print(out.stdout)
    explicit = {}
    for part, where in parts.items():
        for what, array in (("images", images[where]), ("labels", labels[where])):
            explicit[f"{part}_{what}"] = str(work / f"idx-{part}-{what}.gz")
            idx.write_idx(explicit[f"{part}_{what}"], array)
    common = {"network": NETWORK, "training": TRAINING}
    datas = {"files": {"dataset": "mnist-files", "dir": str(work / "data")}, "idx": explicit}
    for name, data in datas.items():
        run = nnbp.train({**common, "name": name, "data": {**data, "validation_size": 0}},
                         out=work / "runs" / name, overwrite=True)  # fmt: skip
        print(f"{name}: test accuracy {run.test_accuracy:.4f} after {run.epochs_trained} epochs")


def export_and_run(work: Path, run: Path, images: np.ndarray, labels: np.ndarray) -> None:
    import onnxruntime as ort

    model, path = export.export(run, work / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = images.reshape(len(images), -1).astype(np.float32) / 255
    got = session.run(None, {"image": x})[0]
    want = model.predict_proba(images)
    print(f"{model.describe()}: sizes {model.sizes}, {model.network.output} outputs")
    print(f"model.onnx: {path.stat().st_size} bytes")
    print(f"onnxruntime test accuracy: {np.mean(got.argmax(1) == labels):.4f}"
          f" (nnbp: {model.evaluate(images, labels).accuracy:.4f})")  # fmt: skip
    print(f"largest |onnxruntime - nnbp| probability: {np.abs(got - want).max():.2e}")
    print(f"labels that differ: {int(np.count_nonzero(got.argmax(1) != want.argmax(1)))}")
    meta = session.get_modelmeta().custom_metadata_map
    print("metadata:", json.dumps(dict(sorted(meta.items()))))


def readme_snippet(work: Path, run: Path, digit: np.ndarray) -> None:
    """README's onnxruntime code on a PNG, in WORK_DIR, beside `nnbp predict` on it."""
    page = Image.fromarray(255 - digit, "L").resize((84, 84), Image.Resampling.BILINEAR)
    page.convert("RGB").save(work / "digit.png")  # dark ink on white, 84x84, RGB
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Your own images, and ONNX out\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    (block,) = re.findall(r"^```python\n(.*?)^```", section[1], re.M | re.S)
    here = Path.cwd()
    os.chdir(work)
    try:
        print("README's onnxruntime code prints:", end=" ", flush=True)
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
        predict = [
            sys.executable,
            "-m",
            "nnbp",
            "predict",
            "--weights",
            str(here / run),
            "digit.png",
        ]
        out = subprocess.run(predict, capture_output=True, text=True, check=True).stdout
        print("nnbp predict prints:", out.strip())
    finally:
        os.chdir(here)


def main(work: Path, run: Path) -> None:
    mnist = ROOT / "data" / "mnist"
    images, labels = idx.read_pair(
        mnist / "t10k-images-idx3-ubyte.gz", mnist / "t10k-labels-idx1-ubyte.gz"
    )
    pack_and_train(work, images, labels)
    export_and_run(work, run, images, labels)
    readme_snippet(work, run, images[0])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "runs/best"))
