"""Forward unrolling of any cell, layer by layer, over a batch of time-major sequences.

The Python side of the forward pass: what a trajectory holds, how many steps
a block takes, and the work arrays of a pass (:func:`work_arrays`). The
compiled pass itself is :func:`rnn_numba._kernels.engine.forward`: per layer
and per block of steps, one GEMM for the input projections, then the cell's
recursion. A layer's states are the next layer's inputs. Padded steps of
shorter sequences (``t >= lengths[b]``) copy the state forward, so every
sequence's final state is its last valid state.
"""

from dataclasses import dataclass

import numpy as np

from . import _workspace
from ._kernels import engine
from ._threads import threads_for

#: Rows (steps x sequences) per block: enough for an efficient GEMM, few enough
#: that a block's buffers stay a small part of the stored states. Blocks whose
#: gate activations are recomputed hold more per row, so they are smaller.
BLOCK_ROWS, RECOMPUTE_BLOCK_ROWS = 2048, 512


def block_steps(n_steps, n_batch, recompute=False):
    """Time steps per block: about ``BLOCK_ROWS`` (or ``RECOMPUTE_BLOCK_ROWS``) rows, at least 16 steps, at most T.

    Without recomputation, up to twice ``BLOCK_ROWS`` rows are one block
    rather than two, one of them short.
    """
    rows = RECOMPUTE_BLOCK_ROWS if recompute else BLOCK_ROWS
    if not recompute and n_steps * n_batch <= 2 * rows:
        return n_steps
    return max(1, min(n_steps, max(16, rows // n_batch)))


@dataclass
class LayerTrajectory:
    """What the forward pass computed in one layer.

    Attributes
    ----------
    h : ndarray, shape (T + 1, B, H)
        States h_0 .. h_T, ``h[0]`` the initial state.
    c : ndarray, shape (T + 1, B, H), or None
        Cell states c_0 .. c_T (LSTM); None for cells without one.
    """

    h: np.ndarray
    c: np.ndarray


@dataclass
class Trajectory:
    """Everything a forward pass computed.

    Attributes
    ----------
    layers : list of LayerTrajectory
        One per layer, bottom first.
    y : ndarray, shape (T, B, n_out)
        Readouts y_1 .. y_T, ``y[t] = h[t + 1] @ W_hy + b_y`` (top layer).
    lengths : ndarray of int64, shape (B,)
        Valid steps of each sequence.
    """

    layers: list
    y: np.ndarray
    lengths: np.ndarray

    @property
    def h(self):
        """ndarray, shape (T + 1, B, H): the top layer's states; past a length, held."""
        return self.layers[-1].h

    @property
    def c(self):
        """ndarray, shape (T + 1, B, H), or None: the top layer's cell states (LSTM)."""
        return self.layers[-1].c

    def state_at(self, t):
        """The state of every layer after t steps: (h, c), each (L, B, H); c None without cell state."""
        h = np.stack([layer.h[t] for layer in self.layers])
        c = None if self.c is None else np.stack([layer.c[t] for layer in self.layers])
        return h, c

    @property
    def h_final(self):
        """Each sequence's last valid state: (B, H) for one layer, (L, B, H) for several."""
        h = self.state_at(-1)[0]
        return h[0] if len(self.layers) == 1 else h

    @property
    def c_final(self):
        """The last valid cell state, shaped like ``h_final``; None without cell state."""
        c = self.state_at(-1)[1]
        return None if c is None else (c[0] if len(self.layers) == 1 else c)


def multiply_adds(model, n_steps, n_batch):
    """The multiply-adds of a forward pass's products, T B G H (n_in + H) over the layers (for the thread policy)."""
    width = model.cell.n_gates * model.n_hidden
    return n_steps * n_batch * width * (model.n_in + model.n_hidden + (model.num_layers - 1) * 2 * model.n_hidden)


def trajectory(model, work, lengths):
    """The :class:`Trajectory` of a pass's work arrays (views, no copies)."""
    c = work.c if model.cell.has_cell_state else [None] * len(work.h)
    return Trajectory([LayerTrajectory(h, c_k) for h, c_k in zip(work.h, c, strict=True)], work.y, lengths)


def work_arrays(model, inputs, block, *, keep_cache, gradient, new_states):
    """The :class:`~rnn_numba._kernels.engine.Work` of a pass, with the initial states in place.

    Parameters
    ----------
    model : RNN
    inputs : rnn_numba.inputs.Inputs
    block : int
        Steps per block (:func:`block_steps`).
    keep_cache : bool
        Room for every layer's gate activations (kept for a backward pass),
        else for one block's.
    gradient : bool
        Room for a backward pass (deltas, messages, dL/dy), else none.
    new_states : bool
        States and readouts in new arrays (returned to the caller), else on
        this thread's work buffers (see :mod:`rnn_numba._workspace`): they
        are then valid until the next such pass on this thread.
    """
    dtype, cell, n_hidden, n_out = model.dtype, model.cell, model.n_hidden, model.n_out
    n_layers = model.num_layers
    n_steps, n_batch = inputs.x.shape[:2]
    c_width = n_hidden if cell.has_cell_state else 0
    width, cache_width, rows = cell.n_gates * n_hidden, cell.cache_width * n_hidden, block if gradient else 0
    states = (
        ("h", (n_layers, n_steps + 1, n_batch, n_hidden)),
        ("c", (n_layers, n_steps + 1, n_batch, c_width)),
        ("y", (n_steps, n_batch, n_out)),
    )
    cache_steps = (n_layers, n_steps) if keep_cache else (1, block)
    requests = (
        ("cache", "cache" if keep_cache else "block_cache", cache_steps + (n_batch, cache_width), keep_cache),
        ("projection", "projection", (block, n_batch, width), False),
        ("recurrent", "recurrent", (rows, n_batch, width), False),
        ("message", "message", (rows, n_batch, n_hidden), False),
        ("dy", "dy", (n_steps if gradient else 0, n_batch, n_out), False),
    )
    if not new_states:
        requests += tuple((name, name, shape, True) for name, shape in states)
    arrays = _workspace.work_arrays(requests, dtype)
    if new_states:
        arrays = arrays | {name: np.empty(shape, dtype=dtype) for name, shape in states}
    work = engine.Work(**arrays)
    work.h[:, 0], work.c[:, 0] = inputs.h0, inputs.c0
    return work


def forward(model, inputs):
    """Forward pass of every layer and the readout (validated inputs): a :class:`Trajectory` in new arrays."""
    n_steps, n_batch = inputs.x.shape[:2]
    block = block_steps(n_steps, n_batch, recompute=True)
    work = work_arrays(model, inputs, block, keep_cache=False, gradient=False, new_states=True)
    settings = engine.Settings(block, False, model.dtype(0), np.zeros(0, model.dtype))
    with threads_for(n_batch, multiply_adds(model, n_steps, n_batch)) as threads:
        engine.forward(model.cell_settings, inputs.theta, model.layout.table, inputs.x, inputs.lengths, work,
                       settings, threads)  # fmt: skip
        engine.readout(inputs.theta, model.layout.table, work, threads)
    return trajectory(model, work, inputs.lengths)
