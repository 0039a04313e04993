"""Compile the kernels on purpose, before the first timed or interactive call."""

import numpy as np


def warmup(dtypes=(np.float64, np.float32)):
    """Compile (or load from the on-disk cache) every kernel for each dtype.

    Numba compiles a kernel on its first call; call this once at start-up so
    that the first real call is fast. With an empty cache it compiles every
    kernel (about two minutes on the 2-core development machine, as
    measured in the README; the asv ``Compile`` benchmark tracks it); with
    a warm one it only loads them.
    """
    from .cells import CELLS
    from .model import RNN

    for dtype in dtypes:
        # The cell and its nonlinearity are runtime arguments of the same
        # kernels: two calls per dtype compile everything. Two layers and two
        # sequences take the general drivers and the batch-parallel GEMMs;
        # one layer and one sequence, the fused kernel (rnn_numba.fused).
        for num_layers, n_batch in ((2, 2), (1, 1)):
            net = RNN(CELLS[0].NAME, 1, 2, 1, num_layers=num_layers, dtype=dtype, seed=0)
            x = np.zeros((2, n_batch, 1), dtype=dtype)
            net.backward(x, np.zeros((2, n_batch, 1), dtype=dtype), grad_norms=True)
