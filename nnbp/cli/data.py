"""``nnbp data fetch`` (a known dataset's IDX files) and ``nnbp data pack`` (your images)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from nnbp.pack import Packed

# Folders with at least this many files show their reading progress on stderr.
PROGRESS_FROM = 2000

data_dir_help = "Data directory; the files go to DEST/NAME/ [$NNBP_DATA_DIR, else data]."


@click.group("data")
def data_group() -> None:
    """Get the datasets: fetch a known one, or pack your own images."""


@data_group.command("fetch")
@click.argument("name", type=click.Choice(["mnist", "fashion-mnist"]))
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), help=data_dir_help)
@click.option("--json", "as_json", is_flag=True, help="Print the files and checksums as JSON.")
def data_fetch(name: str, dest: Path | None, as_json: bool) -> None:
    """Fetch a dataset's four IDX files and verify their SHA-256.

    Sources, in order: $NNBP_DATA_MIRROR (a directory or URL holding NAME/FILE), then
    the dataset's public mirrors. Files already present and valid are kept. The paths
    of the four files are printed on stdout (--json: absolute, with each file's SHA-256
    and that of its decompressed content, the one verified).
    """
    from nnbp import datasets

    # mirror=None: the library reads $NNBP_DATA_MIRROR itself; dest None: $NNBP_DATA_DIR.
    paths = datasets.fetch(name, dest, progress=lambda msg: click.echo(msg, err=True))
    if as_json:
        from nnbp.provenance import sha256

        known = datasets.get_dataset(name).files
        files = {
            role: {"path": str(p.resolve()), "sha256": sha256(p), "content_sha256": known[role][1]}
            for role, p in paths.items()
        }
        click.echo(json.dumps({"dataset": name, "files": files}))
        return
    for path in paths.values():
        click.echo(str(path))


def _progress(done: int, total: int) -> None:
    """Reading progress on stderr: redrawn in place on a terminal, else a line each time."""
    if total < PROGRESS_FROM:
        return
    tty = sys.stderr.isatty()
    start, end = ("\r" if tty else ""), ("\n" if done == total or not tty else "")
    click.echo(f"{start}read {done}/{total} files{end}", nl=False, err=True)


def summary(packed: Packed) -> str:
    """What ``nnbp data pack`` prints: the counts per class, then config lines to train."""
    import json

    width = max(5, *(len(name) for name in packed.class_names))
    lines = [
        f"packed {packed.name} into {packed.directory}: {packed.image_shape[0]}x"
        f"{packed.image_shape[1]} images, preparation {packed.preparation}",
        f"{'class':<{width}}  {'train':>7}  {'test':>7}",
    ]
    for k, name in enumerate(packed.class_names):
        lines.append(
            f"{name:<{width}}  {packed.counts['train'][k]:>7}  {packed.counts['test'][k]:>7}"
        )
    total = {part: sum(counts) for part, counts in packed.counts.items()}
    lines.append(f"{'total':<{width}}  {total['train']:>7}  {total['test']:>7}")
    lines.append(f"skipped: {len(packed.skipped)} files")
    lines += ["", "# config lines that train on it (a start: tune sizes and training.*)"]
    for key, value in packed.config().items():  # JSON values are YAML, strings quoted
        if not isinstance(value, dict):
            lines.append(f"{key}: {json.dumps(value)}")
            continue
        lines.append(f"{key}:")
        lines += [f"  {k}: {json.dumps(v)}" for k, v in value.items()]
    return "\n".join(lines).rstrip("\n")


@data_group.command("pack")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--out", "name", required=True, help="Name of the dataset (data.dataset: NAME).")
@click.option("--test", type=click.Path(path_type=Path), help="Folder of test images, by class.")
@click.option(
    "--test-fraction", type=float,
    help="Share of each class held out for testing, when there is no --test folder [0.2].",
)  # fmt: skip
@click.option(
    "--style", type=click.Choice(["mnist", "fashion-mnist", "plain"]), default="mnist",
    show_default=True,
    help="mnist: as nnbp predict prepares digits (ink cropped, 20-px box, centre of mass);"
    " fashion-mnist: objects fitted to the field; plain: grayscale, resized.",
)  # fmt: skip
@click.option("--size", type=click.IntRange(1, 1024), default=28, show_default=True,
              help="Images become SIZE x SIZE pixels.")  # fmt: skip
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Seed of the split and the shuffling.")  # fmt: skip
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), help=data_dir_help)
@click.option("--overwrite", is_flag=True, help="Replace a dataset packed before under NAME.")
@click.option("--strict", is_flag=True, help="A file that is not an image is an error.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def data_pack(
    folder: Path, name: str, test: Path | None, test_fraction: float | None, style: str,
    size: int, seed: int, dest: Path | None, overwrite: bool, strict: bool, as_json: bool,
) -> None:  # fmt: skip
    """Pack FOLDER, one subfolder of images per class, into a dataset nnbp trains on.

    Class folders sorted by name become labels 0..k-1 (torchvision's ImageFolder
    layout). Each image is read as nnbp predict reads it (any format Pillow reads, any
    size and colour). The test set is --test's folder, or a stratified, seeded share of
    each class. DEST/NAME/ receives MNIST's four gzipped IDX files and dataset.json
    (class names, preparation, counts), all at once or not at all. A file that is not an
    image is skipped with a warning (an error with --strict). Prints the counts per
    class and config lines that train on the dataset.
    """
    import json

    from nnbp import pack

    def warn(path: str, reason: str) -> None:
        text = reason if reason.startswith(path) else f"{path}: {reason}"
        click.echo(f"warning: skipped {text}", err=True)

    packed = pack.pack(
        folder, name, test=test, test_fraction=test_fraction, style=style, size=size,
        seed=seed, strict=strict, root=dest, overwrite=overwrite, on_skip=warn,
        on_progress=_progress,
    )  # fmt: skip
    if packed.ignored:
        shown = ", ".join(Path(p).name for p in packed.ignored[:3])
        more = ", ..." if len(packed.ignored) > 3 else ""
        click.echo(f"warning: {len(packed.ignored)} files outside the class folders left out"
                   f" ({shown}{more})", err=True)  # fmt: skip
    if as_json:
        click.echo(json.dumps(packed.to_dict()))
    else:
        click.echo(summary(packed))
