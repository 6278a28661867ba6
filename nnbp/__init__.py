"""nnbp: train fully-connected sigmoid networks with matrix-based backpropagation."""

__version__ = "0.1.0"
