"""``nnbp runs [DIR]`` and ``nnbp runs diff A B``: find and compare runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


class _ListByDefault(click.Group):
    """``nnbp runs [DIR]`` lists; ``nnbp runs diff A B`` compares: a first argument that
    is not a subcommand is the directory to list."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group("runs", cls=_ListByDefault)
def runs_group() -> None:
    """List the runs under runs/ (or DIR, searched recursively), or compare two.

    \b
    nnbp runs                              every run under runs/
    nnbp runs sweeps --sort validation_accuracy   sweep trials, best first
    nnbp runs diff runs/mnist runs/mnist-2 what differs between two runs
    """


def _value(v: Any, key: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}" if key == "seconds" else f"{v:.4f}"
    return str(v)


@runs_group.command("list")
@click.argument("root", metavar="[DIR]", required=False, type=click.Path(path_type=Path))
@click.option(
    "--sort", default="name", show_default=True, help="name, status, epochs, kept_epoch,"
    " validation_accuracy, test_accuracy, seconds or started (best or newest first).",
)  # fmt: skip
@json_option
def runs_list(root: Path | None, sort: str, as_json: bool) -> None:
    """One line per run: name, status, epochs, kept epoch, validation and test accuracy,
    seconds, and the config keys that differ from the defaults."""
    from nnbp import catalog, runs
    from nnbp.errors import UsageError

    if sort not in catalog.SORT_KEYS:
        raise UsageError(f"--sort {sort}: expected one of {', '.join(catalog.SORT_KEYS)}")
    rows = catalog.listing(root or runs.RUNS_ROOT, sort)
    if as_json:
        click.echo(json.dumps(rows))
        return
    click.echo("name\tstatus\tepochs\tkept\tvalidation\ttest\tseconds\tchanged")
    for r in rows:
        if r["status"] == "broken":
            click.echo(f"{r['name']}\tbroken\t{r['reason']}")
            continue
        changed = " ".join(f"{k}={json.dumps(v)}" for k, v in r["changed"].items())
        cells = [r[k] for k in ("name", "status", "epochs", "kept_epoch")]
        cells += [r["validation_accuracy"], r["test_accuracy"], _value(r["seconds"], "seconds")]
        click.echo("\t".join(_value(c) for c in cells) + f"\t{changed}")


@runs_group.command("diff")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@json_option
def runs_diff(a: Path, b: Path, as_json: bool) -> None:
    """The config keys that differ between runs A and B, and their results side by side."""
    from nnbp import catalog

    d = catalog.diff(a, b)
    if as_json:
        click.echo(json.dumps(d))
        return
    width = max([len(k) for k in (*d["config"], *d["results"])])
    click.echo(f"{'':<{width}}  {a}  |  {b}")
    for key, (x, y) in {**d["config"], **d["results"]}.items():
        click.echo(f"{key:<{width}}  {_value(x, key)}  |  {_value(y, key)}")
    if not d["config"]:
        click.echo("(the configs are the same but for the name)", err=True)
