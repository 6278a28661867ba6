"""Training a finished run for longer, as Keras' fit again or Lightning's max_epochs do:
the result equals a run made that long from the start."""

from __future__ import annotations

import numpy as np
import pytest

import nnbp
from nnbp.errors import RunError


def rows(run) -> list[dict]:
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in run.metrics]


def assert_same_training(a, b) -> None:
    assert rows(a) == rows(b)
    with np.load(a.directory / "checkpoint.npz") as p, np.load(b.directory / "checkpoint.npz") as q:
        for key in p.files:
            if key != "state":
                np.testing.assert_array_equal(p[key], q[key])


@pytest.mark.parametrize("extra", [{}, {"training.augment": ["shift"], "training.momentum": 0.5}])
def test_more_epochs_equal_a_longer_run_from_the_start(runner, tiny_config, extra):
    whole = nnbp.train(tiny_config(), overrides={"training.epochs": 5, **extra}, out="runs/whole")
    part = nnbp.train(tiny_config(), overrides={"training.epochs": 2, **extra}, out="runs/part")
    longer = nnbp.train(part.directory, resume=True, overrides={"training.epochs": 5})
    assert longer.epochs_trained == 5 and longer.directory == part.directory
    assert_same_training(whole, longer)
    assert "epochs: 5" in (part.directory / "config.yaml").read_text()


def test_a_longer_patience_continues_an_early_stopped_run(runner, tiny_config):
    # eta 30 makes the tiny problem's validation accuracy stall at once.
    settings = {"training.eta": 30.0, "training.epochs": 8}
    patient = nnbp.train(
        tiny_config(), overrides={**settings, "training.early_stopping": 4}, out="runs/patient"
    )
    hasty = nnbp.train(
        tiny_config(), overrides={**settings, "training.early_stopping": 1}, out="runs/hasty"
    )
    assert hasty.stop_reason == "early_stopping" and hasty.epochs_trained < 8
    resumed = nnbp.train(hasty.directory, resume=True, overrides={"training.early_stopping": 4})
    assert resumed.stop_reason == patient.stop_reason
    assert_same_training(patient, resumed)


def test_a_finished_run_with_nothing_changed_says_how_to_train_longer(runner, tiny_config):
    run = nnbp.train(tiny_config())
    with pytest.raises(RunError, match="--set training.epochs=N"):
        nnbp.train(run.directory, resume=True)


@pytest.mark.parametrize(
    ("key", "value"),
    [("training.eta", 0.5), ("network.sizes", [64, 5, 3]), ("training.seed", 1)],
)
def test_keys_that_cannot_change_mid_run_are_refused_with_the_reason(
    runner, tiny_config, key, value
):
    run = nnbp.train(tiny_config())
    before = (run.directory / "config.yaml").read_text()
    with pytest.raises(RunError, match=f"{key} cannot change when a run is resumed"):
        nnbp.train(run.directory, resume=True, overrides={key: value, "training.epochs": 6})
    assert (run.directory / "config.yaml").read_text() == before


def test_fewer_epochs_than_trained_are_refused(runner, tiny_config):
    run = nnbp.train(tiny_config())
    with pytest.raises(RunError, match="has trained 3 epochs, more than training.epochs=2"):
        nnbp.train(run.directory, resume=True, overrides={"training.epochs": 2})


def test_the_cli_trains_a_finished_run_longer(invoke, tiny_config):
    assert invoke("train", tiny_config()).exit_code == 0
    result = invoke("train", "--resume", "runs/tiny", "--set", "training.epochs=5")
    assert result.exit_code == 0, result.output
    assert "epochs=5" in result.stdout.splitlines()[-1]
