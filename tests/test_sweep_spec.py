"""Sweep specs: validation, grid points, list-valued keys; the report's order (in memory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from nnbp.errors import ConfigError
from nnbp.sweep import spec as spec_mod
from nnbp.sweep.report import summary, text
from nnbp.sweep.space import Dimension

optuna = pytest.importorskip("optuna")


@pytest.fixture
def write_spec(tmp_path: Path, tiny_config):
    """A function writing a spec over the tiny config, with top-level keys changed."""
    base = tiny_config()

    def write(**keys) -> Path:
        raw = {
            "base": base.name,
            "space": {"training.eta": [0.5, 3.0]},
            "sampler": {"type": "grid"},
        }
        raw.update(keys)
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))  # keys as a user orders them
        return path

    return write


def test_a_grid_spec_reads_with_its_defaults(write_spec):
    spec = spec_mod.load(write_spec(set={"training.epochs": 2}))
    assert spec.name == "spec" and spec.sampler == "grid" and spec.metric == "validation_accuracy"
    assert spec.workers == 2 and spec.threads_per_worker == 1 and spec.pruner == "none"
    assert spec.grid() == [{"training.eta": 0.5}, {"training.eta": 3.0}]
    cfg = spec.trial_config({"training.eta": 3.0}, "spec-1")
    assert (cfg.name, cfg.training.eta, cfg.training.epochs) == ("spec-1", 3.0, 2)


def test_the_grid_is_the_product_and_lists_are_encoded_as_json(write_spec):
    sizes = [[64, 10, 3], [64, 20, 3]]
    spec = spec_mod.load(
        write_spec(space={"network.sizes": sizes, "training.eta": [1.0, 2.0, 3.0]})
    )
    points = spec.grid()
    assert len(points) == 6 and len({json.dumps(p, sort_keys=True) for p in points}) == 6
    assert {p["network.sizes"] for p in points} == {"[64, 10, 3]", "[64, 20, 3]"}
    cfg = spec.trial_config(points[-1], "t")
    assert cfg.network.sizes == (64, 20, 3) and cfg.training.eta == 3.0


def test_the_spec_survives_its_round_trip_through_the_study(write_spec, tmp_path):
    spec = spec_mod.load(
        write_spec(
            space={
                "training.lmbda": {"low": 0.1, "high": 10, "log": True},
                "network.sizes": [[64, 5, 3]],
            },
            sampler={"type": "tpe", "seed": 3},
            pruner={"type": "median", "warmup_epochs": 2},
        )
    )
    again = spec_mod.parse(json.loads(json.dumps(spec.to_dict())), "study", tmp_path)
    assert again.to_dict() == spec.to_dict() and again.identity() == spec.identity()
    assert spec.pruner_options == {"warmup_epochs": 2, "startup_trials": 5}
    lmbda = spec.space["training.lmbda"]
    assert lmbda.is_range and lmbda.log and not lmbda.integer


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"spaec": {}}, "spaec: unknown key; did you mean 'space'?"),
        ({"space": {}}, "space: expected config keys"),
        ({"space": {"training.eta": []}}, "space.training.eta: an empty list"),
        (
            {"space": {"training.etaa": [1.0]}},
            "space.training.etaa: not a config key; did you mean 'training.eta'?",
        ),
        ({"space": {"training.eta": [1.0, -1.0]}}, "space.training.eta[1]:"),
        ({"space": {"training.eta": [1.0, 1.0]}}, "listed twice"),
        (
            {
                "space": {
                    "training.augment_options": [
                        {"elastic": {"alpha": 8.0, "sigma": 4.0}},
                        {"elastic": {"sigma": 4.0, "alpha": 8.0}},
                    ]
                }
            },
            "listed twice",
        ),
        ({"space": {"training.eta": {"low": 0.1, "high": 1}}}, "a range has no grid points"),
        (
            {"space": {"training.eta": {"low": 1, "hi": 2}}, "sampler": {"type": "tpe"}},
            "did you mean 'space.training.eta.high'?",
        ),
        (
            {"space": {"training.eta": {"low": 2.0, "high": 1.0}}, "sampler": {"type": "tpe"}},
            "low 2.0 must be below high 1.0",
        ),
        (
            {
                "space": {"training.eta": {"low": 0, "high": 1.0, "log": True}},
                "sampler": {"type": "tpe"},
            },
            "a log range above 0",
        ),
        ({"sampler": {"type": "bayes"}}, "sampler.type: 'bayes', expected one of"),
        ({"metric": "test_accuracy"}, "trials are chosen on validation data"),
        ({"metric": "validation_acc"}, "did you mean 'validation_accuracy'?"),
        (
            {"pruner": {"type": "median", "warmup": 2}},
            "pruner.warmup: unknown key; did you mean 'pruner.warmup_epochs'?",
        ),
        (
            {"pruner": {"type": "asha", "min_epochs": 0}},
            "pruner.min_epochs: 0, expected an integer >= 1",
        ),
        ({"workers": 0}, "workers: 0, expected an integer >= 1"),
        ({"set": {"training.epochs": "ten"}}, "set.training.epochs:"),
        ({"base": "missing.yaml"}, "base: "),
        ({"name": "a/b"}, "name: 'a/b'"),
    ],
)
def test_bad_specs_name_the_file_and_the_key(write_spec, keys, message):
    path = write_spec(**keys)
    with pytest.raises(ConfigError) as e:
        spec_mod.load(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)
    assert "\n" not in str(e.value)


def test_a_validation_metric_needs_a_validation_set(write_spec):
    with pytest.raises(ConfigError, match="needs a validation set"):
        spec_mod.load(write_spec(set={"data.validation_size": 0}))
    assert spec_mod.load(write_spec(set={"data.validation_size": 0}, metric="train_cost")).metric


@given(
    st.lists(
        st.lists(st.integers(1, 50), min_size=3, max_size=4),
        min_size=1,
        max_size=5,
        unique_by=tuple,
    )
)
def test_list_values_encode_and_decode_to_themselves(sizes):
    dim = Dimension("network.sizes", tuple(tuple(s) for s in sizes))
    for s in sizes:
        encoded = dim.encode(s)
        assert isinstance(encoded, str) and dim.decode(encoded) == s


@given(
    st.dictionaries(
        st.sampled_from(["elastic", "affine", "shift"]),
        st.dictionaries(st.sampled_from(["alpha", "sigma", "rotate"]), st.floats(0, 50)),
    )
)
def test_mapping_values_encode_as_text_and_decode_to_themselves(options):
    dim = Dimension("training.augment_options", (options, {"shift": {"max": 1}}))
    encoded = dim.encode(options)
    assert isinstance(encoded, str) and dim.decode(encoded) == options
    assert dim.decode(options) == options  # as a study made before encoding holds it


def test_a_grid_of_augment_options_gives_scalar_choices_and_trial_configs(write_spec):
    options = [
        {"elastic": {"alpha": 24.0, "sigma": 4.0}},
        {"elastic": {"alpha": 34.0, "sigma": 6.0}},
    ]
    spec = spec_mod.load(write_spec(space={"training.augment_options": options}))
    points = spec.grid()
    assert all(isinstance(p["training.augment_options"], str) for p in points)
    cfgs = [spec.trial_config(p, "t") for p in points]
    assert [c.training.augment_options for c in cfgs] == options


def _trial(number, state, value, seed=None, eta=0.5, test=0.9):
    params = {"training.eta": eta} if seed is None else {"training.eta": eta, "training.seed": seed}
    dists = {
        k: optuna.distributions.CategoricalDistribution(
            [0.5, 3.0] if k == "training.eta" else [1, 2, 3]
        )
        for k in params
    }
    return optuna.trial.create_trial(
        state=state,
        value=value if state.name == "COMPLETE" else None,
        params=params,
        distributions=dists,
        user_attrs={
            "best_epoch": 2,
            "epochs": 3,
            "test_accuracy": test,
            "kept_epoch": 2,
            "host": "h",
            "run_dir": f"r/{number}",
        },
        intermediate_values={1: value} if state.name == "PRUNED" and value else None,
    )


def test_the_report_puts_finished_trials_first_best_first_and_tests_only_the_best(write_spec):
    spec = spec_mod.load(write_spec())
    study = optuna.create_study(direction="maximize")
    S = optuna.trial.TrialState
    for t in (
        _trial(0, S.FAIL, None),
        _trial(1, S.COMPLETE, 0.8),
        _trial(2, S.PRUNED, 0.5),
        _trial(3, S.COMPLETE, 0.95, eta=3.0, test=0.93),
        _trial(4, S.COMPLETE, 0.9),
    ):
        study.add_trial(t)
    s = summary(study, spec)
    assert [r["number"] for r in s["trials"]] == [3, 4, 1, 2, 0]
    assert [r["state"] for r in s["trials"]] == ["COMPLETE"] * 3 + ["PRUNED", "FAIL"]
    assert s["best"]["number"] == 3 and s["best"]["params"] == {"training.eta": 3.0}
    assert s["best"]["test_accuracy"] == 0.93 and "test_accuracy" not in s["trials"][1]
    assert s["counts"] == {"COMPLETE": 3, "PRUNED": 1, "FAIL": 1}
    lines = text(s)
    assert lines[0].startswith("study spec: 5 trials") and "test_accuracy 0.9300" in lines[-1]


def test_seeds_form_groups_with_mean_and_spread(write_spec):
    spec = spec_mod.load(write_spec(space={"training.eta": [0.5, 3.0], "training.seed": [1, 2, 3]}))
    study = optuna.create_study(direction="maximize")
    S = optuna.trial.TrialState
    values = {(0.5, 1): 0.90, (0.5, 2): 0.92, (0.5, 3): 0.94, (3.0, 1): 0.95, (3.0, 2): 0.80}
    for n, ((eta, seed), v) in enumerate(values.items()):
        study.add_trial(_trial(n, S.COMPLETE, v, seed=seed, eta=eta, test=v - 0.01))
    s = summary(study, spec)
    best = s["best"]
    assert best["params"] == {"training.eta": 0.5} and best["seeds"] == [1, 2, 3]
    assert best["mean"] == pytest.approx(0.92) and best["spread"] == pytest.approx(0.02)
    assert best["test_accuracy"] == pytest.approx(0.91)
    assert [g["params"]["training.eta"] for g in s["groups"]] == [0.5, 3.0]
