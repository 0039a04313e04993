"""The GEMMs over all T*B rows, on Numba's threads.

Inside a batch-parallel computation BLAS is held to one thread (see
:func:`rnn_numba._jit.single_threaded_blas`), so these split the rows over
Numba's threads themselves, one single-threaded BLAS call per chunk. With
one chunk they are plain NumPy calls.

The per-step products of the recursions, a thread's few rows times W_hh, are
in :mod:`rnn_numba._packed`.
"""

import numpy as np
from numba import prange

from ._jit import jit_kernel, jit_parallel_kernel


@jit_parallel_kernel
def _matmul_rows(a, b, bias, out, n_chunks):
    """Out = a @ b (+ bias), rows of ``a`` split into ``n_chunks``; a (M, K), b (K, N), bias (N,) or (0,)."""
    m = a.shape[0]
    for chunk in prange(n_chunks):
        r0, r1 = chunk * m // n_chunks, (chunk + 1) * m // n_chunks
        np.dot(a[r0:r1], b, out[r0:r1])
        if bias.shape[0] > 0:
            _add_to_rows(out, bias, r0, r1)


@jit_parallel_kernel
def _matmul_tn_rows(a, a2, b, joined, partial, partial_sums, n_chunks):
    """partial[c] = [a | a2][rows_c].T @ b[rows_c], partial_sums[c] = b[rows_c].sum(0) (if not empty).

    a (M, K), a2 (M, K2) with K2 possibly 0, b (M, N), partial (n_chunks, K
    + K2, N), partial_sums (n_chunks, N) or (n_chunks, 0). Each thread copies
    its rows of a and a2 side by side into ``joined`` (M, K + K2; unused if
    K2 is 0), so that its rows of b take part in one product.
    """
    m, k = a.shape
    for chunk in prange(n_chunks):
        r0, r1 = chunk * m // n_chunks, (chunk + 1) * m // n_chunks
        if a2.shape[1] == 0:
            np.dot(a[r0:r1].T, b[r0:r1], partial[chunk])
        else:
            rows = joined[r0:r1]
            rows[:, :k] = a[r0:r1]
            rows[:, k:] = a2[r0:r1]
            np.dot(rows.T, b[r0:r1], partial[chunk])
        if partial_sums.shape[1] > 0:
            _column_sums(b, r0, r1, partial_sums[chunk])


@jit_parallel_kernel
def _sum_chunks(partial, out, out2, accumulate, n_chunks):
    """Sum the chunks, [out; out2] = partial[0] + partial[1] + ... (added if ``accumulate``), rows split.

    partial (C, K + K2, N) is overwritten; out (K, N), out2 (K2, N) (K2 may
    be 0). The chunks are summed in order and the total then added to the
    output: the same rounding as ``out + partial.sum(axis=0)``.
    """
    n_rows, k = partial.shape[1], out.shape[0]
    for chunk in prange(n_chunks):
        for r in range(chunk * n_rows // n_chunks, (chunk + 1) * n_rows // n_chunks):
            total = partial[0, r]
            for c in range(1, partial.shape[0]):
                total += partial[c, r]
            target = out[r] if r < k else out2[r - k]
            if accumulate:
                target += total
            else:
                target[:] = total


@jit_parallel_kernel
def _outer_rows(a, b, out, n_chunks):
    """Out = a @ b for a (M, 1) and b (1, N), an outer product, rows of ``a`` split into ``n_chunks``."""
    m = a.shape[0]
    for chunk in prange(n_chunks):
        for r in range(chunk * m // n_chunks, (chunk + 1) * m // n_chunks):
            a_r, out_r = a[r, 0], out[r]
            for j in range(b.shape[1]):
                out_r[j] = a_r * b[0, j]


@jit_kernel
def _add_to_rows(x, v, r0, r1):
    """x[r0:r1] += v for x (M, N), v (N,)."""
    for r in range(r0, r1):
        x_r = x[r]
        for j in range(v.shape[0]):
            x_r[j] += v[j]


@jit_kernel
def _column_sums(x, r0, r1, out):
    """Write x[r0:r1].sum(axis=0) into ``out`` (N,) for x (M, N), row after row as NumPy sums that axis.

    A loop: Numba's own ``x.sum(axis=0)`` took 2.6x-5.9x longer here (100 x 32
    and 1000 x 64 arrays).
    """
    out[:] = 0
    for r in range(r0, r1):
        x_r = x[r]
        for j in range(out.shape[0]):
            out[j] += x_r[j]


def matmul(a, b, n_chunks, out=None, bias=None):
    """A @ b (+ bias) for 2-D C-contiguous arrays, over ``n_chunks`` threads.

    Parameters
    ----------
    a : ndarray, shape (M, K)
    b : ndarray, shape (K, N)
    n_chunks : int
    out : ndarray, shape (M, N), optional
    bias : ndarray, shape (N,), optional
        Added to every row, by each thread to its own rows while they are in its cache.

    Returns
    -------
    ndarray, shape (M, N)
    """
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    if a.shape[1] == 1:
        # An outer product (a one-output readout's dL/dy @ W_hy.T): the same products as the GEMM,
        # which BLAS computes 2x-5x slower (measured here for 1000 x 64 to 12800 x 512 outputs).
        if n_chunks == 1:
            np.multiply(a, b, out=out)
        else:
            _outer_rows(a, b, out, n_chunks)
    elif n_chunks == 1 or a.shape[0] < 2 * n_chunks:
        np.matmul(a, b, out=out)
    else:
        no_bias = np.empty(0, dtype=a.dtype)
        _matmul_rows(a, np.ascontiguousarray(b), no_bias if bias is None else bias, out, n_chunks)
        return out
    if bias is not None:
        out += bias
    return out


def matmul_tn(a, b, n_chunks, column_sums=False, out=None):
    """Return a.T @ b for 2-D C-contiguous arrays with many rows (a weight gradient), over ``n_chunks`` threads.

    Parameters
    ----------
    a : ndarray, shape (M, K), or a pair of them, shapes (M, K1) and (M, K2)
        A pair gives the pair (a1.T @ b, a2.T @ b). Where ``b`` has more
        columns than the pair together (N > K1 + K2), as one product of
        their columns side by side (each thread joins its own rows), so that
        BLAS reads and packs ``b`` once: joining copies M (K1 + K2) numbers,
        packing ``b`` again costs M N. Measured here (float32 LSTM, one
        process) 1.025x-1.06x faster gradients; an Elman cell at T = 200,
        B = 64, H = 512 (N = 512 < 768) 0.98x.
    b : ndarray, shape (M, N)
    n_chunks : int
    column_sums : bool
        Also return b.sum(axis=0) (a bias gradient), summed by each thread
        over its own rows after its product.
    out : ndarray, shape (K, N), or a pair like ``a``, optional
        Add the product to ``out`` (a gradient summed over blocks of rows)
        and return it.

    Returns
    -------
    product : ndarray, shape (K, N), or a pair
        The per-thread partial products, summed in a fixed order by the
        threads (each over its share of the K rows).
    sums : ndarray, shape (N,)
        Only if ``column_sums``.
    """
    pair = isinstance(a, tuple)
    if pair and b.shape[1] <= a[0].shape[1] + a[1].shape[1]:
        first = matmul_tn(a[0], b, n_chunks, column_sums, None if out is None else out[0])
        second = matmul_tn(a[1], b, n_chunks, False, None if out is None else out[1])
        return ((first[0], second), first[1]) if column_sums else (first, second)
    a1, a2 = a if pair else (a, a[:, :0])
    if out is None:
        out = tuple(np.empty((x.shape[1], b.shape[1]), dtype=b.dtype) for x in (a1, a2))
        accumulate = False
    else:
        out = out if pair else (out, out[:0])
        accumulate = True
    if n_chunks == 1 or b.shape[0] < 2 * n_chunks:
        for x, product in zip((a1, a2), out, strict=True):
            if accumulate:
                product += x.T @ b
            else:
                np.matmul(x.T, b, out=product)
        sums = b.sum(axis=0) if column_sums else None
    else:
        k = a1.shape[1] + a2.shape[1]
        joined = np.empty((b.shape[0], k if a2.shape[1] else 0), dtype=b.dtype)
        partial = np.empty((n_chunks, k, b.shape[1]), dtype=b.dtype)
        partial_sums = np.empty((n_chunks, b.shape[1] if column_sums else 0), dtype=b.dtype)
        _matmul_tn_rows(a1, a2, b, joined, partial, partial_sums, n_chunks)
        _sum_chunks(partial, out[0], out[1], accumulate, n_chunks)
        sums = partial_sums.sum(axis=0) if column_sums else None
    product = out if pair else out[0]
    return (product, sums) if column_sums else product
