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

from nnbp.network import Network, sigmoid_, sigmoid_prime_
from nnbp.sgd import Regularization

SATURATION = 0.02  # an activation within this of 0 or 1 counts as saturated


def _cost_from_z(net: Network, l: int, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-example cost C_x when layer l's weighted input is z (m, n_l): forward from there.

    The layers above l are a network of their own, fed sigma(z) (or the output).
    """
    last = len(net.params) - 1
    if l == last:
        return net.cost_fn.fn(net.output_fn(z.copy()), y)
    above = Network(net.w[l + 1 :], net.b[l + 1 :], net.cost)
    return net.cost_fn.fn(above.feedforward(sigmoid_(z.copy())), y)


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
    ws = net.trace(x, y)  # backprop: per-example deltas, summed gradients
    m = len(x)

    def cost() -> float:
        return float(net.cost_fn.fn(net.feedforward(x), y).mean()) + reg.cost(net.w)

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
        grad_w = (
            ws.nabla_w[l] / m + reg.gradient(net.params[l], np.empty_like(net.params[l]))[:, :-1]
        )
        grad_b = ws.nabla_b[l] / m
        worst_b = _worst([(numeric(b, (j,)), grad_b[j]) for j in range(len(b))])
        picks = _sample(w.shape, max_entries, rng)
        if reg.lmbda and reg.kind == "l1":
            # |w| has a kink at 0: a difference across it measures no derivative.
            picks = [i for i in picks if abs(w[i]) > h]
        worst_w = _worst([(numeric(w, i), grad_w[i]) for i in picks])
        # dC/dz: BP1/BP2 give dC_x/dz^l for each example; perturb z^l of one example.
        z = (x if l == 0 else ws.a[l - 1]) @ w.T + b
        pairs = []
        for i, j in _sample(z.shape, max_entries, rng):
            zi, yi = z[i : i + 1].copy(), y[i : i + 1]

            def cost_x(zi: np.ndarray = zi, yi: np.ndarray = yi, l: int = l) -> float:
                return float(_cost_from_z(net, l, zi, yi)[0])

            pairs.append((numeric(zi, (0, j), cost_x), ws.delta[l][i, j]))
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
