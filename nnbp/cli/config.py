"""``nnbp config show`` and ``nnbp config keys``, and the ``--set`` option ``train`` shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

overrides_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set training.eta=0.5 (repeatable; the value is YAML).",
)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("config")
def config_group() -> None:
    """Inspect, list and copy configs."""


@config_group.command("show")
@click.argument("config_file", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@overrides_option
@json_option
def config_show(config_file: Path, overrides: tuple[str, ...], as_json: bool) -> None:
    """Print the resolved config (defaults filled in, overrides applied) as YAML.

    CONFIG is a file, or the name of a shipped config (nnbp config list).
    """
    from nnbp import config

    cfg = config.load(config_file, overrides)
    click.echo(json.dumps(cfg.to_dict()) if as_json else cfg.to_yaml(), nl=as_json)


@config_group.command("keys")
@json_option
def config_keys(as_json: bool) -> None:
    """List every config key with its default and meaning."""
    from nnbp import config
    from nnbp.yamlfile import yaml_scalar

    rows = config.describe_keys()
    if as_json:
        keys = [{"key": k, "default": _plain(d), "meaning": doc} for k, d, doc in rows]
        click.echo(json.dumps(keys))
        return
    width = max(len(path) for path, _, _ in rows)
    for path, default, doc in rows:
        click.echo(f"{path:<{width}}  {yaml_scalar(default):<16}  {doc}")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@config_group.command("list")
@json_option
def config_list(as_json: bool) -> None:
    """List the configs and sweep specs shipped with nnbp, with their purpose.

    `nnbp train NAME` trains a shipped config, `nnbp config copy NAME` writes it out
    to edit; `nnbp sweep run NAME` runs a shipped sweep.
    """
    from nnbp import shipped

    rows = [
        {"name": name, "kind": kind, "purpose": shipped.purpose(shipped.find(name, kind))}
        for kind in ("config", "sweep")
        for name in shipped.names(kind)
    ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        label = r["name"] if r["kind"] == "config" else f"{r['name']} (sweep)"
        click.echo(f"{label:<{width + 8}}  {r['purpose']}")


@config_group.command("copy")
@click.argument("name")
@click.argument("dest", required=False, type=click.Path(path_type=Path))
@click.option("--sweep", is_flag=True, help="NAME is a shipped sweep spec.")
def config_copy(name: str, dest: Path | None, sweep: bool) -> None:
    """Write the shipped config NAME to DEST (default ./NAME.yaml) to edit it."""
    from nnbp import shipped

    written = shipped.copy(name, dest, "sweep" if sweep else "config")
    click.echo(f"wrote {written}", err=True)
