"""docs/BENCHMARKS.md from bench/run.py's results: render(results) -> (markdown, stdout summary)."""

from __future__ import annotations

from report import (
    IMPLS,
    PEERS,
    TARGET,
    backend_text,
    better,
    shipped,
)

S30, S100 = (784, 30, 10), (784, 100, 10)


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


def ratio_table(c: dict, configs: list) -> str:
    """nnbp's time over each peer's better time, per configuration: below 1, nnbp is faster."""
    rows = []
    for sizes, m in configs:
        nn, nb = shipped(c, sizes, m), better(c, sizes, m, "nnbp")
        row = [net(sizes), str(m)]
        for peer in PEERS:
            pb = better(c, sizes, m, peer)
            status = c.get((sizes, m, peer, "default"), {}).get("status", "—")
            row.append(f"{nn / pb[0]:.2f} / {nb[0] / pb[0]:.2f}" if nn and nb and pb else status)
        rows.append(row)
    return table(["network", "m", *(f"nnbp ÷ {p}" for p in PEERS)], rows)


def check(
    name: str,
    value: float | None,
    limit: float,
    fmt: str,
    le: bool,
    alt=None,
    why: str = "n/a",
    fast: float | None = None,
) -> list:
    """A target row: name, measured, with nnbp's better threads, from the fastest rounds,
    limit, PASS/FAIL (judged on ``value``)."""
    limit_text = ("≤ " if le else "≥ ") + fmt.format(limit)
    if value is None:
        return [name, why, "", "", limit_text, "n/a"]
    ok = value <= limit if le else value >= limit
    alt_text = fmt.format(alt) if alt is not None else ""
    fast_text = fmt.format(fast) if fast is not None else ""
    result = "PASS" if ok else "**FAIL**"
    if alt is not None and (alt <= limit if le else alt >= limit) != ok:
        result += " (best threads: " + ("PASS" if not ok else "FAIL") + ")"
    return [name, fmt.format(value), alt_text, fast_text, limit_text, result]


def fastest(c: dict, sizes: tuple, m: int, impl: str, threads=("1", "default")) -> float:
    """An implementation's fastest round over the given thread settings (seconds)."""
    return min(c[(sizes, m, impl, t)]["min"] for t in threads if (sizes, m, impl, t) in c)


def targets(c: dict, fl: dict, ev: dict, cli: dict) -> list[list[str]]:
    """The issue's targets; ratio rows also show the ratio of each side's fastest round."""
    rows = []

    def vs(peer: str, sizes: tuple, m: int, limit: float) -> None:
        nn, nb, pb = shipped(c, sizes, m), better(c, sizes, m, "nnbp"), better(c, sizes, m, peer)
        name = f"{net(sizes)} m={m}: nnbp ÷ {peer}"
        if nn is None or nb is None or pb is None:
            why = "; ".join(
                f"{impl} {c[(sizes, m, impl, 'default')]['status']}"
                for impl in ("nnbp", peer)
                if c.get((sizes, m, impl, "default"), {}).get("status", "ok") != "ok"
            )
            rows.append(check(name, None, limit, "{:.2f}", True, why=why or "n/a"))
        else:
            fast = fastest(c, sizes, m, "nnbp", ("default",)) / fastest(c, sizes, m, peer)
            rows.append(check(name, nn / pb[0], limit, "{:.2f}", True, nb[0] / pb[0], fast=fast))

    vs("torch-manual", *TARGET, 0.75)
    vs("torch-idiomatic", *TARGET, 0.25)
    nn, nb, ref = shipped(c, *TARGET), better(c, *TARGET, "nnbp"), better(c, *TARGET, "reference")
    name = f"{net(TARGET[0])} m={TARGET[1]}: reference ÷ nnbp (speed-up)"
    if nn and nb and ref:
        rows.append(check(name, ref[0] / nn, 9, "{:.1f}×", False, ref[0] / nb[0]))
    else:
        rows.append(check(name, None, 9, "{:.1f}×", False))
    f = fl.get(TARGET)
    name = f"{net(TARGET[0])} m={TARGET[1]}: nnbp ÷ realistic floor"
    if nn and nb and f:
        floor = f["floor_seconds"]
        fast = fastest(c, *TARGET, "nnbp", ("default",)) / floor
        rows.append(check(name, nn / floor, 1.3, "{:.2f}", True, nb[0] / floor, fast=fast))
    else:
        rows.append(check(name, None, 1.3, "{:.2f}", True))
    vs("torch-manual", S100, 100, 0.85)
    rate = ev.get("default")
    best_rate = max(ev.values()) if ev else None
    rows.append(
        check(
            "evaluate: images/s (feedforward + argmax)", rate, 100_000, "{:,.0f}", False, best_rate
        )
    )
    pred = cli.get("predict", {})
    name = "`nnbp predict` one image, process start to answer (s)"
    if pred.get("status") == "ok":
        rows.append(check(name, pred["median"], 0.3, "{:.3f}", True))
    else:
        rows.append(check(name, None, 0.3, "{:.3f}", True, why=pred.get("status", "n/a")))
    train = cli.get("train", {})
    name = "peak RSS of `nnbp train` (1 epoch), MB"
    rss = train.get("max_rss_mb") if train.get("status") == "ok" else None
    rows.append(check(name, rss, 400, "{:.0f}", True))
    return rows


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


def kernels(training: list[dict]) -> str:
    seen: dict[tuple, set] = {}
    for rec in training:
        if rec["status"] == "ok":
            seen.setdefault((rec["impl"], rec["threads"]), set()).add(backend_text(rec["backend"]))
    rows = [
        [impl, t, "<br>".join(sorted(seen[(impl, t)]))]
        for impl in IMPLS
        for t in ("1", "default")
        if (impl, t) in seen
    ]
    return table(["implementation", "threads asked", "pools in effect while timing"], rows)


def raw(training: list[dict]) -> str:
    rows = []
    for r in training:
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
                r["threads"],
                epochs,
                timed,
                wall,
                f"{r['load']:.1f}",
            ]
        )
    header = ["round", "network", "m", "implementation", "threads", "s/epoch, each timed pass"]
    return table(header + ["images per pass", "process wall s", "load (1 min)"], rows)
