"""The GEMM that adds into its output: found in NumPy's own OpenBLAS, checked against
NumPy's products for every layout of its operands, refusing what BLAS cannot read."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbp.blas import Gemm


def _numpy_blas() -> str:
    """The BLAS NumPy was built with ("" before NumPy 1.25, which cannot say)."""
    try:
        return np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except TypeError:
        return ""


@pytest.mark.skipif("openblas" not in _numpy_blas(), reason="NumPy built with another BLAS")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpys_openblas_gemm_is_found(dtype):
    """NumPy's wheels carry OpenBLAS: nnbp must find its GEMM there (else SGD silently
    falls back to the slower two-call update)."""
    gemm = Gemm.find(dtype)
    assert gemm is not None
    assert gemm.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.complex64])
def test_no_gemm_for_other_dtypes(dtype):
    assert Gemm.find(dtype) is None


def _layout(x: np.ndarray, fortran: bool) -> np.ndarray:
    return np.asfortranarray(x) if fortran else np.ascontiguousarray(x)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 12), k=st.integers(1, 12), n=st.integers(1, 12),
    a_fortran=st.booleans(), b_fortran=st.booleans(), padded=st.booleans(),
    alpha=st.sampled_from([1.0, -1.0, 0.5]), beta=st.sampled_from([0.0, 1.0, 0.9]),
    dtype=st.sampled_from([np.float32, np.float64]),
)  # fmt: skip
def test_gemm_equals_numpy_for_every_layout(m, k, n, a_fortran, b_fortran, padded, alpha, beta,
                                            dtype):  # fmt: skip
    """c = alpha a @ b + beta c, with a and b C- or Fortran-ordered (a transposed view is
    read as such) and c a block of a wider array (its rows not adjacent)."""
    gemm = Gemm.find(dtype)
    if gemm is None:
        pytest.skip("NumPy's BLAS cannot be called directly here")
    rng = np.random.default_rng(m * 1000 + k * 100 + n)
    a = _layout(rng.standard_normal((m, k)).astype(dtype), a_fortran)
    b = _layout(rng.standard_normal((k, n)).astype(dtype), b_fortran)
    wide = rng.standard_normal((m, n + 3 if padded else n)).astype(dtype)
    c = wide[:, :n]
    expected = alpha * (a.astype(np.float64) @ b) + beta * c.astype(np.float64)
    before = wide.copy()
    assert gemm(a, b, c, alpha, beta) is c
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c, expected, rtol=tol, atol=tol)
    np.testing.assert_array_equal(wide[:, n:], before[:, n:])  # nothing outside c changed


@pytest.fixture
def gemm() -> Gemm:
    found = Gemm.find(np.float32)
    if found is None:
        pytest.skip("NumPy's BLAS cannot be called directly here")
    return found


@pytest.mark.parametrize(
    "shapes",
    [((2, 3), (4, 5), (2, 5)), ((2, 3), (3, 5), (2, 4)), ((2, 3), (3, 5), (5, 2))],
)
def test_gemm_refuses_shapes_that_do_not_fit(gemm, shapes):
    a, b, c = (np.zeros(s, np.float32) for s in shapes)
    with pytest.raises(ValueError, match="do not fit"):
        gemm(a, b, c, 1.0, 0.0)


def test_gemm_refuses_mixed_dtypes(gemm):
    a, c = np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="do not fit"):
        gemm(a, np.zeros((3, 2), np.float64), c, 1.0, 0.0)


def test_gemm_refuses_an_output_without_contiguous_rows(gemm):
    a, b = np.ones((2, 3), np.float32), np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match="contiguous rows"):
        gemm(a, b, np.zeros((2, 4), np.float32)[:, ::2], 1.0, 0.0)


def test_gemm_refuses_an_operand_strided_both_ways(gemm):
    a = np.ones((4, 6), np.float32)[::2, ::2]
    with pytest.raises(ValueError, match="not a matrix BLAS reads"):
        gemm(a, np.ones((3, 2), np.float32), np.zeros((2, 2), np.float32), 1.0, 0.0)
