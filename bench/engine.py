"""nnbp's engine against a past revision of itself, in the same run (`--baseline REV`).

The revision's ``nnbp/`` is extracted with ``git archive`` into a temporary directory,
which the baseline's workers get first on PYTHONPATH, so that their ``import nnbp`` is
the old package (each worker reports the file it imported, and a worker that imported
the wrong one counts as an error). Within every round and for each network, processes
of the checkout's engine ("new") and the revision's ("old") alternate as ABBA or BAAB,
the order flipping from round to round, so that a drift of the machine's speed during a
round weighs on both alike. Both run at nnbp's shipped thread setting. Separately, both
engines train the same network from the same seed on the same images for a few hundred
steps and their weights are compared bit for bit.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
from launch import REPO, run_worker

NEW, OLD = "new", "old"
# `from nnbp.x import`, `from nnbp import`, `import nnbp`: the imports of the package itself.
IMPORTS = re.compile(r"^(\s*)(from nnbp(?=[ .])|import nnbp(?=[ .\n]))", re.MULTILINE)


def extract(rev: str, dest: Path) -> dict[str, Any]:
    """``nnbp/`` at ``rev`` into dest, and beside it the same renamed ``nnbp_base`` (for
    bench/worker_pair.py): {"status", "rev", "label", "root", "paired"} or the error."""

    def git(*args: str, text: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=text)

    parsed = git("rev-parse", "--short", "--verify", "--quiet", f"{rev}^{{commit}}")
    if parsed.returncode != 0:
        return {"status": "error", "rev": rev, "error": f"git knows no commit {rev!r}"}
    short = parsed.stdout.strip()
    archive = git("archive", "--format=tar", short, "nnbp", text=False)
    if archive.returncode != 0:
        error = archive.stderr.decode(errors="replace").strip()
        return {"status": "error", "rev": rev, "error": f"git archive failed: {error}"}
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    paired = dest / "paired"
    # symlinks: the package's configs/ is a link to the top-level configs/, not extracted
    shutil.copytree(dest / "nnbp", paired / "nnbp_base", symlinks=True)
    for path in (paired / "nnbp_base").rglob("*.py"):
        # nnbp_base imports itself, not the checkout's nnbp (bench/worker_pair.py).
        text = IMPORTS.sub(lambda m: m.group(0).replace("nnbp", "nnbp_base"), path.read_text())
        path.write_text(text)
    label = f"nnbp@{short}"
    return {"status": "ok", "rev": rev, "label": label, "root": dest, "paired": paired}


def plan(r: int, sizes: tuple, m: int, settings: dict) -> list[dict[str, Any]]:
    """Round r's new/old processes for one network: ABBA (BAAB in even rounds) per pair of
    pairs, in float32, then one pair in float64 where asked."""
    engine = settings["engine"]
    if (sizes, m) not in engine["configs"]:
        return []
    first = [NEW, OLD] if r % 2 else [OLD, NEW]
    pairs = engine["pairs"]
    order = (first + first[::-1]) * (pairs // 2) + (first if pairs % 2 else [])
    items = [(side, "float32") for side in order]
    if (sizes, m) in engine["float64"]:
        items += [(side, "float64") for side in first]
    return [
        {
            "set": "engine",
            "sizes": sizes,
            "m": m,
            "side": side,
            "dtype": dtype,
            "threads": "default",
        }
        for side, dtype in items
    ]


def source(side: str, baseline: dict) -> Path | None:
    """The directory to put first on the worker's path: the revision's tree for "old"."""
    return baseline["root"] if side == OLD else None


def check_source(res: dict, side: str, baseline: dict) -> dict:
    """Replace the worker's nnbp file with the implementation's name, or mark an error when
    the worker imported another nnbp than the one asked for."""
    where = res.get("backend", {}).pop("nnbp", None)
    if res.get("status") != "ok" or where is None:
        return res
    root = baseline["root"] if side == OLD else REPO
    if not Path(where).resolve().is_relative_to(Path(root).resolve() / "nnbp"):
        return {"status": "error", "error": f"the {side} engine's worker imported another nnbp"}
    res["backend"]["nnbp"] = baseline["label"] if side == OLD else "checkout"
    return res


def compare_weights(settings: dict, data: Path, baseline: dict, work: Path) -> list[dict]:
    """Per network and dtype of the comparison: both engines' weights after the same steps."""
    engine, steps = settings["engine"], settings["weight_steps"]
    wanted = [(c, "float32") for c in engine["configs"]] + [
        (c, "float64") for c in engine["float64"]
    ]
    out = []
    for (sizes, m), dtype in wanted:
        files, rec = {}, {"sizes": list(sizes), "m": m, "dtype": dtype, "steps": steps}
        for side in (NEW, OLD):
            files[side] = work / f"weights-{side}.npz"
            args = ["weights", "--sizes", ",".join(map(str, sizes)), "--m", str(m)]
            args += ["--data", str(data), "--dtype", dtype, "--steps", str(steps)]
            res = run_worker(
                "worker_micro.py", [*args, "--out", str(files[side])], source(side, baseline)
            )
            res = check_source(res, side, baseline)
            if res["status"] != "ok":
                rec.update(status="error", error=f"{side}: {res.get('error', '')}")
                break
            rec["steps"] = res["steps"]
        else:
            rec.update(status="ok", **same(files[NEW], files[OLD]))
        out.append(rec)
    return out


def same(a: Path, b: Path) -> dict[str, Any]:
    """Whether two .npz files of parameters are bit-identical, and their largest difference."""
    with np.load(a) as x, np.load(b) as y:
        if x.files != y.files or any(x[k].shape != y[k].shape for k in x.files):
            return {"identical": False, "max_abs_diff": None}
        identical = all(
            x[k].dtype == y[k].dtype and x[k].tobytes() == y[k].tobytes() for k in x.files
        )
        diff = max(float(np.max(np.abs(x[k].astype(np.float64) - y[k]))) for k in x.files)
    return {"identical": identical, "max_abs_diff": diff}


def paired(settings: dict, data: Path, baseline: dict, r: int) -> list[dict]:
    """Round r's in-process comparisons (bench/worker_pair.py), one per float32 network."""
    out = []
    for sizes, m in settings["engine"]["configs"]:
        args = ["--base", str(baseline["paired"]), "--sizes", ",".join(map(str, sizes))]
        args += ["--m", str(m), "--data", str(data), "--budget", str(settings["engine"]["budget"])]
        res = run_worker("worker_pair.py", args)
        out.append({"round": r, "sizes": list(sizes), "m": m, "dtype": "float32", **res})
    return out
