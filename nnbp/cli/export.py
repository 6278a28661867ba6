"""``nnbp export``: a trained network as an ONNX model file."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("target", metavar="[RUN | WEIGHTS.npz]", required=False, type=Path)
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The ONNX file to write, e.g. model.onnx.",
)  # fmt: skip
def export(target: Path | None, out: Path) -> None:
    """Export a trained network (a run directory or weights file; default runs/latest)
    as an ONNX model, for onnxruntime and other runtimes.

    Input `image`: float32 (N, pixels), each pixel / 255, the image prepared as nnbp
    predict prepares it (the model's metadata names the preparation). Output
    `probabilities`: float32 (N, classes), what nnbp predict prints. The metadata also
    holds the class names, input shape, nnbp version and the run's config hash. Needs
    the onnx extra: pip install 'nnbp[onnx]'.
    """
    from nnbp.export import export as export_model

    model, path = export_model(target, out)
    click.echo(f"exported {model.describe()}: sizes {model.sizes} -> {path}"
               f" ({path.stat().st_size} bytes)")  # fmt: skip
