"""``nnbp train``: a config in, a run directory out, progress on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nnbp.cli.config import overrides_option

if TYPE_CHECKING:
    from nnbp.config import Config
    from nnbp.data import Splits
    from nnbp.training import Run

BAR_WIDTH = 30  # characters of the within-epoch progress bar


class Progress:
    """What ``nnbp train`` shows on stderr while it trains: ``nnbp.train``'s callbacks."""

    def __init__(self, cfg: Config, out: Path, resume: bool) -> None:
        self.cfg, self.out, self.resume = cfg, out, resume
        self.epochs = cfg.training.epochs
        self.tty = sys.stderr.isatty()  # a terminal: progress bar, lines redrawn in place

    def on_start(self, splits: Splits, done: int) -> None:
        """The first line: what is trained, on how many images, into which directory."""
        cfg, n_val = self.cfg, len(splits.validation) if splits.validation else 0
        click.echo(
            f"training {cfg.name}: sizes {list(cfg.network.sizes)}, {len(splits.train)} train /"
            f" {n_val} validation / {len(splits.test)} test images, up to {self.epochs} epochs"
            f" -> {self.out}" + (f" (resuming after epoch {done})" if self.resume else ""),
            err=True,
        )

    def on_epoch(self, m: dict[str, Any]) -> None:
        """One line per epoch, from its metrics.jsonl row."""
        val = m["validation_accuracy"]
        val_text = f"  validation {val:.4f}" if val is not None else ""
        click.echo(
            ("\r" if self.tty else "")
            + f"epoch {m['epoch']}/{self.epochs}  train_cost {m['train_cost']:.4f}{val_text}"
            f"  test {m['test_accuracy']:.4f}  eta {m['eta']:g}"
            f"  {m['seconds']:.2f} s ({m['train_seconds']:.2f} s SGD)",
            err=True,
        )

    def on_batches(self, epoch: int, done: int, total: int) -> None:
        """The within-epoch progress bar, redrawn in place (only on a terminal)."""
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        click.echo(
            f"\repoch {epoch}/{self.epochs} [{bar}] {100 * done // total:3d}%", nl=False, err=True
        )


def result(run: Run) -> dict[str, Any]:
    """The finished run's summary: the keys of the last stdout line (and of --json)."""
    out: dict[str, Any] = {"test_accuracy": run.test_accuracy}
    if run.validation_accuracy is not None:
        out["validation_accuracy"] = run.validation_accuracy
    return {**out, "epoch": run.kept_epoch, "epochs": run.epochs_trained, "run": str(run.directory)}


def result_line(run: Run) -> str:
    """The machine-readable last line on stdout, of a finished run."""
    return " ".join(
        f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in result(run).items()
    )


@click.command()
@click.argument("target", metavar="CONFIG | RUN_DIR", type=click.Path(path_type=Path))
@overrides_option
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Run directory [runs/<name>]."
)
@click.option("--overwrite", is_flag=True, help="Replace a finished or interrupted run.")
@click.option(
    "--resume", is_flag=True, help="Continue an interrupted run (CONFIG's, or RUN_DIR itself)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr: only the result.")
def train(
    target: Path, overrides: tuple[str, ...], out: Path | None, overwrite: bool, resume: bool,
    as_json: bool, quiet: bool,
) -> None:  # fmt: skip
    """Train the network CONFIG describes and write a run directory.

    The run directory (runs/<name>/ unless --out) receives config.yaml, metrics.jsonl
    (one JSON object per epoch), weights.npz (the best validation epoch's weights,
    unless training.keep is last) and checkpoint.npz, all rewritten atomically after
    each epoch; runs/latest points to it. Ctrl-C or SIGTERM stops cleanly and
    `nnbp train --resume RUN_DIR` continues, ending exactly as an uninterrupted run.
    The last line on stdout is machine-readable: test_accuracy=...
    validation_accuracy=... epoch=... epochs=... run=..., the accuracies being those of
    the kept weights.
    """
    from nnbp import config, runs, training
    from nnbp.errors import UsageError
    from nnbp.schedule import STOP_REASONS

    if resume and overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if target.is_dir() and not resume:
        raise UsageError(f"{target}: is a directory; give a CONFIG file, or --resume RUN_DIR")
    # The config is read here, not in train(), for the first line's name, sizes and run.
    cfg_file, out = (target / runs.CONFIG_FILE, target) if target.is_dir() else (target, out)
    cfg = config.load(cfg_file, overrides)
    if out is None:
        out = runs.default_dir(cfg.name)
        free = out if resume or overwrite else runs.next_free(out)
        if free != out:
            if not quiet:
                click.echo(f"{out} holds a finished run; this one trains into {free}", err=True)
            out = free
    shown = Progress(cfg, out, resume)
    run = training.train(
        cfg, out=out, overwrite=overwrite, resume=resume,
        on_start=None if quiet else shown.on_start, on_epoch=None if quiet else shown.on_epoch,
        on_batches=shown.on_batches if shown.tty and not quiet else None,
    )  # fmt: skip
    if run.stop_reason and not quiet:
        reason = STOP_REASONS[run.stop_reason]
        click.echo(f"stopped after epoch {run.epochs_trained}: {reason}", err=True)
    click.echo(json.dumps(result(run)) if as_json else result_line(run))
