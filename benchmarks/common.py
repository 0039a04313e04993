"""Seeded data shared by the benchmarks."""

import numpy as np

import rnn_numba as rn


def problem(n_steps, n_batch, n_hidden, dtype, cell="elman", num_layers=1, n_in=32, n_out=8, seed=0,
            cell_options=None):  # fmt: skip
    """A network with random inputs and MSE targets of the given sizes."""
    dtype = np.dtype(dtype).type
    net = rn.RNN(cell, n_in, n_hidden, n_out, num_layers=num_layers, dtype=dtype, seed=seed, cell_options=cell_options)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_steps, n_batch, n_in)).astype(dtype)
    y = rng.normal(size=(n_steps, n_batch, n_out)).astype(dtype)
    return net, x, y
