"""docs/BENCHMARKS.md from bench/run.py's results: render(results) -> (markdown, stdout summary)."""

from __future__ import annotations

from report import IMPLS, PEERS, backend_text, better, shipped


def secs(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def net(sizes: tuple | list) -> str:
    return "[" + ",".join(map(str, sizes)) + "]"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cell_text(cell: dict | None) -> str:
    if cell is None:
        return "—"
    if cell["status"] != "ok":
        return cell["status"]
    text = secs(cell["median"])
    if cell["rounds"] > 1:
        text += f" ({secs(cell['min'])}–{secs(cell['max'])})"
    return text + ("*" if cell["fraction"] else "")


def speed_table(c: dict, configs: list) -> str:
    rows = []
    for sizes, m in configs:
        nn, nb = shipped(c, sizes, m), better(c, sizes, m, "nnbp")
        for impl in IMPLS:
            one, dflt = c.get((sizes, m, impl, "1")), c.get((sizes, m, impl, "default"))
            b = better(c, sizes, m, impl)
            ratio = "—"
            if impl != "nnbp" and b and nn and nb:
                ratio = f"{nn / b[0]:.2f} / {nb[0] / b[0]:.2f}"
            whole = [x for x in (dflt, one) if x and x["status"] == "ok" and not x["fraction"]]
            acc = whole[0]["accuracy"] if whole else None
            rows.append(
                [
                    net(sizes),
                    str(m),
                    impl,
                    cell_text(one),
                    cell_text(dflt),
                    f"{secs(b[0])} ({b[1]})" if b else "—",
                    ratio,
                    f"{acc:.3f}" if acc is not None else "—",
                ]
            )
    header = ["network", "m", "implementation", "1 thread", "default threads"]
    header += ["better", "nnbp ÷ better (shipped / best)", "test acc"]
    return table(header, rows)


def ratio_table(c: dict, fl: dict, configs: list) -> str:
    """nnbp's time over each peer's better time and over the realistic floor, per
    configuration: below 1, nnbp is faster."""
    rows = []
    for sizes, m in configs:
        nn, nb = shipped(c, sizes, m), better(c, sizes, m, "nnbp")
        row = [net(sizes), str(m)]
        for peer in PEERS:
            pb = better(c, sizes, m, peer)
            status = c.get((sizes, m, peer, "default"), {}).get("status", "—")
            row.append(f"{nn / pb[0]:.2f} / {nb[0] / pb[0]:.2f}" if nn and nb and pb else status)
        f = fl.get((sizes, m))
        floor = f["floor_seconds"] if f else None
        row.append(f"{nn / floor:.2f} / {nb[0] / floor:.2f}" if nn and nb and floor else "—")
        rows.append(row)
    header = ["network", "m", *(f"nnbp ÷ {p}" for p in PEERS), "nnbp ÷ realistic floor"]
    return table(header, rows)


def floor_table(c: dict, fl: dict, configs: list) -> str:
    rows = []
    for sizes, m in configs:
        f = fl.get((sizes, m))
        if f is None:
            rows.append([net(sizes), str(m)] + ["error"] * 7)
            continue
        nn, nb = shipped(c, sizes, m), better(c, sizes, m, "nnbp")
        floor = f["floor_seconds"]
        rows.append(
            [
                net(sizes),
                str(m),
                f"{f['steps']:,}",
                f"{f['flops_per_epoch'] / 1e9:.2f}",
                secs(f["gemm_seconds"]),
                f"{f['ufunc_call_seconds'] * 1e6:.2f}",
                secs(f["floor_seconds"]),
                f"{secs(nn)} / {secs(nb[0])}" if nn and nb else "—",
                f"{nn / floor:.2f} / {nb[0] / floor:.2f}" if nn and nb else "—",
            ]
        )
    header = ["network", "m", "steps", "GFLOP/epoch", "GEMM-only s/epoch", "ufunc µs/call"]
    header += ["realistic floor s/epoch", "nnbp s/epoch (shipped / best)", "nnbp ÷ floor"]
    return table(header, rows)


def gemm_details(fl: dict, configs: list) -> str:
    rows = []
    for sizes, m in configs:
        for g in fl.get((sizes, m), {}).get("gemms", []):
            us = g["seconds"] * 1e6
            rows.append([net(sizes), str(m), g["gemm"], f"{us:.2f}", f"{g['gflops']:.1f}"])
    return table(["network", "m", "product (this step's shapes)", "µs/call", "GFLOP/s"], rows)


def gemm_library_table(libs: dict, steps: int) -> str:
    """Each product of the GEMM-bound step: µs per call with each library and thread setting."""
    columns = [(lib, t) for lib in ("numpy", "torch") for t in ("1", "default")]
    names: list[str] = []
    for key in columns:
        for name in libs.get(key, {}).get("gemms", {}):
            if name not in names:
                names.append(name)
    rows = []
    for name in [*names, "one epoch (s): sum x steps"]:
        row = [name]
        for key in columns:
            rec = libs.get(key)
            if rec is None or rec["status"] != "ok":
                row.append(rec["status"] if rec else "—")
            elif name in rec["gemms"]:
                row.append(f"{rec['gemms'][name] * 1e6:.1f}")
            else:
                row.append(secs(steps * sum(rec["gemms"].values())))
        rows.append(row)
    header = ["product", "NumPy (OpenBLAS) 1 thread", "NumPy default", "torch (MKL) 1 thread"]
    return table(header + ["torch default"], rows)


def kernels(records: list[dict]) -> str:
    """Per implementation and thread setting: the pools in effect while it was timed."""
    seen: dict[tuple, set] = {}
    for rec in records:
        if rec["status"] == "ok":
            seen.setdefault((rec["impl"], rec["threads"]), set()).add(backend_text(rec["backend"]))
    order = IMPLS + sorted({impl for impl, _ in seen} - set(IMPLS))
    rows = [
        [impl, t, "<br>".join(sorted(seen[(impl, t)]))]
        for impl in order
        for t in ("1", "default")
        if (impl, t) in seen
    ]
    return table(["implementation", "threads asked", "pools in effect while timing"], rows)


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
        rows.append(
            [
                str(r["round"]),
                net(r["sizes"]),
                str(r["m"]),
                r["impl"],
                r.get("dtype", ""),
                r["threads"],
                epochs,
                timed,
                wall,
                f"{r['load']:.1f}",
            ]
        )
    header = ["round", "network", "m", "implementation", "dtype", "threads"]
    header += ["s/epoch, each timed pass"]
    return table(header + ["images per pass", "process wall s", "load (1 min)"], rows)


def _spread_text(x: dict | None) -> str:
    if x is None:
        return "—"
    return secs(x["median"]) + (f" ({secs(x['min'])}–{secs(x['max'])})" if x["n"] > 1 else "")


def _weights_text(w: dict | None) -> str:
    if w is None:
        return "—"
    if w["status"] != "ok":
        return f"{w['status']}: {w.get('error', '')}"
    if w["identical"]:
        return f"bit-identical after {w['steps']} steps"
    diff = w["max_abs_diff"]
    return f"differ after {w['steps']} steps" + (
        f" (max abs {diff:.2g})" if diff is not None else ""
    )


def engine_table(summary: dict, weights: list[dict], keys: list[tuple], label: str) -> str:
    """Per network and dtype: both engines' seconds per epoch, the ratio, the weights check."""
    by_key = {(tuple(w["sizes"]), w["m"], w["dtype"]): w for w in weights}
    rows = []
    for key in keys:
        e = summary.get(key, {})
        ratio = e.get("ratio")
        rows.append(
            [
                net(key[0]),
                str(key[1]),
                key[2],
                ", ".join(map(str, e.get("threads", []))) or "—",
                _spread_text(e.get("new")),
                _spread_text(e.get("old")),
                f"{ratio['median']:.3f}" if ratio else "—",
                f"{ratio['q1']:.3f}–{ratio['q3']:.3f}" if ratio else "—",
                str(ratio["n"]) if ratio else "0",
                _weights_text(by_key.get(key)),
            ]
        )
    header = ["network", "m", "dtype", "BLAS threads", "nnbp s/epoch", f"{label} s/epoch"]
    header += [f"nnbp ÷ {label}", "interquartile range", "rounds", "weights, same seed and data"]
    return table(header, rows)


def paired_table(summary: dict, keys: list[tuple], label: str) -> str:
    """Per network: each engine's seconds per epoch and the pooled new/old ratio, in one process."""
    rows = []
    for key in keys:
        e = summary.get(key)
        ratio = e["ratio"] if e else None
        rows.append(
            [
                net(key[0]), str(key[1]), key[2],
                _spread_text(e["new"]) if e else "—", _spread_text(e["old"]) if e else "—",
                f"{ratio['median']:.3f}" if ratio else "—",
                f"{ratio['q1']:.3f}–{ratio['q3']:.3f}" if ratio else "—",
                str(ratio["n"]) if ratio else "0",
            ]
        )  # fmt: skip
    header = ["network", "m", "dtype", "nnbp s/epoch", f"{label} s/epoch", f"nnbp ÷ {label}"]
    return table(header + ["interquartile range", "quadruples"], rows)
