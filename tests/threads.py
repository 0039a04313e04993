"""Test helper: run a block with a given number of Numba threads."""

import contextlib

import numba

from rnn_numba import _threads as threads


@contextlib.contextmanager
def numba_threads(n):
    """Numba's thread count set to ``n`` inside the block, restored after it.

    With ``n > 1`` even the tests' small problems take the parallel kernels
    (no work threshold).
    """
    saved, saved_threshold = numba.get_num_threads(), threads.MIN_PARALLEL_WORK
    numba.set_num_threads(n)
    if n > 1:
        threads.MIN_PARALLEL_WORK = 0
    try:
        yield
    finally:
        numba.set_num_threads(saved)
        threads.MIN_PARALLEL_WORK = saved_threshold
