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
"""

import numba

FASTMATH = frozenset({"contract"})


def jit_kernel(func):
    """Compile ``func`` as an rnn_numba kernel with the package's Numba policy."""
    return numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=set(FASTMATH))(func)
