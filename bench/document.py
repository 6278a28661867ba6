"""The text of docs/BENCHMARKS.md around the tables: render(results) -> (markdown, summary)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from method import method
from render import (
    engine_table,
    floor_table,
    gemm_details,
    gemm_library_table,
    kernels,
    net,
    paired_table,
    ratio_table,
    raw,
    secs,
    speed_table,
    table,
)
from report import (
    cells,
    engine_summary,
    evaluate_rates,
    floors,
    gemm_libraries,
    paired_summary,
)


def _not_ok(record: dict) -> str:
    """A measurement that did not run: its status, and its error when there is one."""
    return record.get("status", "n/a") + (f": {record['error']}" if "error" in record else "")


def machine_table(mc: dict[str, Any], wall: float) -> str:
    v = mc["versions"]
    rows = [
        ["CPU", f"{mc['cpu']} ({', '.join(mc['simd'])})"],
        [
            "cores",
            f"{mc['logical_cpus']} logical, {mc['usable_cpus']} usable by this process,"
            f" 'cpu cores' {mc['cores_per_socket']} in /proc/cpuinfo",
        ],
        ["OS", mc["platform"]],
        ["Python", mc["python"]],
        ["NumPy", mc["numpy"]],
        ["NumPy's BLAS (threadpoolctl, unlimited)", "<br>".join(mc["numpy_blas"])],
        ["BLAS kernel that ran", kernel_text(mc)],
        ["torch", v["torch"]],
        ["scikit-learn", v["scikit-learn"]],
        ["threadpoolctl", v["threadpoolctl"]],
        ["nnbp", f"{v['nnbp']}, git {mc['git']}"],
        ["date", mc["date"]],
        ["load average (1/5/15 min)", f"start {mc['load_start']}; end {mc['load_end']}"],
        ["bench wall time", f"{wall / 60:.1f} min"],
    ]
    return table(["", ""], rows)


def kernel_text(mc: dict[str, Any]) -> str:
    """The OpenBLAS kernel threadpoolctl reports, and whether it was forced."""
    arch = mc["blas_kernel"] or ["?"]
    forced = mc["openblas_coretype"]
    how = (
        f"forced by OPENBLAS_CORETYPE={forced}"
        if forced != "unset"
        else "chosen by OpenBLAS for this CPU (OPENBLAS_CORETYPE unset)"
    )
    return f"{', '.join(arch)}, {how}"


def _measured(record: dict, text: Callable[[dict], str]) -> str:
    """``text(record)`` for a measurement that ran, else why it did not."""
    return text(record) if record.get("status") == "ok" else _not_ok(record)


def _evaluate_text(r: dict) -> str:
    text = f"{secs(r['median'])} s wall (median of {len(r['walls'])})"
    return text + (f", accuracy {r['accuracy']:.4f}" if r.get("accuracy") is not None else "")


def cli_table(cli: dict[str, Any], ev: dict[str, float], n_test: int) -> str:
    rows = [
        [f"feedforward + argmax, {n_test:,} test images, threads={t}", f"{rate:,.0f} images/s"]
        for t, rate in sorted(ev.items())
    ]
    if cli.get("status") == "skipped":
        return table(["what", "measured"], [*rows, ["the `nnbp` commands", _not_ok(cli)]])
    evaluate = _measured(cli.get("evaluate", {}), _evaluate_text)
    rows.append(["`nnbp evaluate RUN_DIR --json`", evaluate])
    predict = _measured(
        cli.get("predict", {}),
        lambda r: (
            f"{secs(r['median'])} s wall (median of {len(r['walls'])});"
            f" answer `{r['answer']}` (true label {r['label']})"
        ),
    )
    rows.append(["`nnbp predict --weights RUN_DIR IMAGE.png`", predict])
    start = cli.get("startup", {})
    if start.get("status") == "ok":
        rows.append(
            ["`nnbp --version` (interpreter + CLI start)", f"{secs(start['median'])} s wall"]
        )
    train = _measured(
        cli.get("train", {}),
        lambda r: f"{r['max_rss_mb']:.0f} MB peak RSS, {r['wall']:.1f} s wall; `{r['last_line']}`",
    )
    rows.append(["`nnbp train configs/mnist.yaml --set training.epochs=1`", train])
    return table(["what", "measured"], rows)


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
nnbp's shipped thread setting (both engines choose the same), measured two ways.

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


def _intro(results: dict[str, Any]) -> str:
    mode, mc = results["mode"], results["machine"]
    flag = f" --{mode}" if mode != "full" else ""
    base = f" --baseline {results['baseline']['rev']}" if results.get("baseline") else ""
    note = f" **(--{mode}: a check that the bench runs, not numbers to quote)**" if flag else ""
    return f"""\
# Benchmarks

Generated by `make bench` (`bench/run.py{flag}{base}`) on {mc["date"]}{note}; do not edit by
hand, rerun instead. Seconds per epoch are for one epoch of SGD over the
{results["counts"]["train"]:,} training images; lower is better. The machine, the BLAS
kernel that ran and the method are described at the end."""


def _gemm_section(libs: dict, s: dict, n_train: int) -> str:
    sizes, m = s["gemm_bound"]
    return f"""\
{net(sizes)} with m={m} spends nearly all its time in two products.
Here each product of its step is timed alone (µs per call, fastest over rounds) with
`np.matmul(out=)` (the OpenBLAS that NumPy's wheel bundles, which nnbp uses) and with
`torch.mm(out=)` (the MKL in torch's CPU wheel, which torch-manual uses), same shapes,
layouts and float32, at 1 thread and at each library's default (all cores).

{gemm_library_table(libs, -(-n_train // m))}"""


def _rerun(results: dict[str, Any]) -> str:
    minutes = results["wall_seconds"] / 60
    return f"""\
    make bench                          # full, with the engine at $(BASELINE) (0c9a75a)
    make bench BASELINE=                # without the engine comparison
    make bench BASELINE=HEAD~1          # the engine against another revision
    .venv/bin/python bench/run.py --quick --baseline 0c9a75a   # one short round
    .venv/bin/python bench/run.py --smoke --out bench.md       # seconds, synthetic data

This run ({results["mode"]}, {results["rounds"]} round(s)) took {minutes:.1f} min.
`--rounds N` changes the number of rounds, `--json RAW.json` also saves every raw
record. A peer whose package cannot be imported shows as "missing". Install the peers
with `.venv/bin/python -m pip install -e '.[bench]'` (`make bench` does it)."""


def sections(results: dict[str, Any]) -> list[tuple[str, str]]:
    """(heading, text) of every section after the introduction, in order."""
    s = results["settings"]
    configs = [(tuple(sizes), m) for sizes, m in s["configs"]]
    c = cells(results["training"])
    fl = floors(results["floors"])
    ev = evaluate_rates(results["evaluate"])
    engine = engine_section(results)
    libs = gemm_libraries(results.get("gemm_libraries", []))
    n_train, n_test = results["counts"]["train"], results["counts"]["test"]
    return [
        ("Seconds per epoch", SPEED_TEXT + "\n\n" + speed_table(c, configs)),
        ("Ratios", RATIOS_TEXT + "\n\n" + ratio_table(c, fl, configs)),
        *([engine] if engine[0] else []),
        ("Lower bound for one epoch (1 thread)", floor_table(c, fl, configs)),
        ("Each matrix product of a step", gemm_details(fl, configs)),
        (
            "The GEMM-bound configuration: NumPy's BLAS against torch's",
            _gemm_section(libs, s, n_train),
        ),
        ("Evaluation, prediction, memory", cli_table(results["cli"], ev, n_test)),
        (
            "Machine",
            machine_table(results["machine"], results["wall_seconds"])
            + "\n\nWhat ran, per implementation (threadpoolctl / torch, read while timing):\n\n"
            + kernels(results["training"] + results.get("engine", [])),
        ),
        ("Method", method(results)),
        ("How to rerun", _rerun(results)),
        ("All measurements", raw(results["training"] + results.get("engine", []))),
    ]


SPEED_TEXT = """\
Median over rounds (range over rounds in brackets); * = timed on a subset of an epoch
and scaled. "nnbp ÷ better": nnbp as shipped (its own thread choice) ÷ the peer's better
thread setting, then the same with nnbp's better setting. Test accuracy is after the
warm-up and timed passes, a sanity check only (passes differ between implementations;
"—" where only a subset was timed)."""

RATIOS_TEXT = """\
nnbp's seconds per epoch ÷ the peer's (its better thread setting), and ÷ the realistic
floor (below): below 1.00 nnbp is faster. First with nnbp as shipped (its own thread
choice), then with nnbp's better setting."""

SUMMARY = {"Seconds per epoch", "Ratios", "Lower bound for one epoch (1 thread)"}  # to stdout
FOLDED = {"Each matrix product of a step", "All measurements"}  # in <details> blocks


def render(results: dict[str, Any]) -> tuple[str, str]:
    """The report's markdown, and the summary bench/run.py prints."""
    parts, summary = [_intro(results)], []
    for heading, text in sections(results):
        if heading in FOLDED:
            parts.append(f"<details><summary>{heading}</summary>\n\n{text}\n\n</details>")
        else:
            parts.append(f"## {heading}\n\n{text}")
        if heading in SUMMARY or heading.startswith("Engine against"):
            summary.append(f"## {heading}\n\n{text}")
    return "\n\n".join(parts) + "\n", "\n\n".join(summary)
