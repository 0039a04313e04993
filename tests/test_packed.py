"""The packed per-step GEMM against NumPy in float64: every row count, edge panels, K blocks, NaN and Inf."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_numba._kernels.packed import K_BLOCK, MR, VECTOR_BYTES, pack, packed_matmul

DTYPES = st.sampled_from([np.float32, np.float64])


def panel_width(dtype):
    """NR: two of the CPU's vectors (16 float32 with AVX2, 32 with AVX-512)."""
    return 2 * VECTOR_BYTES // np.dtype(dtype).itemsize


#: Columns for up to five panels, the last one cut short, in either dtype.
MAX_COLUMNS = 4 * panel_width(np.float32) + 11


@settings(deadline=None)
@given(k=st.integers(1, 9), n=st.integers(1, MAX_COLUMNS), dtype=DTYPES, seed=st.integers(0, 2**16))
def test_pack_lays_out_panels_of_columns_and_pads_with_zeros(k, n, dtype, seed):
    w = np.random.default_rng(seed).normal(size=(k, n)).astype(dtype)
    width = panel_width(dtype)
    packed = pack(w)
    n_panels = -(-n // width)
    assert packed.shape == (n_panels, k, width) and packed.dtype == dtype
    padded = np.zeros((k, n_panels * width), dtype=dtype)
    padded[:, :n] = w
    for p in range(n_panels):
        np.testing.assert_array_equal(packed[p], padded[:, p * width : (p + 1) * width])
    np.testing.assert_array_equal(pack(w.T), pack(np.ascontiguousarray(w.T)))  # a transposed view: its values


@settings(deadline=None, max_examples=60)
@given(
    n_batch=st.integers(1, 3 * MR + 2), k=st.sampled_from([1, 2, 7, 33, K_BLOCK, K_BLOCK + 5, 2 * K_BLOCK + 1]),
    n=st.integers(1, MAX_COLUMNS), dtype=DTYPES, seed=st.integers(0, 2**16), accumulate=st.booleans(),
    data=st.data(),
)  # fmt: skip
def test_packed_matmul_writes_or_adds_the_product_of_its_rows_only(n_batch, k, n, dtype, seed, accumulate, data):
    # Rows from 1 to 3 blocks and a remainder (split into blocks of 4, 2 and 1 rows; 1 and 2 rows in blocks of up
    # to 4 and 2 panels), up to 5 panels with a last one cut short, one to three K blocks.
    b0 = data.draw(st.integers(0, n_batch - 1))
    b1 = data.draw(st.integers(b0 + 1, n_batch))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_batch, k)).astype(dtype)
    w = rng.normal(size=(k, n)).astype(dtype)
    before = rng.normal(size=(n_batch, n)).astype(dtype)
    out = before.copy() if accumulate else np.full((n_batch, n), np.nan, dtype=dtype)
    out[:b0] = out[b1:] = np.nan
    packed_matmul(x, pack(w), out, b0, b1, accumulate)
    expected = x[b0:b1].astype(np.float64) @ w.astype(np.float64)
    scale = np.abs(x[b0:b1]).astype(np.float64) @ np.abs(w)  # bounds the rounding error of any summation order
    if accumulate:
        expected += before[b0:b1]
        scale += np.abs(before[b0:b1])
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(out[b0:b1] - expected) <= 2 * (k + 1) * eps * scale + np.finfo(dtype).tiny)
    assert np.isnan(out[:b0]).all() and np.isnan(out[b1:]).all()


@given(dtype=DTYPES, row=st.integers(0, 8), col=st.integers(0, 20), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_a_non_finite_input_reaches_exactly_the_outputs_it_touches(dtype, row, col, bad):
    # x (9, 21) @ w (21, 19): a bad x[row, col] makes row `row` non-finite where w[col] is non-zero, nowhere else.
    rng = np.random.default_rng(row * 31 + col)
    x = rng.uniform(1, 2, size=(9, 21)).astype(dtype)
    w = rng.uniform(1, 2, size=(21, 19)).astype(dtype)
    w[col, ::3] = 0
    x[row, col] = bad
    out = np.zeros((9, 19), dtype=dtype)
    packed_matmul(x, pack(w), out, 0, 9, False)
    with np.errstate(invalid="ignore"):
        expected = x.astype(np.float64) @ w.astype(np.float64)
    np.testing.assert_array_equal(np.isfinite(out), np.isfinite(expected))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))


def test_an_empty_inner_dimension_writes_zeros():
    for dtype in (np.float32, np.float64):
        out = np.full((5, 3), np.nan, dtype=dtype)
        packed_matmul(np.empty((5, 0), dtype=dtype), pack(np.empty((0, 3), dtype=dtype)), out, 1, 4, False)
        np.testing.assert_array_equal(out[1:4], 0)
        assert np.isnan(out[0]).all() and np.isnan(out[4]).all()


def test_vector_width_follows_the_cpu_numba_compiles_for(monkeypatch):
    import llvmlite.binding
    import numba

    from rnn_numba._kernels.packed import vector_bytes

    has_avx512 = llvmlite.binding.get_host_cpu_features().get("avx512f", False)
    assert vector_bytes() == (64 if has_avx512 else 32) == VECTOR_BYTES
    monkeypatch.setattr(numba.config, "CPU_NAME", "generic")  # a portable build: no 512-bit registers assumed
    assert vector_bytes() == 32
