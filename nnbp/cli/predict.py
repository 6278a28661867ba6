"""``nnbp predict``: classify image files (or an IDX file), one line per image on stdout."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import numpy as np

    from nnbp.image import Prepared
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


class Shower:
    """Draws each image's preparation: as text on stderr (--show), as a PNG panel of its
    stages in a directory (--show-dir)."""

    def __init__(self, text: bool, directory: Path | None) -> None:
        self.text, self.directory = text, directory
        self.used: set[str] = set()  # file names written in this run

    @property
    def wanted(self) -> bool:
        return self.text or self.directory is not None

    def show(self, name: str, stages: dict[str, np.ndarray], inverted: bool = False) -> None:
        from nnbp.image import to_text
        from nnbp.show import stages_text

        if self.text:
            only_input = list(stages) == ["input"]  # drawn alone, as it always was
            drawing = to_text(stages["input"]) if only_input else stages_text(stages, inverted)
            click.echo(f"{name}:\n{drawing}", err=True)
        if self.directory is not None:
            self._save(name, stages)

    def _save(self, name: str, stages: dict[str, np.ndarray]) -> None:
        import io
        import re

        from nnbp.atomic import atomic_write_bytes
        from nnbp.errors import RunError
        from nnbp.show import stages_panel

        stem = re.sub(r"[^\w.-]+", "-", Path(name).stem).strip("-.") or "image"
        file, n = f"{stem}.png", 1
        while file in self.used:  # two images of the same name in different directories
            n += 1
            file = f"{stem}-{n}.png"
        self.used.add(file)
        buf = io.BytesIO()
        stages_panel(stages).save(buf, "PNG")
        try:
            atomic_write_bytes(self.directory / file, buf.getvalue())
        except OSError as e:
            raise RunError(f"{self.directory / file}: cannot write ({e.strerror or e})") from None


def emit(
    model: Model, names: list[str], pixels: np.ndarray, as_json: bool, shower: Shower,
    prepared: list[Prepared] | None = None,
) -> None:  # fmt: skip
    """One forward pass over uint8 images (n, rows, cols) named ``names``; a line each.

    ``prepared``: how image files were read (an IDX file's rows have none). A blank one
    still gets its line (pipelines count lines), and a warning naming the file on
    stderr; ``shower`` draws its stages (an IDX row: its input alone).
    """
    import json

    p = model.predict_proba(pixels)
    blank = [q.blank for q in prepared] if prepared else None
    for i, record in enumerate(model.predictions(names, p, blank)):
        if shower.wanted and prepared:
            shower.show(names[i], prepared[i].stages, prepared[i].inverted)
        elif shower.wanted:
            shower.show(names[i], {"input": pixels[i]})
        if "warning" in record:
            click.echo(f"Warning: {names[i]}: {record['warning']}", err=True)
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
@click.option(
    "--show", is_flag=True,
    help="Draw each stage of the preparation (page, background removed, ink mask, kept,"
    " the input the network sees) as text, on stderr.",
)  # fmt: skip
@click.option(
    "--show-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
    help="Save a picture of each image's stages, side by side, as DIR/NAME.png.",
)  # fmt: skip
@click.pass_context
def predict(
    ctx: click.Context, images: tuple[str, ...], target: Path | None, idx_file: Path | None,
    invert: bool | None, as_json: bool, null: bool, show: bool, show_dir: Path | None,
) -> None:  # fmt: skip
    """Classify images: one line per image, PATH<TAB>LABEL<TAB>CONFIDENCE.

    IMAGE is any file Pillow reads (PNG, JPEG, BMP, GIF, PGM, TIFF ...), of any size and
    colour; it is prepared the way the network's training images were (the weights
    file's preparation): MNIST's digits (grayscale, light ink on dark, cropped, scaled to
    20 px, centred by mass in 28x28) or Fashion-MNIST's products (trimmed, fitted to
    28x28). A photographed page is cleaned first (uneven light, shadows, ruled lines, a
    box, dust: needs `pip install 'nnbp[photos]'`). `-` reads paths from stdin, one per
    line (NUL-separated with -0). An image that cannot be read is reported on stderr and
    the others are still predicted; the exit code is then 1. An image with no ink still
    gets its line, and a warning on stderr. For datasets with named classes (e.g.
    Fashion-MNIST) the name is a fourth column. --json prints JSON Lines.
    """
    import numpy as np

    import nnbp
    from nnbp.errors import ExitCode, UsageError

    if not images and idx_file is None:
        raise UsageError("give IMAGE paths, - to read paths from stdin, or --idx FILE")
    model = nnbp.load(target)
    if target is None:
        click.echo(f"using {model.describe()}", err=True)
    shower = Shower(show, show_dir)
    if show_dir is not None:
        _make_directory(show_dir)
    if idx_file is not None:
        pixels = model.read_idx_images(idx_file)
        for start in range(0, len(pixels), IDX_CHUNK):
            block = pixels[start : start + IDX_CHUNK]
            names = [f"{idx_file}:{start + i}" for i in range(len(block))]
            emit(model, names, block, as_json, shower)
    failed = 0
    for chunk in chunks(image_sources(images, null), FILE_CHUNK):
        good, prepared, errors = model.read_images_skipping(
            chunk, invert=invert, stages=shower.wanted
        )
        for error in errors:
            click.echo(f"Error: {error}", err=True)
        failed += len(errors)
        if good:
            pixels = np.stack([p.image for p in prepared])
            emit(model, good, pixels, as_json, shower, prepared)
    if failed:
        ctx.exit(ExitCode.ERROR)


def _make_directory(path: Path) -> None:
    """Create --show-dir (and its parents) if needed; RunError naming it otherwise."""
    from nnbp.errors import RunError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"{path}: cannot create the directory ({e.strerror or e})") from None
