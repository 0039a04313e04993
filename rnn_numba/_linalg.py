"""GEMMs split over Numba's threads.

Inside a batch-parallel computation BLAS is held to one thread (see
:func:`rnn_numba._jit.single_threaded_blas`), so these split the work over
Numba's threads themselves, one single-threaded BLAS call per chunk. The
GEMMs over all T*B rows split their rows; with one chunk they are plain
NumPy calls. The per-step recurrent GEMMs split their columns instead
(:func:`column_blocks`, :func:`_matmul_columns`): each thread then packs
only its own part of the weight matrix, which BLAS does at every call.
"""

import numpy as np
from numba import prange

from ._jit import jit_parallel_kernel


@jit_parallel_kernel
def _matmul_rows(a, b, out, n_chunks):
    """Out = a @ b, rows of ``a`` split into ``n_chunks``; a (M, K), b (K, N), out (M, N)."""
    m = a.shape[0]
    for chunk in prange(n_chunks):
        r0, r1 = chunk * m // n_chunks, (chunk + 1) * m // n_chunks
        np.dot(a[r0:r1], b, out[r0:r1])


@jit_parallel_kernel
def _matmul_tn_rows(a, b, partial, n_chunks):
    """partial[c] = a[rows_c].T @ b[rows_c]; a (M, K), b (M, N), partial (n_chunks, K, N)."""
    m = a.shape[0]
    for chunk in prange(n_chunks):
        r0, r1 = chunk * m // n_chunks, (chunk + 1) * m // n_chunks
        np.dot(a[r0:r1].T, b[r0:r1], partial[chunk])


@jit_parallel_kernel
def _matmul_columns(a, b_columns, out_columns, out):
    """Out = a @ b with b's columns split over threads; a (M, K), out (M, N).

    ``b_columns`` (n_chunks, K, N / n_chunks) holds b's column blocks (see
    :func:`column_blocks`); thread k computes a @ b_columns[k] into
    ``out_columns[k]`` (M, N / n_chunks) and copies it into its columns of ``out``.
    """
    n = b_columns.shape[2]
    for chunk in prange(b_columns.shape[0]):
        np.dot(a, b_columns[chunk], out_columns[chunk])
        for i in range(out.shape[0]):
            for j in range(n):
                out[i, chunk * n + j] = out_columns[chunk, i, j]


def columns_pay(b):
    """Whether a per-step GEMM by ``b`` is faster split over b's columns than over the batch.

    Only for float32 weights of at least 2**16 elements: measured for the
    speed issue (whole gradients, both splits in turns in one process, 2
    threads), the column split took 1.18x less time for an LSTM and 1.10x
    for a GRU at T = 200, B = 64, H = 512 and 1.03-1.12x for an LSTM at
    B = 32, H = 128 (W_hh 128 x 512), but 1.15x more for an Elman cell at
    B = 32, H = 128, 0.93-1.01x for a GRU there, about the same or more in
    float64, and up to 1.5x more at B = 4, H = 64.
    """
    return b.dtype == np.float32 and b.size >= 2**16


def column_blocks(b, n_chunks):
    """B's columns in ``n_chunks`` contiguous blocks for :func:`_matmul_columns`, if that split pays.

    Parameters
    ----------
    b : ndarray, shape (K, N)
    n_chunks : int

    Returns
    -------
    ndarray, shape (n_chunks, K, N / n_chunks), or None
        None when there is one chunk, N does not split evenly, or splitting
        the batch is as fast (see :func:`columns_pay`).
    """
    n_rows, n_cols = b.shape
    if n_chunks == 1 or n_cols % n_chunks or not columns_pay(b):
        return None
    return np.ascontiguousarray(b.reshape(n_rows, n_chunks, n_cols // n_chunks).transpose(1, 0, 2))


def matmul(a, b, n_chunks, out=None):
    """A @ b for 2-D C-contiguous arrays, over ``n_chunks`` threads.

    Parameters
    ----------
    a : ndarray, shape (M, K)
    b : ndarray, shape (K, N)
    n_chunks : int
    out : ndarray, shape (M, N), optional

    Returns
    -------
    ndarray, shape (M, N)
    """
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    if a.shape[1] == 1:
        # An outer product (a one-output readout's dL/dy @ W_hy.T): the same products as the GEMM,
        # which BLAS computes 2x-5x slower (measured here for 1000 x 64 to 12800 x 512 outputs).
        return np.multiply(a, b, out=out)
    if n_chunks == 1 or a.shape[0] < 2 * n_chunks:
        return np.matmul(a, b, out=out)
    _matmul_rows(a, np.ascontiguousarray(b), out, n_chunks)
    return out


def matmul_tn(a, b, n_chunks):
    """Return a.T @ b for 2-D C-contiguous arrays with many rows (a weight gradient), over ``n_chunks`` threads.

    Parameters
    ----------
    a : ndarray, shape (M, K)
    b : ndarray, shape (M, N)
    n_chunks : int

    Returns
    -------
    ndarray, shape (K, N)
        The per-thread partial products, summed in a fixed order.
    """
    if n_chunks == 1 or a.shape[0] < 2 * n_chunks:
        return a.T @ b
    partial = np.empty((n_chunks, a.shape[1], b.shape[1]), dtype=a.dtype)
    _matmul_tn_rows(a, b, partial, n_chunks)
    return partial.sum(axis=0)
