"""``nnbp sweep run|join|report|keys``: hyperparameter searches on Optuna."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from nnbp.cli.config import overrides_option

storage_option = click.option(
    "--storage",
    envvar="NNBP_SWEEP_STORAGE",
    show_envvar=True,
    metavar="URL",
    help="postgresql://user@host:port/db shared by several machines (default: a journal"
    " file in the sweep directory). Keep passwords in the environment variable.",
)
workers_option = click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes here (default: the spec's)."
)
out_option = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The sweep directory: its trials' runs (default: sweeps/<name>).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@click.group("sweep")
def sweep_group() -> None:
    """Search hyperparameters with Optuna, on both cores or across machines.

    \b
    nnbp sweep run configs/sweeps/nielsen-ch3.yaml   run (or continue) a sweep
    nnbp sweep report configs/sweeps/nielsen-ch3.yaml   its trials, best first
    nnbp sweep keys                                  what a sweep spec may say
    optuna-dashboard sweeps/NAME/study.journal       the same study in a browser
    """


def _print(summary: dict[str, Any], as_json: bool) -> None:
    from nnbp.sweep.report import text

    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo("\n".join(text(summary)))


@sweep_group.command("run")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False, path_type=Path))
@workers_option
@storage_option
@out_option
@overrides_option
@click.option("--dry-run", is_flag=True, help="Check the spec and show the trials; run none.")
@json_option
def sweep_run(
    spec_file: Path,
    workers: int | None,
    storage: str | None,
    out: Path | None,
    overrides: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Run the sweep SPEC, or continue it: trials already done are not run again.

    Each trial is an ordinary run directory under <out>/trials/; <out>/best names the
    best. --set fixes a config key for every trial, as the spec's `set` does.
    """
    from nnbp import sweep
    from nnbp.config import parse_override

    fixed = {".".join(path): value for path, value in map(parse_override, overrides)}
    spec = sweep.load_spec(spec_file, fixed)
    if dry_run:
        click.echo("\n".join(spec.describe(workers or spec.workers)))
        return
    _print(sweep.run(spec, workers=workers, storage=storage, out=out), as_json)


@sweep_group.command("join")
@storage_option
@click.option("--study", "study_name", required=True, metavar="NAME", help="The study's name.")
@workers_option
@out_option
@json_option
def sweep_join(
    storage: str | None, study_name: str, workers: int | None, out: Path | None, as_json: bool
) -> None:
    """Add this machine's workers to a study started elsewhere.

    The spec and base config come from the study; a different nnbp version or different
    data files are refused. $NNBP_SWEEP_HOST names this machine in the trials.
    """
    from nnbp import sweep

    _print(sweep.join(study_name, storage=storage, workers=workers, out=out), as_json)


@sweep_group.command("report")
@click.argument("spec_file", metavar="[SPEC]", required=False, type=click.Path(path_type=Path))
@out_option
@storage_option
@click.option("--study", "study_name", metavar="NAME", help="The study's name (with --storage).")
@json_option
def sweep_report(
    spec_file: Path | None,
    out: Path | None,
    storage: str | None,
    study_name: str | None,
    as_json: bool,
) -> None:
    """Print a sweep's trials best first, and the chosen one's test accuracy."""
    from nnbp import sweep

    _print(sweep.report(spec_file, storage=storage, study=study_name, out=out), as_json)


@sweep_group.command("keys")
def sweep_keys() -> None:
    """List every sweep spec key with its default and meaning."""
    from nnbp.sweep.spec import KEYS
    from nnbp.yamlfile import yaml_scalar

    width = max(len(key) for key, _, _ in KEYS)
    for key, default, doc in KEYS:
        click.echo(f"{key:<{width}}  {yaml_scalar(default):<22}  {doc}")
