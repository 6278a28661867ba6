"""Photographs of handwriting and clothes: accuracy before and after (make photos).

    python scripts/photos.py [--n 500] [--baseline REV] [--out docs/PHOTOS.md]
                             [--pictures docs/photos]

MNIST test digits are written on pages of each kind tests/pages.py draws (clean paper,
lighting and a blue pen, ruled notebook paper, a box, dust, a shadow), saved as PNG or
JPEG files, and read by a chapter-3 network (configs/nielsen-ch3.yaml, 10 epochs; trained
once into runs/photos/mnist) with nnbp's preparation of the checkout ("after") and with
the preparation of the revision --baseline ("before": its nnbp/image.py, read with
`git show`, run from a temporary file). Blank pages of every kind count as flagged when
the preparation finds no ink (the baseline has no such notion: it never flags them).
Fashion-MNIST test images (a [784, 100, 10] network, 10 epochs, runs/photos/fashion) are
read at 28x28, upscaled to 280x280, and as dark-on-white product photos (JPEG), with
the digit preparation ("before") and Fashion-MNIST's own ("after"). Writes the tables
to --out and stdout, and `nnbp predict --show-dir` pictures of one page of each kind
to --pictures.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

import nnbp
from nnbp import idx
from nnbp.image import prepare

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from pages import KINDS, page, save  # noqa: E402  (the generator lives with the tests)

BASELINE = "06b13e6"  # the last revision with the digit preparation for every image
NETWORKS = {  # name -> (config, overrides)
    "mnist": ("nielsen-ch3", ["training.epochs=10"]),
    "fashion": ("fashion-mnist", ["training.epochs=10", "network.sizes=[784,100,10]"]),
}


def network(name: str) -> nnbp.Model:
    """The network ``name`` of NETWORKS, trained once into runs/photos/<name>."""
    out = ROOT / "runs" / "photos" / name
    if not (out / "weights.npz").exists():
        config, overrides = NETWORKS[name]
        args = [sys.executable, "-m", "nnbp", "train", str(ROOT / "configs" / f"{config}.yaml")]
        args += ["--out", str(out), "--overwrite", "--set", f"data.dir={ROOT / 'data'}"]
        for item in overrides:
            args += ["--set", item]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return nnbp.load(out)


def baseline_loader(rev: str, tmp: Path) -> Callable[[Path], np.ndarray]:
    """load_image of nnbp/image.py at revision ``rev``, run from a file outside the repo."""
    source = subprocess.run(["git", "show", f"{rev}:nnbp/image.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    (tmp / "baseline_image.py").write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_image", tmp / "baseline_image.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_image


def test_set(dataset: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n images of the dataset's test set, chosen by ``rng``, and their labels."""
    where = ROOT / "data" / dataset
    images, labels = idx.read_pair(
        where / "t10k-images-idx3-ubyte.gz", where / "t10k-labels-idx1-ubyte.gz"
    )
    pick = rng.choice(len(labels), n, replace=False)
    return images[pick], labels[pick]


def read(files: list[Path], loader: Callable[[Path], np.ndarray]) -> np.ndarray:
    return np.stack([loader(f) for f in files])


def digits_table(n: int, old: Callable, tmp: Path) -> tuple[list[str], dict[str, Path], str]:
    """Markdown rows: each kind of page, before and after; one page file of each kind;
    which network read them."""
    model = network("mnist")
    images, labels = test_set("mnist", n, np.random.default_rng(0))
    rows = [f"| the same digits as IDX rows | {pct(model.predict(images) == labels)} | same |"]
    rng, examples = np.random.default_rng(1), {}
    for kind in (*KINDS, "blank"):
        files = []
        for i, digit in enumerate(images):
            picture, fmt = page(None if kind == "blank" else digit, kind_of(kind, i), rng)
            files.append(tmp / f"{kind}-{i}.{'png' if fmt == 'PNG' else 'jpg'}")
            files[-1].write_bytes(save(picture, fmt, rng))
        examples[kind] = files[KINDS.index("shadow") if kind == "blank" else 0]
        new = [prepare(f, style=model.preparation) for f in files]
        if kind == "blank":
            after = f"{sum(p.blank for p in new)} of {n} flagged"
            confident = np.mean(model.predict_proba(read(files, old)).max(axis=1))
            rows.append(f"| blank pages (all kinds) | 0 of {n} flagged (mean confidence"
                        f" {confident:.2f}) | {after} |")  # fmt: skip
            continue
        before = model.predict(read(files, old)) == labels
        now = model.predict(np.stack([p.image for p in new])) == labels
        rows.append(f"| {DESCRIPTIONS[kind]} | {pct(before)} | {pct(now)} |")
    return rows, examples, model.describe()


def kind_of(kind: str, i: int) -> str:
    return KINDS[i % len(KINDS)] if kind == "blank" else kind


def fashion_table(n: int, old: Callable, tmp: Path) -> tuple[list[str], str]:
    """Markdown rows: Fashion-MNIST at 28x28, upscaled and photographed, before and after;
    which network read them."""
    model = network("fashion")
    images, labels = test_set("fashion-mnist", n, np.random.default_rng(2))
    rows = [f"| 28x28 (IDX rows) | {pct(model.predict(images) == labels)} | same |"]
    rng = np.random.default_rng(3)
    for name, make in (("upscaled to 280x280 (PNG)", upscaled), ("dark on white (JPEG)", photo)):
        files = []
        for i, a in enumerate(images):
            files.append(tmp / f"fashion-{len(rows)}-{i}.{'jpg' if 'JPEG' in name else 'png'}")
            make(a, rng).save(files[-1], quality=90)
        before = model.predict(read(files, old)) == labels
        now = model.predict(files) == labels  # the model's own preparation: object
        rows.append(f"| {name} | {pct(before)} | {pct(now)} |")
    return rows, model.describe()


def upscaled(a: np.ndarray, rng: np.random.Generator) -> Image.Image:
    return Image.fromarray(a).resize((280, 280), Image.Resampling.BICUBIC)


def photo(a: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The product dark on off-white paper, off-centre on a larger picture."""
    canvas = Image.new("L", (int(rng.integers(300, 400)), int(rng.integers(300, 400))),
                       int(rng.integers(235, 256)))  # fmt: skip
    product = 255 - np.asarray(upscaled(a, rng), dtype=np.int16)
    paper = canvas.getpixel((0, 0))
    tile = Image.fromarray(np.clip(product - (255 - paper), 0, 255).astype(np.uint8))
    canvas.paste(tile, (int(rng.integers(0, canvas.width - 279)),
                        int(rng.integers(0, canvas.height - 279))))  # fmt: skip
    return canvas


def pct(hits: np.ndarray) -> str:
    return f"{100 * float(np.mean(hits)):.1f}%"


DESCRIPTIONS = {
    "clean": "clean page (black pen, white paper, PNG)",
    "lighting": "grey paper lit from one side, blue pen, JPEG",
    "notebook": "notebook paper (ruled lines, a margin line), JPEG",
    "box": "the digit inside a drawn box, JPEG",
    "dust": "dark specks of dust near the edges, JPEG",
    "shadow": "a soft shadow across one corner, JPEG",
}


def pictures(examples: dict[str, Path], dest: Path) -> None:
    """`nnbp predict --show-dir DEST` on one page of each kind, named after the kind."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for kind, path in examples.items():
            files.append(Path(tmp) / f"{kind}{path.suffix}")
            files[-1].write_bytes(path.read_bytes())
        weights = network("mnist").weights_file
        subprocess.run([sys.executable, "-m", "nnbp", "predict", "--weights", str(weights),
                        "--show-dir", str(dest), *map(str, files)],
                       check=True, stdout=sys.stderr)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="digits (and images) per row")
    parser.add_argument("--baseline", default=BASELINE, help="revision measured as 'before'")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "PHOTOS.md")
    parser.add_argument("--pictures", type=Path, default=ROOT / "docs" / "photos")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_loader(args.baseline, Path(tmp))
        digit_rows, examples, mnist = digits_table(args.n, old, Path(tmp))
        fashion_rows, fashion = fashion_table(args.n, old, Path(tmp))
        pictures(examples, args.pictures)
    text = REPORT.format(
        n=args.n, rev=args.baseline, digits="\n".join(digit_rows),
        fashion="\n".join(fashion_rows), mnist=mnist, fashion_net=fashion,
    )  # fmt: skip
    print(text)
    args.out.write_text(text)


REPORT = """\
# Photographs of handwriting and of clothes

`nnbp predict` on pictures as users take them. Measured with `make photos`
(`python scripts/photos.py --n {n}`): {n} digits (or images) per row, the same digits on
every kind of page. "Before" is nnbp's preparation at revision {rev}, "after" the
current one.

## MNIST digits on pages

A chapter-3 network, {mnist}. Pages drawn by tests/pages.py.

| page | before | after |
|---|---|---|
{digits}

## Fashion-MNIST

A [784, 100, 10] network, {fashion_net}. Before: every image got the digit preparation
(ink cropped to a 20-pixel box). After: weights files record their preparation, and
Fashion-MNIST's (trimmed, fitted to the whole 28x28 field, levels kept) is used.

| images | before | after |
|---|---|---|
{fashion}

## What `predict --show` shows

One page of each kind, drawn by `nnbp predict --show-dir docs/photos`: the page, the
ink with the background removed (lighting and shadows divided out), the ink mask (ruled
lines and the box's sides gone), what was kept as the digit, and the network's input.

![clean](photos/clean.png)
![lighting](photos/lighting.png)
![notebook](photos/notebook.png)
![box](photos/box.png)
![dust](photos/dust.png)
![shadow](photos/shadow.png)
![blank](photos/blank.png)

## Limits

- Pages are cleaned at 1024 pixels on their longer side at most (a phone's 12-megapixel
  photo takes about 0.6 s).
- A ruled line must run nearly straight across 3/4 of the page; a box is recognised by
  straight sides along three or four sides of the ink it frames.
- Dust is a blob smaller than 10% of the page's shorter side, or anything under 4% of
  it: a digit that small on its page is not found (a warning says so).
- Ink touching the border of a photographed page is taken for junk; a clean scan
  cropped tightly around its digit is read as a scan, as before.
- Clean scans (flat paper, one piece of ink, no lines, box or specks) are prepared
  exactly as before, without SciPy; photographed pages need the `photos` extra.
- Objects (Fashion-MNIST's style) are not cleaned: product photos on a plain
  background, as Fashion-MNIST's own were.
"""


if __name__ == "__main__":
    main()
