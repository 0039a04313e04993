"""The row-split GEMMs against NumPy's, for every path (one chunk, several, an outer product)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_numba._linalg import matmul, matmul_tn, packs_steps, rows_matmul, step_weight


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
    assert sums.dtype == dtype and sums.shape == (n,)
    np.testing.assert_allclose(sums, c.astype(np.float64).sum(axis=0), rtol=rtol, atol=rtol * m)


@pytest.mark.parametrize("n_chunks", [1, 2])
def test_outer_product_is_exact_and_writes_into_out(n_chunks):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 1)), rng.normal(size=(1, 9))
    out = np.full((50, 9), np.nan)
    assert matmul(a, b, n_chunks, out=out) is out
    np.testing.assert_array_equal(out, a * b)  # one product per element: nothing to round differently
    bias = rng.normal(size=9)
    assert matmul(a, b, n_chunks, out=out, bias=bias) is out
    np.testing.assert_array_equal(out, a * b + bias)


@settings(deadline=None, max_examples=40)
@given(
    n_batch=st.integers(1, 9), k=st.integers(1, 12), n=st.integers(1, 12), packed=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16), data=st.data(),
)  # fmt: skip
def test_rows_matmul_writes_the_product_of_its_rows_only(n_batch, k, n, packed, dtype, seed, data):
    b0 = data.draw(st.integers(0, n_batch - 1))
    b1 = data.draw(st.integers(b0 + 1, n_batch))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_batch, k)).astype(dtype)
    w = rng.normal(size=(k, n)).astype(dtype)
    w_packed = step_weight(w, 2 if packed else 1)
    assert (w_packed.shape[0] > 0) == packed
    out = np.full((n_batch, n), np.nan, dtype=dtype)
    rows_matmul(x, w, w_packed, out, b0, b1)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out[b0:b1], x[b0:b1].astype(np.float64) @ w, rtol=rtol, atol=rtol * k)
    assert np.isnan(out[:b0]).all() and np.isnan(out[b1:]).all()


def test_steps_run_on_packed_weights_from_two_rows_per_thread():
    assert packs_steps(2) and packs_steps(16)
    assert not packs_steps(1)  # a matrix-vector product: BLAS was faster (rnn_numba._packed)
    w = np.arange(12.0).reshape(3, 4)
    assert step_weight(w, 1).shape == (0, 0, 0)
    assert step_weight(w, 2).shape == (1, 3, 8)
    np.testing.assert_array_equal(step_weight(w.T, 2)[0, :, :3], w.T)  # a transposed view is packed as its values
