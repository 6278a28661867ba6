"""The ``nnbp`` command line: parse, call the library, print.

Results go to stdout, progress and messages to stderr. Errors from the library
(``NnbpError``) become one ``Error: ...`` line on stderr and an exit code: 2 for usage
and config mistakes, 1 for bad data or files, 130 for Ctrl-C. ``--traceback`` shows the
full traceback instead, for bug reports. The library modules are imported inside the
commands, so ``nnbp --help`` and ``--version`` start without loading NumPy.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from nnbp import __version__
from nnbp.errors import NnbpError

SET_HELP = "Override a config key, e.g. --set training.eta=0.5 (repeatable; the value is YAML)."


class NnbpGroup(click.Group):
    """A click group that turns every error into one ``Error:`` line and an exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Click's own usage errors print a usage block first; nnbp's promise is one line.
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            click.echo(f"Error: {e.format_message().rstrip('.')}{hint}", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(f"Error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NnbpError as e:
            if ctx.params.get("traceback"):
                raise
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            if ctx.params.get("traceback"):
                raise
            click.echo("Error: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=NnbpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="nnbp")
@click.option("--traceback", is_flag=True, help="Show the full traceback of an error.")
def cli(traceback: bool) -> None:
    """Train fully-connected sigmoid networks with matrix-based backpropagation.

    \b
    nnbp data fetch mnist          download (or copy from $NNBP_DATA_MIRROR) MNIST
    nnbp train configs/mnist.yaml  train the book's chapter-1 network into runs/mnist
    nnbp evaluate                  score the newest run on its test set
    nnbp predict digit.png         classify an image with the newest run
    nnbp config keys               every config key, its default and meaning
    """


# --- train ---------------------------------------------------------------------------


def _progress(epochs: int) -> Any:
    """A within-epoch progress bar on stderr (used only when stderr is a terminal)."""
    width = 30

    def show(epoch: int, done: int, total: int) -> None:
        filled = width * done // total
        bar = "#" * filled + "." * (width - filled)
        click.echo(
            f"\repoch {epoch}/{epochs} [{bar}] {100 * done // total:3d}%", nl=False, err=True
        )

    return show


def _epoch_line(m: dict[str, Any], epochs: int) -> str:
    val = m["validation_accuracy"]
    val_text = f"  validation {val:.4f}" if val is not None else ""
    return (
        f"epoch {m['epoch']}/{epochs}  train_cost {m['train_cost']:.4f}{val_text}"
        f"  test {m['test_accuracy']:.4f}  eta {m['eta']:g}"
        f"  {m['seconds']:.2f} s ({m['train_seconds']:.2f} s SGD)"
    )


@cli.command()
@click.argument("target", metavar="CONFIG | RUN_DIR", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Run directory [runs/<name>]."
)
@click.option("--overwrite", is_flag=True, help="Replace a finished or interrupted run.")
@click.option(
    "--resume", is_flag=True, help="Continue an interrupted run (CONFIG's, or RUN_DIR itself)."
)
def train(
    target: Path, overrides: tuple[str, ...], out: Path | None, overwrite: bool, resume: bool
) -> None:
    """Train the network CONFIG describes and write a run directory.

    The run directory (runs/<name>/ unless --out) receives config.yaml, metrics.jsonl
    (one JSON object per epoch), weights.npz (the best validation epoch's weights,
    unless training.keep is last) and checkpoint.npz, all rewritten atomically after
    each epoch; runs/latest points to it. Ctrl-C or SIGTERM stops cleanly and
    `nnbp train --resume RUN_DIR` continues, ending exactly as an uninterrupted run.
    The last line on stdout is machine-readable: test_accuracy=...
    validation_accuracy=... epoch=... epochs=... run=..., the accuracies being those of
    the kept weights.
    """
    from nnbp import config, runs
    from nnbp.errors import UsageError
    from nnbp.session import train_run

    if resume and overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if target.is_dir():
        if not resume:
            raise UsageError(f"{target}: is a directory; give a CONFIG file, or --resume RUN_DIR")
        cfg_file, run = target / runs.CONFIG_FILE, target
    else:
        cfg_file, run = target, out
    cfg = config.load(cfg_file, overrides)
    run = run if run is not None else runs.default_dir(cfg.name)
    epochs = cfg.training.epochs
    tty = sys.stderr.isatty()

    def on_start(splits: Any, done: int) -> None:
        n_val = len(splits.validation) if splits.validation else 0
        click.echo(
            f"training {cfg.name}: sizes {list(cfg.network.sizes)}, {len(splits.train)} train /"
            f" {n_val} validation / {len(splits.test)} test images, up to {epochs} epochs"
            f" -> {run}" + (f" (resuming after epoch {done})" if resume else ""),
            err=True,
        )

    def on_epoch(m: dict[str, Any]) -> None:
        click.echo(("\r" if tty else "") + _epoch_line(m, epochs), err=True)

    outcome = train_run(
        cfg,
        run,
        overwrite=overwrite,
        resume=resume,
        on_start=on_start,
        on_epoch=on_epoch,
        on_batches=_progress(epochs) if tty else None,
    )
    if outcome.stopped:
        reason = {"early_stopping": "no better validation accuracy", "eta": "eta fell to its floor"}
        click.echo(f"stopped after epoch {outcome.epochs}: {reason[outcome.stopped]}", err=True)
    parts = [f"test_accuracy={outcome.test_accuracy:.4f}"]
    if outcome.validation_accuracy is not None:
        parts.append(f"validation_accuracy={outcome.validation_accuracy:.4f}")
    parts += [f"epoch={outcome.epoch}", f"epochs={outcome.epochs}", f"run={run}"]
    click.echo(" ".join(parts))


# --- evaluate --------------------------------------------------------------------------


def _load_model(target: Path | None) -> tuple[Any, dict[str, Any], Path | None]:
    """(network, metadata, run dir or None) for a run dir, a weights file or the latest run."""
    from nnbp import model_file, runs

    weights, run = runs.resolve_weights(target)
    net, meta = model_file.load(weights)
    return net, meta, run


def _labelled_data(
    net: Any, run: Path | None, images: Path | None, labels: Path | None
) -> tuple[Any, Any]:
    """(x, labels) to evaluate on: the IDX pair given, or the test set of the run's config."""
    from nnbp import config, data, idx, runs
    from nnbp.errors import DataError, UsageError
    from nnbp.inputs import scale_images

    if (images is None) != (labels is None):
        raise UsageError("--images and --labels go together")
    if images is None:
        if run is None:
            raise UsageError("no config.yaml beside the weights file: give --images and --labels")
        cfg = config.load(run / runs.CONFIG_FILE)
        paths = data.data_paths(cfg)
        images, labels = paths["test_images"], paths["test_labels"]
    pixels, targets = idx.read_pair(images, labels, num_classes=net.sizes[-1])
    n_in = pixels.shape[1] * pixels.shape[2]
    if n_in != net.sizes[0]:
        raise DataError(
            f"{images}: {pixels.shape[1]}x{pixels.shape[2]} images ({n_in} inputs), but the"
            f" network takes {net.sizes[0]} inputs"
        )
    return scale_images(pixels, net.dtype), targets


def _report_text(result: dict[str, Any], cost_name: str) -> str:
    """Aligned tables of an evaluation: summary, confusion matrix, per-class scores."""
    n, confusion = result["n"], result["confusion"]
    correct = round(result["accuracy"] * n)
    lines = [
        f"accuracy  {result['accuracy']:.4f}  ({correct}/{n})",
        f"cost      {result['cost']:.4f}  ({cost_name}, mean over the images)",
        "",
        "confusion matrix (rows: true class, columns: predicted class)",
    ]
    width = max(5, len(str(max(max(row) for row in confusion))) + 1)
    k = len(confusion)
    lines.append("true " + "".join(f"{j:>{width}}" for j in range(k)))
    for i, row in enumerate(confusion):
        lines.append(f"{i:>4} " + "".join(f"{v:>{width}}" for v in row))
    name_width = max(5, *(len(r["name"]) for r in result["per_class"]))
    lines += ["", f"{'class':>5}  {'name':<{name_width}}  precision  recall      f1  support"]
    for r in result["per_class"]:
        lines.append(
            f"{r['class']:>5}  {r['name']:<{name_width}}  {r['precision']:>9.4f}"
            f"  {r['recall']:>6.4f}  {r['f1']:>6.4f}  {r['support']:>7}"
        )
    return "\n".join(lines)


@cli.command()
@click.argument("target", metavar="[RUN_DIR | WEIGHTS.npz]", required=False, type=Path)
@click.option("--images", type=Path, help="IDX file of images [the run's test images].")
@click.option("--labels", type=Path, help="IDX file of labels, with --images.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
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

    import numpy as np

    from nnbp import metrics

    net, meta, run = _load_model(target)
    x, y = _labelled_data(net, run, images, labels)
    names = meta.get("class_names") or [str(k) for k in range(net.sizes[-1])]
    result = metrics.report(net, x, y, list(names))
    errors = metrics.confident_errors(net, x, y, n_errors) if n_errors else []
    if as_json:
        if n_errors:
            result["errors"] = errors
        click.echo(json.dumps(result))
        return
    click.echo(_report_text(result, net.cost))
    if n_errors:
        from nnbp.image import to_text

        shape = tuple(meta.get("input_shape") or (28, 28))
        click.echo(f"\nthe {len(errors)} most confidently wrong images")
        for e in errors:
            pixels = np.rint(x[e["index"]] * 255).astype(np.uint8).reshape(shape)
            click.echo(
                f"\n#{e['index']}: true {names[e['label']]}, said {names[e['predicted']]}"
                f" (p={e['confidence']:.2f})\n{to_text(pixels)}"
            )


# --- predict ---------------------------------------------------------------------------

PREDICT_CHUNK = 256  # images per forward pass: one matrix product, and output keeps flowing


def _image_sources(images: tuple[str, ...]) -> Any:
    """The image paths to predict, in order; ``-`` stands for the paths read from stdin."""
    for item in images:
        if item == "-":
            for line in sys.stdin:
                if line.strip():
                    yield line.rstrip("\r\n")
        else:
            yield item


def _chunks(items: Any, size: int) -> Any:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@cli.command()
@click.argument("images", nargs=-1, metavar="IMAGE...")
@click.option("--weights", "target", type=Path, help="Run directory or weights file [runs/latest].")
@click.option("--idx", "idx_file", type=Path, help="Predict every image of an IDX images file.")
@click.option(
    "--invert/--no-invert", default=None, help="Force or forbid inverting the image [detected]."
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines with the probabilities.")
@click.option("--show", is_flag=True, help="Draw the 28x28 input the network sees, on stderr.")
@click.pass_context
def predict(
    ctx: click.Context,
    images: tuple[str, ...],
    target: Path | None,
    idx_file: Path | None,
    invert: bool | None,
    as_json: bool,
    show: bool,
) -> None:
    """Classify images: one line per image, PATH<TAB>LABEL<TAB>CONFIDENCE.

    IMAGE is any file Pillow reads (PNG, JPEG, BMP, GIF, PGM, TIFF ...), of any size and
    colour; it is prepared the way MNIST's digits were (grayscale, light ink on dark,
    cropped, scaled to 20 px, centred by mass in 28x28). `-` reads paths from stdin, one
    per line. An image that cannot be read is reported on stderr and the others are
    still predicted; the exit code is then 1. For datasets with named classes (e.g.
    Fashion-MNIST) the name is a fourth column.
    """
    from nnbp.errors import UsageError

    if not images and idx_file is None:
        raise UsageError("give IMAGE paths, - to read paths from stdin, or --idx FILE")
    net, meta, _ = _load_model(target)
    shape = tuple(meta.get("input_shape") or (28, 28))
    if shape[0] * shape[1] != net.sizes[0]:
        raise UsageError(f"weights metadata: input_shape {list(shape)} does not fit the network")
    names = list(meta.get("class_names") or [])
    named = names != [str(k) for k in range(net.sizes[-1])]
    predictor = _Predictor(net, shape, names, named, as_json, show)
    if idx_file is not None:
        predictor.idx_file(idx_file)
    failed = sum(
        predictor.files(chunk, invert) for chunk in _chunks(_image_sources(images), PREDICT_CHUNK)
    )
    if failed:
        ctx.exit(1)


@dataclass
class _Predictor:
    """A loaded network and how its answers are printed (one line per image on stdout)."""

    net: Any
    shape: tuple[int, int]
    names: list[str]
    named: bool  # print the class name too (e.g. Fashion-MNIST), not just its number
    as_json: bool
    show: bool

    def idx_file(self, path: Path) -> None:
        """Every image of an IDX images file, labelled FILE:i, 10,000 at a time."""
        from nnbp import idx
        from nnbp.errors import DataError

        pixels = idx.read_images(path)
        if pixels.shape[1:] != self.shape:
            raise DataError(
                f"{path}: images are {pixels.shape[1]}x{pixels.shape[2]}, the network takes"
                f" {self.shape[0]}x{self.shape[1]}"
            )
        for start in range(0, len(pixels), 10_000):
            block = pixels[start : start + 10_000]
            self.emit([f"{path}:{start + i}" for i in range(len(block))], block)

    def files(self, paths: list[str], invert: bool | None) -> int:
        """One chunk of image files; returns how many could not be read (each reported)."""
        import numpy as np

        from nnbp.image import ImageError, load_image

        good, arrays, failed = [], [], 0
        for path in paths:
            try:
                arrays.append(load_image(path, invert=invert, size=self.shape))
                good.append(path)
            except ImageError as e:
                click.echo(f"Error: {e}", err=True)
                failed += 1
        if good:
            self.emit(good, np.stack(arrays))
        return failed

    def emit(self, labels: list[str], pixels: Any) -> None:
        """One forward pass over uint8 images (n, rows, cols); one output line each."""
        import json

        from nnbp.image import to_text
        from nnbp.inputs import scale_images
        from nnbp.metrics import outputs, probabilities

        p = probabilities(outputs(self.net, scale_images(pixels, self.net.dtype)))
        best = p.argmax(axis=1)
        for i, label in enumerate(labels):
            k = int(best[i])
            if self.show:
                click.echo(f"{label}:\n{to_text(pixels[i])}", err=True)
            if self.as_json:
                record = {
                    "path": label,
                    "label": k,
                    "confidence": float(p[i, k]),
                    "probabilities": [round(float(v), 6) for v in p[i]],
                }
                if self.named:
                    record["name"] = self.names[k]
                click.echo(json.dumps(record))
            else:
                name = f"\t{self.names[k]}" if self.named else ""
                click.echo(f"{label}\t{k}\t{p[i, k]:.4f}{name}")


# --- gradcheck and inspect ------------------------------------------------------------


def _network_and_data(target: Path | None, samples: int) -> tuple[Any, Any, Any, Any, int, str]:
    """(network, config, x, one-hot y, training-set size, what) for a run or a config file.

    A run directory (default: the latest run) gives its trained weights; a config file a
    fresh network drawn from its seed. The examples are the first ``samples`` of the
    config's training data.
    """
    import numpy as np

    from nnbp import config, data, runs
    from nnbp.metrics import one_hot
    from nnbp.network import Network

    if target is not None and target.is_file() and target.suffix in (".yaml", ".yml"):
        cfg = config.load(target)
        net = Network.create(
            cfg.network.sizes, np.random.default_rng(cfg.training.seed), init=cfg.network.init,
            cost=cfg.network.cost, dtype=cfg.training.dtype,
        )  # fmt: skip
        what = f"a fresh network from {target} (seed {cfg.training.seed})"
    else:
        net, _, run = _load_model(target)
        if run is None:
            from nnbp.errors import UsageError

            raise UsageError(f"{target}: no config.yaml beside the weights file to name the data")
        cfg = config.load(run / runs.CONFIG_FILE)
        what = f"the weights of {run}"
    splits = data.load_splits(cfg)
    x = splits.train.x[:samples]
    y = one_hot(splits.train.labels[:samples], net.sizes[-1], np.float64)
    return net, cfg, x, y, len(splits.train), what


def _layer_names(sizes: list[int]) -> list[str]:
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    return [f"{l + 1} ({n_in}->{n_out})" for l, (n_in, n_out) in enumerate(pairs)]


@cli.command()
@click.argument("target", metavar="[CONFIG | RUN_DIR]", required=False, type=Path)
@click.option("--samples", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Training examples the cost is averaged over.")  # fmt: skip
@click.option("--layers", help="Only these layers, e.g. 1,3 (1 is the first weight layer).")
@click.option("--entries", default=200, show_default=True, type=click.IntRange(1),
              help="Weights and weighted inputs checked per layer (a random sample).")  # fmt: skip
@click.option("--tolerance", default=1e-5, show_default=True, type=float,
              help="Largest relative error that passes.")  # fmt: skip
@click.pass_context
def gradcheck(
    ctx: click.Context, target: Path | None, samples: int, layers: str | None, entries: int,
    tolerance: float,
) -> None:  # fmt: skip
    """Check backprop's gradients against finite differences, layer by layer.

    At a run's weights (default: the latest run) or a fresh network from a CONFIG,
    compares dC/db (BP3), dC/dw (BP4) and dC/dz (BP1 at the output layer, BP2 below)
    with central differences (Richardson-extrapolated, float64) of the config's cost,
    regularisation included. Prints each layer's largest relative error; exits 1 when
    one exceeds --tolerance.
    """
    import numpy as np

    from nnbp.errors import UsageError
    from nnbp.introspect import Regularization
    from nnbp.introspect import gradcheck as check

    net, cfg, x, y, n_train, what = _network_and_data(target, samples)
    chosen = None
    if layers:
        try:
            chosen = [int(v) for v in layers.split(",")]
        except ValueError:
            raise UsageError(f"--layers {layers}: expected numbers like 1,2") from None
        if not all(1 <= v <= len(net.params) for v in chosen):
            raise UsageError(f"--layers {layers}: the network has layers 1 to {len(net.params)}")
    t = cfg.training
    reg = Regularization(t.lmbda, t.regularization, n_train)
    results = check(net, x, y, reg=reg, rng=np.random.default_rng(t.seed), max_entries=entries,
                    layers=chosen)  # fmt: skip
    reg_text = f", {t.regularization} lmbda {t.lmbda:g}" if t.lmbda else ""
    click.echo(f"gradient check of {what}: {net.cost} cost{reg_text}, {len(x)} examples")
    names = _layer_names(net.sizes)
    width = max(len(n) for n in names)
    click.echo(f"{'layer':<{width}}  dC/db (BP3)  dC/dw (BP4)  dC/dz            weights checked")
    for r in results:
        rule = "BP1" if r.layer == len(net.params) else "BP2"
        click.echo(
            f"{names[r.layer - 1]:<{width}}  {r.bias:>11.1e}  {r.weight:>11.1e}"
            f"  {r.z:>7.1e} ({rule})  {r.weights_checked:>6} of {r.shape[0] * r.shape[1]}"
        )
    worst = max(r.worst for r in results)
    verdict = "agrees with" if worst <= tolerance else "DISAGREES with"
    click.echo(
        f"largest relative error {worst:.1e} (tolerance {tolerance:g}): backprop {verdict}"
        " finite differences"
    )
    if worst > tolerance:
        ctx.exit(1)


@cli.command()
@click.argument("target", metavar="[RUN_DIR | CONFIG]", required=False, type=Path)
@click.option("--samples", default=1000, show_default=True, type=click.IntRange(1),
              help="Training examples to measure on.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per layer.")
def inspect(target: Path | None, samples: int, as_json: bool) -> None:
    """Per layer: how fast it learns, and why (chapters 2 and 5).

    At a run's weights (default: the latest run), or a fresh network from a CONFIG (as
    the book's chapter 5 does, at initialisation), on training examples: the mean norm of
    delta, the mean sigma'(z), the share of saturated neurons (activation within 0.02
    of 0 or 1) and the norms of dC/dw and dC/db, the layer's speed of learning.
    """
    import json

    from nnbp.introspect import layer_stats

    net, _, x, y, _, what = _network_and_data(target, samples)
    rows = layer_stats(net, x, y.astype(net.dtype))
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    names = _layer_names(net.sizes)
    width = max(len(n) for n in names)
    click.echo(f"{what}, {len(x)} training examples")
    click.echo(f"{'layer':<{width}}  |delta|   sigma'(z)  saturated  |dC/dw|   |dC/db|")
    for name, r in zip(names, rows, strict=True):
        sp = "-" if r["mean_sigma_prime"] is None else f"{r['mean_sigma_prime']:.4f}"
        click.echo(
            f"{name:<{width}}  {r['delta_norm']:.2e}  {sp:>9}  {r['saturated']:>8.1%}"
            f"  {r['grad_w_norm']:.2e}  {r['grad_b_norm']:.2e}"
        )


# --- plot ----------------------------------------------------------------------------


@cli.command()
@click.argument("target", metavar="[RUN_DIR]", required=False, type=Path)
@click.option("-o", "--out", type=Path, help="Directory for the PNG files [RUN_DIR/plots].")
def plot(target: Path | None, out: Path | None) -> None:
    """Draw a run as PNG files: learning curves, confusion matrix, first-layer weights,
    the most confidently wrong test images, and the per-layer trace when recorded.

    Needs matplotlib (pip install 'nnbp[plot]'; make install includes it). The paths of
    the files written are printed on stdout.
    """
    from nnbp import plot as plotting
    from nnbp import runs

    run = target if target is not None else runs.find_latest()
    for path in plotting.plot_run(run, out if out is not None else run / "plots"):
        click.echo(str(path))


# --- data ----------------------------------------------------------------------------


@cli.group("data")
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

    paths = datasets.fetch(
        name,
        dest,
        mirror=os.environ.get(datasets.MIRROR_ENV) or None,
        progress=lambda msg: click.echo(msg, err=True),
    )
    for path in paths.values():
        click.echo(str(path))


# --- config --------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Inspect configs."""


@config_group.command("show")
@click.argument("config_file", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
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
        shown = list(default) if isinstance(default, tuple) else default
        click.echo(f"{path:<{width}}  {shown!s:<16}  {doc}")


def main() -> None:
    cli(prog_name="nnbp")
