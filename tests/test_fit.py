"""The training loop: evaluation, the eta schedule and early stopping, stopping from the
on_epoch callback or a stop request, and whole runs on the tiny synthetic dataset."""

from __future__ import annotations

import numpy as np
import pytest

from nnbp import config, data
from nnbp.config import TrainingConfig
from nnbp.data import Split
from nnbp.epoch import StopFlag
from nnbp.fit import METRIC_KEYS, evaluate, fit
from nnbp.metrics import one_hot
from nnbp.network import Network
from nnbp.schedule import ON_EPOCH, STOP_REASONS, TrainState, track_best


def test_one_hot():
    y = one_hot(np.array([2, 0, 1], dtype=np.uint8), 3, np.float32)
    np.testing.assert_array_equal(y, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert y.dtype == np.float32


def test_evaluate_counts_argmax_hits_and_averages_the_cost():
    # A [1, 2] network whose outputs are sigma(+-10 x): class 0 for x < 0, class 1 for x > 0.
    net = Network(w=[np.array([[-10.0], [10.0]])], b=[np.zeros(2)])
    split = Split.of(np.array([[-1.0], [1.0], [2.0], [-3.0]]), np.array([0, 1, 0, 0]))
    result = evaluate(net, split, batch=3)  # two chunks: 3 rows, then 1
    assert result.accuracy == 0.75
    a = net.feedforward(split.x)
    y = one_hot(split.labels, 2, np.float64)
    assert np.isclose(result.cost, (0.5 * ((a - y) ** 2).sum(axis=1)).mean())


def _scripted(settings: TrainingConfig, accuracies: list[float]) -> TrainState:
    """Run the schedule bookkeeping on a scripted sequence of validation accuracies."""
    net = Network(w=[np.zeros((1, 1))], b=[np.zeros(1)])
    state = TrainState(eta=settings.eta)
    for accuracy in accuracies:
        if state.stop_reason:
            break
        state.epoch += 1
        track_best(state, settings, net, accuracy)
    return state


def test_eta_halves_after_n_epochs_without_improvement_and_stops_at_the_floor():
    s = TrainingConfig(eta=1.0, halve_eta_after=2, max_halvings=2)
    # e1 0.5 best; e2 0.6 best; e3, e4 no better -> halve (eta 0.5); e5 0.7 best;
    # e6, e7 no better -> second halving (eta 0.25) = max_halvings -> stop after e7.
    state = _scripted(s, [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.9, 0.9])
    assert (state.epoch, state.eta, state.halvings, state.stop_reason) == (7, 0.25, 2, "eta")
    assert (state.best_epoch, state.best_accuracy) == (5, 0.7)
    assert state.stop_reason in STOP_REASONS


def test_early_stopping_after_n_epochs_without_improvement():
    s = TrainingConfig(early_stopping=3)
    # e1 0.5 best; e2, e3, e4 not better (equal is not better) -> stop after e4.
    state = _scripted(s, [0.5, 0.4, 0.45, 0.5, 0.9])
    assert (state.epoch, state.stop_reason, state.best_epoch) == (4, "early_stopping", 1)
    # Without the rule, training goes on and finds the later best.
    state = _scripted(TrainingConfig(), [0.5, 0.4, 0.45, 0.5, 0.9])
    assert (state.epoch, state.stop_reason, state.best_epoch) == (5, "", 5)


def _tiny(tiny_config, **sections):
    cfg = config.load(tiny_config(**sections))
    return cfg, data.load_splits(cfg)


def test_fit_learns_the_tiny_problem_and_reports_each_epoch(tiny_config):
    cfg, splits = _tiny(tiny_config, training={"epochs": 5})
    rng = np.random.default_rng(cfg.training.seed)
    net = Network.create(cfg.network.sizes, rng)
    before = evaluate(net, splits.test)
    seen = []
    state = fit(net, splits, cfg.training, rng, on_epoch=seen.append)
    history = state.history
    assert seen == history and [m["epoch"] for m in history] == [1, 2, 3, 4, 5]
    keys = {
        "epoch", "train_cost", "train_cost_data", "train_cost_regularization", "train_accuracy",
        "validation_accuracy", "test_accuracy", "eta", "train_seconds", "seconds",
    }  # fmt: skip
    assert all(set(m) == keys for m in history)
    assert keys == {"epoch", *METRIC_KEYS}  # the list sweeps check a metric's name against
    assert history[-1]["test_accuracy"] > 0.95 > before.accuracy
    assert history[-1]["train_cost"] < before.cost
    assert all(0 < m["train_seconds"] <= m["seconds"] for m in history)
    assert 1 <= state.best_epoch <= 5 and state.best_params is not None
    assert state.stop_reason == ""


def test_a_true_from_on_epoch_ends_training_after_that_epoch(tiny_config):
    cfg, splits = _tiny(tiny_config, training={"epochs": 5})
    rng = np.random.default_rng(0)
    seen = []

    def on_epoch(row):
        seen.append(row["epoch"])
        return row["epoch"] == 2

    state = fit(Network.create(cfg.network.sizes, rng), splits, cfg.training, rng,
                on_epoch=on_epoch)  # fmt: skip
    assert seen == [1, 2] and state.epoch == 2 and len(state.history) == 2
    assert state.stop_reason == ON_EPOCH == "on_epoch"


@pytest.mark.parametrize("overlap", [False, True])
def test_a_stop_request_returns_the_last_complete_epoch(tiny_config, overlap):
    cfg, splits = _tiny(tiny_config, training={"epochs": 5})
    rng = np.random.default_rng(0)
    net = Network.create(cfg.network.sizes, rng)
    stop = StopFlag()

    def on_batches(epoch, done, total):
        if epoch == 2 and done >= total // 2:
            stop.requested = "SIGINT"

    state = fit(net, splits, cfg.training, rng, on_batches=on_batches, stop=stop, overlap=overlap)
    assert state.epoch == 1 and len(state.history) == 1 and state.stop_reason == ""
    assert state.last.epoch == 1  # what a checkpoint now holds: epoch 1's weights
    assert not np.array_equal(net.flat, state.last.net.flat)  # epoch 2 was under way


def test_regularised_momentum_run_reports_both_cost_parts(tiny_config):
    cfg, splits = _tiny(
        tiny_config,
        network={"cost": "cross-entropy", "init": "scaled"},
        training={"lmbda": 5.0, "momentum": 0.5, "eta": 0.5},
    )
    rng = np.random.default_rng(0)
    net = Network.create(cfg.network.sizes, rng, cost="cross-entropy", init="scaled")
    history = fit(net, splits, cfg.training, rng).history
    m = history[-1]
    assert m["train_cost_regularization"] > 0
    assert m["train_cost"] == pytest.approx(m["train_cost_data"] + m["train_cost_regularization"])
    assert m["test_accuracy"] > 0.9


def test_same_seed_same_everything_other_seed_differs(tiny_config):
    cfg, splits = _tiny(tiny_config)

    def run(seed):
        rng = np.random.default_rng(seed)
        net = Network.create(cfg.network.sizes, rng)
        history = fit(net, splits, cfg.training, rng).history
        return net, [{k: v for k, v in m.items() if "seconds" not in k} for m in history]

    (n1, h1), (n2, h2), (n3, _) = run(3), run(3), run(4)
    assert h1 == h2
    for p, q in zip(n1.params, n2.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(n1.params[0], n3.params[0])


def test_no_validation_split(tiny_config):
    cfg, splits = _tiny(tiny_config, data={"validation_size": 0}, training={"epochs": 1})
    assert splits.validation is None and len(splits.train) == 600
    rng = np.random.default_rng(0)
    state = fit(Network.create(cfg.network.sizes, rng), splits, cfg.training, rng)
    assert state.history[0]["validation_accuracy"] is None
    assert state.best_params is None
