"""Test helper: run a block with a given number of Numba threads."""

import contextlib

import numba


@contextlib.contextmanager
def numba_threads(n):
    """Numba's thread count set to ``n`` inside the block, restored after it."""
    saved = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(saved)
