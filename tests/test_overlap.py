"""Epoch k evaluated on a second thread while epoch k + 1 trains: the rows, the eta
schedule, the stopping rules and the weights must be exactly those of evaluating in line,
whenever the evaluation happens to finish."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from nnbp import augment, config, data, fit, schedule
from nnbp.epoch import StopFlag
from nnbp.network import Network

TIMINGS = ("train_seconds", "seconds")

# Settings whose results feed back into training: the eta schedule halves eta (and ends
# training at its floor), early stopping ends it, momentum and augmentation carry state
# (a velocity, the generator) that an undone epoch must give back.
CASES = {
    "schedule": {
        "halve_eta_after": 1,
        "max_halvings": 3,
        "epochs": 12,
        "momentum": 0.5,
        "eta": 1.0,
        "augment": ["shift"],
    },  # fmt: skip
    "early_stopping": {"early_stopping": 2, "epochs": 12, "eta": 1.0},
    # dropout's masks come from a generator drawn from rng when an epoch starts
    "dropout": {"halve_eta_after": 1, "max_halvings": 2, "epochs": 8, "eta": 1.0, "dropout": 0.3},
    "on_epoch": {"epochs": 6},
}


def _gate(monkeypatch, when: str, epochs: int):
    """Hold back epoch n's evaluation until epoch n + 1 has trained ``when`` ("start": not
    held; "middle": half its mini-batches; "after": all of them). Returns on_batches."""
    released: dict[int, threading.Event] = {}
    measured = []
    real = fit._Loop.measure

    def measure(self, net):
        n = len(measured) + 1  # only finished epochs are measured, in order
        measured.append(n)
        if when != "start" and n < epochs:
            assert released.setdefault(n, threading.Event()).wait(30)
        return real(self, net)

    def on_batches(epoch, done, total):
        if done >= (total // 2 if when == "middle" else total):
            released.setdefault(epoch - 1, threading.Event()).set()

    monkeypatch.setattr(fit._Loop, "measure", measure)
    return on_batches


def _train(cfg, splits, overlap, on_batches=None, stop=None):
    t = cfg.training
    rng = np.random.default_rng(t.seed)
    net = Network.create(cfg.network.sizes, rng)

    def on_epoch(row):  # the "on_epoch" case asks to stop after epoch 4
        return cfg.name == "on_epoch" and row["epoch"] == 4

    shifts = None
    if t.augment:
        shifts = lambda x, g: augment.augment(x, splits.image_shape, g, t.augment)  # noqa: E731
    state = fit.fit(net, splits, t, rng, on_epoch=on_epoch, on_batches=on_batches,
                    augment=shifts, stop=stop, overlap=overlap)  # fmt: skip
    return net, state, rng


def _same(a, b):
    """Two (net, state, rng) results are the same but for the timings."""
    (net_a, state_a, rng_a), (net_b, state_b, rng_b) = a, b
    rows = [[{k: v for k, v in row.items() if k not in TIMINGS} for row in s.history]
            for s in (state_a, state_b)]  # fmt: skip
    assert rows[0] == rows[1]
    for key in ("epoch", "eta", "halvings", "best_accuracy", "best_epoch", "stop_reason"):
        assert getattr(state_a, key) == getattr(state_b, key), key
    np.testing.assert_array_equal(net_a.flat, net_b.flat)
    for p, q in zip(state_a.best_params or [], state_b.best_params or [], strict=True):
        np.testing.assert_array_equal(p, q)
    assert rng_a.bit_generator.state == rng_b.bit_generator.state


@pytest.mark.parametrize("when", ["start", "middle", "after"])
@pytest.mark.parametrize("case", list(CASES))
def test_overlapped_evaluation_gives_the_results_of_evaluating_in_line(
    tiny_config, monkeypatch, case, when
):
    cfg = config.load(tiny_config(name=case, training=CASES[case]))
    splits = data.load_splits(cfg)
    inline = _train(cfg, splits, overlap=False)
    undone = []
    restore = fit.EpochEnd.restore
    monkeypatch.setattr(fit.EpochEnd, "restore", lambda *a: undone.append(1) or restore(*a))
    on_batches = _gate(monkeypatch, when, cfg.training.epochs)
    overlapped = _train(cfg, splits, overlap=True, on_batches=on_batches)
    _same(inline, overlapped)
    state = overlapped[1]
    assert state.stop_reason  # every case ends by its rule, so an epoch was undone
    if when != "start":  # the next epoch surely started before the result came
        assert undone
    assert state.last.epoch == state.epoch
    if case == "schedule":
        assert state.halvings == 3 and state.stop_reason == schedule.ETA_FLOOR


def test_a_stop_while_the_last_epoch_is_evaluated_keeps_that_epoch(tiny_config, monkeypatch):
    cfg = config.load(tiny_config(training={"epochs": 5, "momentum": 0.5}))
    splits = data.load_splits(cfg)
    two = config.load(tiny_config(name="two", training={"epochs": 2, "momentum": 0.5}))
    inline, _, _ = _train(two, splits, overlap=False)
    stop = StopFlag()
    gate = _gate(monkeypatch, "after", cfg.training.epochs)

    def on_batches(epoch, done, total):
        if epoch == 3 and done >= total // 2:
            stop.requested = "SIGTERM"  # epoch 2 is still being evaluated: held "after"
            gate(epoch, total, total)
        gate(epoch, done, total)

    net, state, _ = _train(cfg, splits, overlap=True, on_batches=on_batches, stop=stop)
    assert state.epoch == 2 and [row["epoch"] for row in state.history] == [1, 2]
    np.testing.assert_array_equal(state.last.net.flat, inline.flat)


@pytest.mark.parametrize("overlap", [False, True])
def test_the_seconds_of_the_rows_add_up_to_the_wall_time(tiny_config, overlap):
    cfg = config.load(tiny_config(training={"epochs": 4}))
    splits = data.load_splits(cfg)
    slept = []

    def on_epoch(row):  # as slow as writing a large checkpoint
        time.sleep(0.05)
        slept.append(0.05)

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    state = fit.fit(Network.create(cfg.network.sizes, rng), splits, cfg.training, rng,
                    on_epoch=on_epoch, overlap=overlap)  # fmt: skip
    wall = time.perf_counter() - t0
    seconds = [row["seconds"] for row in state.history]
    train_seconds = [row["train_seconds"] for row in state.history]
    assert all(s >= t > 0 for s, t in zip(seconds, train_seconds, strict=True))
    assert sum(seconds) <= wall
    if overlap:  # each on_epoch but the last ran while the next epoch trained, in its
        # seconds and not in its SGD pass's
        assert sum(seconds) - sum(train_seconds) >= sum(slept[:-1])
    else:  # in line, each row is complete before on_epoch sees it
        assert sum(seconds) <= wall - sum(slept)
