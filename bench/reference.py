"""The seed's algorithm as the book's network.py runs it: the reference nnbp is held to.

Column vectors, float64, and a Python loop over the examples of each mini-batch
(backprop one example at a time, gradients summed), exactly the structure of the
book's chapter-1 code, written anew for Python 3 with an explicit seeded Generator.
Used by benchmarks (speed) and by the accuracy survey (does nnbp's matrix form behave
like the book's per-example form?):

    python bench/reference.py [EPOCHS] SEED...   # best test accuracy per seed on MNIST
"""

from __future__ import annotations

import sys

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class BookNetwork:
    def __init__(self, sizes, rng):
        self.sizes = sizes
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        self.weights = [
            rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:], strict=False)
        ]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights, strict=False):
            a = sigmoid(w @ a + b)
        return a

    def sgd_epoch(self, x, y, mini_batch_size, eta, rng):
        """x: (n, 784, 1), y: (n, 10, 1) one-hot columns; shuffled by ``rng``."""
        order = rng.permutation(len(x))
        for k in range(0, len(x), mini_batch_size):
            self.update_mini_batch(order[k : k + mini_batch_size], x, y, eta)

    def update_mini_batch(self, batch, x, y, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for i in batch:  # the per-example loop the matrix form removes
            delta_nabla_b, delta_nabla_w = self.backprop(x[i], y[i])
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b, strict=False)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w, strict=False)]
        m = len(batch)
        self.weights = [w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w, strict=False)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b, strict=False)]

    def backprop(self, x, y):
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights, strict=False):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        sp = sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        delta = (activations[-1] - y) * sp  # BP1, quadratic cost
        nabla_b[-1] = delta
        nabla_w[-1] = delta @ activations[-2].T
        for l in range(2, len(self.sizes)):
            sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
            delta = (self.weights[-l + 1].T @ delta) * sp  # BP2
            nabla_b[-l] = delta
            nabla_w[-l] = delta @ activations[-l - 1].T
        return nabla_b, nabla_w

    def accuracy(self, x, labels):
        # Evaluation in one matrix pass: a (784, n) block of columns.
        a = self.feedforward(x[:, :, 0].T)
        return float(np.mean(a.argmax(axis=0) == labels))


def _survey(epochs: int, seeds: list[int]) -> None:
    import mnist  # bench/mnist.py: nnbp.datasets.load, pixels / 255

    train_x, train_labels, test_x, test_labels = mnist.load(np.float64)
    x = train_x[:, :, None]
    y = np.eye(10)[train_labels][:, :, None]
    for seed in seeds:
        rng = np.random.default_rng(seed)
        net = BookNetwork([784, 30, 10], rng)
        accs = []
        for _ in range(epochs):
            net.sgd_epoch(x, y, 10, 3.0, rng)
            accs.append(net.accuracy(test_x[:, :, None], test_labels))
        print(f"reference seed {seed}: best test {max(accs):.4f} first {accs[0]:.4f}", flush=True)


if __name__ == "__main__":
    _survey(int(sys.argv[1]), [int(s) for s in sys.argv[2:]])
