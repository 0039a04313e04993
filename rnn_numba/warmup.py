"""Compile the kernels on purpose, before the first timed or interactive call."""

import numpy as np


def warmup(dtypes: tuple = (np.float64, np.float32), cells: tuple = ("elman", "lstm", "gru")) -> None:
    """Compile (or load from the on-disk cache) the kernels of each cell for each dtype.

    Numba compiles a kernel on its first call, for each cell and dtype it
    meets; call this once at start-up so that the first real call is fast.
    With a warm cache it only loads them.
    """
    from .model import RNN

    for dtype in dtypes:
        for cell in cells:
            # Two layers and two sequences take the batch-parallel kernels; one sequence, the single-thread ones.
            for num_layers, n_batch in ((2, 2), (1, 1)):
                net = RNN(cell, 1, 2, 1, num_layers=num_layers, dtype=dtype, seed=0)
                x = np.zeros((2, n_batch, 1), dtype=dtype)
                net.backward(x, np.zeros((2, n_batch, 1), dtype=dtype), grad_norms=True)
