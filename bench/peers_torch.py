"""The torch peers `make bench` times: autograd as a torch user writes it, and BP1-BP4 by hand.

Each imports torch in its constructor and methods; bench/peers.py imports this module only
when one of them is asked for. The trainer interface is described in peers.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from peers import N_CLASSES, blas_pools


class TorchThreads:
    """Threads for torch trainers: torch.set_num_threads (its OpenMP/MKL pool)."""

    @contextlib.contextmanager
    def threads(self, n: int | None) -> Iterator[None]:
        import torch

        if n is not None:
            torch.set_num_threads(n)
        yield

    def backend(self) -> dict[str, Any]:
        import torch

        return {
            "torch_threads": torch.get_num_threads(),
            "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "pools": blas_pools(),
        }


def _torch_init(sizes: list[int], seed: int) -> tuple[list[Any], list[Any]]:
    """Weights (n_out, n_in) and biases (n_out,) drawn from N(0, 1), float32."""
    import torch

    g = torch.Generator().manual_seed(seed)
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    w = [torch.randn(n_out, n_in, generator=g) for n_in, n_out in pairs]
    b = [torch.randn(n_out, generator=g) for n_out in sizes[1:]]
    return w, b


class TorchIdiomaticTrainer(TorchThreads):
    """nn.Sequential + autograd + optim.SGD, as a torch user would write it.

    Cost: 0.5 * MSELoss(reduction="sum") / batch, i.e. the mean over the batch of
    1/2 ||a - y||^2, so the gradient has the book's scale (MSELoss's default "mean"
    would also divide by the 10 outputs and drop the 1/2). Batches: one randperm per
    epoch and index_select on pre-built tensors (no DataLoader).
    """

    def __init__(self, sizes: list[int], m: int, eta: float, seed: int) -> None:
        import torch
        from torch import nn

        layers: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(n_in, n_out), nn.Sigmoid()]
        self.model = nn.Sequential(*layers)
        w, b = _torch_init(sizes, seed)
        with torch.no_grad():
            for lin, wl, bl in zip(self.model[::2], w, b, strict=True):
                lin.weight.copy_(wl)
                lin.bias.copy_(bl)
        self.loss = nn.MSELoss(reduction="sum")
        self.opt = torch.optim.SGD(self.model.parameters(), lr=eta)
        self.m = m
        self.gen = torch.Generator().manual_seed(seed + 1)

    def data(self, x: np.ndarray, labels: np.ndarray) -> Any:
        import torch

        y = torch.nn.functional.one_hot(torch.from_numpy(labels.astype(np.int64)), N_CLASSES)
        return torch.from_numpy(x), y.float()

    def epoch(self, d: Any) -> None:
        import torch

        x, y = d
        perm = torch.randperm(len(x), generator=self.gen)
        for start in range(0, len(x), self.m):
            idx = perm[start : start + self.m]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            self.opt.zero_grad(set_to_none=True)
            cost = self.loss(self.model(xb), yb) * (0.5 / len(idx))
            cost.backward()
            self.opt.step()

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        import torch

        with torch.no_grad():
            a = self.model(torch.from_numpy(x))
        return float(np.mean(a.argmax(dim=1).numpy() == labels))


class TorchManualTrainer(TorchThreads):
    """BP1-BP4 by hand in torch ops: no autograd, float32, buffers reused in place.

    Rows are examples, as in nnbp: z = a w^T + b. Each step is two addmm + sigmoid
    (forward), BP1 and BP2 with addcmul for sigma' = a - a*a, and the updates
    w -= (eta/m) delta^T a (BP4) and b -= (eta/m) sum delta (BP3) as addmm_ / add_.
    """

    def __init__(self, sizes: list[int], m: int, eta: float, seed: int) -> None:
        import torch

        if len(sizes) != 3:
            raise ValueError("torch-manual is written for one hidden layer")
        self.w, self.b = _torch_init(sizes, seed)
        self.m, self.eta = m, eta
        self.gen = torch.Generator().manual_seed(seed + 1)
        n_in, h, n_out = sizes
        e = torch.empty
        self.xb, self.yb = e(m, n_in), e(m, n_out)
        self.a1, self.sp1, self.d1, self.nb1 = e(m, h), e(m, h), e(m, h), e(h)
        self.a2, self.sp2, self.d2, self.nb2 = e(m, n_out), e(m, n_out), e(m, n_out), e(n_out)

    def data(self, x: np.ndarray, labels: np.ndarray) -> Any:
        import torch

        y = np.zeros((len(labels), N_CLASSES), dtype=np.float32)
        y[np.arange(len(labels)), labels] = 1
        return torch.from_numpy(x), torch.from_numpy(y)

    def epoch(self, d: Any) -> None:
        import torch

        x, y = d
        (w1, w2), (b1, b2) = self.w, self.b
        with torch.no_grad():
            perm = torch.randperm(len(x), generator=self.gen)
            for start in range(0, len(x), self.m):
                idx = perm[start : start + self.m]
                k = len(idx)  # the last batch is short when m does not divide n
                xb, yb = self.xb[:k], self.yb[:k]
                a1, sp1, d1 = self.a1[:k], self.sp1[:k], self.d1[:k]
                a2, sp2, d2 = self.a2[:k], self.sp2[:k], self.d2[:k]
                torch.index_select(x, 0, idx, out=xb)
                torch.index_select(y, 0, idx, out=yb)
                torch.addmm(b1, xb, w1.t(), out=a1).sigmoid_()
                torch.addmm(b2, a1, w2.t(), out=a2).sigmoid_()
                torch.addcmul(a2, a2, a2, value=-1, out=sp2)  # sigma'(z2) = a2 (1 - a2)
                torch.sub(a2, yb, out=d2).mul_(sp2)  # BP1
                torch.addcmul(a1, a1, a1, value=-1, out=sp1)
                torch.mm(d2, w2, out=d1).mul_(sp1)  # BP2, with w2 before its update
                step = -self.eta / k
                w2.addmm_(d2.t(), a1, alpha=step)  # BP4 and the update in one call
                b2.add_(torch.sum(d2, 0, out=self.nb2), alpha=step)  # BP3
                w1.addmm_(d1.t(), xb, alpha=step)
                b1.add_(torch.sum(d1, 0, out=self.nb1), alpha=step)

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        import torch

        a = torch.from_numpy(x)
        with torch.no_grad():
            for w, b in zip(self.w, self.b, strict=True):
                a = torch.sigmoid(torch.addmm(b, a, w.t()))
        return float(np.mean(a.argmax(dim=1).numpy() == labels))
