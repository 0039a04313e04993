"""The one place where Numba options are decided.

Every kernel in the package is decorated with :func:`jit_kernel`,
:func:`jit_step_kernel` or :func:`jit_parallel_kernel`; no other module
passes options to Numba. Policy:

- Cached: compiled kernels are written to disk so that only the first run
  on a machine pays the compile time, in a folder keyed on a digest of the
  package's sources (:mod:`rnn_numba._kernels.cache`), never beside them.
- ``nogil=True``: kernels release the GIL, so a caller may run independent
  sequences in threads.
- ``error_model="numpy"``: division by zero gives Inf/NaN like NumPy instead
  of raising inside a kernel (inputs are validated before any kernel runs).
- ``fastmath``: only ``contract`` (fused multiply-add). The ``nnan``/``ninf``
  flags are never set: a gradient check must be able to see a NaN.
- ``inline="always"`` only for what the time loops call at every step: the
  cells' step functions and the row helpers of the recursions
  (:func:`jit_step_kernel`). Called rather than inlined, each step passes and
  reference-counts a dozen array views, which at one sequence costs more than
  the step's arithmetic.
- Constant arguments of a call between kernels are given typed
  (``np.int64(0)``, ``np.bool_(False)``): a bare ``0`` or ``False`` makes
  Numba compile the callee again for that literal value.
- The time loops work on :func:`borrowed` arrays (their own arguments), whose
  views are not reference-counted.
- One thread or many: kernels take a ``threads`` argument that is either
  ``None`` (the call runs on the calling thread) or the number of chunks to
  split the batch into, and choose with ``if isinstance(threads, int)``,
  which Numba decides while it compiles: a single-threaded call compiles no
  parallel code, a parallel one no single-threaded recursion.
"""

import numba
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import cache

FASTMATH = frozenset({"contract"})
_OPTIONS = dict(nogil=True, error_model="numpy")  # cache: see _njit


def _njit(func, **options):
    """``numba.njit`` with the package's options and cache.

    A kernel of the package is cached in :data:`rnn_numba._kernels.cache.CACHE_DIR`
    (not at all when no folder is writable). A kernel defined elsewhere (the
    step kernels of a cell of your own) is cached by Numba's own rules, beside
    its source file, and not at all when it has none (code given to
    ``exec``): a driver that inlines it is keyed on its source's digest.
    """
    dispatcher = numba.njit(fastmath=set(FASTMATH), **_OPTIONS, **options)(func)
    if cache.in_package(func):
        if cache.CACHE_DIR is not None:
            dispatcher._cache = cache.PackageFunctionCache(func)
    else:
        try:
            dispatcher.enable_caching()
        except RuntimeError:  # no locator: no source file to key a cache on
            pass
    return dispatcher


def jit_kernel(func):
    """Compile ``func`` as an rnn_numba kernel with the package's Numba policy."""
    return _njit(func)


def jit_step_kernel(func):
    """Like :func:`jit_kernel`, inlined by Numba into every kernel that calls it (see the module docstring)."""
    return _njit(func, inline="always")


def jit_parallel_kernel(func):
    """Like :func:`jit_kernel`, with ``prange`` loops run on Numba's threads."""
    return _njit(func, parallel=True)


@intrinsic
def borrowed(typingctx, *arrays):
    """The arrays without their reference count, for a time loop: ``h, c = borrowed(h, c)``.

    Every view a kernel takes (``h[t]``, ``d_a[t]``) and every array it
    passes to a call increments and later decrements the array's reference
    count, each an atomic instruction that waits for the pending stores; at
    one sequence they are a large share of a gradient's time. A borrowed
    array has no memory-info, so its views count nothing. Borrow only a
    function's own arguments, which its caller holds for the whole call, and
    never return or store a borrowed array.
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
