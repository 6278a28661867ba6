"""The implementations `make bench` times, each behind one small trainer interface.

Every trainer trains the same network, [784, hidden, 10] with sigmoid neurons, by plain
SGD (no momentum, no weight decay) with a fresh shuffle every epoch, and offers:

    data(x, labels)      -> its own form of a data set (tensors, one-hot targets, ...),
                            built once, outside the timed region
    epoch(d)             one epoch of SGD over the data set d (the timed call)
    accuracy(x, labels)  share of argmax predictions equal to the label (a sanity check)
    threads(n)           a context in which its BLAS / intra-op pool runs n threads
    backend()            what that pool is: library, kernel, version, threads in effect

``x`` is (n, 784) float32 in [0, 1] and ``labels`` (n,) integer classes, the arrays
nnbp's own loader produces. Trainers that need torch or scikit-learn import it in their
constructor, so a worker never loads a library it does not time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

N_CLASSES = 10
# scikit-learn's MLPClassifier has softmax outputs and log-loss whatever `activation`
# says (that sets the hidden layers only). The book uses eta = 0.5 with the
# cross-entropy cost (ch. 3), and eta = 3.0 for the quadratic cost; 0.5 trains well here.
SKLEARN_ETA = 0.5


def blas_pools() -> list[dict[str, Any]]:
    """The thread pools threadpoolctl sees, reduced to the fields the report shows."""
    keys = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads")
    return [{k: pool.get(k) for k in keys} for pool in threadpool_info()]


class NumpyThreads:
    """Threads for trainers whose matrix products run in NumPy's (OpenBLAS) pool."""

    @contextlib.contextmanager
    def threads(self, n: int | None) -> Iterator[None]:
        if n is None:
            yield
        else:
            with threadpool_limits(limits=n):
                yield

    def backend(self) -> dict[str, Any]:
        return {"pools": blas_pools()}


class NnbpTrainer(NumpyThreads):
    """nnbp's engine as `nnbp train` runs it: Network.create, one SGD optimiser kept across
    epochs, training rows with their ones column (as nnbp.data.load_splits makes them),
    sgd_epoch, and, for "default" threads, nnbp's own choice (nnbp.train.sgd_threads)."""

    def __init__(self, sizes: list[int], m: int, eta: float, seed: int) -> None:
        from nnbp.network import Network
        from nnbp.sgd import SGD

        self.sizes, self.m, self.eta = sizes, m, eta
        self.rng = np.random.default_rng(seed)
        self.net = Network.create(sizes, self.rng, dtype="float32")
        self.optimizer = SGD(self.net, eta=eta, n_train=50_000)

    @contextlib.contextmanager
    def threads(self, n: int | None) -> Iterator[None]:
        from nnbp.config import TrainingConfig
        from nnbp.train import sgd_threads

        if n is None:  # as shipped: the thread count nnbp chooses for these shapes
            n = sgd_threads(TrainingConfig(mini_batch_size=self.m), self.sizes)
        with threadpool_limits(limits=n, user_api="blas"):
            yield

    def data(self, x: np.ndarray, labels: np.ndarray) -> Any:
        from nnbp.data import Split
        from nnbp.train import one_hot

        x1 = np.ones((len(x), x.shape[1] + 1), dtype=self.net.dtype)
        x1[:, :-1] = x
        return Split(x1[:, :-1], labels, x1), one_hot(labels, N_CLASSES, self.net.dtype)

    def epoch(self, d: Any) -> None:
        from nnbp.train import sgd_epoch

        split, y = d
        sgd_epoch(self.net, split, y, self.m, self.eta, self.rng, optimizer=self.optimizer)

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.net.feedforward(x).argmax(axis=1) == labels))


class ReferenceTrainer(NumpyThreads):
    """bench/reference.py's BookNetwork: per-example backprop, float64 column vectors."""

    def __init__(self, sizes: list[int], m: int, eta: float, seed: int) -> None:
        from reference import BookNetwork

        self.m, self.eta = m, eta
        self.rng = np.random.default_rng(seed)
        self.net = BookNetwork(list(sizes), self.rng)

    def data(self, x: np.ndarray, labels: np.ndarray) -> Any:
        # (n, 784, 1) and (n, 10, 1): one column vector per example, as the book has them.
        return x.astype(np.float64)[:, :, None], np.eye(N_CLASSES)[labels][:, :, None]

    def epoch(self, d: Any) -> None:
        self.net.sgd_epoch(d[0], d[1], self.m, self.eta, self.rng)

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        return self.net.accuracy(x.astype(np.float64)[:, :, None], labels)


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


class SklearnTrainer(NumpyThreads):
    """MLPClassifier, configured as near to the book as it allows; one partial_fit = one epoch.

    Same: logistic hidden layer, solver="sgd" with constant learning rate, momentum 0,
    alpha (L2) 0, batch_size m, shuffle every epoch. Different: softmax outputs and
    log-loss (not sigmoid outputs and the quadratic cost), Glorot-uniform initial
    weights (not N(0, 1)), eta SKLEARN_ETA, float32 kept as float32.
    """

    def __init__(self, sizes: list[int], m: int, eta: float, seed: int) -> None:
        from sklearn.neural_network import MLPClassifier

        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]),
            activation="logistic",
            solver="sgd",
            learning_rate="constant",
            learning_rate_init=SKLEARN_ETA,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=m,
            shuffle=True,
            max_iter=1,
            random_state=seed,
        )
        self.classes = np.arange(sizes[-1])

    def data(self, x: np.ndarray, labels: np.ndarray) -> Any:
        return x, labels

    def epoch(self, d: Any) -> None:
        self.clf.partial_fit(d[0], d[1], classes=self.classes)

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.clf.predict(x) == labels))


TRAINERS: dict[str, type] = {
    "nnbp": NnbpTrainer,
    "reference": ReferenceTrainer,
    "torch-manual": TorchManualTrainer,
    "torch-idiomatic": TorchIdiomaticTrainer,
    "sklearn": SklearnTrainer,
}
# The package each peer needs: an ImportError of it reports the peer as "missing".
NEEDS = {"torch-manual": "torch", "torch-idiomatic": "torch", "sklearn": "sklearn"}
