"""Numbers as PyTorch and Keras users write them, and --set mistakes blamed on --set."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnbp
from nnbp import config, yamlfile
from nnbp.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-3", 0.001), ("1E5", 1e5), (".5e-2", 0.005), ("2.5e+1", 25.0), ("-1e-3", -0.001),
     ("3", 3), ("0.5", 0.5), (".5", 0.5), ("1_000", 1000)],
)  # fmt: skip
def test_numbers_in_every_common_notation_are_numbers(text, value):
    raw = yamlfile.loads(f"x: {text}")
    assert raw["x"] == value and type(raw["x"]) is type(value)
    _, parsed = config.parse_override(f"training.lmbda={text}")
    assert parsed == value and type(parsed) is type(value)


@given(st.floats(min_value=1e-30, max_value=1e30, allow_nan=False))
def test_any_float_python_prints_reads_back(x):
    for text in (repr(x), f"{x:e}", f"{x:E}"):
        assert config.parse_override(f"training.eta={text}")[1] == float(text)


def test_strings_that_only_look_like_numbers_stay_strings():
    assert config.parse_override("name=e5")[1] == "e5"
    assert config.parse_override("name=1e")[1] == "1e"
    assert config.parse_override("name=x1e5")[1] == "x1e5"


def test_a_run_named_like_a_number_keeps_its_name_in_config_yaml(tmp_path):
    cfg = config.Config.from_dict({"name": "1e5"})
    (tmp_path / "config.yaml").write_text(cfg.to_yaml())
    assert config.load(tmp_path / "config.yaml").name == "1e5"


def test_eta_1e_3_trains_from_a_file_and_from_set(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  eta: 1e-3\n")
    assert config.load(path).training.eta == 0.001
    assert config.load(path, ["training.eta=5E-1"]).training.eta == 0.5


def test_a_section_set_to_a_scalar_says_it_needs_a_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  eta: 0.5\n")
    with pytest.raises(ConfigError) as e:
        config.load(path, ["training=3"])
    message = str(e.value)
    assert message.startswith("--set training=3: training is a section, expected a mapping")
    assert str(path) not in message and "did you mean" not in message


def test_a_section_takes_a_mapping_of_its_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  eta: 0.5\n  epochs: 4\n")
    cfg = config.load(path, ["training={eta: 2, seed: 3}"])
    assert (cfg.training.eta, cfg.training.seed, cfg.training.epochs) == (2.0, 3, 4)


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("training.eta=-1", "--set training.eta=-1: training.eta: expected a number > 0"),
        ("training.etaa=1", "--set training.etaa=1: training.etaa: unknown key; did you mean"),
        ("network.sizes=[5, 3]", "--set network.sizes=[5, 3]: network.sizes: expected [784"),
    ],
)
def test_set_mistakes_are_not_blamed_on_the_file(tmp_path, override, says):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  eta: 0.5\n")
    with pytest.raises(ConfigError) as e:
        config.load(path, [override])
    assert str(e.value).startswith(says)
    assert str(path) not in str(e.value)


def test_a_mistake_in_the_file_is_still_blamed_on_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  eta: -1\n")
    with pytest.raises(ConfigError, match=f"^{path}: training.eta: expected a number > 0"):
        config.load(path, ["training.seed=3"])


def test_mapping_overrides_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="^override training.eta: training.eta: expected"):
        nnbp.Config.from_dict({}, {"training.eta": "fast"})


def test_the_cli_refuses_a_bad_set_in_one_line(invoke, tmp_path):
    from conftest import assert_one_error_line

    path = tmp_path / "c.yaml"
    path.write_text("training:\n  eta: 0.5\n")
    result = invoke("config", "show", path, "--set", "training=3")
    assert_one_error_line(result, 2, "--set training=3: training is a section")
