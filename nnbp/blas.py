"""A matrix product that adds into its output, C <- alpha A B + beta C: one BLAS GEMM.

NumPy's products always overwrite their output, so an SGD step built on them writes the
gradient to a buffer and then passes over the weights again to subtract it. GEMM's beta
adds the product straight into the weights (or the velocity) instead: on a wide first
layer at mini-batch 10 that pass is a large part of the step (docs/ENGINE.md). NumPy has
no such call, but its wheels carry OpenBLAS, and this module calls that library's
``cblas_sgemm`` / ``cblas_dgemm`` through ctypes: the same kernels and the same thread
pool (and thread limits) as NumPy's own products. Where NumPy uses another BLAS, or the
library is not where a NumPy wheel keeps it, or its answer to a small exact product is
wrong, ``Gemm.find`` returns None and nnbp keeps the NumPy calls.
"""

from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_NAMES = {np.dtype(np.float32): "sgemm", np.dtype(np.float64): "dgemm"}
_CTYPES = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}
# Symbol names by build: NumPy's wheels (scipy-openblas, 64-bit integers), OpenBLAS built
# with 64-bit integers, then the 32-bit-integer builds.
_SYMBOLS = [("scipy_", "64_"), ("", "64_"), ("scipy_", ""), ("", "")]


@cache
def _numpy_openblas() -> ctypes.CDLL | None:
    """The OpenBLAS library inside NumPy's installation, if NumPy's products use one."""
    from threadpoolctl import threadpool_info

    numpy_dir = Path(np.__file__).resolve().parent
    for info in threadpool_info():
        if info.get("internal_api") != "openblas":
            continue
        path = Path(info["filepath"]).resolve()
        # numpy.libs/ beside the package (Linux, Windows) or numpy/.dylibs/ (macOS)
        beside = path.parent.parent == numpy_dir.parent and path.parent.name.startswith("numpy")
        if beside or numpy_dir in path.parents:
            try:
                return ctypes.CDLL(str(path))
            except OSError:
                return None
    return None


class Gemm:
    """``gemm(a, b, c, alpha, beta)``: c = alpha a @ b + beta c for 2-D arrays of one dtype.

    a (M, K) and b (K, N) may each be C- or Fortran-ordered (a transposed view is passed
    as such, without a copy); c (M, N) must be C-ordered rows (unit column stride).
    ``args`` gives the call's arguments once, for a caller that repeats the call on the
    same arrays (``call(*args)``, with a fresh pointer where an array moved).
    """

    B_AT = 9  # where b's pointer is in ``args``

    def __init__(self, function: Any, dtype: np.dtype, int_type: Any) -> None:
        self.call = function
        self.dtype = dtype
        self._scalar = _CTYPES[dtype]
        self._int = int_type

    @classmethod
    def find(cls, dtype: Any) -> Gemm | None:
        """The GEMM of NumPy's OpenBLAS for ``dtype``, or None where there is none to use."""
        return _find(np.dtype(dtype))

    def _operand(self, x: np.ndarray) -> tuple[int, int]:
        """(transpose flag, leading dimension) of a 2-D operand, in elements."""
        step = x.itemsize
        if x.strides[1] == step and x.strides[0] % step == 0:
            return _NO_TRANS, max(x.strides[0] // step, x.shape[1], 1)
        if x.strides[0] == step and x.strides[1] % step == 0:
            return _TRANS, max(x.strides[1] // step, x.shape[0], 1)
        raise ValueError(f"gemm: an operand with strides {x.strides} is not a matrix BLAS reads")

    def args(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, alpha: float, beta: float):
        """The ctypes arguments of c = alpha a @ b + beta c (see the class docstring)."""
        (m, k), (k_b, n) = a.shape, b.shape
        if k != k_b or c.shape != (m, n) or not (a.dtype == b.dtype == c.dtype == self.dtype):
            raise ValueError(f"gemm: shapes {a.shape} @ {b.shape} -> {c.shape} do not fit")
        if c.strides[1] != c.itemsize:
            raise ValueError("gemm: the output must have contiguous rows")
        (ta, lda), (tb, ldb) = self._operand(a), self._operand(b)
        i, s, p = self._int, self._scalar, ctypes.c_void_p
        return (
            ctypes.c_int(_ROW_MAJOR), ctypes.c_int(ta), ctypes.c_int(tb), i(m), i(n), i(k),
            s(alpha), p(a.ctypes.data), i(lda), p(b.ctypes.data), i(ldb),
            s(beta), p(c.ctypes.data), i(max(c.strides[0] // c.itemsize, n, 1)),
        )  # fmt: skip

    def __call__(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, alpha: float, beta: float):
        self.call(*self.args(a, b, c, alpha, beta))
        return c


@cache
def _find(dtype: np.dtype) -> Gemm | None:
    name = _NAMES.get(dtype)
    lib = _numpy_openblas() if name else None
    if lib is None:
        return None
    for prefix, suffix in _SYMBOLS:
        function = getattr(lib, f"{prefix}cblas_{name}{suffix}", None)
        if function is not None:
            function.restype = None
            gemm = Gemm(function, dtype, ctypes.c_int64 if suffix else ctypes.c_int)
            return gemm if _answers_right(gemm) else None
    return None


def _answers_right(gemm: Gemm) -> bool:
    """Whether the library computes a small product exactly (small integers, so exact)."""
    a = np.arange(12, dtype=gemm.dtype).reshape(3, 4) - 5
    b = np.arange(20, dtype=gemm.dtype).reshape(5, 4).T  # a transposed operand
    c = np.arange(15, dtype=gemm.dtype).reshape(3, 5)
    expected = -2 * (a @ b) + 3 * c
    return bool(np.array_equal(gemm(a, b, c.copy(), -2.0, 3.0), expected)) and bool(
        np.array_equal(gemm(b.T, a.T, c.T.copy(), -2.0, 3.0), expected.T)
    )
