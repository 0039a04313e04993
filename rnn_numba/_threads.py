"""The thread policy: how many threads a call uses, set by you, by the size of the work and by the load.

A call splits its batch into chunks of whole sequences, one per Numba thread
(:func:`chunks_for`), or runs on the calling thread, with no parallel code at
all, when there is one sequence, one thread, or too little work for a second
thread to pay for its start (:data:`MIN_PARALLEL_WORK`). It uses only the
cores that other processes leave free when it starts
(:func:`_others_running`): a thread sharing a core with a busy process makes
the whole call wait for it at every parallel step. While the
batch-parallel kernels run, every BLAS library is held to one thread: each
Numba thread calls BLAS for its own rows, and a multi-threaded BLAS would
oversubscribe the cores (and its idle workers spin, taking the cores from
Numba's).

On a machine shared with other work, or with one process per core (a sweep,
a process pool), give the package fewer threads::

    rn.set_num_threads(1)              # every later call, Numba's and BLAS's threads
    with rn.threads(1):                # only inside the block
        net.loss_and_grad(x, y)

Numba's threads (GNU OpenMP on Linux) wait for work by spinning, 300,000
rounds by default, before they sleep: on a busy machine a spinning thread
takes the core from the one it waits for. The package starts Numba's
threads with ``GOMP_SPINCOUNT`` = :data:`SPIN_COUNT` (unless you set it),
which covers the short gaps between the parallel steps of one call and
lets the threads sleep soon after it (measured at T = 1000, B = 32: the
same time on an idle machine, 1.6x instead of 2.4x beside one busy process
and 1.9x instead of 5x beside two; see the documentation's threads page).

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
#: Measured on the 2-core AMD EPYC (2026-12-07, full-BPTT gradients): two threads broke even with one at about
#: 4e6 (Elman, float32) and 1.5e6 (LSTM, float64); below, one thread was up to 3x faster (docs: threads page).
MIN_PARALLEL_WORK = 3_000_000

#: Rounds a GNU OpenMP thread spins before it sleeps (GOMP_SPINCOUNT, 300,000 by default: about a millisecond).
SPIN_COUNT = 3000

#: Multiply-adds of a GEMM from which OpenBLAS runs it on several threads (its SMP_THRESHOLD_MIN, 65536, times
#: GEMM_MULTITHREAD_THRESHOLD, 4): a one-thread call with at least this much work holds BLAS to one thread too.
BLAS_THREADED_WORK = 65536 * 4

_BLAS = None
_launched = False
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


def _launch_numba_threads():
    """Start Numba's thread pool with GOMP_SPINCOUNT = SPIN_COUNT (unless set), leaving the environment as it was.

    GNU OpenMP reads the variable once, when it is loaded; Numba loads it
    when its threads first start. (If another library has loaded it
    already, its setting stays.)
    """
    global _launched
    _launched = True
    user_set = "GOMP_SPINCOUNT" in os.environ
    if not user_set:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    try:
        from numba.np.ufunc import parallel

        parallel._launch_threads()
    finally:
        if not user_set:
            del os.environ["GOMP_SPINCOUNT"]


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
    if not _launched:
        _launch_numba_threads()  # before anything asks Numba, which starts its threads
    n_chunks = min(numba.get_num_threads(), n_batch, _limit or n_batch)
    if n_chunks > 1 and ADAPT_TO_LOAD:
        n_chunks = max(1, min(n_chunks, _CPUS - _others_running()))
    return n_chunks


#: Use only the cores that other processes leave free at the start of a call (see :func:`_others_running`).
ADAPT_TO_LOAD = True
_CPUS = os.cpu_count() or 1


def _others_running():
    """Threads of other processes running or ready to run now, machine-wide (0 if unknown).

    The fourth field of ``/proc/loadavg`` counts the runnable threads now
    (this one included); this process's own runnable threads (a BLAS or
    OpenMP worker still spinning after the last call, say) are subtracted.
    A parallel call whose threads share cores with other busy threads waits
    for a time slice at every barrier; with the cores that are free it does
    not.
    """
    try:
        with open("/proc/loadavg", "rb") as file:
            running = int(file.read().split()[3].split(b"/")[0])
        if running <= 1:
            return 0
        own = 0
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/stat", "rb") as file:
                stat = file.read()
            own += stat[stat.rindex(b")") + 2] == ord("R")  # the state follows the command's name in parentheses
        return max(running - own, 0)
    except (OSError, ValueError, IndexError):  # not Linux, or a task that ended while we looked
        return 0


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
    on one thread, BLAS too is held to one when the call has GEMMs large
    enough for it to thread (:data:`BLAS_THREADED_WORK`).
    (A class rather than a generator: a call at B = 1 takes tens of
    microseconds, and a generator-based context manager a few of them.)
    """

    def __init__(self, n_batch, work=None):
        self.n_chunks = chunks_for(n_batch, work)
        # A one-thread call whose GEMMs OpenBLAS would thread holds it to one thread as well: its idle threads spin
        # and, beside another busy process, took the core from the call (5-10x slower at T = 1000, B = 1).
        big = work is None or work >= BLAS_THREADED_WORK
        self.blas = single_threaded_blas() if self.n_chunks > 1 or _limit == 1 or big else None

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
