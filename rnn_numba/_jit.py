"""The one place where Numba options are decided.

Every kernel in the package is decorated with :func:`jit_kernel`; no other
module passes options to Numba. Policy:

- ``cache=True``: compiled kernels are written to ``__pycache__`` so that only
  the first run on a machine pays the compile time.
- ``nogil=True``: kernels release the GIL, so a caller may run independent
  sequences in threads.
- ``error_model="numpy"``: division by zero gives Inf/NaN like NumPy instead
  of raising inside a kernel (inputs are validated before any kernel runs).
- ``fastmath``: only ``contract`` (fused multiply-add). The ``nnan``/``ninf``
  flags are never set: a gradient check must be able to see a NaN.
- ``inline="always"`` only for what the time loops call at every step: the
  cells' step functions, their dispatch and the row helpers of the backward
  recursion (:func:`jit_step_kernel`).
- The time loops work on :func:`borrowed` arrays (their own arguments), whose
  views are not reference-counted.
"""

import contextlib
import hashlib
from pathlib import Path

import numba
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from threadpoolctl import ThreadpoolController

FASTMATH = frozenset({"contract"})
PACKAGE = Path(__file__).resolve().parent


def jit_kernel(func):
    """Compile ``func`` as an rnn_numba kernel with the package's Numba policy."""
    return numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=set(FASTMATH))(func)


def jit_step_kernel(func):
    """Like :func:`jit_kernel`, inlined by Numba into every kernel that calls it.

    For the small functions called at every time step with many array
    views: as calls, with the views passed and reference-counted at each
    step, they cost more than the step's arithmetic when the batch is one
    sequence. Measured here in one process, inlined against called: the
    float32 Elman recursions at T = 100, B = 1, H = 32 took 25 against 37 us
    forward and 26 against 33 us backward, a whole gradient at B = 1 1.02x-1.16x
    less time (all cells, both dtypes), at B = 32 the same; compiling every
    kernel took 122 s instead of 99.
    """
    return numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=set(FASTMATH), inline="always")(func)


def jit_parallel_kernel(func):
    """Like :func:`jit_kernel`, with ``prange`` loops run on Numba's threads."""
    return numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=set(FASTMATH), parallel=True)(func)


def batch_chunks(n_batch):
    """How many threads to split a batch over: one chunk of sequences per thread."""
    if n_batch <= 1:  # without asking Numba, which costs about 2 us, a share of a call at B = 1
        return 1
    return min(numba.get_num_threads(), n_batch)


@intrinsic
def borrowed(typingctx, *arrays):
    """The arrays without their reference count, for a time loop: ``h, c = borrowed(h, c)``.

    Every view a kernel takes (``h[t]``, ``d_a[t]``) and every array it
    passes to a call increments and later decrements the array's reference
    count, each an atomic instruction that waits for the pending stores: at
    B = 1 about a third of a gradient's compiled time went to them. A
    borrowed array has no memory-info, so its views count nothing. Borrow
    only a function's own arguments, which its caller holds for the whole
    call, and never return or store a borrowed array.
    """
    if len(arrays) == 1 and isinstance(arrays[0], types.StarArgTuple):
        arrays = tuple(arrays[0].types)  # Numba hands the arguments over as one tuple
    if not arrays or not all(isinstance(a, types.Array) for a in arrays):
        return None
    result = arrays[0] if len(arrays) == 1 else types.Tuple(arrays)

    def codegen(context, builder, signature, args):
        views = []
        for array_type, value in zip(arrays, cgutils.unpack_tuple(builder, args[0]), strict=True):
            view = context.make_array(array_type)(context, builder, value=value)
            view.meminfo = cgutils.get_null_value(view.meminfo.type)
            view.parent = cgutils.get_null_value(view.parent.type)
            views.append(view._getvalue())
        return views[0] if len(views) == 1 else context.make_tuple(builder, result, views)

    return result(types.StarArgTuple(arrays)), codegen


_BLAS = None


@contextlib.contextmanager
def single_threaded_blas(active=True):
    """Run the block with every BLAS library on one thread.

    Inside the parallel kernels each Numba thread calls BLAS for its own
    small per-step GEMMs; a multi-threaded BLAS would then oversubscribe the
    cores (measured here: a 32 x 128 by 128 x 128 step took twice as long
    with OpenBLAS on 2 threads as on 1).
    """
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


def _sources_digest(package=PACKAGE):
    """A hash of every Python source below ``package``."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def invalidate_stale_cache(package=PACKAGE):
    """Delete the package's cached kernels if any source file changed since they were written.

    Numba keys a cached kernel on the file that defines it, not on the files
    of the kernels it calls and inlines: after an edit to a cell module (or
    an upgrade), a driver kernel would load stale inlined cell code from its
    cache. A digest of all sources, kept beside the cache, catches that.
    Caches elsewhere (NUMBA_CACHE_DIR, read-only installs) are left alone.
    """
    digest = _sources_digest(package)
    stamp = package / "__pycache__" / "numba_sources.sha256"
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return
        for pattern in ("*.nbi", "*.nbc"):
            for path in package.rglob(f"__pycache__/{pattern}"):
                path.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass  # a read-only install: Numba keeps its cache elsewhere


invalidate_stale_cache()
