"""The thread policy: how many threads a call uses, set by you or by the size of the work.

A call splits its batch into chunks of whole sequences, one per Numba thread
(:func:`chunks_for`), or runs on the calling thread, with no parallel code at
all, when there is one sequence, one thread, or too little work for a second
thread to pay for its start (:data:`MIN_PARALLEL_WORK`). While the
batch-parallel kernels run, every BLAS library is held to one thread: each
Numba thread calls BLAS for its own rows, and a multi-threaded BLAS would
oversubscribe the cores (and its idle workers spin, taking the cores from
Numba's).

On a machine shared with other work, or with one process per core (a sweep,
a process pool), give the package fewer threads::

    rn.set_num_threads(1)              # every later call, Numba's and BLAS's threads
    with rn.threads(1):                # only inside the block
        net.loss_and_grad(x, y)

After ``fork()``, a child process runs every call on one thread: GNU
OpenMP, Numba's threading layer on Linux, cannot start its threads in a
forked child (it would stop the process), and a process pool wants one
thread per process anyway. Start processes with ``spawn`` or
``forkserver`` to keep the threads.
"""

import contextlib
import os

import numba
from threadpoolctl import ThreadpoolController

#: Work, in multiply-adds of a call's products (T B G H (n_in + H)), below which a batch runs on one thread.
MIN_PARALLEL_WORK = 0

_BLAS = None
_limit = None  # set_num_threads
_forked = False


def _after_fork_in_child():
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n: int | None) -> None:
    """Use at most ``n`` threads in the package's calls (None: as many as Numba has).

    With ``n = 1`` every call runs on the calling thread, BLAS included.
    The limit holds for every thread of the process.

    Raises
    ------
    ValueError
        If ``n`` is not None or a positive integer.
    """
    global _limit
    _limit = _check(n)


def get_num_threads() -> int:
    """The number of threads a large batch would use now."""
    return 1 if _forked else min(numba.config.NUMBA_NUM_THREADS, _limit or numba.config.NUMBA_NUM_THREADS)


@contextlib.contextmanager
def threads(n: int | None):
    """Use at most ``n`` threads in the package's calls inside the block (see :func:`set_num_threads`)."""
    global _limit
    saved = _limit
    _limit = _check(n)
    try:
        yield
    finally:
        _limit = saved


def _check(n):
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer or None, got {n!r}")
    return n


def chunks_for(n_batch, work=None):
    """How many threads to split a batch over: one chunk of sequences per thread.

    Parameters
    ----------
    n_batch : int
    work : float, optional
        The call's multiply-adds, T B G H (n_in + H); below
        :data:`MIN_PARALLEL_WORK` the call stays on one thread.
    """
    if n_batch <= 1 or _forked or _limit == 1:  # without asking Numba, which takes a few microseconds
        return 1
    if work is not None and work < MIN_PARALLEL_WORK:
        return 1
    return min(numba.get_num_threads(), n_batch, _limit or n_batch)


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
    """The ``threads`` argument of the kernels for a call, with the thread pools set for it.

    Gives None (one thread: the calling one) or the number of chunks, with
    Numba's thread count set to it and BLAS on one thread for the block;
    with the package limited to one thread, BLAS too is held to one.
    (A class rather than a generator: a call at B = 1 takes tens of
    microseconds, and a generator-based context manager a few of them.)
    """

    def __init__(self, n_batch, work=None):
        self.n_chunks = chunks_for(n_batch, work)
        self.blas = single_threaded_blas() if self.n_chunks > 1 or _limit == 1 else None

    def __enter__(self):
        if self.blas is not None:
            self.blas.__enter__()
        if self.n_chunks == 1:
            return None
        self.saved = numba.get_num_threads()
        if self.n_chunks != self.saved:
            numba.set_num_threads(self.n_chunks)
        return self.n_chunks

    def __exit__(self, *exc):
        try:
            if self.n_chunks > 1 and self.n_chunks != self.saved:
                numba.set_num_threads(self.saved)
        finally:
            if self.blas is not None:
                self.blas.__exit__(*exc)
