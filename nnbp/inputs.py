"""Pixels -> network inputs: the one scaling that training, evaluation and prediction share.

Kept apart from data loading so that ``nnbp predict`` can use it without importing the
config and dataset machinery (start-up time matters for one image).
"""

from __future__ import annotations

import numpy as np

SCALING = "pixel / 255"  # recorded in every weights file's metadata


def scale_images(
    images: np.ndarray, dtype: str | np.dtype | type, out: np.ndarray | None = None
) -> np.ndarray:
    """uint8 images (n, rows, cols) -> rows of floats in [0, 1], shape (n, rows * cols).

    ``out``, when given, is an (n, rows * cols) array (or view) of ``dtype`` to fill.
    """
    flat = images.reshape(len(images), -1)
    return np.divide(flat, 255, dtype=dtype, out=out)
