"""The implementations `make bench` times, each behind one small trainer interface.

Every trainer trains the same network, [784, hidden, 10] with sigmoid neurons, by plain
SGD (no momentum, no weight decay) with a fresh shuffle every epoch, and offers:

    data(x, labels)      -> its own form of a data set (tensors, one-hot targets, ...),
                            built once, outside the timed region
    epoch(d)             one epoch of SGD over the data set d (the timed call)
    accuracy(x, labels)  share of argmax predictions equal to the label (a sanity check)
    threads(n)           a context in which its BLAS / intra-op pool runs n threads
    backend()            what that pool is: library, kernel, version, threads in effect

``x`` is (n, 784) float32 in [0, 1] and ``labels`` (n,) integer classes, as bench/run.py
prepares them. Trainers that need torch or scikit-learn import it in their constructor
(the torch ones live in bench/peers_torch.py), so a worker never loads a library it does
not time. "nnbp" is the checkout's engine; "nnbp-baseline" whichever nnbp is first on the
path, a past revision when bench/engine.py runs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
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


def one_hot(labels: np.ndarray, dtype: Any) -> np.ndarray:
    """Integer labels (n,) -> one-hot rows (n, N_CLASSES) of ``dtype``."""
    y = np.zeros((len(labels), N_CLASSES), dtype=dtype)
    y[np.arange(len(labels)), labels] = 1
    return y


def nnbp_location() -> str:
    """The file the imported nnbp package came from (bench/engine.py checks a baseline's)."""
    import nnbp

    return str(nnbp.__file__)


class NnbpTrainer(NumpyThreads):
    """nnbp's engine through its entry point: Network.create, one SGD optimiser kept across
    epochs, ``SGD.epoch`` on training rows with their ones column (``with_ones``), and,
    for "default" threads, nnbp's own choice (``nnbp.epoch.blas_threads``)."""

    def __init__(self, sizes: list[int], m: int, eta: float, seed: int, dtype: str = "float32"):
        from nnbp.network import Network
        from nnbp.sgd import SGD

        self.sizes, self.m = sizes, m
        self.rng = np.random.default_rng(seed)
        self.net = Network.create(sizes, self.rng, dtype=dtype)
        self.optimizer = SGD(self.net, eta=eta, n_train=50_000)

    @contextlib.contextmanager
    def threads(self, n: int | None) -> Iterator[None]:
        from nnbp.epoch import blas_threads

        if n is None:  # as shipped: the thread count nnbp chooses (None: the library's)
            n = blas_threads(self.sizes, self.m)
        with threadpool_limits(limits=n, user_api="blas"):
            yield

    def backend(self) -> dict[str, Any]:
        return {"pools": blas_pools(), "nnbp": nnbp_location()}

    def data(self, x: np.ndarray, labels: np.ndarray) -> Any:
        from nnbp.network import with_ones

        return with_ones(x, self.net.dtype), one_hot(labels, self.net.dtype)

    def epoch(self, d: Any) -> None:
        self.optimizer.epoch(d[0], d[1], self.m, self.rng)

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.net.feedforward(x).argmax(axis=1) == labels))

    def parameters(self) -> list[np.ndarray]:
        """Every weight matrix, then every bias vector (for comparing two engines)."""
        return [np.array(a) for a in [*self.net.w, *self.net.b]]


class OldNnbpTrainer(NnbpTrainer):
    """nnbp's engine before SGD.epoch (at 0c9a75a): the same network and optimiser, driven
    by ``nnbp.train.sgd_epoch`` on a ``nnbp.data.Split``, threads from
    ``nnbp.train.sgd_threads``."""

    @contextlib.contextmanager
    def threads(self, n: int | None) -> Iterator[None]:
        from nnbp import config, train  # modules at that revision

        if n is None:
            n = train.sgd_threads(config.TrainingConfig(mini_batch_size=self.m), self.sizes)
        with threadpool_limits(limits=n, user_api="blas"):
            yield

    def data(self, x: np.ndarray, labels: np.ndarray) -> Any:
        from nnbp import data, metrics

        x1 = np.ones((len(x), x.shape[1] + 1), dtype=self.net.dtype)
        x1[:, :-1] = x
        y = metrics.one_hot(labels, N_CLASSES, self.net.dtype)
        return data.Split(x1[:, :-1], labels, x1), y

    def epoch(self, d: Any) -> None:
        from nnbp import train

        split, y = d
        eta = self.optimizer.eta
        train.sgd_epoch(self.net, split, y, self.m, eta, self.rng, optimizer=self.optimizer)


def baseline_trainer(sizes: list[int], m: int, eta: float, seed: int, dtype: str = "float32"):
    """The trainer for whichever nnbp is importable (bench/engine.py puts a past revision
    first on PYTHONPATH): SGD.epoch when it has one, else the 0c9a75a API."""
    from nnbp.sgd import SGD

    cls = NnbpTrainer if hasattr(SGD, "epoch") else OldNnbpTrainer
    return cls(sizes, m, eta, seed, dtype)


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


def _torch(name: str) -> Callable[..., Any]:
    """A constructor of bench/peers_torch.py's ``name``, imported only when called."""

    def make(*args: Any) -> Any:
        import peers_torch

        return getattr(peers_torch, name)(*args)

    return make


TRAINERS: dict[str, Callable[..., Any]] = {
    "nnbp": NnbpTrainer,
    "nnbp-baseline": baseline_trainer,
    "reference": ReferenceTrainer,
    "torch-manual": _torch("TorchManualTrainer"),
    "torch-idiomatic": _torch("TorchIdiomaticTrainer"),
    "sklearn": SklearnTrainer,
}
# The trainers that take a dtype (the others have theirs fixed: see their docstrings).
DTYPED = {"nnbp", "nnbp-baseline"}
# The package each peer needs: an ImportError of it reports the peer as "missing".
NEEDS = {"torch-manual": "torch", "torch-idiomatic": "torch", "sklearn": "sklearn"}
