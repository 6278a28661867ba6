"""Look inside backprop: a gradient check of BP1-BP4, and per-layer learning statistics.

``gradcheck`` compares backprop's dC/db (BP3), dC/dw (BP4) and dC/dz (BP1 at the output
layer, BP2 below it) with central finite differences in float64. ``layer_stats`` measures,
per layer, what chapter 2 says makes learning slow (saturated neurons, small sigma'(z))
and chapter 5's per-layer speed of learning (the norm of the gradient).

Layers are numbered from 1 for the first weight layer (the book's layer 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnbp.network import COSTS, OUTPUTS, Network, sigmoid_, sigmoid_prime_from_a

SATURATION = 0.02  # an activation within this of 0 or 1 counts as saturated


@dataclass
class Regularization:
    """The regularisation term of the cost: (lmbda/2n) sum w^2 (l2) or (lmbda/n) sum |w| (l1)."""

    lmbda: float = 0.0
    kind: str = "l2"
    n: int = 1

    def cost(self, w: list[np.ndarray]) -> float:
        if not self.lmbda:
            return 0.0
        if self.kind == "l2":
            return self.lmbda / (2 * self.n) * sum(float((wl**2).sum()) for wl in w)
        return self.lmbda / self.n * sum(float(np.abs(wl).sum()) for wl in w)

    def gradient(self, wl: np.ndarray) -> np.ndarray:
        if not self.lmbda:
            return np.zeros_like(wl)
        return self.lmbda / self.n * (wl if self.kind == "l2" else np.sign(wl))


def deltas(net: Network, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(activations [x, a^2, ..., a^L], delta^l = dC_x/dz^l per example, (m, n_l) each).

    The same BP1 and BP2 as ``Network.backprop``, kept per example instead of summed.
    """
    acts = net.activations(x)
    out = [COSTS[net.cost].delta(acts[-1], y)]  # BP1
    for l in range(len(net.params) - 1, 0, -1):
        out.insert(0, (out[0] @ net.w[l]) * sigmoid_prime_from_a(acts[l]))  # BP2
    return acts, out


def _cost_from_z(net: Network, l: int, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-example cost C_x when layer l's weighted input is z (m, n_l): forward from there."""
    last = len(net.params) - 1
    a = OUTPUTS[net.output](z.copy()) if l == last else sigmoid_(z.copy())
    for k in range(l + 1, last + 1):
        z_next = a @ net.w[k].T + net.b[k]
        a = OUTPUTS[net.output](z_next) if k == last else sigmoid_(z_next)
    return COSTS[net.cost].fn(a, y)


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
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    nabla_b, nabla_w = net.backprop(x, y)
    acts, delta = deltas(net, x, y)

    def cost() -> float:
        data = float(COSTS[net.cost].fn(net.feedforward(x), y).mean())
        return data + reg.cost(net.w)

    def central(array: np.ndarray, index: tuple[int, ...], step: float, f: Any) -> float:
        old = array[index]
        array[index] = old + step
        up = f()
        array[index] = old - step
        down = f()
        array[index] = old
        return (up - down) / (2 * step)

    def numeric(array: np.ndarray, index: tuple[int, ...], f: Any = cost) -> float:
        # Richardson extrapolation of two central differences cancels their h^2 error
        # term, so h can be large enough (1e-3) for rounding noise to stay near 1e-13.
        return (4 * central(array, index, h / 2, f) - central(array, index, h, f)) / 3

    results = []
    for l in range(len(net.params)):
        if layers and l + 1 not in layers:
            continue
        w, b = net.w[l], net.b[l]  # views: perturbing them perturbs the network
        grad_w = nabla_w[l] + reg.gradient(w)
        worst_b = _worst([(numeric(b, (j,)), nabla_b[l][j]) for j in range(len(b))])
        picks = _sample(w.shape, max_entries, rng)
        if reg.lmbda and reg.kind == "l1":
            # |w| has a kink at 0: a difference across it measures no derivative.
            picks = [i for i in picks if abs(w[i]) > h]
        worst_w = _worst([(numeric(w, i), grad_w[i]) for i in picks])
        # dC/dz: BP1/BP2 give dC_x/dz^l for each example; perturb z^l of one example.
        z = acts[l] @ w.T + b
        pairs = []
        for i, j in _sample(z.shape, max_entries, rng):
            zi, yi = z[i : i + 1].copy(), y[i : i + 1]

            def cost_x(zi: np.ndarray = zi, yi: np.ndarray = yi, l: int = l) -> float:
                return float(_cost_from_z(net, l, zi, yi)[0])

            pairs.append((numeric(zi, (0, j), cost_x), delta[l][i, j]))
        worst_z = _worst(pairs)
        results.append(LayerCheck(l + 1, w.shape, worst_b, worst_w, worst_z, len(picks)))
    return results


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
    nabla_b, nabla_w = net.backprop(x, y)
    acts, delta = deltas(net, x, y)
    last = len(net.params) - 1
    rows = []
    for l in range(last + 1):
        a = acts[l + 1]
        softmax = l == last and net.output == "softmax"
        rows.append(
            {
                "layer": l + 1,
                "delta_norm": float(np.linalg.norm(delta[l], axis=1).mean()),
                "mean_sigma_prime": None if softmax else float(sigmoid_prime_from_a(a).mean()),
                "saturated": float(((a < SATURATION) | (a > 1 - SATURATION)).mean()),
                "grad_w_norm": float(np.linalg.norm(nabla_w[l])),
                "grad_b_norm": float(np.linalg.norm(nabla_b[l])),
            }
        )
    return rows
