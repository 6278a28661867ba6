"""gradcheck and inspect: the check passes on the real engine, fails on a broken one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error_line

import nnbp.network as network
from nnbp import config, data, introspect, model_file
from nnbp.costs import COSTS, CrossEntropyCost
from nnbp.errors import UsageError
from nnbp.introspect import Regularization, gradcheck, layer_stats
from nnbp.metrics import one_hot
from nnbp.network import Network


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


def linear_prime(a: np.ndarray, out: np.ndarray, one=1) -> np.ndarray:
    """sigma'(z) as if every neuron were linear: 1 everywhere (a broken BP2)."""
    out[...] = 1
    return out


def test_gradcheck_fails_when_bp2_drops_sigma_prime(monkeypatch):
    """Break backprop on purpose: BP2 without sigma'(z) (as if every neuron were linear)."""
    monkeypatch.setattr(network, "sigmoid_prime_", linear_prime)
    net, x, y = small("cross-entropy")
    results = gradcheck(net, x, y, rng=np.random.default_rng(0))
    # The output layer's gradients do not use BP2 and stay right; the hidden ones fail.
    assert results[-1].weight < 1e-6 and results[-1].bias < 1e-6
    assert results[0].weight > 1e-2 and results[1].bias > 1e-2


def test_gradcheck_fails_when_bp1_is_wrong(monkeypatch):
    # The quadratic cost's BP1 without its sigma'(z^L) factor: delta^L = (a - y) k.
    monkeypatch.setattr(COSTS["quadratic"], "delta", staticmethod(CrossEntropyCost.delta))
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


def test_subject_of_a_config_is_a_fresh_network_on_the_first_examples(tiny_config):
    cfg_path = tiny_config(training={"lmbda": 2.0, "regularization": "l1"})
    s = introspect.subject(cfg_path, 7)
    cfg = config.load(cfg_path)
    fresh = Network.create(cfg.network.sizes, np.random.default_rng(cfg.training.seed),
                           init=cfg.network.init, cost=cfg.network.cost,
                           dtype=cfg.training.dtype)  # fmt: skip
    for p, q in zip(s.network.params, fresh.params, strict=True):
        np.testing.assert_array_equal(p, q)
    splits = data.load_splits(cfg)
    np.testing.assert_array_equal(s.x, splits.train.x[:7])
    np.testing.assert_array_equal(s.y, one_hot(splits.train.labels[:7], 3, np.float64))
    assert s.y.dtype == np.float64 and s.n_train == 500 == len(splits.train)
    assert s.regularization == Regularization(2.0, "l1", 500)
    assert s.description == f"a fresh network from {cfg_path} (seed 7)"


def test_subject_of_a_run_is_its_trained_weights(invoke, tiny_config, tmp_path):
    assert invoke("train", tiny_config()).exit_code == 0
    run = Path("runs/tiny")
    trained, _ = model_file.load(run / "weights.npz")
    for target in (None, run, run / "weights.npz"):
        s = introspect.subject(target, 5)
        for p, q in zip(s.network.params, trained.params, strict=True):
            np.testing.assert_array_equal(p, q)
        assert len(s.x) == 5 and s.description.startswith("the weights of ")
    lone = tmp_path / "lone.npz"
    lone.write_bytes((run / "weights.npz").read_bytes())
    with pytest.raises(UsageError, match="no config.yaml beside the weights file"):
        introspect.subject(lone, 5)


def test_gradcheck_command_exit_codes(invoke, tiny_config, monkeypatch):
    cfg = tiny_config(network={"cost": "log-likelihood"}, training={"lmbda": 1.0})
    result = invoke("gradcheck", cfg)
    assert result.exit_code == 0, result.output
    assert "log-likelihood cost, l2 lmbda 1" in result.stdout
    assert "backprop agrees with finite differences" in result.stdout
    assert "(BP1)" in result.stdout and "(BP2)" in result.stdout
    monkeypatch.setattr(network, "sigmoid_prime_", linear_prime)
    result = invoke("gradcheck", cfg)
    assert result.exit_code == 1 and "backprop DISAGREES with finite differences" in result.stdout
    result = invoke("gradcheck", cfg, "--layers", "5")
    assert_one_error_line(result, 2, "--layers 5: the network has layers 1 to 2")
    result = invoke("gradcheck", cfg, "--layers", "one")
    assert_one_error_line(result, 2, "--layers one: expected numbers like 1,2")


def test_gradcheck_and_inspect_on_a_trained_run(invoke, tiny_config):
    assert invoke("train", tiny_config()).exit_code == 0
    result = invoke("gradcheck", "--samples", "5", "--layers", "2")
    assert result.exit_code == 0 and "runs/tiny: quadratic cost" in result.stdout
    result = invoke("inspect", "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["layer"] for r in rows] == [1, 2]
    text = invoke("inspect").stdout
    assert "saturated" in text and "1 (64->10)" in text


def test_training_trace_is_recorded_per_epoch(invoke, tiny_config):
    result = invoke("train", tiny_config(training={"trace": True, "epochs": 2}))
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in Path("runs/tiny/metrics.jsonl").read_text().splitlines()]
    assert all(len(m["trace"]) == 2 for m in lines)
    assert set(lines[0]["trace"][0]) == {
        "layer", "delta_norm", "mean_sigma_prime", "saturated", "grad_w_norm", "grad_b_norm",
    }  # fmt: skip
