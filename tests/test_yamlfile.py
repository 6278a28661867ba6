"""yamlfile: what is written reads back the same, and numbers read as YAML 1.2 reads them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbp import yamlfile
from nnbp.errors import ConfigError

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**62), 2**62)
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
    | st.from_regex(r"[-+]?[0-9]*\.?[0-9]+[eE][-+]?[0-9]+", fullmatch=True)  # "1e5", a string
)
keys = st.text("abcdefghijklmnopqrstuvwxyz_.", min_size=1, max_size=10)
data = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4)
)


@given(st.dictionaries(keys, data, max_size=5))
def test_dumps_reads_back_the_same(value):
    assert yamlfile.loads(yamlfile.dumps(value)) == value


def test_dumps_writes_lists_on_one_line_and_keeps_key_order():
    text = yamlfile.dumps({"network": {"sizes": [784, 30, 10]}, "name": "run"})
    assert text == "network:\n  sizes: [784, 30, 10]\nname: run\n"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_in_exponent_form_reads_as_a_float(x):
    text = f"{x:e}"  # 1.000000e-03: YAML 1.1 would read this as a string
    assert yamlfile.loads(text) == float(text)


def test_numbers_read_as_yaml_1_2_reads_them():
    assert yamlfile.loads("1e-3") == 1e-3 and yamlfile.loads(".5E2") == 50.0
    assert math.isinf(yamlfile.loads(".inf"))


@pytest.mark.parametrize("value", ["null", "false", "[784, 30, 10]", "0.5"])
def test_yaml_scalar_is_what_a_config_file_says(value):
    assert yamlfile.yaml_scalar(yamlfile.loads(value)) == value


def test_read_yaml_names_the_file_and_what_it_should_be(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("x: [" + "1, " * yamlfile.MAX_BYTES + "1]\n")
    with pytest.raises(ConfigError, match=r"big\.yaml: larger than 65536 bytes, not a config"):
        yamlfile.read_yaml(big, "config")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML at line 2"):
        yamlfile.read_yaml(bad, "sweep spec")
    with pytest.raises(ConfigError, match=r"not a regular file, expected a YAML sweep spec"):
        yamlfile.read_yaml(tmp_path, "sweep spec")
    with pytest.raises(ConfigError, match=r"gone\.yaml: config file not found"):
        yamlfile.read_yaml(tmp_path / "gone.yaml", "config")
