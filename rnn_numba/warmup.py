"""Compile the kernels on purpose, before the first timed or interactive call."""

import numpy as np


def warmup(dtypes=(np.float64, np.float32)):
    """Compile (or load from the on-disk cache) every kernel for each dtype.

    Numba compiles a kernel on its first call; call this once at start-up so
    that the first real call is fast. With a warm cache it takes well under
    a second.
    """
    from .cells import CELLS
    from .model import RNN

    for dtype in dtypes:
        for cell in CELLS:
            for nonlinearity in cell.NONLINEARITIES:
                net = RNN(cell.NAME, 1, 2, 1, nonlinearity=nonlinearity, dtype=dtype, seed=0)
                x = np.zeros((2, 1, 1), dtype=dtype)
                net.backward(x, np.zeros((2, 1, 1), dtype=dtype), grad_norms=True)
                break  # the nonlinearity is a runtime argument: one compile serves all
