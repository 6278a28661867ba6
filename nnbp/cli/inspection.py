"""Looking inside a network: ``nnbp gradcheck``, ``nnbp inspect`` and ``nnbp plot``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nnbp.cli.config import overrides_option

if TYPE_CHECKING:
    from nnbp.introspect import LayerCheck, Subject


def layer_names(sizes: list[int]) -> list[str]:
    """'1 (784->30)', ...: each weight layer's number (from 1) and its fan-in and fan-out."""
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    return [f"{l + 1} ({n_in}->{n_out})" for l, (n_in, n_out) in enumerate(pairs)]


def parse_layers(layers: str | None, n_layers: int) -> list[int] | None:
    """--layers 1,3 as [1, 3] (None: every layer); a UsageError outside 1..n_layers."""
    from nnbp.errors import UsageError

    if not layers:
        return None
    try:
        chosen = [int(v) for v in layers.split(",")]
    except ValueError:
        raise UsageError(f"--layers {layers}: expected numbers like 1,2") from None
    if not all(1 <= v <= n_layers for v in chosen):
        raise UsageError(f"--layers {layers}: the network has layers 1 to {n_layers}")
    return chosen


def gradcheck_table(subject: Subject, results: list[LayerCheck]) -> str:
    """The header line and one row per layer checked: each gradient's largest error."""
    net, t = subject.network, subject.config.training
    reg_text = f", {t.regularization} lmbda {t.lmbda:g}" if t.lmbda else ""
    lines = [
        f"gradient check of {subject.description}: {net.cost} cost{reg_text},"
        f" {len(subject.x)} examples"
    ]
    names = layer_names(net.sizes)
    width = max(len(n) for n in names)
    lines.append(f"{'layer':<{width}}  dC/db (BP3)  dC/dw (BP4)  dC/dz            weights checked")
    for r in results:
        rule = "BP1" if r.layer == len(net.params) else "BP2"
        lines.append(
            f"{names[r.layer - 1]:<{width}}  {r.bias:>11.1e}  {r.weight:>11.1e}"
            f"  {r.z:>7.1e} ({rule})  {r.weights_checked:>6} of {r.shape[0] * r.shape[1]}"
        )
    return "\n".join(lines)


@click.command()
@click.argument("target", metavar="[CONFIG | RUN_DIR]", required=False, type=Path)
@click.option("--samples", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Training examples the cost is averaged over.")  # fmt: skip
@click.option("--layers", help="Only these layers, e.g. 1,3 (1 is the first weight layer).")
@click.option("--entries", default=200, show_default=True, type=click.IntRange(1),
              help="Weights and weighted inputs checked per layer (a random sample).")  # fmt: skip
@click.option("--tolerance", default=1e-5, show_default=True, type=float,
              help="Largest relative error that passes.")  # fmt: skip
@overrides_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def gradcheck(
    ctx: click.Context, target: Path | None, samples: int, layers: str | None, entries: int,
    tolerance: float, overrides: tuple[str, ...], as_json: bool,
) -> None:  # fmt: skip
    """Check backprop's gradients against finite differences, layer by layer.

    At a run's weights (default: the latest run) or a fresh network from a CONFIG (or,
    with --set and no CONFIG, from the default config), compares dC/db (BP3), dC/dw
    (BP4) and dC/dz (BP1 at the output layer, BP2 below)
    with central differences (Richardson-extrapolated, float64) of the config's cost,
    regularisation included. Prints each layer's largest relative error; exits 1 when
    one exceeds --tolerance.
    """
    import numpy as np

    from nnbp import introspect
    from nnbp.errors import ExitCode

    subject = introspect.subject(target, samples, overrides)
    chosen = parse_layers(layers, len(subject.network.params))
    results = introspect.gradcheck(
        subject.network, subject.x, subject.y, reg=subject.regularization,
        rng=np.random.default_rng(subject.config.training.seed), max_entries=entries,
        layers=chosen,
    )  # fmt: skip
    worst = max(r.worst for r in results)
    if as_json:
        rows = [
            {"layer": r.layer, "shape": list(r.shape), "dC/db": r.bias, "dC/dw": r.weight,
             "dC/dz": r.z, "weights_checked": r.weights_checked}
            for r in results
        ]  # fmt: skip
        summary = {
            "subject": subject.description, "examples": len(subject.x), "layers": rows,
            "largest_error": worst, "tolerance": tolerance, "passed": worst <= tolerance,
        }  # fmt: skip
        click.echo(json.dumps(summary))
    else:
        click.echo(gradcheck_table(subject, results))
        verdict = "agrees with" if worst <= tolerance else "DISAGREES with"
        click.echo(
            f"largest relative error {worst:.1e} (tolerance {tolerance:g}): backprop {verdict}"
            " finite differences"
        )
    if worst > tolerance:
        ctx.exit(ExitCode.ERROR)


@click.command()
@click.argument("target", metavar="[RUN_DIR | CONFIG]", required=False, type=Path)
@click.option("--samples", default=1000, show_default=True, type=click.IntRange(1),
              help="Training examples to measure on.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per layer.")
@overrides_option
def inspect(target: Path | None, samples: int, as_json: bool, overrides: tuple[str, ...]) -> None:
    """Per layer: how fast it learns, and why (chapters 2 and 5).

    At a run's weights (default: the latest run), or a fresh network from a CONFIG (as
    the book's chapter 5 does, at initialisation; with --set and no CONFIG, from the
    default config, e.g. --set network.sizes=[784,30,30,30,10]), on training examples:
    the mean norm of
    delta, the mean sigma'(z), the share of saturated neurons (activation within 0.02
    of 0 or 1) and the norms of dC/dw and dC/db, the layer's speed of learning.
    """
    import json

    from nnbp import introspect

    subject = introspect.subject(target, samples, overrides)
    net = subject.network
    rows = introspect.layer_stats(net, subject.x, subject.y.astype(net.dtype))
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    names = layer_names(net.sizes)
    width = max(len(n) for n in names)
    click.echo(f"{subject.description}, {len(subject.x)} training examples")
    click.echo(f"{'layer':<{width}}  |delta|   sigma'(z)  saturated  |dC/dw|   |dC/db|")
    for name, r in zip(names, rows, strict=True):
        sp = "-" if r["mean_sigma_prime"] is None else f"{r['mean_sigma_prime']:.4f}"
        click.echo(
            f"{name:<{width}}  {r['delta_norm']:.2e}  {sp:>9}  {r['saturated']:>8.1%}"
            f"  {r['grad_w_norm']:.2e}  {r['grad_b_norm']:.2e}"
        )


@click.command()
@click.argument("target", metavar="[RUN_DIR]", required=False, type=Path)
@click.option("-o", "--out", type=Path, help="Directory for the PNG files [RUN_DIR/plots].")
def plot(target: Path | None, out: Path | None) -> None:
    """Draw a run as PNG files: learning curves, confusion matrix, first-layer weights,
    the most confidently wrong test images, and the per-layer trace when recorded.

    Needs matplotlib (pip install 'nnbp[plot]'; make install includes it). The paths of
    the files written are printed on stdout.
    """
    from nnbp import runs
    from nnbp.plot import plot_run

    run = target if target is not None else runs.find_latest()
    for path in plot_run(run, out if out is not None else run / "plots"):
        click.echo(str(path))
