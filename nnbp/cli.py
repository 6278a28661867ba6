"""The ``nnbp`` command line: parse, call the library, print.

Results go to stdout, progress and messages to stderr. Errors from the library
(``NnbpError``) become one ``Error: ...`` line on stderr and an exit code: 2 for usage
and config mistakes, 1 for bad data or files, 130 for Ctrl-C. ``--traceback`` shows the
full traceback instead, for bug reports. The library modules are imported inside the
commands, so ``nnbp --help`` and ``--version`` start without loading NumPy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from nnbp import __version__
from nnbp.errors import NnbpError

SET_HELP = "Override a config key, e.g. --set training.eta=0.5 (repeatable; the value is YAML)."


class NnbpGroup(click.Group):
    """A click group that turns nnbp's errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NnbpError as e:
            if ctx.params.get("traceback"):
                raise
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            if ctx.params.get("traceback"):
                raise
            click.echo("Error: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=NnbpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="nnbp")
@click.option("--traceback", is_flag=True, help="Show the full traceback of an error.")
def cli(traceback: bool) -> None:
    """Train fully-connected sigmoid networks with matrix-based backpropagation.

    \b
    nnbp data fetch mnist          download (or copy from $NNBP_DATA_MIRROR) MNIST
    nnbp train configs/mnist.yaml  train the book's chapter-1 network
    nnbp config show CONFIG        print the resolved config
    """


# --- train ---------------------------------------------------------------------------


def _progress(epochs: int) -> Any:
    """A within-epoch progress bar on stderr (used only when stderr is a terminal)."""
    width = 30

    def show(epoch: int, done: int, total: int) -> None:
        filled = width * done // total
        bar = "#" * filled + "." * (width - filled)
        click.echo(
            f"\repoch {epoch}/{epochs} [{bar}] {100 * done // total:3d}%", nl=False, err=True
        )

    return show


def _epoch_line(m: dict[str, Any], epochs: int) -> str:
    val = m["validation_accuracy"]
    val_text = f"  validation {val:.4f}" if val is not None else ""
    return (
        f"epoch {m['epoch']}/{epochs}  train_cost {m['train_cost']:.4f}{val_text}"
        f"  test {m['test_accuracy']:.4f}  {m['seconds']:.2f} s ({m['train_seconds']:.2f} s SGD)"
    )


@cli.command()
@click.argument("config_file", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Run directory [runs/<name>]."
)
@click.option("--overwrite", is_flag=True, help="Replace a finished run in the run directory.")
def train(config_file: Path, overrides: tuple[str, ...], out: Path | None, overwrite: bool) -> None:
    """Train the network CONFIG describes and write a run directory.

    The run directory (runs/<name>/ unless --out) receives config.yaml, metrics.jsonl
    (one JSON object per epoch) and weights.npz; runs/latest points to it. The last
    line on stdout is machine-readable: test_accuracy=... run=...
    """
    import numpy as np

    from nnbp import config, data, model_file, runs
    from nnbp.network import Network
    from nnbp.train import fit

    cfg = config.load(config_file, overrides)
    run = out if out is not None else runs.default_dir(cfg.name)
    runs.check_target(run, overwrite=overwrite)
    splits = data.load_splits(cfg)
    runs.prepare(run, overwrite=overwrite)
    runs.write_text(run, runs.CONFIG_FILE, cfg.to_yaml())

    rng = np.random.default_rng(cfg.training.seed)
    net = Network.create(
        cfg.network.sizes,
        rng,
        init=cfg.network.init,
        cost=cfg.network.cost,
        dtype=cfg.training.dtype,
    )
    epochs = cfg.training.epochs
    n_val = len(splits.validation) if splits.validation else 0
    click.echo(
        f"training {cfg.name}: sizes {list(cfg.network.sizes)}, {len(splits.train)} train /"
        f" {n_val} validation / {len(splits.test)} test images, {epochs} epochs -> {run}",
        err=True,
    )
    tty = sys.stderr.isatty()
    log = runs.MetricsLog(run)

    def on_epoch(m: dict[str, Any]) -> None:
        log.append(m)
        click.echo(("\r" if tty else "") + _epoch_line(m, epochs), err=True)

    try:
        history = fit(
            net,
            splits,
            cfg.training,
            rng,
            on_epoch=on_epoch,
            on_batches=_progress(epochs) if tty else None,
        )
    finally:
        log.close()
    model_file.save(
        run / runs.WEIGHTS_FILE,
        net,
        input_shape=splits.image_shape,
        class_names=splits.class_names,
        config_sha256=cfg.digest(),
    )
    runs.update_latest(run)
    last = history[-1]
    parts = [f"test_accuracy={last['test_accuracy']:.4f}"]
    if last["validation_accuracy"] is not None:
        parts.append(f"validation_accuracy={last['validation_accuracy']:.4f}")
    parts += [f"epochs={len(history)}", f"run={run}"]
    click.echo(" ".join(parts))


# --- data ----------------------------------------------------------------------------


@cli.group("data")
def data_group() -> None:
    """Get the datasets."""


@data_group.command("fetch")
@click.argument("name", type=click.Choice(["mnist", "fashion-mnist"]))
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data"),
    show_default=True,
    help="Data directory; the files go to DEST/NAME/.",
)
def data_fetch(name: str, dest: Path) -> None:
    """Fetch a dataset's four IDX files and verify their SHA-256.

    Sources, in order: $NNBP_DATA_MIRROR (a directory or URL holding NAME/FILE), then
    the dataset's public mirrors. Files already present and valid are kept. The paths
    of the four files are printed on stdout.
    """
    from nnbp import datasets

    paths = datasets.fetch(
        name,
        dest,
        mirror=os.environ.get(datasets.MIRROR_ENV) or None,
        progress=lambda msg: click.echo(msg, err=True),
    )
    for path in paths.values():
        click.echo(str(path))


# --- config --------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Inspect configs."""


@config_group.command("show")
@click.argument("config_file", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
def config_show(config_file: Path, overrides: tuple[str, ...]) -> None:
    """Print the resolved config (defaults filled in, overrides applied) as YAML."""
    from nnbp import config

    click.echo(config.load(config_file, overrides).to_yaml(), nl=False)


@config_group.command("keys")
def config_keys() -> None:
    """List every config key with its default and meaning."""
    from nnbp import config

    rows = config.describe_keys()
    width = max(len(path) for path, _, _ in rows)
    for path, default, doc in rows:
        shown = list(default) if isinstance(default, tuple) else default
        click.echo(f"{path:<{width}}  {shown!s:<16}  {doc}")


def main() -> None:
    cli(prog_name="nnbp")
