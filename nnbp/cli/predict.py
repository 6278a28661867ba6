"""``nnbp predict``: classify image files (or an IDX file), one line per image on stdout."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import numpy as np

    from nnbp.model import Model

FILE_CHUNK = 256  # image files per forward pass: one matrix product, and output keeps flowing
IDX_CHUNK = 10_000  # images of an IDX file per forward pass


def image_sources(images: Sequence[str], null: bool = False) -> Iterator[str]:
    """The image paths to predict, in order; ``-`` stands for the paths read from stdin,
    one per line, or separated by NUL bytes with ``null`` (``find -print0``)."""
    for item in images:
        if item != "-":
            yield item
        elif null:
            for path in sys.stdin.read().split("\0"):
                if path:
                    yield path
        else:
            for line in sys.stdin:
                if line.strip():
                    yield line.rstrip("\r\n")


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """``items`` in lists of ``size`` (the last one shorter), as they arrive."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def emit(model: Model, names: list[str], pixels: np.ndarray, as_json: bool, show: bool) -> None:
    """One forward pass over uint8 images (n, rows, cols) named ``names``; a line each."""
    import json

    from nnbp.image import to_text

    p = model.predict_proba(pixels)
    for i, record in enumerate(model.predictions(names, p)):
        if show:
            click.echo(f"{names[i]}:\n{to_text(pixels[i])}", err=True)
        if as_json:
            click.echo(json.dumps(record))
        else:
            name = f"\t{record['name']}" if "name" in record else ""
            click.echo(f"{names[i]}\t{record['label']}\t{record['confidence']:.4f}{name}")


@click.command()
@click.argument("images", nargs=-1, metavar="IMAGE...")
@click.option("--weights", "target", type=Path, help="Run directory or weights file [runs/latest].")
@click.option("--idx", "idx_file", type=Path, help="Predict every image of an IDX images file.")
@click.option(
    "--invert/--no-invert", default=None, help="Force or forbid inverting the image [detected]."
)
@click.option(
    "--json", "as_json", is_flag=True,
    help="JSON Lines: one JSON object per image, with the probabilities.",
)  # fmt: skip
@click.option(
    "-0", "--null", is_flag=True, help="Paths on stdin are separated by NUL (find -print0)."
)
@click.option("--show", is_flag=True, help="Draw the 28x28 input the network sees, on stderr.")
@click.pass_context
def predict(
    ctx: click.Context, images: tuple[str, ...], target: Path | None, idx_file: Path | None,
    invert: bool | None, as_json: bool, null: bool, show: bool,
) -> None:  # fmt: skip
    """Classify images: one line per image, PATH<TAB>LABEL<TAB>CONFIDENCE.

    IMAGE is any file Pillow reads (PNG, JPEG, BMP, GIF, PGM, TIFF ...), of any size and
    colour; it is prepared the way MNIST's digits were (grayscale, light ink on dark,
    cropped, scaled to 20 px, centred by mass in 28x28). `-` reads paths from stdin, one
    per line (NUL-separated with -0). An image that cannot be read is reported on stderr
    and the others are still predicted; the exit code is then 1. For datasets with named
    classes (e.g. Fashion-MNIST) the name is a fourth column. --json prints JSON Lines.
    """
    import nnbp
    from nnbp.errors import ExitCode, UsageError

    if not images and idx_file is None:
        raise UsageError("give IMAGE paths, - to read paths from stdin, or --idx FILE")
    model = nnbp.load(target)
    if target is None:
        click.echo(f"using {model.describe()}", err=True)
    if idx_file is not None:
        pixels = model.read_idx_images(idx_file)
        for start in range(0, len(pixels), IDX_CHUNK):
            block = pixels[start : start + IDX_CHUNK]
            emit(
                model, [f"{idx_file}:{start + i}" for i in range(len(block))], block, as_json, show
            )
    failed = 0
    for chunk in chunks(image_sources(images, null), FILE_CHUNK):
        good, pixels, errors = model.read_images_skipping(chunk, invert=invert)
        for error in errors:
            click.echo(f"Error: {error}", err=True)
        failed += len(errors)
        if good:
            emit(model, good, pixels, as_json, show)
    if failed:
        ctx.exit(ExitCode.ERROR)
