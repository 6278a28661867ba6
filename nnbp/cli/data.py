"""``nnbp data fetch``: download (or copy from a mirror) a dataset's IDX files."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("data")
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

    # mirror=None: the library reads $NNBP_DATA_MIRROR itself.
    paths = datasets.fetch(name, dest, progress=lambda msg: click.echo(msg, err=True))
    for path in paths.values():
        click.echo(str(path))
