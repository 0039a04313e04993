"""The GEMMs over all T*B rows: one BLAS call, or split over Numba's threads.

With ``threads=None`` a product is one NumPy (BLAS) call. With ``threads=n``
(a batch-parallel computation, during which BLAS is held to one thread; see
:func:`rnn_numba._threads.threads_for`) the rows are split into ``n`` chunks,
one single-threaded BLAS call per chunk on Numba's threads.

The per-step products of the recursions, a thread's few rows times W_hh, are
in :mod:`rnn_numba._kernels.packed`.
"""

import numpy as np
from numba import prange

from .jit import jit_kernel, jit_parallel_kernel, jit_step_kernel


@jit_kernel
def matmul(a, b, out, bias, threads):
    """Out = a @ b (+ bias) for 2-D C-contiguous a (M, K), b (K, N), out (M, N); bias (N,) or (0,).

    With K = 1 (a one-output readout's dL/dy @ W_hy.T) the product is an
    outer product, written as one: BLAS computes it several times slower.
    """
    if not isinstance(threads, int) or threads == 1 or a.shape[0] < 2 * threads:
        if a.shape[1] == 1:
            _outer_rows(a, b, out, 0, a.shape[0])
        else:
            np.dot(a, b, out)
    elif a.shape[1] == 1:
        _outer_parallel(a, b, out, threads)
    else:
        _matmul_parallel(a, b, bias, out, threads)
        return
    if bias.shape[0] > 0:
        _add_to_rows(out, bias, 0, out.shape[0])


@jit_kernel
def matmul_tn(a, a2, b, out, out2, sums, accumulate, threads):
    """Weight gradients: ``out (+)= a.T @ b``, ``out2 (+)= a2.T @ b``, ``sums (+)= b.sum(axis=0)``.

    Parameters
    ----------
    a : ndarray, shape (M, K)
    a2 : ndarray, shape (M, K2), or None
        A second left factor over the same rows. Where ``b`` has more
        columns than the two together (N > K + K2), each thread joins its
        rows of ``a`` and ``a2`` side by side and takes one product, so that
        BLAS reads and packs ``b`` once (joining copies M (K + K2) numbers,
        packing ``b`` again costs M N).
    b : ndarray, shape (M, N)
    out : ndarray, shape (K, N)
    out2 : ndarray, shape (K2, N), or None (with ``a2``)
    sums : ndarray, shape (N,) or (0,)
        A bias gradient, the column sums of ``b``; skipped if empty.
    accumulate : bool
        Add to ``out``, ``out2`` and ``sums`` (a gradient summed over blocks
        of rows) instead of writing them.
    threads : int or None
    """
    if not isinstance(threads, int) or threads == 1 or b.shape[0] < 2 * threads:
        _matmul_tn_serial(a, b, out, accumulate)
        if a2 is not None:
            _matmul_tn_serial(a2, b, out2, accumulate)
        if sums.shape[0] > 0:
            _column_sums(b, 0, b.shape[0], sums, accumulate)
    elif a2 is None:
        _matmul_tn_parallel(a, None, b, out, None, sums, accumulate, threads)
    elif b.shape[1] <= a.shape[1] + a2.shape[1]:  # narrow deltas: two products cost less than joining the inputs
        _matmul_tn_parallel(a, None, b, out, None, sums, accumulate, threads)
        _matmul_tn_parallel(a2, None, b, out2, None, sums[:0], accumulate, threads)
    else:
        _matmul_tn_parallel(a, a2, b, out, out2, sums, accumulate, threads)


@jit_step_kernel
def _matmul_tn_serial(a, b, out, accumulate):
    """Out (+)= a.T @ b, one BLAS call."""
    if accumulate:
        product = np.dot(a.T, b)
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                out[i, j] += product[i, j]
    else:
        np.dot(a.T, b, out)


@jit_kernel
def _matmul_tn_parallel(a, a2, b, out, out2, sums, accumulate, n_chunks):
    """:func:`matmul_tn` over ``n_chunks`` threads: per-thread partial products, summed in a fixed order."""
    k = a.shape[1]
    if a2 is not None:
        k += a2.shape[1]
    partial = np.empty((n_chunks, k, b.shape[1]), dtype=b.dtype)
    partial_sums = np.empty((n_chunks, sums.shape[0]), dtype=b.dtype)
    if a2 is None:
        _matmul_tn_rows(a, None, None, b, partial, partial_sums, n_chunks)
    else:
        _matmul_tn_rows(a, a2, np.empty((b.shape[0], k), dtype=b.dtype), b, partial, partial_sums, n_chunks)
    _sum_chunks(partial, np.int64(0), out, accumulate, n_chunks)
    if out2 is not None:
        _sum_chunks(partial, np.int64(a.shape[1]), out2, accumulate, n_chunks)
    for j in range(sums.shape[0]):
        total = partial_sums[0, j]
        for chunk in range(1, n_chunks):
            total += partial_sums[chunk, j]
        sums[j] = sums[j] + total if accumulate else total


@jit_parallel_kernel
def _matmul_parallel(a, b, bias, out, n_chunks):
    """Out = a @ b (+ bias), rows of ``a`` split into ``n_chunks``; a (M, K), b (K, N), bias (N,) or (0,)."""
    m = a.shape[0]
    for chunk in prange(n_chunks):
        r0, r1 = chunk * m // n_chunks, (chunk + 1) * m // n_chunks
        np.dot(a[r0:r1], b, out[r0:r1])
        if bias.shape[0] > 0:
            _add_to_rows(out, bias, r0, r1)


@jit_parallel_kernel
def _matmul_tn_rows(a, a2, joined, b, partial, partial_sums, n_chunks):
    """partial[c] = [a | a2][rows_c].T @ b[rows_c], partial_sums[c] = b[rows_c].sum(0) (if not empty).

    a (M, K), a2 (M, K2) or None, b (M, N), partial (n_chunks, K + K2, N),
    partial_sums (n_chunks, N) or (n_chunks, 0). With ``a2``, each thread
    copies its rows of a and a2 side by side into ``joined`` (M, K + K2), so
    that its rows of b take part in one product.
    """
    m, k = a.shape
    for chunk in prange(n_chunks):
        r0, r1 = chunk * m // n_chunks, (chunk + 1) * m // n_chunks
        if a2 is None:
            np.dot(a[r0:r1].T, b[r0:r1], partial[chunk])
        else:
            for r in range(r0, r1):  # joined[r] = [a[r] | a2[r]]
                for j in range(k):
                    joined[r, j] = a[r, j]
                for j in range(a2.shape[1]):
                    joined[r, k + j] = a2[r, j]
            np.dot(joined[r0:r1].T, b[r0:r1], partial[chunk])
        if partial_sums.shape[1] > 0:
            _column_sums(b, r0, r1, partial_sums[chunk], False)


@jit_parallel_kernel
def _sum_chunks(partial, row0, out, accumulate, n_chunks):
    """Out (+)= partial[0, rows] + partial[1, rows] + ... for rows = row0 .. row0 + K - 1, split over threads.

    partial (C, K_all, N), out (K, N). The chunks are summed in order and the
    total then added to the output: the same rounding as
    ``out + partial.sum(axis=0)``.
    """
    n_rows = out.shape[0]
    for chunk in prange(n_chunks):
        for r in range(chunk * n_rows // n_chunks, (chunk + 1) * n_rows // n_chunks):
            total = partial[0, row0 + r]  # a view: partial is overwritten
            for c in range(1, partial.shape[0]):
                other = partial[c, row0 + r]
                for j in range(total.shape[0]):
                    total[j] += other[j]
            out_r = out[r]
            for j in range(total.shape[0]):
                out_r[j] = out_r[j] + total[j] if accumulate else total[j]


@jit_parallel_kernel
def _outer_parallel(a, b, out, n_chunks):
    """Out = a @ b for a (M, 1) and b (1, N), rows split into ``n_chunks``."""
    m = a.shape[0]
    for chunk in prange(n_chunks):
        _outer_rows(a, b, out, chunk * m // n_chunks, (chunk + 1) * m // n_chunks)


@jit_step_kernel
def _outer_rows(a, b, out, r0, r1):
    """out[r0:r1] = a[r0:r1] @ b for a (M, 1) and b (1, N): an outer product."""
    for r in range(r0, r1):
        a_r, out_r = a[r, 0], out[r]
        for j in range(b.shape[1]):
            out_r[j] = a_r * b[0, j]


@jit_step_kernel
def _add_to_rows(x, v, r0, r1):
    """x[r0:r1] += v for x (M, N), v (N,)."""
    for r in range(r0, r1):
        x_r = x[r]
        for j in range(v.shape[0]):
            x_r[j] += v[j]


@jit_step_kernel
def _column_sums(x, r0, r1, out, accumulate):
    """Out (+)= x[r0:r1].sum(axis=0) for x (M, N), out (N,), row after row as NumPy sums that axis.

    A loop: Numba's own ``x.sum(axis=0)`` is several times slower.
    """
    if not accumulate:
        out[:] = 0
    for r in range(r0, r1):
        x_r = x[r]
        for j in range(out.shape[0]):
            out[j] += x_r[j]
