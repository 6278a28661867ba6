"""The training loop: the fast SGD step against the reference, updates worked by hand,
the schedule and early stopping, and whole runs on the tiny synthetic dataset."""

from __future__ import annotations

import threading
import traceback

import numpy as np
import pytest

from nnbp import augment, config, data
from nnbp.config import TrainingConfig
from nnbp.data import Split
from nnbp.network import COSTS, Network
from nnbp.sgd import SGD
from nnbp.train import (
    StopFlag,
    TrainState,
    _track_best,
    background_augmentation,
    evaluate,
    fit,
    one_hot,
    sgd_epoch,
)


def with_ones(x: np.ndarray) -> np.ndarray:
    """x (m, n) -> (m, n + 1) with a last column of ones, as SGD.step takes it."""
    return np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)


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


@pytest.mark.parametrize("cost", sorted(COSTS))
@pytest.mark.parametrize("m", [1, 7])
@pytest.mark.parametrize("sizes", [[6, 3], [6, 5, 3], [6, 5, 4, 3]])
def test_fast_step_equals_the_reference_step(cost, m, sizes):
    """SGD.step (generated code, buffers, folded biases and eta) == Network.sgd_step
    (plain BP1-BP4), for networks with no, one and two hidden layers."""
    rng = np.random.default_rng(9)
    fast = Network.create(sizes, rng, cost=cost, dtype="float64")
    ref = fast.copy()
    x = rng.random((m, 6))
    y = one_hot(rng.integers(0, 3, size=m), 3, np.float64)
    opt = SGD(fast, eta=0.7, n_train=100)
    for eta in (0.7, 0.7, 0.2):  # repeated steps reuse the buffers; a new eta takes effect
        opt.eta = eta
        opt.step(with_ones(x), y)
        ref.sgd_step(x, y, eta)
    for p, q in zip(fast.params, ref.params, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


def test_the_generated_step_shows_in_tracebacks():
    net = Network.create([4, 3, 2], np.random.default_rng(0), dtype="float64")
    opt = SGD(net, eta=0.1, n_train=10)
    with pytest.raises(ValueError) as info:
        opt.step(np.ones((2, 5)), np.ones((2, 3)))  # y has 3 columns, the network 2 outputs
    frames = [(f.filename, f.line) for f in traceback.extract_tb(info.value.__traceback__)]
    assert ("<nnbp.sgd step for [4, 3, 2], m=2>", "delta_into(out, y, eta_m, d1, t1)") in frames


# Hand-worked updates on a [1, 1] network with the cross-entropy cost (delta^L = a - y):
# w = 2, b = -2, one example x = 1 with label 0 (so y = 1); z = 2 * 1 - 2 = 0, a = 0.5,
# delta = a - y = -0.5, so dC/dw = delta x = -0.5 and dC/db = delta = -0.5.
# eta = 0.5, n = 4, lmbda = 1: eta lmbda / n = 0.125.
def _one_neuron(**kw) -> tuple[Network, SGD]:
    net = Network(w=[np.array([[2.0]])], b=[np.array([-2.0])], cost="cross-entropy")
    return net, SGD(net, eta=0.5, n_train=4, **kw)


X1, Y1 = np.array([[1.0, 1.0]]), np.array([[1.0]])  # x = 1 with its ones column; y = 1


def test_plain_step_by_hand():
    # w = 2 - 0.5 (-0.5) = 2.25, b = -2 - 0.5 (-0.5) = -1.75
    net, opt = _one_neuron()
    opt.step(X1, Y1)
    assert (net.w[0][0, 0], net.b[0][0]) == (2.25, -1.75)


def test_l2_step_by_hand():
    # w = (1 - 0.125) 2 - 0.5 (-0.5) = 1.75 + 0.25 = 2.0; the bias is not decayed: -1.75
    net, opt = _one_neuron(lmbda=1.0, regularization="l2")
    opt.step(X1, Y1)
    assert (net.w[0][0, 0], net.b[0][0]) == (2.0, -1.75)
    # Regularisation cost (lmbda / 2n) sum w^2 = (1 / 8) 4 = 0.5
    assert opt.regularization_cost() == 0.5


def test_l1_step_by_hand():
    # w = 2 - 0.125 sgn(2) - 0.5 (-0.5) = 2 - 0.125 + 0.25 = 2.125; b = -1.75
    net, opt = _one_neuron(lmbda=1.0, regularization="l1")
    opt.step(X1, Y1)
    assert (net.w[0][0, 0], net.b[0][0]) == (2.125, -1.75)
    # Regularisation cost (lmbda / n) sum |w| = 2.125 / 4
    assert opt.regularization_cost() == 2.125 / 4


def test_momentum_steps_by_hand():
    """mu = 0.5: v -> mu v - eta g, w -> w + v, biases alike.

    Step 1: v_w = 0 - 0.5 (-0.5) = 0.25, w = 2.25; v_b = 0.25, b = -1.75.
    Step 2: z = 2.25 - 1.75 = 0.5, a = sigma(0.5) = 0.6224593312018546,
      g_w = g_b = a - 1 = -0.3775406687981454;
      v = 0.5 * 0.25 - 0.5 g = 0.125 + 0.1887703343990727 = 0.3137703343990727;
      w = 2.25 + v = 2.5637703343990727, b = -1.75 + v = -1.4362296656009273.
    """
    net, opt = _one_neuron(momentum=0.5)
    opt.step(X1, Y1)
    assert (net.w[0][0, 0], net.b[0][0]) == (2.25, -1.75)
    opt.step(X1, Y1)
    assert net.w[0][0, 0] == pytest.approx(2.5637703343990727, rel=1e-15)
    assert net.b[0][0] == pytest.approx(-1.4362296656009273, rel=1e-15)


def _scripted(settings: TrainingConfig, accuracies: list[float]) -> TrainState:
    """Run the schedule bookkeeping on a scripted sequence of validation accuracies."""
    net = Network(w=[np.zeros((1, 1))], b=[np.zeros(1)])
    state = TrainState(eta=settings.eta)
    for accuracy in accuracies:
        if state.stopped:
            break
        state.epoch += 1
        _track_best(state, settings, net, accuracy)
    return state


def test_eta_halves_after_n_epochs_without_improvement_and_stops_at_the_floor():
    s = TrainingConfig(eta=1.0, halve_eta_after=2, max_halvings=2)
    # e1 0.5 best; e2 0.6 best; e3, e4 no better -> halve (eta 0.5); e5 0.7 best;
    # e6, e7 no better -> second halving (eta 0.25) = max_halvings -> stop after e7.
    state = _scripted(s, [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.9, 0.9])
    assert (state.epoch, state.eta, state.halvings, state.stopped) == (7, 0.25, 2, "eta")
    assert (state.best_epoch, state.best_accuracy) == (5, 0.7)


def test_early_stopping_after_n_epochs_without_improvement():
    s = TrainingConfig(early_stopping=3)
    # e1 0.5 best; e2, e3, e4 not better (equal is not better) -> stop after e4.
    state = _scripted(s, [0.5, 0.4, 0.45, 0.5, 0.9])
    assert (state.epoch, state.stopped, state.best_epoch) == (4, "early_stopping", 1)
    # Without the rule, training goes on and finds the later best.
    state = _scripted(TrainingConfig(), [0.5, 0.4, 0.45, 0.5, 0.9])
    assert (state.epoch, state.stopped, state.best_epoch) == (5, "", 5)


def test_sgd_epoch_visits_every_example_once_in_mini_batches():
    net = Network.create([2, 2], np.random.default_rng(0), dtype="float64")
    seen = []

    class Recorder:  # stands in for SGD: compiled(m) gives the step for m rows
        def compiled(self, m):
            return self.step

        def step(self, x, y):
            assert (x[:, -1] == 1).all()  # the ones column that carries the bias
            seen.append(x[:, 0].copy())

    x = np.stack([np.arange(25.0), np.zeros(25)], axis=1)
    split = Split(x, np.zeros(25, dtype=np.uint8))
    calls = []
    sgd_epoch(
        net, split, one_hot(split.labels, 2, np.float64), 10, 1.0, np.random.default_rng(1),
        lambda done, total: calls.append((done, total)), optimizer=Recorder(),
    )  # fmt: skip
    assert [len(s) for s in seen] == [10, 10, 5]  # the last mini-batch is smaller
    assert sorted(np.concatenate(seen)) == list(range(25))
    assert calls[-1] == (3, 3)


def _shifted_problem(n: int) -> tuple[Split, np.ndarray]:
    """n random 4x4 'images' in three classes, as load_splits makes a training split."""
    rng = np.random.default_rng(3)
    x1 = np.ones((n, 17), np.float32)
    x1[:, :-1] = rng.random((n, 16))
    labels = rng.integers(0, 3, n).astype(np.uint8)
    return Split(x1[:, :-1], labels, x1), one_hot(labels, 3, np.float32)


def _shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return augment.augment(x, (4, 4), rng, ["shift"])


@pytest.mark.parametrize("n", [2500, 2048])  # with a short last chunk, and without
def test_augmenting_on_a_worker_thread_trains_exactly_as_in_line(n):
    split, y = _shifted_problem(n)
    runs = []
    for background, aug in ((False, _shift), (True, _shift), (False, None)):
        rng = np.random.default_rng(5)
        net = Network.create([16, 8, 3], rng)
        for _ in range(2):
            assert sgd_epoch(net, split, y, 10, 0.5, rng, augment=aug, background=background)
        runs.append((net.params, rng.random()))
    (in_line, draw), (worker, worker_draw), (plain, _) = runs
    assert worker_draw == draw  # the generator made the same draws, in the same order
    for a, b, c in zip(in_line, worker, plain, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)  # and the shifts did change the training


def test_a_stop_request_ends_an_epoch_with_a_worker_and_its_thread():
    split, y = _shifted_problem(3000)
    stop = StopFlag()

    def on_batches(done: int, total: int) -> None:
        stop.requested = "SIGINT"

    net = Network.create([16, 8, 3], np.random.default_rng(0))
    complete = sgd_epoch(
        net, split, y, 10, 0.5, np.random.default_rng(1), on_batches,
        augment=_shift, stop=stop, background=True,
    )  # fmt: skip
    assert complete is False
    assert not [t for t in threading.enumerate() if t.name.startswith("nnbp-augment")]


def test_augmentation_goes_to_a_worker_only_for_large_steps_on_one_blas_thread():
    big, small = [784, 800, 10], [784, 30, 10]
    assert background_augmentation(TrainingConfig(mini_batch_size=20, blas_threads=1), big)
    assert not background_augmentation(TrainingConfig(mini_batch_size=20, blas_threads=2), big)
    assert not background_augmentation(TrainingConfig(mini_batch_size=10), small)
    # [784, 100, 10] at m = 10: 0.78 M multiply-adds, one thread chosen by nnbp
    assert background_augmentation(TrainingConfig(mini_batch_size=10), [784, 100, 10])


def test_fit_learns_the_tiny_problem_and_reports_each_epoch(tiny_config):
    cfg = config.load(tiny_config(training={"epochs": 5}))
    splits = data.load_splits(cfg)
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
    assert history[-1]["test_accuracy"] > 0.95 > before.accuracy
    assert history[-1]["train_cost"] < before.cost
    assert all(0 < m["train_seconds"] <= m["seconds"] for m in history)
    assert 1 <= state.best_epoch <= 5 and state.best_params is not None


def test_regularised_momentum_run_reports_both_cost_parts(tiny_config):
    cfg = config.load(
        tiny_config(
            network={"cost": "cross-entropy", "init": "scaled"},
            training={"lmbda": 5.0, "momentum": 0.5, "eta": 0.5},
        )
    )
    splits = data.load_splits(cfg)
    rng = np.random.default_rng(0)
    net = Network.create(cfg.network.sizes, rng, cost="cross-entropy", init="scaled")
    history = fit(net, splits, cfg.training, rng).history
    m = history[-1]
    assert m["train_cost_regularization"] > 0
    assert m["train_cost"] == pytest.approx(m["train_cost_data"] + m["train_cost_regularization"])
    assert m["test_accuracy"] > 0.9


def test_same_seed_same_everything_other_seed_differs(tiny_config):
    cfg = config.load(tiny_config())
    splits = data.load_splits(cfg)

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
    cfg = config.load(tiny_config(data={"validation_size": 0}, training={"epochs": 1}))
    splits = data.load_splits(cfg)
    assert splits.validation is None and len(splits.train) == 600
    rng = np.random.default_rng(0)
    state = fit(Network.create(cfg.network.sizes, rng), splits, cfg.training, rng)
    assert state.history[0]["validation_accuracy"] is None
    assert state.best_params is None


def test_sgd_runs_on_one_blas_thread_for_small_products():
    from nnbp.train import sgd_threads

    book = [784, 30, 10]  # largest product 784 x 30 = 23,520 multiply-adds per example
    assert sgd_threads(TrainingConfig(mini_batch_size=10), book) == 1
    assert sgd_threads(TrainingConfig(mini_batch_size=85), book) == 1
    assert sgd_threads(TrainingConfig(mini_batch_size=86), book) is None
    assert sgd_threads(TrainingConfig(mini_batch_size=10), [784, 800, 10]) is None
    assert sgd_threads(TrainingConfig(mini_batch_size=10, blas_threads=2), book) == 2
