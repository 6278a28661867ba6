"""``nnbp evaluate``: a trained network's scores on labelled images, as tables or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import numpy as np

    from nnbp.model import Model, Report


def report_text(report: Report, cost_name: str) -> str:
    """Aligned tables of an evaluation: summary, confusion matrix, per-class scores."""
    n, confusion = report.n, report.confusion.tolist()
    correct = round(report.accuracy * n)
    lines = [
        f"accuracy  {report.accuracy:.4f}  ({correct}/{n})",
        f"cost      {report.cost:.4f}  ({cost_name}, mean over the images)",
        "",
        "confusion matrix (rows: true class, columns: predicted class)",
    ]
    width = max(5, len(str(max(max(row) for row in confusion))) + 1)
    lines.append("true " + "".join(f"{j:>{width}}" for j in range(len(confusion))))
    for i, row in enumerate(confusion):
        lines.append(f"{i:>4} " + "".join(f"{v:>{width}}" for v in row))
    name_width = max(5, *(len(r["name"]) for r in report.per_class))
    lines += ["", f"{'class':>5}  {'name':<{name_width}}  precision  recall      f1  support"]
    for r in report.per_class:
        lines.append(
            f"{r['class']:>5}  {r['name']:<{name_width}}  {r['precision']:>9.4f}"
            f"  {r['recall']:>6.4f}  {r['f1']:>6.4f}  {r['support']:>7}"
        )
    return "\n".join(lines)


def errors_text(model: Model, images: np.ndarray, errors: list[dict[str, Any]]) -> str:
    """The confidently wrong images, each drawn as text: ``errors`` from
    ``Model.confident_errors``, indexing the uint8 ``images`` (n, rows, cols)."""
    from nnbp.image import to_text

    names = model.class_names
    parts = [f"\nthe {len(errors)} most confidently wrong images"]
    for e in errors:
        parts.append(
            f"\n#{e['index']}: true {names[e['label']]}, said {names[e['predicted']]}"
            f" (p={e['confidence']:.2f})\n{to_text(images[e['index']])}"
        )
    return "\n".join(parts)


@click.command()
@click.argument("target", metavar="[RUN_DIR | WEIGHTS.npz]", required=False, type=Path)
@click.option("--images", type=Path, help="IDX file of images [the run's test images].")
@click.option("--labels", type=Path, help="IDX file of labels, with --images.")
@click.option(
    "--json", "as_json", is_flag=True,
    help="Print one JSON object instead of tables (with the weights and data files used).",
)  # fmt: skip
@click.option(
    "--errors", "n_errors", default=0, type=click.IntRange(0), metavar="N",
    help="Also draw the N most confidently wrong images as text.",
)  # fmt: skip
def evaluate(
    target: Path | None, images: Path | None, labels: Path | None, as_json: bool, n_errors: int
) -> None:
    """Accuracy, cost, confusion matrix and per-class scores of a trained network.

    TARGET is a run directory or a weights file [runs/latest]. The data is the test
    set named in the run's config.yaml unless --images and --labels name an IDX pair.
    """
    import json

    import nnbp
    from nnbp.errors import UsageError

    if (images is None) != (labels is None):
        raise UsageError("--images and --labels go together")
    model = nnbp.load(target)
    if images is None:
        images, labels = model.test_files()
    pixels, y = model.read_labelled(images, labels)
    if target is None:  # said once the run and its data are known to be usable
        click.echo(f"using {model.describe()}", err=True)
    report = model.evaluate(pixels, y)
    errors = model.confident_errors(pixels, y, n_errors) if n_errors else []
    if as_json:
        files = {"weights": str(model.weights_file), "images": str(images), "labels": str(labels)}
        result = {**report.to_dict(), **files}
        if n_errors:
            result["errors"] = errors
        click.echo(json.dumps(result))
        return
    click.echo(report_text(report, model.cost))
    if n_errors:
        click.echo(errors_text(model, pixels, errors))
