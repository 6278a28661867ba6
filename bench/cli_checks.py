"""The command-line measurements: peak RSS of `nnbp train`, `nnbp evaluate` and `nnbp predict`
wall times, each a real process started the way a user starts it.

Every command runs with a temporary directory as its working directory, so that
`nnbp train` updates that directory's runs/latest, not the repository's; the config is
the repository's configs/mnist.yaml with ``data.dir`` pointing at the repository's data.
Peak RSS comes from os.wait4, the kernel's own account of that one child process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def nnbp_command() -> list[str]:
    """The installed `nnbp` script next to this interpreter, else `python -m nnbp`."""
    exe = Path(sys.executable).with_name("nnbp")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "nnbp"]


def run_timed(cmd: list[str], cwd: Path) -> dict[str, Any]:
    """Run cmd to completion: exit code, wall seconds, peak RSS (MB = 10^6 bytes), output."""
    out_path, err_path = cwd / ".stdout", cwd / ".stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait
    return {
        "returncode": proc.returncode,
        "wall": wall,
        "max_rss_mb": usage.ru_maxrss * 1024 / 1e6,  # ru_maxrss is in KiB on Linux
        "stdout": out_path.read_text(),
        "stderr": err_path.read_text(),
    }


def outcome(res: dict[str, Any]) -> dict[str, Any]:
    """ok, "not yet available" (click's 'No such command'), or failed with stderr's last line."""
    if res["returncode"] == 0:
        return {"status": "ok"}
    if res["returncode"] == 2 and "No such command" in res["stderr"]:
        return {"status": "not yet available"}
    lines = res["stderr"].strip().splitlines() or [f"exit code {res['returncode']}"]
    return {"status": "failed", "error": lines[-1]}


def repeated(cmd: list[str], cwd: Path, repeats: int) -> dict[str, Any]:
    """Median wall time of ``repeats`` runs; stops at the first run that fails."""
    first = run_timed(cmd, cwd)
    result = outcome(first)
    if result["status"] != "ok":
        return result
    walls = [first["wall"]] + [run_timed(cmd, cwd)["wall"] for _ in range(repeats - 1)]
    return {**result, "walls": walls, "median": statistics.median(walls), "stdout": first["stdout"]}


def write_png(path: Path, x: np.ndarray) -> None:
    """A 784-vector in [0, 1] as a 28x28 8-bit grey PNG (white digit on black, as MNIST)."""
    from PIL import Image

    pixels = np.rint(x.reshape(28, 28) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)


def run_all(
    repo: Path, work: Path, image_x: np.ndarray, label: int, settings: dict
) -> dict[str, Any]:
    """Every command-line measurement; ``image_x`` (784,) in [0, 1] is predict's image."""
    work.mkdir(parents=True)
    nnbp = nnbp_command()
    run_dir = work / "run"
    repeats = settings["cli_repeats"]
    results: dict[str, Any] = {"command": " ".join(nnbp)}

    results["startup"] = repeated([*nnbp, "--version"], work, repeats)
    train_cmd = [*nnbp, "train", str(repo / "configs/mnist.yaml"), "--set", "training.epochs=1"]
    train_cmd += ["--set", f"data.dir={repo / 'data'}", "--out", str(run_dir)]
    res = run_timed(train_cmd, work)
    results["train"] = {**outcome(res), "wall": res["wall"], "max_rss_mb": res["max_rss_mb"]}
    last = (res["stdout"].strip().splitlines() or [""])[-1]
    results["train"]["last_line"] = last.replace(str(run_dir), "RUN_DIR")
    if results["train"]["status"] != "ok":
        skipped = {"status": "skipped", "error": "nnbp train failed"}
        results["evaluate"] = results["predict"] = skipped
        return results

    evaluate = repeated([*nnbp, "evaluate", str(run_dir), "--json"], work, min(repeats, 3))
    if evaluate["status"] == "ok":
        try:
            evaluate["accuracy"] = json.loads(evaluate.pop("stdout")).get("accuracy")
        except (json.JSONDecodeError, AttributeError):
            evaluate["accuracy"] = None
    results["evaluate"] = evaluate

    image = work / "digit.png"
    write_png(image, image_x)
    predict = repeated([*nnbp, "predict", "--weights", str(run_dir), str(image)], work, repeats)
    if predict["status"] == "ok":
        answer = (predict.pop("stdout").strip().splitlines() or [""])[0]
        predict["answer"] = answer.replace(str(image), image.name)
    predict["label"] = label
    results["predict"] = predict
    return results
