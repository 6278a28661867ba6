"""The detailed tables of docs/BENCHMARKS.md: each matrix product of the floors, the
GEMM-bound step with NumPy's BLAS and torch's, the pools each worker ran with, and every
raw training process."""

from __future__ import annotations

from render import net, secs, table
from report import IMPLS, backend_text


def gemm_details(fl: dict, configs: list, kernels: list[str], floor_threads: list[str]) -> str:
    """Per network, kernel and thread count: each product of a step, fastest over rounds."""
    rows = []
    for sizes, m in configs:
        for kernel in kernels:
            for t in floor_threads:
                for g in fl.get((sizes, m, kernel, t), {}).get("gemms", []):
                    us, gflops = f"{g['seconds'] * 1e6:.2f}", f"{g['gflops']:.1f}"
                    rows.append([net(sizes), str(m), kernel, t, g["gemm"], us, gflops])
    header = ["network", "m", "kernel", "threads", "product (this step's shapes)"]
    return table(header + ["µs/call", "GFLOP/s"], rows)


def gemm_library_table(libs: dict, steps: int, kernels: list[str]) -> str:
    """Each product of the GEMM-bound step, per kernel: µs per call with each library and
    thread setting, and their sum over an epoch."""
    columns = [(lib, t) for lib in ("numpy", "torch") for t in ("1", "default")]
    names: list[str] = []
    for rec in libs.values():
        for name in rec.get("gemms", {}):
            if name not in names:
                names.append(name)
    rows = []
    for kernel in kernels:
        for name in [*names, "one epoch (s): sum x steps"]:
            row = [name, kernel]
            for lib, t in columns:
                rec = libs.get((lib, t, kernel))
                if rec is None or rec["status"] != "ok":
                    row.append(rec["status"] if rec else "—")
                elif name in rec["gemms"]:
                    row.append(f"{rec['gemms'][name] * 1e6:.1f}")
                else:
                    row.append(secs(steps * sum(rec["gemms"].values())))
            rows.append(row)
    header = ["product", "kernel", "NumPy (OpenBLAS) 1 thread", "NumPy default"]
    return table(header + ["torch (MKL) 1 thread", "torch default"], rows)


def pools_table(records: list[dict]) -> str:
    """Per implementation, kernel and thread setting: the pools in effect while it was timed."""
    seen: dict[tuple, set] = {}
    for rec in records:
        if rec["status"] == "ok":
            key = (rec["impl"], rec.get("kernel", "default"), rec["threads"])
            seen.setdefault(key, set()).add(backend_text(rec["backend"]))
    order = IMPLS + sorted({impl for impl, _, _ in seen} - set(IMPLS))
    rows = [
        [impl, kernel, t, "<br>".join(sorted(texts))]
        for impl in order
        for (i, kernel, t), texts in sorted(
            seen.items(), key=lambda kv: (kv[0][1] != "default", kv[0])
        )
        if i == impl
    ]
    header = ["implementation", "kernel", "threads asked", "pools in effect while timing"]
    return table(header, rows)


def raw(records: list[dict]) -> str:
    """Every training process, in the order it ran."""
    rows = []
    for r in sorted(records, key=lambda r: (r["round"], r.get("seq", 0))):
        if r["status"] == "ok":
            epochs = ", ".join(secs(s) for s in r["seconds"])
            timed = f"{r['examples']:,}"
        else:
            epochs, timed = f"{r['status']}: {r.get('error', '')}", ""
        wall = f"{r['wall']:.1f}" if "wall" in r else ""
        what = [r["impl"], r.get("dtype", ""), r.get("kernel", "default"), r["threads"]]
        rows.append(
            [str(r["round"]), net(r["sizes"]), str(r["m"]), *what, epochs, timed, wall]
            + [f"{r['load']:.1f}"]
        )
    header = ["round", "network", "m", "implementation", "dtype", "kernel", "threads"]
    header += ["s/epoch, each timed pass"]
    return table(header + ["images per pass", "process wall s", "load (1 min)"], rows)
