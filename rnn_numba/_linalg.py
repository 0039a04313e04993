"""The GEMMs over all T*B rows, on Numba's threads.

Inside a batch-parallel computation BLAS is held to one thread (see
:func:`rnn_numba._jit.single_threaded_blas`), so these split the rows over
Numba's threads themselves, one single-threaded BLAS call per chunk. With
one chunk they are plain NumPy calls.
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
