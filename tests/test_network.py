"""The maths: sigmoid, the quadratic cost, BP1-BP4 against finite differences and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nnbp.activations import sigmoid
from nnbp.costs import COSTS, QuadraticCost
from nnbp.network import Network, backprop, feedforward, with_ones
from nnbp.sgd import SGD


def test_sigmoid_matches_its_definition_and_never_overflows():
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 2.5, 1000.0])
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(sigmoid(z), expected, rtol=1e-12, atol=1e-300)
    z32 = np.array([-200.0, 0.0, 200.0], dtype=np.float32)
    a32 = sigmoid(z32)  # pytest turns RuntimeWarnings (overflow) into errors
    assert a32.dtype == np.float32
    np.testing.assert_array_equal(a32, [0.0, 0.5, 1.0])


def test_create_shapes_dtype_and_seed():
    net = Network.create([5, 4, 3, 2], np.random.default_rng(0))
    assert net.sizes == [5, 4, 3, 2]
    assert [w.shape for w in net.w] == [(4, 5), (3, 4), (2, 3)]
    assert [b.shape for b in net.b] == [(4,), (3,), (2,)]
    assert net.dtype == np.float32
    again = Network.create([5, 4, 3, 2], np.random.default_rng(0))
    for w1, w2 in zip(net.w + net.b, again.w + again.b, strict=True):
        np.testing.assert_array_equal(w1, w2)
    other = Network.create([5, 4, 3, 2], np.random.default_rng(1))
    assert not np.array_equal(net.w[0], other.w[0])
    f64 = Network.create([5, 4, 3, 2], np.random.default_rng(0), dtype="float64")
    assert f64.dtype == np.float64
    np.testing.assert_allclose(f64.w[0], net.w[0], rtol=1e-6)


def test_init_large_is_standard_normal():
    net = Network.create([784, 300, 10], np.random.default_rng(3), dtype="float64")
    w = net.w[0]
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


def test_feedforward_is_one_matrix_pass_over_the_batch():
    rng = np.random.default_rng(5)
    net = Network.create([6, 5, 3], rng, dtype="float64")
    x = rng.random((7, 6))
    # Column-vector form of the book, one example at a time, as an independent reference.
    for i in range(7):
        a = x[i][:, None]
        for w, b in zip(net.w, net.b, strict=True):
            a = 1 / (1 + np.exp(-(w @ a + b[:, None])))
        np.testing.assert_allclose(net.feedforward(x)[i], a[:, 0], rtol=1e-12)


def _mean_cost(net: Network, x: np.ndarray, y: np.ndarray) -> float:
    return float(COSTS[net.cost].fn(net.feedforward(x), y).mean())


def _worst_relative_error(net: Network, x: np.ndarray, y: np.ndarray, h: float = 1e-4) -> float:
    """Largest |numeric - backprop| / (|numeric| + |backprop|) over every weight and bias.

    numeric = (C(p + h) - C(p - h)) / 2h. h = 1e-4 balances the O(h^2) truncation error
    against rounding (about eps C / h): both stay near 1e-9 here, even for the
    smallest gradient components (~1e-5), where h = 1e-6 would leave 2e-6 of noise.
    """
    nabla_b, nabla_w = net.backprop(x, y)
    worst = 0.0
    for params, grads in ((net.w, nabla_w), (net.b, nabla_b)):
        for p, g in zip(params, grads, strict=True):
            assert g.shape == p.shape
            for i in np.ndindex(p.shape):
                old = p[i]
                p[i] = old + h
                up = _mean_cost(net, x, y)
                p[i] = old - h
                down = _mean_cost(net, x, y)
                p[i] = old
                numeric = (up - down) / (2 * h)
                rel = abs(numeric - g[i]) / max(abs(numeric) + abs(g[i]), 1e-12)
                worst = max(worst, rel)
    return worst


def _small_problem(cost: str = "quadratic"):
    rng = np.random.default_rng(42)
    net = Network.create([4, 5, 3, 3], rng, cost=cost, dtype="float64")  # 2 hidden layers
    x = rng.random((6, 4))
    y = np.eye(3)[rng.integers(0, 3, size=6)]
    return net, x, y


@pytest.mark.parametrize("cost", sorted(COSTS))
def test_backprop_matches_central_differences(cost):
    """BP1-BP4 against central differences for every weight and bias, in float64."""
    assert _worst_relative_error(*_small_problem(cost)) < 1e-6


@pytest.mark.parametrize(
    "broken",
    [
        "bp1",  # BP1 without sigma'(z^L)
        "bp2",  # BP2 without sigma'(z^l)
    ],
)
def test_the_gradient_check_catches_a_broken_backprop(monkeypatch, broken):
    """The check above can fail: dropping sigma'(z) from BP1 or from BP2 is caught."""
    import nnbp.network as network

    if broken == "bp1":

        def delta_without_sigma_prime(a, y, k, out, tmp):
            np.subtract(a, y, out=out)
            np.multiply(out, k, out=out)

        monkeypatch.setattr(QuadraticCost, "delta", staticmethod(delta_without_sigma_prime))
    else:

        def ones(a, out, one=1):
            # The quadratic cost's BP1 computes its own sigma'(z^L): only BP2 calls this.
            out.fill(1)
            return out

        monkeypatch.setattr(network, "sigmoid_prime_", ones)
    assert _worst_relative_error(*_small_problem()) > 1e-2


def _thinned(net: Network, x: np.ndarray, y: np.ndarray, keep: list[np.ndarray]):
    """Cost of the network thinned by dropout masks ``keep``, and backprop's gradient."""
    x1 = with_ones(x)

    def cost() -> float:
        ws = net.workspace(len(x))
        return float(COSTS[net.cost].fn(feedforward(net, ws, x1, keep), y).mean())

    ws = net.workspace(len(x))
    backprop(net, ws, x1, y, np.full((len(x), net.sizes[-1]), 1 / len(x)), keep)
    return cost, ws.nabla


@pytest.mark.parametrize("cost", sorted(COSTS))
def test_backprop_with_dropout_masks_matches_central_differences(cost):
    """The gradient of the thinned network (dropped neurons 0, the rest scaled by 1/(1-p))
    against central differences."""
    net, x, y = _small_problem(cost)
    rng = np.random.default_rng(5)
    keep = [(rng.random((len(x), n)) >= 0.4) / 0.6 for n in net.sizes[1:-1]]
    assert all(0 < (k == 0).sum() < k.size for k in keep)  # some dropped, some kept
    cost_of, nabla = _thinned(net, x, y, keep)
    h, numeric = 1e-4, [np.zeros_like(p) for p in net.params]
    for p, out in zip(net.params, numeric, strict=True):
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = cost_of()
            p[i] = old - h
            out[i] = (up - cost_of()) / (2 * h)
            p[i] = old
    for g, n in zip(nabla, numeric, strict=True):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-9)
    # The masks matter: the whole network's gradient is another one.
    whole = _thinned(net, x, y, [np.ones_like(k) for k in keep])[1]
    assert not np.allclose(whole[0], numeric[0], rtol=1e-2)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_sgd_step_worked_by_hand(dtype):
    """Network [2, 2, 2], quadratic cost, eta 2, a mini-batch of two examples.

    Start: w2 = 0, b2 = 0 (hidden), w3 = [[1, -1], [0, 0]], b3 = 0 (output).
    Example 1: x = (1, 2), label 0, so y = (1, 0).   Example 2: x = (0, 0), label 0.
    Forward (both examples): z2 = w2 x + b2 = (0, 0), a2 = sigma(0) = (0.5, 0.5);
      z3 = w3 a2 + b3 = (0.5 - 0.5, 0) = (0, 0), a3 = (0.5, 0.5); sigma'(0) = 0.25.
    BP1: delta3 = (a3 - y) * sigma'(z3) = (-0.5, 0.5) * 0.25 = (-0.125, 0.125).
    BP2: delta2 = (w3^T delta3) * sigma'(z2) = (-0.125, 0.125) * 0.25 = (-0.03125, 0.03125).
    BP3 (mean of the two, equal): nabla_b3 = (-0.125, 0.125), nabla_b2 = (-0.03125, 0.03125).
    BP4: nabla_w3 = delta3 a2^T = [[-0.0625, -0.0625], [0.0625, 0.0625]] (both examples);
      nabla_w2 = delta2 x^T: example 1 [[-0.03125, -0.0625], [0.03125, 0.0625]],
      example 2 zero; the mean is [[-0.015625, -0.03125], [0.015625, 0.03125]].
    Step (w -= eta * nabla_w, eta = 2):
      w2 = [[0.03125, 0.0625], [-0.03125, -0.0625]], b2 = (0.0625, -0.0625),
      w3 = [[1.125, -0.875], [-0.125, -0.125]],      b3 = (0.25, -0.25).
    Every number is a short binary fraction, so the match is exact in float32 and float64.
    """
    net, x, y = _hand_problem(dtype)
    nabla_b, nabla_w = net.backprop(x, y)
    np.testing.assert_array_equal(nabla_b[1], [-0.125, 0.125])
    np.testing.assert_array_equal(nabla_b[0], [-0.03125, 0.03125])
    np.testing.assert_array_equal(nabla_w[1], [[-0.0625, -0.0625], [0.0625, 0.0625]])
    np.testing.assert_array_equal(nabla_w[0], [[-0.015625, -0.03125], [0.015625, 0.03125]])
    SGD(net, eta=2.0, n_train=2).step(with_ones(x), y)
    np.testing.assert_array_equal(net.w[0], [[0.03125, 0.0625], [-0.03125, -0.0625]])
    np.testing.assert_array_equal(net.b[0], [0.0625, -0.0625])
    np.testing.assert_array_equal(net.w[1], [[1.125, -0.875], [-0.125, -0.125]])
    np.testing.assert_array_equal(net.b[1], [0.25, -0.25])
    assert all(p.dtype == np.dtype(dtype) for p in net.w + net.b)


def _hand_problem(dtype: str) -> tuple[Network, np.ndarray, np.ndarray]:
    """The network and mini-batch of the hand-worked step below."""
    net = Network(
        w=[np.zeros((2, 2), dtype), np.array([[1, -1], [0, 0]], dtype)],
        b=[np.zeros(2, dtype), np.zeros(2, dtype)],
    )
    return net, np.array([[1, 2], [0, 0]], dtype), np.array([[1, 0], [1, 0]], dtype)


def test_trace_keeps_each_examples_delta_and_the_summed_gradient():
    """With k = 1 the workspace holds dC_x/dz per example and the gradients summed (the
    numbers of the hand-worked step: both examples share delta, only the first has x)."""
    net, x, y = _hand_problem("float64")
    ws = net.trace(x, y)
    np.testing.assert_array_equal(ws.delta[1], [[-0.125, 0.125], [-0.125, 0.125]])
    np.testing.assert_array_equal(ws.delta[0], [[-0.03125, 0.03125], [-0.03125, 0.03125]])
    np.testing.assert_array_equal(ws.nabla_b[1], [-0.25, 0.25])
    np.testing.assert_array_equal(ws.nabla_w[0], [[-0.03125, -0.0625], [0.03125, 0.0625]])
    # k scales every delta and gradient: the mean gradient is trace(k = 1/m).
    half = net.trace(x, y, k=0.5)
    for summed, mean in zip(ws.nabla, half.nabla, strict=True):
        np.testing.assert_array_equal(mean, summed / 2)


def test_parameters_are_views_into_one_flat_array_and_copy_is_independent():
    w = [np.ones((3, 2)), np.full((1, 3), 2.0)]
    b = [np.zeros(3), np.array([5.0])]
    net = Network(w, b)
    w[0][0, 0] = 7.0  # the network copied its inputs
    assert net.w[0][0, 0] == 1.0
    for p in net.w + net.b + net.params:
        assert np.shares_memory(p, net.flat)
    net.flat *= 2  # one update reaches every layer through the views
    np.testing.assert_array_equal(net.b[1], [10.0])
    np.testing.assert_array_equal(net.params[0], [[2.0, 2.0, 0.0]] * 3)
    twin = net.copy()
    twin.w[1][...] = 0
    assert net.w[1][0, 0] == 4.0 and not np.shares_memory(twin.flat, net.flat)
    assert (twin.sizes, twin.cost, twin.dtype) == (net.sizes, net.cost, net.dtype)


def test_quadratic_cost_by_hand():
    a = np.array([[0.5, 0.5], [1.0, 0.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    # 1/2 ((0.5)^2 + (0.5)^2) = 0.25 for the first example, 0 for the second.
    np.testing.assert_allclose(COSTS["quadratic"].fn(a, y), [0.25, 0.0])
