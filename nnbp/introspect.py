"""Look inside backprop: a gradient check of BP1-BP4, and per-layer learning statistics.

``gradcheck`` compares backprop's dC/db (BP3), dC/dw (BP4) and dC/dz (BP1 at the output
layer, BP2 below it) with central finite differences in float64. ``layer_stats`` measures,
per layer, what chapter 2 says makes learning slow (saturated neurons, small sigma'(z))
and chapter 5's per-layer speed of learning (the norm of the gradient). ``subject`` gives
the network and examples ``nnbp gradcheck`` and ``nnbp inspect`` look at.

Layers are numbered from 1 for the first weight layer (the book's layer 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnbp import runs
from nnbp.activations import sigmoid_, sigmoid_prime_
from nnbp.errors import UsageError
from nnbp.network import Network
from nnbp.sgd import Regularization

if TYPE_CHECKING:
    from nnbp.config import Config, Overrides

SATURATION = 0.02  # an activation within this of 0 or 1 counts as saturated


def _cost_from_z(net: Network, l: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """C_x(z, y): the per-example cost when layer l's weighted input is z (m, n_l).

    The layers above l are a network of their own, fed sigma(z) (or the output); it is
    built once here, not for every perturbed z.
    """
    if l == len(net.params) - 1:
        return lambda z, y: net.cost_fn.fn(net.output_fn(z.copy()), y)
    above = Network(net.w[l + 1 :], net.b[l + 1 :], net.cost)
    return lambda z, y: net.cost_fn.fn(above.feedforward(sigmoid_(z.copy())), y)


@dataclass
class LayerCheck:
    """Largest relative errors of one layer's gradients, and how many entries were checked."""

    layer: int
    shape: tuple[int, int]
    bias: float
    weight: float
    z: float
    weights_checked: int

    @property
    def worst(self) -> float:
        return max(self.bias, self.weight, self.z)


def _worst(pairs: list[tuple[float, float]]) -> float:
    """Largest |numeric - analytic| / (|numeric| + |analytic|) over ``pairs``.

    Central differences in float64 carry a rounding noise of about eps * C / h ~ 1e-11,
    so an entry thousands of times smaller than the layer's largest cannot be resolved:
    each denominator is therefore at least 1/1000 of the largest |numeric| + |analytic|
    among the pairs (and 1e-12), which keeps a relative error meaningful.
    """
    if not pairs:
        return 0.0
    n, a = np.array(pairs, dtype=np.float64).T
    scale = np.abs(n) + np.abs(a)
    floor = max(1e-3 * float(scale.max()), 1e-12)
    return float((np.abs(n - a) / np.maximum(scale, floor)).max())


def gradcheck(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    *,
    reg: Regularization | None = None,
    rng: np.random.Generator,
    max_entries: int = 200,
    h: float = 1e-3,
    layers: list[int] | None = None,
) -> list[LayerCheck]:
    """Backprop against central differences on the mean cost over (x, y), in float64.

    x (m, n_in), y (m, n_L) one-hot. Checks every bias and, per layer, at most
    ``max_entries`` weights and weighted inputs (a random sample from ``rng`` when there
    are more). ``layers`` (1-based) restricts the check.
    """
    with np.errstate(over="ignore"):  # exp(-z) -> inf for very negative z is expected
        return _gradcheck(net, x, y, reg or Regularization(), rng, max_entries, h, layers)


def _gradcheck(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    reg: Regularization,
    rng: np.random.Generator,
    max_entries: int,
    h: float,
    layers: list[int] | None,
) -> list[LayerCheck]:
    net = Network([w.astype(np.float64) for w in net.w], [b.astype(np.float64) for b in net.b],
                  net.cost)  # fmt: skip
    check = _Check(net, x.astype(np.float64), y.astype(np.float64), reg, h)
    return [
        check.layer(l, rng, max_entries)
        for l in range(len(net.params))
        if not layers or l + 1 in layers
    ]


class _Check:
    """Backprop's gradients of a float64 network on (x, y), and finite differences of
    its cost to compare them with. Perturbing ``net.w[l]`` or ``net.b[l]`` (views)
    perturbs the network."""

    def __init__(
        self, net: Network, x: np.ndarray, y: np.ndarray, reg: Regularization, h: float
    ) -> None:
        self.net, self.x, self.y, self.reg, self.h = net, x, y, reg, h
        self.ws = net.trace(x, y)  # backprop: per-example deltas, summed gradients

    def cost(self) -> float:
        """The mean cost over (x, y), regularisation included."""
        net = self.net
        return float(net.cost_fn.fn(net.feedforward(self.x), self.y).mean()) + self.reg.cost(net.w)

    def numeric(
        self, array: np.ndarray, index: tuple[int, ...], f: Callable[[], float] | None = None
    ) -> float:
        """d f / d array[index] (f: the mean cost by default) by central differences.

        Richardson extrapolation of two central differences cancels their h^2 error term,
        so h can be large enough (1e-3) for rounding noise to stay near 1e-13.
        """
        f = f or self.cost
        return (4 * _central(array, index, self.h / 2, f) - _central(array, index, self.h, f)) / 3

    def layer(self, l: int, rng: np.random.Generator, max_entries: int) -> LayerCheck:
        """Layer l's (0-based) largest relative errors of dC/db, dC/dw and dC/dz."""
        net, m = self.net, len(self.x)
        w, b = net.w[l], net.b[l]
        regularization = self.reg.gradient(net.params[l], np.empty_like(net.params[l]))
        grad_w = self.ws.nabla_w[l] / m + regularization[:, :-1]
        grad_b = self.ws.nabla_b[l] / m
        worst_b = _worst([(self.numeric(b, (j,)), grad_b[j]) for j in range(len(b))])
        picks = _sample(w.shape, max_entries, rng)
        if self.reg.lmbda and self.reg.kind == "l1":
            # |w| has a kink at 0: a difference across it measures no derivative.
            picks = [i for i in picks if abs(w[i]) > self.h]
        worst_w = _worst([(self.numeric(w, i), grad_w[i]) for i in picks])
        worst_z = self.z_error(l, rng, max_entries)
        return LayerCheck(l + 1, w.shape, worst_b, worst_w, worst_z, len(picks))

    def z_error(self, l: int, rng: np.random.Generator, max_entries: int) -> float:
        """dC/dz: BP1/BP2 give dC_x/dz^l for each example; perturb z^l of one example."""
        net, x, y = self.net, self.x, self.y
        z = (x if l == 0 else self.ws.a[l - 1]) @ net.w[l].T + net.b[l]
        cost_from_z = _cost_from_z(net, l)
        pairs = []
        for i, j in _sample(z.shape, max_entries, rng):
            zi, yi = z[i : i + 1].copy(), y[i : i + 1]

            def cost_x(zi: np.ndarray = zi, yi: np.ndarray = yi) -> float:
                return float(cost_from_z(zi, yi)[0])

            pairs.append((self.numeric(zi, (0, j), cost_x), self.ws.delta[l][i, j]))
        return _worst(pairs)


def _central(
    array: np.ndarray, index: tuple[int, ...], step: float, f: Callable[[], float]
) -> float:
    """(f(array[index] + step) - f(array[index] - step)) / 2 step; the entry is restored."""
    old = array[index]
    array[index] = old + step
    up = f()
    array[index] = old - step
    down = f()
    array[index] = old
    return (up - down) / (2 * step)


def _sample(shape: tuple[int, ...], k: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """All indices of an array of ``shape``, or ``k`` of them drawn without replacement."""
    total = int(np.prod(shape))
    flat = np.arange(total) if total <= k else np.sort(rng.choice(total, size=k, replace=False))
    return [tuple(int(v) for v in np.unravel_index(f, shape)) for f in flat]


def layer_stats(net: Network, x: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    """Per layer, on the examples (x, y): how fast it learns and why.

    ``delta_norm``: mean over examples of ||delta^l||; ``mean_sigma_prime``: mean of
    sigma'(z^l) over neurons and examples (None for a softmax output layer);
    ``saturated``: share of activations within 0.02 of 0 or 1; ``grad_w_norm`` and
    ``grad_b_norm``: norms of the mean gradient dC/dw^l and dC/db^l (chapter 5's speed
    of learning of the layer).
    """
    ws = net.trace(x, y)  # k = 1: per-example deltas, gradients summed over the m examples
    m = len(x)
    last = len(net.params) - 1
    rows = []
    for l in range(last + 1):
        a = ws.a[l]
        softmax = l == last and net.output == "softmax"
        rows.append(
            {
                "layer": l + 1,
                "delta_norm": float(np.linalg.norm(ws.delta[l], axis=1).mean()),
                "mean_sigma_prime": None
                if softmax
                else float(sigmoid_prime_(a, np.empty_like(a)).mean()),
                "saturated": float(((a < SATURATION) | (a > 1 - SATURATION)).mean()),
                "grad_w_norm": float(np.linalg.norm(ws.nabla_w[l])) / m,
                "grad_b_norm": float(np.linalg.norm(ws.nabla_b[l])) / m,
            }
        )
    return rows


@dataclass(frozen=True)
class Subject:
    """A network to look inside, and the training examples to look at it with."""

    network: Network
    config: Config  # the run's config.yaml, or the config file the network was drawn from
    x: np.ndarray  # (m, n_in) the first m training inputs
    y: np.ndarray  # (m, n_L) their one-hot targets, float64
    n_train: int  # size of the whole training set: the n of the regularisation term
    description: str  # "the weights of RUN" or "a fresh network from CONFIG (seed S)"

    @property
    def regularization(self) -> Regularization:
        """The config's regularisation term, as training adds it to the cost."""
        t = self.config.training
        return Regularization(t.lmbda, t.regularization, self.n_train)


def subject(target: str | os.PathLike | None, samples: int, overrides: Overrides = ()) -> Subject:
    """A run's trained network, or a fresh one from a config, with examples.

    ``target``: a config file (.yaml or .yml: a network drawn from its seed, as training
    starts), a run directory or a weights file inside one (its trained weights), or None
    (the latest run; with ``overrides``, the default config instead). ``overrides``
    change the config (``["network.sizes=[784, 30, 30, 10]"]``), so only a fresh network
    takes them. The examples are the first ``samples`` of the config's training data.
    """
    from nnbp import config, data, model
    from nnbp.metrics import one_hot

    path = None if target is None else Path(target)
    fresh = path is None and bool(overrides)
    if fresh or (path is not None and path.is_file() and path.suffix in (".yaml", ".yml")):
        cfg = config.load(path, overrides) if path else config.Config.from_dict({}, overrides)
        net = Network.create(
            cfg.network.sizes, np.random.default_rng(cfg.training.seed), init=cfg.network.init,
            cost=cfg.network.cost, dtype=cfg.training.dtype,
        )  # fmt: skip
        source = path or "the default config"
        description = f"a fresh network from {source} (seed {cfg.training.seed})"
    else:
        if overrides:
            raise UsageError(f"{path}: --set changes a config; give a CONFIG file, or none")
        trained = model.load(path)
        if trained.run_dir is None:
            raise UsageError(f"{path}: no config.yaml beside the weights file to name the data")
        cfg = config.load(trained.run_dir / runs.CONFIG_FILE)
        net, description = trained.network, f"the weights of {trained.run_dir}"
    splits = data.load_splits(cfg)
    x = splits.train.x[:samples]
    y = one_hot(splits.train.labels[:samples], net.sizes[-1], np.float64)
    return Subject(net, cfg, x, y, len(splits.train), description)
