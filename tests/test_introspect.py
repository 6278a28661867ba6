"""gradcheck and inspect: the check passes on the real engine, fails on a broken one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnbp.network as network
from nnbp.cli import cli
from nnbp.introspect import Regularization, gradcheck, layer_stats
from nnbp.metrics import one_hot
from nnbp.network import COSTS, Network


def small(cost: str, sizes=(6, 5, 4, 3)):
    rng = np.random.default_rng(3)
    net = Network.create(list(sizes), rng, cost=cost, dtype="float64", init="scaled")
    x = rng.random((8, sizes[0]))
    y = one_hot(rng.integers(0, sizes[-1], size=8), sizes[-1], np.float64)
    return net, x, y


@pytest.mark.parametrize("cost", sorted(COSTS))
@pytest.mark.parametrize("reg", [None, ("l2", 3.0), ("l1", 3.0)])
def test_gradcheck_passes_on_the_real_engine_for_every_cost_and_regularisation(cost, reg):
    net, x, y = small(cost)
    r = Regularization(reg[1], reg[0], 20) if reg else None
    results = gradcheck(net, x, y, reg=r, rng=np.random.default_rng(0))
    assert [c.layer for c in results] == [1, 2, 3]
    assert max(c.worst for c in results) < 1e-6
    assert all(c.weights_checked == c.shape[0] * c.shape[1] for c in results)  # small: all


def test_gradcheck_samples_weights_on_large_layers():
    net, x, y = small("quadratic", sizes=(40, 30, 3))
    results = gradcheck(net, x, y, rng=np.random.default_rng(0), max_entries=50)
    assert [c.weights_checked for c in results] == [50, 50]
    assert max(c.worst for c in results) < 1e-6


def test_gradcheck_fails_when_bp2_drops_sigma_prime(monkeypatch):
    """Break backprop on purpose: BP2 without sigma'(z) (as if every neuron were linear)."""
    real = network.sigmoid_prime_from_a
    monkeypatch.setattr(network, "sigmoid_prime_from_a", lambda a: np.ones_like(a))
    net, x, y = small("cross-entropy")
    results = gradcheck(net, x, y, rng=np.random.default_rng(0))
    # The output layer's gradients do not use BP2 and stay right; the hidden ones fail.
    assert results[-1].weight < 1e-6 and results[-1].bias < 1e-6
    assert results[0].weight > 1e-2 and results[1].bias > 1e-2
    monkeypatch.setattr(network, "sigmoid_prime_from_a", real)


def test_gradcheck_fails_when_bp1_is_wrong(monkeypatch):
    monkeypatch.setattr(COSTS["quadratic"], "delta", staticmethod(lambda a, y: a - y))
    net, x, y = small("quadratic")
    results = gradcheck(net, x, y, rng=np.random.default_rng(0))
    assert results[-1].z > 1e-2 and results[-1].bias > 1e-2


def test_layer_stats_by_hand():
    # One example, a [1, 1] quadratic network with w = 0, b = 0: a = 0.5, sigma' = 0.25,
    # y = 1 (label 0): delta = (0.5 - 1) 0.25 = -0.125; dC/dw = delta x = -0.125 * 2.
    net = Network(w=[np.zeros((1, 1))], b=[np.zeros(1)])
    (row,) = layer_stats(net, np.array([[2.0]]), np.array([[1.0]]))
    assert row == {
        "layer": 1, "delta_norm": 0.125, "mean_sigma_prime": 0.25, "saturated": 0.0,
        "grad_w_norm": 0.25, "grad_b_norm": 0.125,
    }  # fmt: skip


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_gradcheck_command_exit_codes(runner, tiny_config, monkeypatch):
    cfg = tiny_config(network={"cost": "log-likelihood"}, training={"lmbda": 1.0})
    result = runner.invoke(cli, ["gradcheck", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "log-likelihood cost, l2 lmbda 1" in result.stdout
    assert "backprop agrees with finite differences" in result.stdout
    assert "(BP1)" in result.stdout and "(BP2)" in result.stdout
    monkeypatch.setattr(network, "sigmoid_prime_from_a", lambda a: np.ones_like(a))
    result = runner.invoke(cli, ["gradcheck", str(cfg)])
    assert result.exit_code == 1 and "backprop DISAGREES with finite differences" in result.stdout
    result = runner.invoke(cli, ["gradcheck", str(cfg), "--layers", "5"])
    assert result.exit_code == 2 and "the network has layers 1 to 2" in result.stderr


def test_gradcheck_and_inspect_on_a_trained_run(runner, tiny_config):
    assert runner.invoke(cli, ["train", str(tiny_config())]).exit_code == 0
    result = runner.invoke(cli, ["gradcheck", "--samples", "5", "--layers", "2"])
    assert result.exit_code == 0 and "runs/tiny: quadratic cost" in result.stdout
    result = runner.invoke(cli, ["inspect", "--json"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["layer"] for r in rows] == [1, 2]
    text = runner.invoke(cli, ["inspect"]).stdout
    assert "saturated" in text and "1 (64->10)" in text


def test_training_trace_is_recorded_per_epoch(runner, tiny_config):
    result = runner.invoke(cli, ["train", str(tiny_config(training={"trace": True, "epochs": 2}))])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in Path("runs/tiny/metrics.jsonl").read_text().splitlines()]
    assert all(len(m["trace"]) == 2 for m in lines)
    assert set(lines[0]["trace"][0]) == {
        "layer", "delta_norm", "mean_sigma_prime", "saturated", "grad_w_norm", "grad_b_norm",
    }  # fmt: skip
