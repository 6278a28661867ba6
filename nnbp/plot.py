"""Pictures of a finished run: learning curves, confusion, first-layer weights, errors.

``plot_run(run, out)`` reads a run directory (see runs.py) and its model and test data
(``nnbp.load``), and writes PNG files into ``out``. matplotlib is an optional extra
(``pip install 'nnbp[plot]'``), imported only here; figures are drawn on ``Figure`` with
the Agg canvas directly: no pyplot, no global backend, no window. Everything that can
fail (files, data) is read before the first picture is written.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import metrics
from nnbp.atomic import atomic_write_bytes
from nnbp.errors import MissingExtra, RunError
from nnbp.model import Model, load
from nnbp.runs import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE

DPI = 110
MAX_TILES = 100  # first-layer neurons drawn: a 10x10 grid stays legible
MAX_ERRORS = 16  # confidently wrong test images drawn: a 4x4 grid
INSTALL_HINT = (
    "matplotlib is not installed; install it with: pip install 'nnbp[plot]'"
    " (make install includes it)"
)


def plot_run(run: str | os.PathLike, out: str | os.PathLike) -> list[Path]:
    """Write the run's pictures into ``out`` (created if needed); return their paths.

    In order: learning_curves.png, confusion_matrix.png, first_layer_weights.png,
    confident_errors.png, and layer_trace.png when metrics.jsonl carries ``trace``.
    MissingExtra, RunError or DataError are raised before anything is written.
    """
    new_figure = _figure_maker()  # fail on a missing matplotlib before any work
    run = Path(run)
    if not run.is_dir():
        raise RunError(f"{run}: no such run directory")
    for name in (METRICS_FILE, WEIGHTS_FILE, CONFIG_FILE):
        if not (run / name).is_file():
            raise RunError(f"{run / name}: not found; has the run finished?")
    records = metrics.read_log(run / METRICS_FILE)
    model = load(run)
    images, labels, _ = model.test_data()
    probs, names = model.predict_proba(images), model.class_names
    figures = {
        "learning_curves.png": _learning_curves(new_figure, records, model.epoch),
        "confusion_matrix.png": _confusion(new_figure, labels, probs, names),
        "first_layer_weights.png": _first_layer(new_figure, model),
        "confident_errors.png": _errors(new_figure, images, labels, probs, names),
    }
    if any(r.get("trace") for r in records):  # an empty list has nothing to draw
        figures["layer_trace.png"] = _layer_trace(new_figure, records)
    return _save(figures, Path(out))


def _save(figures: dict[str, Any], out: Path) -> list[Path]:
    """Each figure as the PNG file ``out/name``, written atomically; their paths."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"{out}: cannot create the directory ({e.strerror or e})") from None
    written = []
    for name, fig in figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
        try:
            atomic_write_bytes(out / name, buf.getvalue())
        except OSError as e:
            raise RunError(f"{out / name}: cannot write ({e.strerror or e})") from None
        written.append(out / name)
    return written


def _figure_maker() -> Any:
    """A maker of matplotlib Figures on the Agg canvas; MissingExtra without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtra(INSTALL_HINT) from None

    def make(**kwargs: Any) -> Any:
        fig = Figure(dpi=DPI, layout="constrained", **kwargs)
        FigureCanvasAgg(fig)  # attaches itself as fig.canvas
        return fig

    return make


def _series(records: list[dict[str, Any]], key: str, scale: float = 1.0) -> np.ndarray:
    """One metric per epoch as floats; a missing or null value is NaN (a gap in the line)."""
    return np.array([np.nan if r.get(key) is None else r[key] * scale for r in records])


def _per_epoch(ax: Any, title: str, log: bool = False) -> None:
    """Title, whole-number epoch ticks and a light grid for a panel plotted per epoch."""
    from matplotlib.ticker import MaxNLocator

    ax.set(title=title + (" (log scale)" if log else ""), xlabel="epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both" if log else "major")


def _learning_curves(new_figure: Any, records: list[dict[str, Any]], kept: int | None) -> Any:
    """Training cost (left) and the three accuracies in % (right), per epoch."""
    fig = new_figure(figsize=(11, 4.4))
    ax_cost, ax_acc = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in records]
    style = {"marker": "o", "markersize": 3 if len(epochs) > 20 else 4}
    ax_cost.plot(epochs, _series(records, "train_cost"), color="C3", label="training cost", **style)
    _per_epoch(ax_cost, "Training cost")
    ax_cost.set_ylabel("cost (mean over the training set)")
    for key, label, colour in (
        ("train_accuracy", "training", "C0"),
        ("validation_accuracy", "validation", "C1"),
        ("test_accuracy", "test", "C2"),
    ):
        values = _series(records, key, 100)
        if not np.isnan(values).all():  # no validation split: no line at all
            ax_acc.plot(epochs, values, color=colour, label=label, **style)
    _per_epoch(ax_acc, "Accuracy")
    low, high = ax_acc.get_ylim()
    ax_acc.set_ylim(low, min(high, 100.5))  # a flat 100% line would get room up to 105
    ax_acc.set_ylabel("accuracy (%)")
    extra = _eta_steps(ax_cost, epochs, _series(records, "eta"))
    title = "Learning curves"
    for ax, more in ((ax_cost, extra), (ax_acc, [])):
        if kept is not None:
            ax.axvline(kept, color="0.2", linestyle=":", label=f"weights kept (epoch {kept})")
        ax.legend(handles=ax.get_legend_handles_labels()[0] + more, loc="best", fontsize=9)
    kept_row = next((r for r in records if r["epoch"] == kept), None)
    if kept_row is not None and kept_row.get("test_accuracy") is not None:
        title += f": kept epoch {kept}, test accuracy {100 * kept_row['test_accuracy']:.2f}%"
    fig.suptitle(title)
    return fig


def _eta_steps(ax_cost: Any, epochs: list[int], etas: np.ndarray) -> list[Any]:
    """eta per epoch on a twin axis of the cost panel when it changed (halvings); the
    legend entry, for the cost panel's one legend."""
    from matplotlib.ticker import NullLocator

    values = sorted(set(etas[~np.isnan(etas)]))
    if len(values) < 2:
        return []
    ax_eta = ax_cost.twinx()
    # Steps centred on each epoch's point (the first epoch's eta stays visible); log
    # base 2: each halving an equal step.
    steps = ax_eta.step(epochs, etas, where="mid", color="0.45", ls="--", label="eta")
    ax_eta.set_yscale("log", base=2)
    ax_eta.set_yticks(values[:: math.ceil(len(values) / 8)], minor=False)
    ax_eta.yaxis.set_major_formatter("{x:g}")
    ax_eta.yaxis.set_minor_locator(NullLocator())
    ax_eta.set_ylabel("eta (learning rate), log scale", color="0.35")
    ax_cost.set_zorder(ax_eta.get_zorder() + 1)  # cost line and legend above the steps
    ax_cost.patch.set_visible(False)
    return steps


def _confusion(new_figure: Any, labels: np.ndarray, probs: np.ndarray, names: list[str]) -> Any:
    """Heat map of test counts, rows = true class, columns = predicted, counts in cells."""
    from matplotlib.colors import LogNorm

    n = len(names)
    counts = metrics.confusion_matrix(labels, probs.argmax(axis=1), n)
    side = min(max(4.5, 0.55 * n + 2.5), 14)
    fig = new_figure(figsize=(side + 1, side))
    ax = fig.subplots()
    # Log colours: the few errors (tens) still show against the diagonal (thousands).
    # Zero cells are masked and left white.
    norm = LogNorm(vmin=1, vmax=max(int(counts.max()), 2))
    im = ax.imshow(np.ma.masked_equal(counts, 0), cmap="Blues", norm=norm)
    fig.colorbar(im, ax=ax, shrink=0.8, label="test images (log scale)")
    size = 10 if n <= 10 else max(5, 10 - (n - 10) // 4)
    for (i, j), c in np.ndenumerate(counts):
        colour = "0.65" if c == 0 else "white" if norm(c) > 0.6 else "black"  # 0s recede
        ax.text(j, i, str(c), ha="center", va="center", fontsize=size, color=colour)
    rotate = max(len(s) for s in names) > 3
    ax.set_xticks(range(n), names, rotation=45 if rotate else 0, ha="right" if rotate else "center")
    ax.set_yticks(range(n), names)
    ax.set(xlabel="predicted class", ylabel="true class")
    accuracy = np.trace(counts) / max(len(labels), 1)
    ax.set_title(f"Confusion matrix: {len(labels)} test images, accuracy {100 * accuracy:.2f}%")
    return fig


def _first_layer(new_figure: Any, model: Model) -> Any:
    """Each first-layer neuron's incoming weights as an image, red +, blue -."""
    w, shape = model.network.w[0], model.input_shape
    shown = min(len(w), MAX_TILES)
    cols = math.ceil(math.sqrt(shown))
    rows = math.ceil(shown / cols)
    tile = 1.25 if cols <= 6 else 1.05  # inches: a 10x10 grid stays about 1100 px wide
    fig = new_figure(figsize=(max(tile * cols, 6), tile * rows + 0.9))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    for k, ax in enumerate(axes[:shown]):
        # Per-tile limits, symmetric about 0: neurons' weight scales differ a lot, and
        # the pattern each one looks for is the point; white is always weight 0.
        limit = float(np.abs(w[k]).max()) or 1.0
        ax.imshow(w[k].reshape(shape), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"{k + 1}", fontsize=7, pad=2)
    kind = "hidden" if len(model.sizes) > 2 else "output"
    fig.suptitle(
        f"First-layer weights: {shown} of {len(w)} {kind} neurons\n"
        "red = positive, blue = negative, white = 0 (colour scale per tile, symmetric about 0)",
        fontsize=10,
    )
    return fig


def _errors(
    new_figure: Any, images: np.ndarray, labels: np.ndarray, probs: np.ndarray, names: list[str]
) -> Any:
    """The test images the net got wrong with the highest probability for its wrong answer."""
    errors = metrics.confident_errors(probs, labels, MAX_ERRORS)
    n_wrong = int(np.count_nonzero(probs.argmax(axis=1) != labels))
    cols = min(4, max(len(errors), 1))
    rows = max(math.ceil(len(errors) / cols), 1)
    # At least 6.5 in wide, so the title fits above one or two images.
    fig = new_figure(figsize=(max(2.3 * cols + 0.4, 6.5), 2.4 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, e in zip(axes, errors, strict=False):
        ax.imshow(images[e["index"]], cmap="gray", vmin=0, vmax=255)
        said, p = names[e["predicted"]], e["confidence"]
        ax.set_title(f"true {names[e['label']]}, said {said}\n(p={p:.2f})", fontsize=9)
    if not errors:
        axes[0].text(0.5, 0.5, "no test image is misclassified", ha="center", va="center")
    fig.suptitle(f"Most confidently wrong: {len(errors)} of {n_wrong} misclassified test images")
    return fig


def _layer_trace(new_figure: Any, records: list[dict[str, Any]]) -> Any:
    """Per-layer backprop statistics per epoch: gradient norms, sigma', saturation."""
    layers = sorted({t["layer"] for r in records for t in r.get("trace", [])})
    fig = new_figure(figsize=(11, 7.5))
    panels = (
        ("grad_b_norm", "||grad b||, the speed of learning", "log"),
        ("grad_w_norm", "||grad w||", "log"),
        ("mean_sigma_prime", "mean sigma'(z)", "linear"),
        ("saturated", "saturated neurons (%)", "linear"),
    )
    epochs = [r["epoch"] for r in records]
    for ax, (key, label, scale) in zip(fig.subplots(2, 2).ravel(), panels, strict=True):
        for layer in layers:
            by_layer = [{t["layer"]: t for t in r.get("trace", [])}.get(layer) for r in records]
            k = 100 if key == "saturated" else 1
            values = [np.nan if t is None else t[key] * k for t in by_layer]
            ax.plot(epochs, values, marker="o", markersize=3, label=f"layer {layer}")
        ax.set_yscale(scale)
        _per_epoch(ax, label, log=scale == "log")
        ax.legend(fontsize=8)
    fig.suptitle("Layer trace: how fast each layer learns (Nielsen ch. 5)")
    return fig
