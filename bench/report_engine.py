"""nnbp's engine against a past revision of itself (`--baseline REV`, bench/engine.py) in
docs/BENCHMARKS.md: the figures from the raw records, their tables and the section's text.

Fresh processes: per round, the mean of the new engine's processes ÷ the mean of the old
one's. In one process (bench/worker_pair.py): every ABBA quadruple's ratio, pooled over
the rounds. Both as median and interquartile range.
"""

from __future__ import annotations

import statistics
from typing import Any

from render import net, secs, table


def spread(values: list[float]) -> dict[str, float]:
    """Median, range and interquartile range (inclusive quartiles) of some values."""
    q1, q3 = (values[0], values[0]) if len(values) < 2 else _quartiles(values)
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "q1": q1,
        "q3": q3,
        "n": len(values),
    }


def _quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def engine_summary(records: list[dict], label: str) -> dict[tuple, dict[str, Any]]:
    """(sizes, m, dtype) -> seconds per epoch of each engine (over its processes) and the
    new/old ratio over rounds (each round's mean of new processes / mean of old ones)."""
    groups: dict[tuple, dict[int, dict[str, list[float]]]] = {}
    threads: dict[tuple, set[int]] = {}  # BLAS threads in effect while timing
    for rec in records:
        if rec["status"] != "ok":
            continue
        key = (tuple(rec["sizes"]), rec["m"], rec["dtype"])
        per_round = groups.setdefault(key, {}).setdefault(rec["round"], {"new": [], "old": []})
        side = "new" if rec["impl"] == "nnbp" else "old"
        per_round[side].append(statistics.median(rec["seconds"]))
        pools = rec["backend"]["pools"]
        threads.setdefault(key, set()).update(
            p["num_threads"] for p in pools if p.get("user_api") == "blas"
        )
    out = {}
    for key, rounds in groups.items():
        new = [v for r in rounds.values() for v in r["new"]]
        old = [v for r in rounds.values() for v in r["old"]]
        ratios = [
            statistics.fmean(r["new"]) / statistics.fmean(r["old"])
            for r in rounds.values()
            if r["new"] and r["old"]
        ]
        out[key] = {
            "new": spread(new) if new else None,
            "old": spread(old) if old else None,
            "ratio": spread(ratios) if ratios else None,
            "threads": sorted(threads[key]),
            "label": label,
        }
    return out


def paired_summary(records: list[dict]) -> dict[tuple, dict[str, Any]]:
    """(sizes, m, dtype) -> the in-process comparison: every ABBA quadruple's new/old ratio
    pooled over rounds, and each engine's seconds per epoch."""
    out: dict[tuple, dict[str, list]] = {}
    for rec in records:
        if rec["status"] != "ok":
            continue
        e = out.setdefault(
            (tuple(rec["sizes"]), rec["m"], rec["dtype"]), {"r": [], "n": [], "o": []}
        )
        e["r"] += rec["ratios"]
        e["n"] += rec["seconds"]["new"]
        e["o"] += rec["seconds"]["old"]
    return {
        k: {"ratio": spread(e["r"]), "new": spread(e["n"]), "old": spread(e["o"])}
        for k, e in out.items()
    }


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


def engine_section(results: dict[str, Any]) -> tuple[str, str]:
    """The heading and text of the engine comparison; ("", "") without a baseline."""
    base = results.get("baseline")
    if not base:
        return "", ""
    heading = f"Engine against {base['rev']}"
    if base["status"] != "ok":
        return heading, f"Not measured: {base['error']}."
    s, label = results["settings"], base["label"]
    keys = [(tuple(sz), m, "float32") for sz, m in s["engine"]["configs"]]
    keys += [(tuple(sz), m, "float64") for sz, m in s["engine"]["float64"]]
    summary = engine_summary(results["engine"], label)
    weights = results.get("engine_weights", [])
    steps = s["weight_steps"]
    pairs = s["engine"]["pairs"]
    order = "ABBA or BAAB" if pairs > 1 else "AB or BA"
    paired = paired_summary(results.get("engine_paired", []))
    budget = s["engine"]["budget"]
    text = f"""\
The engine as checked out (`SGD.epoch` over the BP1-BP4 loop in `nnbp/network.py`)
against `nnbp/` at {base["rev"]} ({label}), with the same data and settings as above, at
nnbp's shipped thread setting (both engines choose the same) and under the default BLAS
kernel, measured two ways.

In one process (`bench/worker_pair.py`): {label}'s package, extracted with `git archive`
and renamed `nnbp_base`, is imported beside the checkout's `nnbp`; each trains its own
network from the same seed on the same training rows, and after a warm-up epoch each, whole
epochs alternate as ABBA quadruples for about {budget:g} s per network and round. Each
quadruple gives one ratio (nnbp's two epochs ÷ {label}'s two); the table pools them over
the {results["rounds"]} rounds: median and interquartile range (below 1.000 the checkout
is faster). Paired epoch by epoch, a drift of the machine's speed weighs on both alike.

{paired_table(paired, keys[: len(s["engine"]["configs"])], label)}

In fresh processes, alternating with the peers above: {pairs} of each engine per round
and network in float32 ({order}, the order flipping from round to round) and, for the
float64 rows, one of each. Seconds per epoch: median over the processes (range). Ratio:
per round, the mean of nnbp's processes ÷ the mean of {label}'s; median and interquartile
range over the rounds. Between processes the 2-thread rows swing the most. Weights: both
engines train the same network from the same seed on the first {steps} x m training
images (one epoch, {steps} steps) and every weight and bias is compared bit for bit.

{engine_table(summary, weights, keys, label)}"""
    return heading, text
