"""What a new user meets first: which run a command used, pipelines that end early, NUL
separated paths, plain help, --set on gradcheck and inspect, and stable printed digits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error_line, make_images
from PIL import Image

import nnbp
from nnbp import idx


@pytest.fixture
def tiny_run(invoke, tiny_config) -> Path:
    result = invoke("train", tiny_config())
    assert result.exit_code == 0, result.output
    return Path("runs/tiny")


@pytest.fixture
def pngs(tmp_path, tiny_data) -> list[Path]:
    images, _ = idx.read_pair(tiny_data["test_images"], tiny_data["test_labels"])
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"digit {i}.png")  # a space, as real file names have
        Image.fromarray(images[i]).save(paths[-1])
    return paths


def test_evaluate_and_predict_say_which_run_they_chose(invoke, tiny_run, pngs):
    accuracy = nnbp.load(tiny_run).evaluate(*nnbp.load(tiny_run).test_data()[:2]).accuracy
    said = f"using runs/tiny (epoch {nnbp.load(tiny_run).epoch}, test {100 * accuracy:.2f}%)"
    assert invoke("evaluate").stderr.strip() == said
    assert invoke("predict", pngs[0]).stderr.strip() == said
    assert invoke("evaluate", tiny_run).stderr == ""  # chosen explicitly: nothing to say
    assert invoke("predict", "--weights", tiny_run, pngs[0]).stderr == ""


def test_predict_reads_nul_separated_paths(invoke, tiny_run, pngs):
    joined = "\0".join(str(p) for p in pngs)
    result = invoke("predict", "--weights", tiny_run, "-0", "-", input=joined)
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == list(map(str, pngs))
    by_line = invoke("predict", "--weights", tiny_run, "-", input="\n".join(map(str, pngs)))
    assert result.stdout == by_line.stdout


def test_a_path_with_a_nul_byte_is_one_error_line(invoke, tiny_run, pngs):
    joined = "\0".join(str(p) for p in pngs[:2])
    result = invoke("predict", "--weights", tiny_run, "-", input=joined)
    assert_one_error_line(result, 1, "holds a NUL byte")
    assert "nnbp predict -0 -" in result.stderr


def test_a_closed_stdout_ends_predict_quietly(tiny_run, tmp_path):
    labels = np.random.default_rng(0).integers(0, 3, 20_000).astype(np.uint8)
    many = tmp_path / "many-images-idx3-ubyte"
    idx.write_idx(many, make_images(np.random.default_rng(1), labels))
    command = [
        sys.executable,
        "-m",
        "nnbp",
        "predict",
        "--weights",
        str(tiny_run),
        "--idx",
        str(many),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        first = proc.stdout.readline()
        proc.stdout.close()  # as `| head -1` does
        stderr = proc.stderr.read().decode()
        code = proc.wait()
    assert first.startswith(str(many).encode())
    assert code == nnbp.errors.ExitCode.PIPE_CLOSED == 141
    assert stderr == ""


@pytest.mark.parametrize("args", [[], ["config"], ["data"]])
def test_a_group_without_a_command_prints_its_help_plainly(invoke, args):
    result = invoke(*args)
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: nnbp")
    assert "Error" not in result.output


def test_config_keys_speaks_yaml(invoke):
    lines = {line.split()[0]: line for line in invoke("config", "keys").stdout.splitlines()}
    assert lines["data.train_images"].split()[1] == "null"
    assert lines["training.trace"].split()[1] == "false"
    assert "[784, 30, 10]" in lines["network.sizes"]
    assert "None" not in lines["data.train_images"] and "False" not in lines["training.trace"]


def test_gradcheck_and_inspect_take_set_for_a_deeper_network(invoke, tiny_config):
    cfg = tiny_config()
    result = invoke("gradcheck", cfg, "--set", "network.sizes=[64, 6, 5, 4, 3]", "--samples", "3")
    assert result.exit_code == 0, result.output
    assert len([ln for ln in result.stdout.splitlines() if "->" in ln]) == 4
    rows = invoke("inspect", cfg, "--json", "--set", "network.sizes=[64, 6, 5, 4, 3]")
    assert [json.loads(line)["layer"] for line in rows.stdout.splitlines()] == [1, 2, 3, 4]


def test_set_with_no_config_uses_the_default_config(runner, mnist_dir):
    from nnbp import introspect

    os.symlink(mnist_dir, "data")
    subject = introspect.subject(None, 5, ["network.sizes=[784, 30, 30, 30, 10]"])
    assert subject.network.sizes == [784, 30, 30, 30, 10]
    assert "the default config" in subject.description


def test_set_is_refused_for_a_trained_run(invoke, tiny_run):
    result = invoke("inspect", tiny_run, "--set", "training.seed=1")
    assert_one_error_line(result, 2, "--set changes a config")


def test_an_images_answer_does_not_depend_on_its_batch(invoke, tiny_run, pngs):
    alone = [invoke("predict", "--weights", tiny_run, "--json", p).stdout for p in pngs]
    together = invoke("predict", "--weights", tiny_run, "--json", *pngs).stdout
    assert "".join(alone) == together
    model = nnbp.load(tiny_run)
    batch = model.predict_proba(pngs)
    for i, p in enumerate(pngs):
        np.testing.assert_allclose(model.predict_proba([p])[0], batch[i], rtol=1e-12)
