"""Seeded data shared by the benchmarks."""

import numpy as np

import rnn_numba as rn


def problem(n_steps, n_batch, n_hidden, dtype, n_in=32, n_out=8, seed=0):
    """An Elman net with random inputs and MSE targets of the given sizes."""
    dtype = np.dtype(dtype).type
    net = rn.Elman(n_in, n_hidden, n_out, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_steps, n_batch, n_in)).astype(dtype)
    y = rng.normal(size=(n_steps, n_batch, n_out)).astype(dtype)
    return net, x, y
