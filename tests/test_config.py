"""Config loading: defaults, every kind of error, suggestions, overrides, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbp import config
from nnbp.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_the_books_chapter_one_network(tmp_path):
    cfg = config.load(write(tmp_path, "", "book.yaml"))
    assert cfg.name == "book"  # the file's stem
    assert cfg.data.dataset == "mnist" and cfg.data.validation_size == 10000
    assert cfg.network.sizes == (784, 30, 10)
    assert (cfg.network.cost, cfg.network.init) == ("quadratic", "large")
    t = cfg.training
    assert (t.epochs, t.mini_batch_size, t.eta, t.seed, t.dtype) == (30, 10, 3.0, 0, "float32")


def test_shipped_mnist_config_is_the_book_network():
    cfg = config.load(ROOT / "configs" / "mnist.yaml")
    assert cfg.name == "mnist"
    assert cfg.network.sizes == (784, 30, 10)
    assert cfg.network.cost == "quadratic"
    t = cfg.training
    assert (t.epochs, t.mini_batch_size, t.eta) == (30, 10, 3.0)


def test_every_key_is_documented():
    rows = config.describe_keys()
    assert [r[0] for r in rows] == config.key_paths()
    assert all(doc for _, _, doc in rows)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("training: {eta: 0}", "training.eta: expected a number > 0, got 0"),
        ("training: {eta: -1.5}", "training.eta: expected a number > 0, got -1.5"),
        ("training: {eta: fast}", "training.eta: expected a number > 0, got 'fast'"),
        ("training: {eta: .inf}", "training.eta: expected a number > 0, got inf"),
        ("training: {epochs: 0}", "training.epochs: expected an integer >= 1, got 0"),
        ("training: {epochs: 2.5}", "training.epochs: expected an integer >= 1, got 2.5"),
        ("training: {epochs: true}", "training.epochs: expected an integer >= 1, got True"),
        ("training: {mini_batch_size: 0}", "training.mini_batch_size: expected an integer >= 1"),
        ("training: {seed: -1}", "training.seed: expected an integer >= 0, got -1"),
        ("training: {lmbda: -0.1}", "training.lmbda: expected a number >= 0, got -0.1"),
        ("training: {momentum: 1}", "training.momentum: expected a number in [0, 1), got 1"),
        ("training: {regularization: l3}", "training.regularization: expected one of l1, l2"),
        ("training: {keep: first}", "training.keep: expected one of best, last, got 'first'"),
        ("training: {augment: [rotate]}", "training.augment: expected a list of names among"),
        ("training: {augment: shift}", "training.augment: expected a list of names among"),
        ("training: {max_halvings: 0}", "training.max_halvings: expected an integer >= 1"),
        ("training: {blas_threads: -1}", "training.blas_threads: expected an integer >= 0"),
        ("training: {trace: 1}", "training.trace: expected true or false, got 1"),
        (
            "training: {augment_options: {elastic: {alpha: -1}}}",
            "training.augment_options: ",
        ),
        ("training: {augment_options: [1]}", "training.augment_options: expected a mapping"),
        (
            "{data: {validation_size: 0}, training: {early_stopping: 3}}",
            "training.early_stopping: needs a validation set, but data.validation_size is 0",
        ),
        (
            "{data: {validation_size: 0}, training: {halve_eta_after: 3}}",
            "training.halve_eta_after: needs a validation set",
        ),
        ("training: {dtype: float16}", "training.dtype: expected one of float32, float64"),
        ("network: {cost: hinge}", "network.cost: expected one of cross-entropy, log-likelihood"),
        ("network: {init: zeros}", "network.init: expected one of large, scaled, got 'zeros'"),
        ("network: {sizes: [784]}", "network.sizes: expected a list of at least 2 positive"),
        ("network: {sizes: [784, 0, 10]}", "network.sizes: expected a list of at least 2"),
        ("network: {sizes: 30}", "network.sizes: expected a list"),
        ("network: {sizes: [700, 30, 10]}", "network.sizes: expected [784, ..., 10] for"),
        ("network: {sizes: [784, 30, 9]}", "network.sizes: expected [784, ..., 10] for dataset"),
        ("data: {dataset: cifar}", "data.dataset: dataset 'cifar': not a known dataset"),
        ("data: {validation_size: -1}", "data.validation_size: expected an integer >= 0"),
        ("data: {train_images: x.gz}", "data.train_labels: expected a path, since other data"),
        ("name: a/b", "name: expected a non-empty name without '/'"),
        ("name: latest", "name: expected a name other than 'latest'"),
        ("training: 3", "training: expected a mapping of keys, got 3"),
        ("[1, 2]", "expected a mapping of keys at the top level, got list"),
        ("training:\n  eta: [1\n", "not valid YAML at line"),
    ],
)
def test_bad_values_name_the_key_and_what_was_expected(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert str(e.value).startswith(f"{path}: ")
    assert message in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("training: {etaa: 1}", "training.etaa: unknown key; did you mean 'training.eta'?"),
        ("trainig: {eta: 1}", "trainig: unknown key; did you mean 'training'?"),
        ("training: {sizes: [1, 2]}", "did you mean 'network.sizes'?"),
        ("network: {size: [784, 10]}", "did you mean 'network.sizes'?"),
        ("data: {validation: 5}", "did you mean 'data.validation_size'?"),
        ("color: blue", "color: unknown key"),
    ],
)
def test_unknown_keys_suggest_the_closest(tmp_path, text, suggestion):
    with pytest.raises(ConfigError, match="unknown key") as e:
        config.load(write(tmp_path, text))
    assert suggestion in str(e.value)


def test_missing_file_and_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(tmp_path / "bin.yaml")


def test_overrides_set_any_key_and_are_checked(tmp_path):
    path = write(tmp_path, "training: {eta: 3.0}")
    cfg = config.load(
        path, ["training.eta=0.5", "network.sizes=[784, 100, 10]", "name=x", "data.dir=/d"]
    )
    assert cfg.training.eta == 0.5
    assert cfg.network.sizes == (784, 100, 10)
    assert cfg.name == "x" and cfg.data.dir == "/d"
    with pytest.raises(ConfigError, match=r"training.eta: expected a number > 0, got -2"):
        config.load(path, ["training.eta=-2"])
    with pytest.raises(ConfigError, match=r"training.et: unknown key; did you mean 'training.eta'"):
        config.load(path, ["training.et=1"])
    with pytest.raises(ConfigError, match=r"--set training.eta: expected key.path=value"):
        config.load(path, ["training.eta"])


def test_resolved_yaml_round_trips(tmp_path):
    cfg = config.load(write(tmp_path, "network: {sizes: [784, 50, 20, 10]}"), ["training.seed=4"])
    again = config.load(write(tmp_path, cfg.to_yaml(), "resolved.yaml"))
    assert again == cfg
    assert again.digest() == cfg.digest()
    assert "sizes: [784, 50, 20, 10]" in cfg.to_yaml()
    changed = config.load(write(tmp_path, cfg.to_yaml(), "r2.yaml"), ["training.seed=5"])
    assert changed.digest() != cfg.digest()


# Property: any mapping of plausible keys to arbitrary YAML values gives a Config or a
# ConfigError with a one-line message, never another exception.
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
some_keys = st.sampled_from(config.key_paths() + ["training.etaa", "foo", "data.x"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(some_keys, yaml_values, max_size=6))
def test_arbitrary_values_give_a_config_or_a_config_error(entries):
    raw: dict = {}
    for path, value in entries.items():
        head, _, leaf = path.partition(".")
        if leaf:
            section = raw.setdefault(head, {})
            if isinstance(section, dict):
                section[leaf] = value
        else:
            raw[head] = value
    try:
        cfg = config.from_dict(raw)
    except ConfigError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert yaml.safe_load(cfg.to_yaml()) == cfg.to_dict()


def test_readme_documents_every_key():
    readme = (ROOT / "README.md").read_text()
    missing = [path for path in config.key_paths() if f"`{path}`" not in readme]
    assert not missing, f"README.md lacks {missing}"


def test_keys_added_later_leave_the_digest_of_older_configs_alone(tmp_path):
    """A config that does not use training.dropout has the digest it had before the key
    existed (older runs resume and are reused); using it changes the digest."""
    import hashlib
    import json

    cfg = config.load(write(tmp_path, "network: {sizes: [784, 30, 10]}"))
    before = cfg.to_dict()
    del before["training"]["dropout"]
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert cfg.digest() == hashlib.sha256(canonical.encode()).hexdigest()
    assert cfg.with_overrides({"training.dropout": 0.5}).digest() != cfg.digest()
    with pytest.raises(ConfigError, match=r"training.dropout: expected a number in \[0, 1\)"):
        cfg.with_overrides({"training.dropout": 1.0})
