"""The Numba policy module: one place for options, and a cache that cannot go stale."""

import re
from pathlib import Path

from rnn_numba._kernels import jit as _jit

PACKAGE = Path(_jit.__file__).resolve().parent.parent


def test_numba_options_are_set_only_in_the_policy_module():
    for path in PACKAGE.rglob("*.py"):
        if path == Path(_jit.__file__):
            continue
        text = path.read_text()
        assert not re.search(r"\bnjit\b|numba\.jit|fastmath\s*=", text), path


def test_warmup_compiles_the_kernels_for_both_dtypes():
    import numpy as np
    from numba import types

    import rnn_numba as rn
    from rnn_numba._kernels import engine

    rn.warmup(cells=("gru",))
    # Kernels called from Python (a callee of a kernel loaded from the cache is never compiled in this process):
    # the one-call gradient (one thread) and a piece of the several-thread path, by the dtype of theta.
    for kernel, several_threads in ((engine.gradient, False), (engine.layer_gradients, True)):
        dtypes = {
            str(sig[1].dtype)
            for sig in kernel.signatures
            if "gru" in str(sig[0]) and isinstance(sig[-1], types.Integer) == several_threads
        }
        assert {str(np.dtype(np.float32)), str(np.dtype(np.float64))} <= dtypes, kernel


@_jit.jit_kernel
def _cumulative_rows(x, out):
    """out[t] = x[0] + ... + x[t], through views of borrowed arrays (as the time loops take them)."""
    x, out = _jit.borrowed(x, out)
    first = _jit.borrowed(out)[0]  # the one-array form returns the array itself, not a tuple
    first[:] = x[0]
    for t in range(1, x.shape[0]):
        row, previous = out[t], out[t - 1]
        for j in range(x.shape[1]):
            row[j] = previous[j] + x[t, j]


def test_borrowed_arrays_read_and_write_the_caller_s_data():
    import numpy as np

    x = np.random.default_rng(0).normal(size=(7, 5))
    out = np.full_like(x, np.nan)
    _cumulative_rows(x, out)
    np.testing.assert_allclose(out, np.cumsum(x, axis=0), rtol=1e-14)
    # The caller's arrays stay usable after the kernel dropped its borrowed views.
    out[...] = 0
    _cumulative_rows(x, out)
    np.testing.assert_allclose(out, np.cumsum(x, axis=0), rtol=1e-14)
