"""The row-split GEMMs against NumPy's, for every path (one chunk, several, an outer product)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_numba._linalg import matmul, matmul_tn


@settings(deadline=None, max_examples=30)
@given(
    m=st.integers(1, 40), k=st.integers(1, 6), n=st.integers(1, 7), n_chunks=st.integers(1, 3),
    dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_matmul_and_matmul_tn_match_numpy(m, k, n, n_chunks, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(m, k)).astype(dtype)
    b = rng.normal(size=(k, n)).astype(dtype)
    c = rng.normal(size=(m, n)).astype(dtype)
    bias = rng.normal(size=n).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    out = matmul(a, b, n_chunks)
    assert out.dtype == dtype and out.shape == (m, n)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=rtol, atol=rtol)
    with_bias = matmul(a, b, n_chunks, bias=bias)
    np.testing.assert_allclose(with_bias, a.astype(np.float64) @ b + bias, rtol=rtol, atol=rtol * (k + 1))
    tn = matmul_tn(a, c, n_chunks)
    assert tn.dtype == dtype and tn.shape == (k, n)
    np.testing.assert_allclose(tn, a.T.astype(np.float64) @ c, rtol=rtol, atol=rtol * m)
    tn2, sums = matmul_tn(a, c, n_chunks, column_sums=True)
    np.testing.assert_array_equal(tn2, tn)
    # Added into a running sum (a gradient over blocks of rows): the same rounding as adding the product.
    start = rng.normal(size=(k, n)).astype(dtype)
    running = start.copy()
    assert matmul_tn(a, c, n_chunks, out=running) is running
    np.testing.assert_array_equal(running, start + tn)
    assert sums.dtype == dtype and sums.shape == (n,)
    np.testing.assert_allclose(sums, c.astype(np.float64).sum(axis=0), rtol=rtol, atol=rtol * m)


@settings(deadline=None, max_examples=30)
@given(
    m=st.integers(1, 40), k=st.integers(1, 6), k2=st.integers(1, 6), n=st.integers(1, 14), n_chunks=st.integers(1, 3),
    dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_matmul_tn_of_a_pair_gives_both_products(m, k, k2, n, n_chunks, dtype, seed):
    # joined where n > k + k2, else as two products
    rng = np.random.default_rng(seed)
    a, a2, c = (rng.normal(size=(m, cols)).astype(dtype) for cols in (k, k2, n))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    (tn, tn2), sums = matmul_tn((a, a2), c, n_chunks, column_sums=True)
    assert tn.shape == (k, n) and tn2.shape == (k2, n) and tn.dtype == tn2.dtype == dtype
    np.testing.assert_allclose(tn, a.T.astype(np.float64) @ c, rtol=rtol, atol=rtol * m)
    np.testing.assert_allclose(tn2, a2.T.astype(np.float64) @ c, rtol=rtol, atol=rtol * m)
    np.testing.assert_array_equal(sums, matmul_tn(a, c, n_chunks, column_sums=True)[1])
    running = (rng.normal(size=(k, n)).astype(dtype), rng.normal(size=(k2, n)).astype(dtype))
    start = tuple(x.copy() for x in running)
    added = matmul_tn((a, a2), c, n_chunks, out=running)
    assert added[0] is running[0] and added[1] is running[1]
    np.testing.assert_array_equal(running[0], start[0] + tn)
    np.testing.assert_array_equal(running[1], start[1] + tn2)


@pytest.mark.parametrize("n_chunks", [1, 2, 3])
def test_outer_product_is_exact_and_writes_into_out(n_chunks):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 1)), rng.normal(size=(1, 9))
    out = np.full((50, 9), np.nan)
    assert matmul(a, b, n_chunks, out=out) is out
    np.testing.assert_array_equal(out, a * b)  # one product per element: nothing to round differently
    bias = rng.normal(size=9)
    assert matmul(a, b, n_chunks, out=out, bias=bias) is out
    np.testing.assert_array_equal(out, a * b + bias)
