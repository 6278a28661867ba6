"""The training loop and evaluation, on the tiny synthetic dataset."""

from __future__ import annotations

import numpy as np

from nnbp import config, data
from nnbp.data import Split
from nnbp.network import Network
from nnbp.train import evaluate, fit, one_hot, sgd_epoch


def test_one_hot():
    y = one_hot(np.array([2, 0, 1], dtype=np.uint8), 3, np.float32)
    np.testing.assert_array_equal(y, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert y.dtype == np.float32


def test_evaluate_counts_argmax_hits_and_averages_the_cost():
    # A [1, 2] network whose outputs are sigma(+-10 x): class 0 for x < 0, class 1 for x > 0.
    net = Network(w=[np.array([[-10.0], [10.0]])], b=[np.zeros(2)])
    split = Split(np.array([[-1.0], [1.0], [2.0], [-3.0]]), np.array([0, 1, 0, 0]))
    result = evaluate(net, split, batch=3)  # two chunks: 3 rows, then 1
    assert result.accuracy == 0.75
    a = net.feedforward(split.x)
    y = one_hot(split.labels, 2, np.float64)
    assert np.isclose(result.cost, (0.5 * ((a - y) ** 2).sum(axis=1)).mean())


def test_sgd_epoch_visits_every_example_once_per_epoch(monkeypatch):
    seen = []
    net = Network.create([2, 2], np.random.default_rng(0), dtype="float64")
    monkeypatch.setattr(net, "sgd_step", lambda x, y, eta: seen.append(x[:, 0].copy()))
    x = np.stack([np.arange(25.0), np.zeros(25)], axis=1)
    split = Split(x, np.zeros(25, dtype=np.uint8))
    calls = []
    sgd_epoch(
        net,
        split,
        one_hot(split.labels, 2, np.float64),
        10,
        1.0,
        np.random.default_rng(1),
        lambda done, total: calls.append((done, total)),
    )
    assert [len(s) for s in seen] == [10, 10, 5]  # the last mini-batch is smaller
    assert sorted(np.concatenate(seen)) == list(range(25))
    assert calls[-1] == (3, 3)


def _tiny_cfg(path):
    return config.load(path)


def test_fit_learns_the_tiny_problem_and_reports_each_epoch(tiny_config):
    cfg = _tiny_cfg(tiny_config(training={"epochs": 5}))
    splits = data.load_splits(cfg)
    rng = np.random.default_rng(cfg.training.seed)
    net = Network.create(cfg.network.sizes, rng)
    before = evaluate(net, splits.test)
    seen = []
    history = fit(net, splits, cfg.training, rng, on_epoch=seen.append)
    assert seen == history and [m["epoch"] for m in history] == [1, 2, 3, 4, 5]
    keys = {
        "epoch",
        "train_cost",
        "train_accuracy",
        "validation_accuracy",
        "test_accuracy",
        "train_seconds",
        "seconds",
    }
    assert all(set(m) == keys for m in history)
    assert history[-1]["test_accuracy"] > 0.95 > before.accuracy
    assert history[-1]["train_cost"] < before.cost
    assert all(0 < m["train_seconds"] <= m["seconds"] for m in history)


def test_same_seed_same_everything_other_seed_differs(tiny_config):
    cfg = _tiny_cfg(tiny_config())
    splits = data.load_splits(cfg)

    def run(seed):
        rng = np.random.default_rng(seed)
        net = Network.create(cfg.network.sizes, rng)
        history = fit(net, splits, cfg.training, rng)
        return net, [{k: v for k, v in m.items() if "seconds" not in k} for m in history]

    (n1, h1), (n2, h2), (n3, _) = run(3), run(3), run(4)
    assert h1 == h2
    for p, q in zip(n1.w + n1.b, n2.w + n2.b, strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(n1.w[0], n3.w[0])


def test_no_validation_split(tiny_config):
    cfg = _tiny_cfg(tiny_config(data={"validation_size": 0}, training={"epochs": 1}))
    splits = data.load_splits(cfg)
    assert splits.validation is None and len(splits.train) == 600
    rng = np.random.default_rng(0)
    history = fit(Network.create(cfg.network.sizes, rng), splits, cfg.training, rng)
    assert history[0]["validation_accuracy"] is None
