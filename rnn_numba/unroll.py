"""Forward unrolling of any cell, layer by layer, over a batch of time-major sequences.

Per layer, the input projection ``a = x @ W_xh + b_h`` is one GEMM over all
T*B rows; the serial recurrence runs in :func:`_unroll_kernel` over buffers
allocated before it, with no allocation inside the time loop. A layer's
states are the next layer's inputs. Padded steps of shorter sequences
(``t >= lengths[b]``) copy the state forward, so every sequence's final
state is its last valid state.
"""

from dataclasses import dataclass

import numpy as np
from numba import prange

from . import cells
from ._jit import batch_chunks, jit_parallel_kernel
from ._linalg import matmul


@dataclass
class LayerTrajectory:
    """What the forward pass computed in one layer.

    Attributes
    ----------
    h : ndarray, shape (T + 1, B, H)
        States h_0 .. h_T, ``h[0]`` the initial state.
    c : ndarray, shape (T + 1, B, H), or None
        Cell states c_0 .. c_T (LSTM); None for cells without one.
    cache : ndarray, shape (T, B, CACHE_WIDTH * H)
        What the cell's backward step needs.
    """

    h: np.ndarray
    c: np.ndarray
    cache: np.ndarray


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


@jit_parallel_kernel
def _unroll_kernel(kind, nonlinearity, a, w_hh, b_rec, lengths, h, c, cache, rec, n_chunks):
    """Run the recurrence of cell ``kind`` over T steps, in place.

    The batch is split into ``n_chunks`` groups of whole sequences, one per
    thread; each runs the serial time loop for its own rows.

    Parameters
    ----------
    a : ndarray, shape (T, B, G*H)
        Input projections, bias included.
    w_hh : ndarray, shape (H, G*H)
    b_rec : ndarray, shape (H,) or (0,)
        The cell's recurrent bias (a GRU's b_hn), empty if none.
    lengths : ndarray of int64, shape (B,)
    h, c : ndarray, shape (T + 1, B, H)
        State buffers with ``h[0]`` (and ``c[0]``) set; ``c`` has shape
        (T + 1, B, 0) for cells without a cell state.
    cache : ndarray, shape (T, B, CACHE_WIDTH * H)
    rec : ndarray, shape (B, G*H)
        Work buffer for the recurrent projection r_t = h_{t-1} @ W_hh.
    n_chunks : int
    """
    n_steps, n_batch = a.shape[0], a.shape[1]
    for chunk in prange(n_chunks):
        b0, b1 = chunk * n_batch // n_chunks, (chunk + 1) * n_batch // n_chunks
        for t in range(n_steps):
            np.dot(h[t][b0:b1], w_hh, rec[b0:b1])
            cells.forward_step(kind, nonlinearity, b0, b1, a[t], rec, b_rec, h[t], c[t], h[t + 1], c[t + 1], cache[t])
            for b in range(b0, b1):
                if t >= lengths[b]:
                    h[t + 1, b] = h[t, b]
                    c[t + 1, b] = c[t, b]


def unroll_layer(model, p, x, h0, c0, lengths, n_chunks):
    """Forward pass of one layer with parameter views ``p`` (validated inputs).

    Parameters
    ----------
    model : RNN
    p : dict of ndarray
        The layer's blocks under their cell names (``W_xh``, ``W_hh``, ...).
    x : ndarray, shape (T, B, n_in_layer)
    h0, c0 : ndarray, shape (B, H); ``c0`` None for cells without cell state
    lengths : ndarray of int64, shape (B,)
    n_chunks : int
        Threads to split the batch over (see :func:`rnn_numba._jit.batch_chunks`).

    Returns
    -------
    LayerTrajectory
    """
    cell, dtype, n_hidden = model.cell, model.dtype, model.n_hidden
    n_steps, n_batch, n_in = x.shape
    width = cell.N_GATES * n_hidden
    a = np.empty((n_steps, n_batch, width), dtype=dtype)
    matmul(x.reshape(-1, n_in), p["W_xh"], n_chunks, out=a.reshape(-1, width))
    if "b_h" in p:
        a += p["b_h"]
    h = np.empty((n_steps + 1, n_batch, n_hidden), dtype=dtype)
    h[0] = h0
    c = np.empty((n_steps + 1, n_batch, n_hidden if cell.HAS_CELL_STATE else 0), dtype=dtype)
    if cell.HAS_CELL_STATE:
        c[0] = c0
    cache = np.empty((n_steps, n_batch, cell.CACHE_WIDTH * n_hidden), dtype=dtype)
    rec = np.empty((n_batch, width), dtype=dtype)
    b_rec = p.get(cell.RECURRENT_BIAS[0]) if cell.RECURRENT_BIAS else None
    if b_rec is None:
        b_rec = np.zeros(0, dtype=dtype)
    _unroll_kernel(model.kind, model.nonlinearity_code, a, p["W_hh"], b_rec, lengths, h, c, cache, rec, n_chunks)
    return LayerTrajectory(h=h, c=c if cell.HAS_CELL_STATE else None, cache=cache)


def unroll(model, theta, x, h0, c0, lengths, n_chunks=None):
    """Forward pass of every layer and the readout (validated inputs).

    Parameters
    ----------
    model : RNN
    theta : ndarray, shape (n_params,)
    x : ndarray, shape (T, B, n_in), C-contiguous, of the model's dtype
    h0, c0 : ndarray, shape (L, B, H); ``c0`` None for cells without cell state
    lengths : ndarray of int64, shape (B,)
    n_chunks : int, optional
        Threads to split the batch over; by default one per Numba thread.

    Returns
    -------
    Trajectory
    """
    if n_chunks is None:
        n_chunks = batch_chunks(x.shape[1])
    layers, inputs = [], x
    for k, p in enumerate(model.layer_views(theta)):
        layer = unroll_layer(model, p, inputs, h0[k], None if c0 is None else c0[k], lengths, n_chunks)
        layers.append(layer)
        inputs = layer.h[1:]
    readout = model.readout_views(theta)
    n_steps, n_batch = x.shape[:2]
    y = matmul(inputs.reshape(-1, model.n_hidden), readout["W_hy"], n_chunks) + readout["b_y"]
    return Trajectory(layers=layers, y=y.reshape(n_steps, n_batch, model.n_out), lengths=lengths)
