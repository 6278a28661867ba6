"""nnbp evaluate and nnbp predict through click's CliRunner: outputs, formats, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error_line
from PIL import Image

import nnbp
from nnbp import idx, metrics, model_file
from nnbp.network import Network


@pytest.fixture
def tiny_run(invoke, tiny_config):
    result = invoke("train", tiny_config())
    assert result.exit_code == 0, result.output
    return Path.cwd() / "runs" / "tiny"


@pytest.fixture
def digits_weights(tmp_path) -> Path:
    """A random [784, 10, 10] network: predictions are arbitrary but deterministic."""
    net = Network.create([784, 10, 10], np.random.default_rng(0))
    path = tmp_path / "digits.npz"
    names = [str(k) for k in range(10)]
    model_file.save(path, net, input_shape=(28, 28), class_names=names, config_sha256="x")
    return path


def digit(size=(28, 28), ink=255, background=0) -> np.ndarray:
    """A plain '1'-like bar, in uint8, for predict's input tests."""
    img = np.full(size, background, dtype=np.uint8)
    r, c = size[0] // 4, size[1] // 2
    img[r : size[0] - r, c - max(1, size[1] // 20) : c + max(1, size[1] // 20)] = ink
    return img


def test_evaluate_prints_tables_for_the_latest_run(invoke, tiny_run):
    result = invoke("evaluate")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("accuracy  ")
    assert "confusion matrix (rows: true class, columns: predicted class)" in out
    assert "precision  recall      f1  support" in out
    # The confusion rows sum to the test set's label counts.
    rows = [line.split() for line in out.splitlines() if line[:4].strip() in ("0", "1", "2")]
    assert len(rows) >= 3


def test_evaluate_json_has_the_promised_keys_and_agrees_with_metrics(invoke, tiny_run, tiny_data):
    result = invoke("evaluate", tiny_run, "--json")
    report = json.loads(result.stdout)
    files = {"weights", "images", "labels"}
    assert set(report) == {"accuracy", "cost", "n", "confusion", "per_class"} | files
    assert report["weights"] == str(tiny_run / "weights.npz")
    assert (report["images"], report["labels"]) == (
        str(tiny_data["test_images"]),
        str(tiny_data["test_labels"]),
    )
    assert report["n"] == 150
    confusion = np.array(report["confusion"])
    _, labels = idx.read_pair(tiny_data["test_images"], tiny_data["test_labels"])
    assert confusion.sum(axis=1).tolist() == np.bincount(labels, minlength=3).tolist()
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / 150)
    assert [r["class"] for r in report["per_class"]] == [0, 1, 2]
    assert set(report["per_class"][0]) == {"class", "name", "precision", "recall", "f1", "support"}
    # The same through a weights file and an explicit IDX pair.
    again = invoke(
        "evaluate", tiny_run / "weights.npz", "--json",
        "--images", tiny_data["test_images"], "--labels", tiny_data["test_labels"],
    )  # fmt: skip
    same = {k: v for k, v in json.loads(again.stdout).items() if k not in files}
    assert same == {k: v for k, v in report.items() if k not in files}


def without_files(report: dict) -> dict:
    """An evaluate --json object without the names of the files it used."""
    return {k: v for k, v in report.items() if k not in ("weights", "images", "labels")}


def test_evaluate_json_is_the_models_report(invoke, tiny_run, tiny_data, tmp_path):
    model = nnbp.load(tiny_run)
    images, labels, images_file = model.test_data()
    assert images_file == tiny_data["test_images"]
    result = invoke("evaluate", tiny_run, "--json")
    assert without_files(json.loads(result.stdout)) == model.evaluate(images, labels).to_dict()
    # With --errors, the report gains the model's confident errors.
    wrong_labels = ((labels + 1) % 3).astype(np.uint8)
    wrong = tmp_path / "wrong-labels"
    idx.write_idx(wrong, wrong_labels)
    result = invoke("evaluate", tiny_run, "--json", "--errors", "4",
                    "--images", images_file, "--labels", wrong)  # fmt: skip
    expected = model.evaluate(images, wrong_labels).to_dict()
    expected["errors"] = model.confident_errors(images, wrong_labels, 4)
    assert without_files(json.loads(result.stdout)) == expected


def test_metrics_by_hand():
    # true:      0 0 1 1 2
    # predicted: 0 1 1 1 0
    confusion = metrics.confusion_matrix(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), 3)
    assert confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    rows = metrics.per_class(confusion, ["a", "b", "c"])
    # class 0: precision 1/2, recall 1/2; class 1: precision 2/3, recall 1; class 2: 0, 0.
    assert rows[0]["precision"] == 0.5 and rows[0]["recall"] == 0.5 and rows[0]["f1"] == 0.5
    assert rows[1]["precision"] == pytest.approx(2 / 3) and rows[1]["recall"] == 1.0
    assert rows[1]["f1"] == pytest.approx(0.8)
    assert (rows[2]["precision"], rows[2]["recall"], rows[2]["f1"]) == (0.0, 0.0, 0.0)
    assert [r["support"] for r in rows] == [2, 2, 1]


def test_evaluate_errors(invoke, tiny_run, tiny_data, tmp_path):
    def error(code, text, *args):
        assert_one_error_line(invoke("evaluate", *args), code, text)

    error(2, "--images and --labels go together", "--images", tiny_data["test_images"])
    big = tmp_path / "big-images"
    idx.write_idx(big, np.zeros((150, 9, 9), np.uint8))
    error(1, "9x9 images (81 inputs), but the network takes 64 inputs",
          "--images", big, "--labels", tiny_data["test_labels"])  # fmt: skip
    labels = tmp_path / "labels"
    idx.write_idx(labels, np.full(150, 7, np.uint8))
    error(1, str(labels), "--images", tiny_data["test_images"], "--labels", labels)
    lone = tmp_path / "lone" / "w.npz"
    lone.parent.mkdir()
    lone.write_bytes((tiny_run / "weights.npz").read_bytes())
    error(2, "no config.yaml beside the weights file", lone)
    error(1, "no such run directory or weights file", tmp_path / "nothing")
    (tiny_run / "weights.npz").write_bytes(b"garbage")
    error(1, "weights.npz: not a readable weights file")


def test_evaluate_without_any_run(invoke):
    result = invoke("evaluate")
    assert result.exit_code == 1 and "no latest run" in result.stderr


def test_predict_formats_stdin_and_exit_codes(invoke, digits_weights, tmp_path):
    good = tmp_path / "one.png"
    Image.fromarray(digit()).save(good)
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    # Text: PATH<TAB>LABEL<TAB>CONFIDENCE, one line per image.
    result = invoke("predict", "--weights", digits_weights, good)
    assert result.exit_code == 0
    path, label, confidence = result.stdout.strip().split("\t")
    assert path == str(good) and label.isdigit() and 0 < float(confidence) <= 1
    # JSON lines; probabilities sum to 1 and the confidence is the label's.
    result = invoke("predict", "--weights", digits_weights, "--json", good, good)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2 and set(records[0]) == {"path", "label", "confidence", "probabilities"}
    assert sum(records[0]["probabilities"]) == pytest.approx(1, abs=1e-5)
    assert records[0]["confidence"] == pytest.approx(records[0]["probabilities"][int(label)], 1e-5)
    # Paths from stdin, a non-image among them: reported, the rest predicted, exit 1.
    result = invoke("predict", "--weights", digits_weights, "-",
                    input=f"{good}\n{bad}\n\n{good}\n")  # fmt: skip
    assert result.exit_code == 1
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [str(good)] * 2
    assert result.stderr.startswith(f"Error: {bad}: ")
    # No images at all: a usage error; missing weights: exit 1.
    assert invoke("predict", "--weights", digits_weights).exit_code == 2
    result = invoke("predict", "--weights", tmp_path / "none.npz", good)
    assert result.exit_code == 1 and "no such run directory or weights file" in result.stderr


def test_predict_json_lines_are_the_models_predictions(invoke, tmp_path):
    net = Network.create([784, 5, 10], np.random.default_rng(2))
    names = [f"class-{k}" for k in range(10)]  # named classes: the records carry "name"
    model_file.save(tmp_path / "w.npz", net, input_shape=(28, 28), class_names=names,
                    config_sha256="x")  # fmt: skip
    paths = []
    for i, size in enumerate([(28, 28), (40, 30), (100, 120)]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(digit(size, ink=200 + 20 * i)).save(paths[-1])
    result = invoke("predict", "--weights", tmp_path / "w.npz", "--json", *paths)
    assert result.exit_code == 0, result.output
    model = nnbp.load(tmp_path / "w.npz")
    expected = model.predictions(paths, model.predict_proba(paths))
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected
    assert all(set(r) == {"path", "label", "confidence", "probabilities", "name"}
               for r in expected)  # fmt: skip
    # The text lines carry the same label, confidence and name.
    text = invoke("predict", "--weights", tmp_path / "w.npz", *paths).stdout.splitlines()
    assert text == [
        f"{r['path']}\t{r['label']}\t{r['confidence']:.4f}\t{r['name']}" for r in expected
    ]


def test_predict_idx_of_another_image_size_is_refused(invoke, digits_weights, tmp_path):
    idx.write_idx(tmp_path / "small.idx", np.zeros((3, 9, 9), np.uint8))
    result = invoke("predict", "--weights", digits_weights, "--idx", tmp_path / "small.idx")
    assert_one_error_line(result, 1, f"{tmp_path / 'small.idx'}: images are 9x9, the network"
                                     " takes 28x28")  # fmt: skip
    assert result.stdout == ""


def test_predict_idx_matches_the_png_round_trip(invoke, digits_weights, tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    images[:, :4] = 0  # a dark border, as in MNIST, so no inversion is detected
    images[:, -4:] = 0
    images[:, :, :4] = 0
    images[:, :, -4:] = 0
    idx.write_idx(tmp_path / "imgs.idx", images)
    from_idx = invoke("predict", "--weights", digits_weights, "--idx", tmp_path / "imgs.idx")
    pngs = []
    for i, img in enumerate(images):
        pngs.append(tmp_path / f"{i:02d}.png")
        Image.fromarray(img).save(pngs[-1])
    from_png = invoke("predict", "--weights", digits_weights, *pngs)
    strip = lambda out: [line.split("\t")[1:] for line in out.splitlines()]  # noqa: E731
    assert strip(from_idx.stdout) == strip(from_png.stdout) and len(strip(from_png.stdout)) == 20
    assert from_idx.stdout.splitlines()[3].startswith(f"{tmp_path / 'imgs.idx'}:3\t")


def test_predict_show_draws_the_input_on_stderr(invoke, digits_weights, tmp_path):
    path = tmp_path / "one.png"
    Image.fromarray(digit()).save(path)
    result = invoke("predict", "--weights", digits_weights, "--show", path)
    drawing = result.stderr.splitlines()[1:]
    assert len(drawing) == 28 and all(len(line) == 28 for line in drawing)
    assert "@" in result.stderr and result.stdout.count("\n") == 1


def test_predict_names_classes_of_a_named_dataset(invoke, tmp_path):
    net = Network.create([784, 5, 10], np.random.default_rng(1))
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
    model_file.save(tmp_path / "f.npz", net, input_shape=(28, 28), class_names=names,
                    config_sha256="x")  # fmt: skip
    Image.fromarray(digit()).save(tmp_path / "x.png")
    line = invoke("predict", "--weights", tmp_path / "f.npz", tmp_path / "x.png").stdout
    path, label, confidence, name = line.rstrip("\n").split("\t")
    assert name == names[int(label)]
    record = json.loads(
        invoke("predict", "--weights", tmp_path / "f.npz", "--json", tmp_path / "x.png").stdout
    )
    assert record["name"] == name


def test_evaluate_errors_draws_the_most_confident_mistakes(invoke, tiny_run, tiny_data, tmp_path):
    images, labels = idx.read_pair(tiny_data["test_images"], tiny_data["test_labels"])
    wrong = tmp_path / "wrong-labels"
    idx.write_idx(wrong, ((labels + 1) % 3).astype(np.uint8))  # every label now wrong
    args = ["evaluate", "--images", tiny_data["test_images"], "--labels", wrong, "--errors", "3"]
    report = json.loads(invoke(*args, "--json").stdout)
    errors = report["errors"]
    assert len(errors) == 3
    assert [e["confidence"] for e in errors] == sorted((e["confidence"] for e in errors),
                                                       reverse=True)  # fmt: skip
    assert all(e["label"] != e["predicted"] for e in errors)
    text = invoke(*args).stdout
    assert "the 3 most confidently wrong images" in text
    first = errors[0]
    assert f"#{first['index']}: true {first['label']}, said {first['predicted']}" in text
    assert text.count("\n") > 3 * 8  # three 8-line drawings


def test_plot_command_writes_pngs_of_the_latest_run(invoke, tiny_run):
    result = invoke("plot")
    assert result.exit_code == 0, result.output
    paths = [Path(p) for p in result.stdout.split()]
    assert [p.name for p in paths] == [
        "learning_curves.png", "confusion_matrix.png", "first_layer_weights.png",
        "confident_errors.png",
    ]  # fmt: skip
    assert all(p.parent == tiny_run / "plots" and p.stat().st_size > 1000 for p in paths)
