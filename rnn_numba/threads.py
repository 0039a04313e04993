"""The thread policy: how many Numba threads a call uses, and BLAS kept to one thread meanwhile.

A call splits its batch into chunks of whole sequences, one per Numba thread
(:func:`batch_chunks`); a single sequence, or a single Numba thread, runs on
the calling thread and compiles no parallel code (``threads=None`` in the
kernels). While the batch-parallel kernels run, every BLAS library is held to
one thread: each Numba thread calls BLAS for its own rows, and a
multi-threaded BLAS would oversubscribe the cores (and its idle workers spin,
taking the cores from Numba's).
"""

import contextlib

import numba
from threadpoolctl import ThreadpoolController

_BLAS = None


def batch_chunks(n_batch):
    """How many threads to split a batch over: one chunk of sequences per thread."""
    if n_batch <= 1:  # without asking Numba, which takes a few microseconds
        return 1
    return min(numba.get_num_threads(), n_batch)


@contextlib.contextmanager
def single_threaded_blas(active=True):
    """Run the block with every BLAS library on one thread (nothing changes if not ``active``)."""
    global _BLAS
    if not active:
        yield
        return
    if _BLAS is None:
        import scipy.linalg.cython_blas  # noqa: F401  (the BLAS behind Numba's np.dot, loaded before we look)

        _BLAS = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
    saved = [lib.num_threads for lib in _BLAS]
    for lib in _BLAS:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(_BLAS, saved, strict=True):
            lib.set_num_threads(n)


class threads_for:  # noqa: N801  (used as a function: ``with threads_for(n_batch) as threads``)
    """The ``threads`` argument of the kernels for a batch of ``n_batch`` sequences, with the pools set for it.

    Gives None (one thread: the calling one) or the number of chunks, with
    Numba's thread count set to it and BLAS on one thread for the block.
    (A class rather than a generator: a call at B = 1 takes tens of
    microseconds, and a generator-based context manager a few of them.)
    """

    def __init__(self, n_batch):
        self.n_chunks = batch_chunks(n_batch)

    def __enter__(self):
        if self.n_chunks == 1:
            return None
        self.saved = numba.get_num_threads()
        if self.n_chunks != self.saved:
            numba.set_num_threads(self.n_chunks)
        self.blas = single_threaded_blas()
        self.blas.__enter__()
        return self.n_chunks

    def __exit__(self, *exc):
        if self.n_chunks == 1:
            return
        try:
            self.blas.__exit__(*exc)
        finally:
            if self.n_chunks != self.saved:
                numba.set_num_threads(self.saved)
