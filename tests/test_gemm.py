"""The GEMMs over all rows against NumPy's, for every path (one BLAS call, split over threads, an outer product)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_numba._kernels.gemm import matmul, matmul_tn

THREADS = st.sampled_from([None, 1, 2, 3])


@settings(deadline=None, max_examples=30)
@given(
    m=st.integers(1, 40), k=st.integers(1, 6), n=st.integers(1, 7), threads=THREADS,
    dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_matmul_and_matmul_tn_match_numpy(m, k, n, threads, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(m, k)).astype(dtype)
    b = rng.normal(size=(k, n)).astype(dtype)
    c = rng.normal(size=(m, n)).astype(dtype)
    bias = rng.normal(size=n).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    out = np.full((m, n), np.nan, dtype=dtype)
    matmul(a, b, out, bias[:0], threads)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=rtol, atol=rtol)
    matmul(a, b, out, bias, threads)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b + bias, rtol=rtol, atol=rtol * (k + 1))
    tn, sums = np.full((k, n), np.nan, dtype=dtype), np.full(n, np.nan, dtype=dtype)
    matmul_tn(a, None, c, tn, None, sums, False, threads)
    np.testing.assert_allclose(tn, a.T.astype(np.float64) @ c, rtol=rtol, atol=rtol * m)
    np.testing.assert_allclose(sums, c.astype(np.float64).sum(axis=0), rtol=rtol, atol=rtol * m)
    # Added into a running sum (a gradient over blocks of rows).
    start = rng.normal(size=(k, n)).astype(dtype)
    running, running_sums = start.copy(), np.ones(n, dtype=dtype)
    matmul_tn(a, None, c, running, None, running_sums, True, threads)
    np.testing.assert_allclose(running, start + tn, rtol=rtol, atol=rtol * m)
    np.testing.assert_allclose(running_sums, 1 + sums, rtol=rtol, atol=rtol * m)


@settings(deadline=None, max_examples=30)
@given(
    m=st.integers(1, 40), k=st.integers(1, 6), k2=st.integers(1, 6), n=st.integers(1, 14), threads=THREADS,
    dtype=st.sampled_from([np.float32, np.float64]), accumulate=st.booleans(), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_matmul_tn_of_a_pair_gives_both_products(m, k, k2, n, threads, dtype, accumulate, seed):
    # joined where n > k + k2, else as two products
    rng = np.random.default_rng(seed)
    a, a2, c = (rng.normal(size=(m, cols)).astype(dtype) for cols in (k, k2, n))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    start = rng.normal(size=(k, n)).astype(dtype), rng.normal(size=(k2, n)).astype(dtype)
    tn, tn2 = (x.copy() if accumulate else np.full_like(x, np.nan) for x in start)
    sums = np.zeros(n, dtype=dtype)
    matmul_tn(a, a2, c, tn, tn2, sums, accumulate, threads)
    base = start if accumulate else (0, 0)
    np.testing.assert_allclose(tn, base[0] + a.T.astype(np.float64) @ c, rtol=rtol, atol=rtol * m)
    np.testing.assert_allclose(tn2, base[1] + a2.T.astype(np.float64) @ c, rtol=rtol, atol=rtol * m)
    np.testing.assert_allclose(sums, c.astype(np.float64).sum(axis=0), rtol=rtol, atol=rtol * m)


@pytest.mark.parametrize("threads", [None, 2, 3])
def test_outer_product_is_exact(threads):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 1)), rng.normal(size=(1, 9))
    out = np.full((50, 9), np.nan)
    matmul(a, b, out, b[0, :0], threads)
    np.testing.assert_array_equal(out, a * b)  # one product per element: nothing to round differently
    bias = rng.normal(size=9)
    matmul(a, b, out, bias, threads)
    np.testing.assert_array_equal(out, a * b + bias)
