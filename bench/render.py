"""The main tables of docs/BENCHMARKS.md, from bench/report.py's figures: targets, seconds
per epoch, ratios, floors (bench/render_detail.py has the detailed ones).

``c`` is report.cells(), ``fl`` report.floors(); ``configs`` the (sizes, m) networks and
``kernels`` the BLAS kernels of the run, in the order the tables list them.
"""

from __future__ import annotations

from report import IMPLS, PEERS, THREADS, at, better, fastest, targets
from settings import KERNEL_IMPLS

THREAD_NAMES = {"1": "1 thread", "2": "2 threads", "default": "default threads"}


def secs(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def net(sizes: tuple | list) -> str:
    return "[" + ",".join(map(str, sizes)) + "]"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "—"


def mark(value: float | None, limit: float) -> str:
    """A ratio against its target line: "holds" at or below it, "misses" above."""
    if value is None:
        return "not measured"
    digits = 2 if round(value, 2) != limit else 3  # never round a miss onto the line
    verdict = f"holds (≤ {limit:.2f})" if value <= limit else f"misses (> {limit:.2f})"
    return f"{value:.{digits}f} {verdict}"


def targets_table(c: dict, fl: dict, configs: list, kernels: list[str], s: dict) -> str:
    """Per kernel and network: nnbp as shipped ÷ torch-manual, nnbp ÷ the realistic floor
    at each floor thread count, each with its mark; then how many hold."""
    rows, marks = [], []
    for t in targets(c, fl, configs, kernels, s):
        figures = [t["torch"], *(t[f"floor {n}"] for n in s["floor_threads"])]
        marks += [v <= limit for v, limit in figures if v is not None]
        rows.append([net(t["sizes"]), str(t["m"]), t["kernel"], *(mark(*f) for f in figures)])
    header = ["network", "m", "kernel", "nnbp as shipped ÷ torch-manual"]
    header += [f"nnbp ÷ realistic floor, {THREAD_NAMES[n]}" for n in s["floor_threads"]]
    held = f"{sum(marks)} of {len(marks)} measured figures hold their target."
    return table(header, rows) + "\n\n" + held


def _median_fastest(cell: dict | None) -> list[str]:
    """A cell's median over rounds (* = a subset of an epoch was timed) and fastest epoch."""
    if cell is None:
        return ["—", "—"]
    if cell["status"] != "ok":
        return [cell["status"], ""]
    return [secs(cell["median"]) + ("*" if cell["fraction"] else ""), secs(cell["fastest"])]


def speed_table(c: dict, configs: list, kernels: list[str]) -> str:
    """Per network, implementation and kernel: median and fastest epoch at each thread
    setting, the better setting, and the test accuracy after the timed passes."""
    rows = []
    for sizes, m in configs:
        for impl in IMPLS:
            for kernel in kernels if impl in KERNEL_IMPLS else ["default"]:
                cs = [c.get((sizes, m, impl, kernel, t)) for t in THREADS]
                if not any(cs):
                    continue
                b = better(c, sizes, m, impl, kernel)
                whole = [x for x in cs if x and x["status"] == "ok" and not x["fraction"]]
                acc = f"{whole[0]['accuracy']:.3f}" if whole else "—"
                figures = [v for cell in cs for v in _median_fastest(cell)]
                best = f"{secs(b[0])} ({b[1]})" if b else "—"
                rows.append([net(sizes), str(m), impl, kernel, *figures, best, acc])
    header = ["network", "m", "implementation", "kernel"]
    for t in THREADS:
        header += [f"{THREAD_NAMES[t]}: median", "fastest"]
    return table(header + ["better (median)", "test acc"], rows)


def ratio_table(c: dict, configs: list, kernels: list[str]) -> str:
    """Per network: for each kernel, nnbp as shipped ÷ torch-manual's better setting
    (medians) and nnbp's fastest epoch ÷ torch-manual's; then nnbp as shipped ÷ each other
    peer's better setting, under the default kernel."""
    rows = []
    for sizes, m in configs:
        row = [net(sizes), str(m)]
        for kernel in kernels:
            tm = better(c, sizes, m, "torch-manual", kernel)
            row.append(ratio(at(c, sizes, m, kernel), tm[0] if tm else None))
            row.append(
                ratio(
                    fastest(c, sizes, m, "nnbp", kernel),
                    fastest(c, sizes, m, "torch-manual", kernel),
                )
            )
        nn = at(c, sizes, m, "default")
        for peer in PEERS[1:]:
            pb = better(c, sizes, m, peer, "default")
            status = c.get((sizes, m, peer, "default", "default"), {}).get("status", "—")
            row.append(ratio(nn, pb[0]) if nn and pb else status)
        rows.append(row)
    header = ["network", "m"]
    for kernel in kernels:
        header += [f"{kernel} kernel: nnbp as shipped ÷ torch-manual", "fastest ÷ fastest"]
    return table(header + [f"nnbp ÷ {p} (default kernel)" for p in PEERS[1:]], rows)


def floor_table(c: dict, fl: dict, configs: list, kernels: list[str], s: dict) -> str:
    """Per network, kernel and floor thread count: the floor and nnbp beside it at the same
    thread count."""
    rows = []
    for sizes, m in configs:
        for kernel in kernels:
            for t in s["floor_threads"]:
                head = [net(sizes), str(m), kernel, t]
                f = fl.get((sizes, m, kernel, t))
                if f is None:
                    rows.append(head + ["error"] * 8)
                    continue
                cell = c.get((sizes, m, "nnbp", kernel, t))
                nt = at(c, sizes, m, kernel, t)
                rows.append(
                    head
                    + [
                        f"{f['steps']:,}",
                        f"{f['flops_per_epoch'] / 1e9:.2f}",
                        secs(f["gemm_seconds"]),
                        f"{f['ufunc_call_seconds'] * 1e6:.2f}",
                        secs(f["floor_seconds"]),
                        *_median_fastest(cell),
                        ratio(nt, f["floor_seconds"]),
                    ]
                )
    header = ["network", "m", "kernel", "threads", "steps", "GFLOP/epoch", "GEMM-only s/epoch"]
    header += ["ufunc µs/call", "realistic floor s/epoch", "nnbp s/epoch: median", "fastest"]
    return table(header + ["nnbp ÷ floor (median)"], rows)
