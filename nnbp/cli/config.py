"""``nnbp config show`` and ``nnbp config keys``, and the ``--set`` option ``train`` shares."""

from __future__ import annotations

from pathlib import Path

import click

overrides_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set training.eta=0.5 (repeatable; the value is YAML).",
)


@click.group("config")
def config_group() -> None:
    """Inspect configs."""


@config_group.command("show")
@click.argument("config_file", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@overrides_option
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
        click.echo(f"{path:<{width}}  {config.yaml_scalar(default):<16}  {doc}")
