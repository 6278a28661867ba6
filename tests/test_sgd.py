"""The SGD update: the step against a plain reference, updates worked by hand, dropout's
masks, and the update folded into BP4 against the update after it."""

from __future__ import annotations

import numpy as np
import pytest

from nnbp.blas import Gemm
from nnbp.costs import COSTS
from nnbp.metrics import one_hot
from nnbp.network import Network, with_ones
from nnbp.sgd import SGD


@pytest.mark.parametrize("cost", sorted(COSTS))
@pytest.mark.parametrize("m", [1, 7])
@pytest.mark.parametrize("sizes", [[6, 3], [6, 5, 3], [6, 5, 4, 3]])
def test_step_equals_a_plain_step_from_the_mean_gradient(cost, m, sizes):
    """SGD.step (buffers reused, biases folded in, eta/m folded into BP1) == w -= eta
    nabla_w, b -= eta nabla_b with Network.backprop's mean gradient, for networks with
    no, one and two hidden layers."""
    rng = np.random.default_rng(9)
    fast = Network.create(sizes, rng, cost=cost, dtype="float64")
    ref = fast.copy()
    x = rng.random((m, 6))
    y = one_hot(rng.integers(0, 3, size=m), 3, np.float64)
    opt = SGD(fast, eta=0.7, n_train=100)
    for eta in (0.7, 0.7, 0.2):  # repeated steps reuse the buffers; a new eta takes effect
        opt.eta = eta
        opt.step(with_ones(x), y)
        nabla_b, nabla_w = ref.backprop(x, y)
        for w, b, gw, gb in zip(ref.w, ref.b, nabla_w, nabla_b, strict=True):
            w -= eta * gw
            b -= eta * gb
    for p, q in zip(fast.params, ref.params, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


# Hand-worked updates on a [1, 1] network with the cross-entropy cost (delta^L = a - y):
# w = 2, b = -2, one example x = 1 with label 0 (so y = 1); z = 2 * 1 - 2 = 0, a = 0.5,
# delta = a - y = -0.5, so dC/dw = delta x = -0.5 and dC/db = delta = -0.5.
# eta = 0.5, n = 4, lmbda = 1: eta lmbda / n = 0.125.
def _one_neuron(**kw) -> tuple[Network, SGD]:
    net = Network(w=[np.array([[2.0]])], b=[np.array([-2.0])], cost="cross-entropy")
    return net, SGD(net, eta=0.5, n_train=4, **kw)


X1, Y1 = np.array([[1.0, 1.0]]), np.array([[1.0]])  # x = 1 with its ones column; y = 1


def test_plain_step_by_hand():
    # w = 2 - 0.5 (-0.5) = 2.25, b = -2 - 0.5 (-0.5) = -1.75
    net, opt = _one_neuron()
    opt.step(X1, Y1)
    assert (net.w[0][0, 0], net.b[0][0]) == (2.25, -1.75)


def test_l2_step_by_hand():
    # w = (1 - 0.125) 2 - 0.5 (-0.5) = 1.75 + 0.25 = 2.0; the bias is not decayed: -1.75
    net, opt = _one_neuron(lmbda=1.0, regularization="l2")
    opt.step(X1, Y1)
    assert (net.w[0][0, 0], net.b[0][0]) == (2.0, -1.75)
    # Regularisation cost (lmbda / 2n) sum w^2 = (1 / 8) 4 = 0.5
    assert opt.regularization_cost() == 0.5


def test_l1_step_by_hand():
    # w = 2 - 0.125 sgn(2) - 0.5 (-0.5) = 2 - 0.125 + 0.25 = 2.125; b = -1.75
    net, opt = _one_neuron(lmbda=1.0, regularization="l1")
    opt.step(X1, Y1)
    assert (net.w[0][0, 0], net.b[0][0]) == (2.125, -1.75)
    # Regularisation cost (lmbda / n) sum |w| = 2.125 / 4
    assert opt.regularization_cost() == 2.125 / 4


def test_momentum_steps_by_hand():
    """mu = 0.5: v -> mu v - eta g, w -> w + v, biases alike.

    Step 1: v_w = 0 - 0.5 (-0.5) = 0.25, w = 2.25; v_b = 0.25, b = -1.75.
    Step 2: z = 2.25 - 1.75 = 0.5, a = sigma(0.5) = 0.6224593312018546,
      g_w = g_b = a - 1 = -0.3775406687981454;
      v = 0.5 * 0.25 - 0.5 g = 0.125 + 0.1887703343990727 = 0.3137703343990727;
      w = 2.25 + v = 2.5637703343990727, b = -1.75 + v = -1.4362296656009273.
    """
    net, opt = _one_neuron(momentum=0.5)
    opt.step(X1, Y1)
    assert (net.w[0][0, 0], net.b[0][0]) == (2.25, -1.75)
    opt.step(X1, Y1)
    assert net.w[0][0, 0] == pytest.approx(2.5637703343990727, rel=1e-15)
    assert net.b[0][0] == pytest.approx(-1.4362296656009273, rel=1e-15)


def test_dropout_masks_drop_a_share_p_and_scale_the_rest():
    net = Network.create([16, 200, 50, 3], np.random.default_rng(0))
    opt = SGD(net, eta=0.5, n_train=100, dropout=0.3)
    opt.dropout_rng = np.random.default_rng(1)
    keep = [k.copy() for k in opt._draw_keep(40)]
    assert [k.shape for k in keep] == [(40, 200), (40, 50)]  # hidden layers only
    for k in keep:
        dropped, kept = np.unique(k)  # 0, and 1/(1 - p) with p to within 1/65,536
        assert dropped == 0 and kept == np.float32(65536 / (65536 - round(0.3 * 65536)))
        assert abs(kept * 0.7 - 1) < 1e-4  # that is 1/(1 - p) for p = 0.3
        assert abs((k == 0).mean() - 0.3) < 0.04  # 8,000 and 2,000 draws: > 3 sigma
    assert not np.array_equal(opt._draw_keep(40)[0], keep[0])  # fresh masks every step


def test_a_step_with_dropout_needs_its_generator():
    opt = SGD(Network.create([4, 3, 2], np.random.default_rng(0)), eta=1.0, n_train=5, dropout=0.5)
    with pytest.raises(RuntimeError, match="dropout_rng"):
        opt.step(np.ones((2, 5)), np.eye(2))


def _trained(fold: bool, x_ones: np.ndarray, y: np.ndarray, **kw) -> np.ndarray:
    """The parameters after two epochs of m = 5 (and a last mini-batch of 3) from seed 4."""
    net = Network.create([8, 6, 4, 3], np.random.default_rng(4), cost="cross-entropy")
    opt = SGD(net, eta=0.9, n_train=len(x_ones), fold_update=fold, **kw)
    for seed in (0, 1):
        opt.epoch(x_ones, y, 5, np.random.default_rng(seed))
    return net.flat.copy()


@pytest.mark.parametrize(
    "kw", [{}, {"momentum": 0.9}, {"dropout": 0.3}, {"momentum": 0.5, "lmbda": 2.0}]
)
def test_the_update_folded_into_bp4_trains_as_the_update_after_it(kw):
    """w -= nabla (or v = mu v - nabla) done by BP4's GEMM itself == nabla written out
    and applied afterwards, to float32 rounding (bit for bit with OpenBLAS's AVX2
    kernels); with weight decay nnbp applies the update afterwards either way."""
    rng = np.random.default_rng(3)
    x_ones = with_ones(rng.random((33, 8)).astype(np.float32))
    y = one_hot(rng.integers(0, 3, size=33), 3, np.float32)
    folded, after = _trained(True, x_ones, y, **kw), _trained(False, x_ones, y, **kw)
    start = Network.create([8, 6, 4, 3], np.random.default_rng(4)).flat
    assert np.abs(folded - start).max() > 0.1  # the epochs did train
    np.testing.assert_allclose(folded, after, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", ["fortran", "read-only"])
def test_a_step_takes_a_mini_batch_in_any_layout(layout):
    """The folded first-layer BP4 reads the mini-batch in place when it is laid out as the
    epoch lays it out; any other layout gives the same step."""
    rng = np.random.default_rng(5)
    x_ones = with_ones(rng.random((4, 8)).astype(np.float32))
    y = one_hot(rng.integers(0, 3, size=4), 3, np.float32)
    other = {
        "fortran": lambda: np.asfortranarray(x_ones),
        "read-only": lambda: np.frombuffer(x_ones.tobytes(), np.float32).reshape(x_ones.shape),
    }[layout]()
    nets = []
    for x in (x_ones, other):
        net = Network.create([8, 6, 3], np.random.default_rng(6))
        opt = SGD(net, eta=0.5, n_train=4, momentum=0.5)
        opt.step(x_ones, y)  # the workspace and the folded BP4 are made on this one
        opt.step(x, y)
        nets.append(net.flat)
    np.testing.assert_array_equal(nets[0], nets[1])


def test_the_update_is_folded_only_without_weight_decay_and_when_asked():
    found = Gemm.find(np.float32) is not None
    net = Network.create([4, 3, 2], np.random.default_rng(0))
    assert SGD(net, eta=1.0, n_train=5, momentum=0.5).folds_update is found
    assert not SGD(net, eta=1.0, n_train=5, lmbda=0.1).folds_update
    assert not SGD(net, eta=1.0, n_train=5, fold_update=False).folds_update
