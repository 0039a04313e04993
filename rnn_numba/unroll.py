"""Forward unrolling of any cell over a batch of time-major sequences.

The input projection ``a = x @ W_x + b`` is one GEMM over all T*B rows; the
serial recurrence runs in :func:`_unroll_kernel` over buffers allocated
before it, with no allocation inside the time loop. Padded steps of shorter
sequences (``t >= lengths[b]``) copy the state forward, so every sequence's
final state is its last valid state.
"""

from dataclasses import dataclass

import numpy as np

from . import cells
from ._jit import jit_kernel


@dataclass
class Trajectory:
    """Everything a forward pass computed.

    Attributes
    ----------
    h : ndarray, shape (T + 1, B, H)
        States h_0 .. h_T; ``h[0]`` is the initial state. Past a sequence's
        length its state is held at its last valid value.
    y : ndarray, shape (T, B, n_out)
        Readouts y_1 .. y_T, ``y[t] = h[t + 1] @ W_hy + b_y``.
    lengths : ndarray of int64, shape (B,)
        Valid steps of each sequence.
    c : ndarray, shape (T + 1, B, H), or None
        Cell states, for cells that have one.
    cache : ndarray, shape (T, B, CACHE_WIDTH * H)
        What the cell's backward step needs (empty for the Elman cell).
    """

    h: np.ndarray
    y: np.ndarray
    lengths: np.ndarray
    c: np.ndarray = None
    cache: np.ndarray = None

    @property
    def h_final(self):
        """ndarray, shape (B, H): each sequence's last valid state, ``h[T]``."""
        return self.h[-1]


@jit_kernel
def _unroll_kernel(kind, nonlinearity, a, w_hh, lengths, h, c, cache, rec):
    """Run the recurrence of cell ``kind`` over T steps, in place.

    Parameters
    ----------
    a : ndarray, shape (T, B, G*H)
        Input projections, bias included.
    w_hh : ndarray, shape (H, G*H)
    lengths : ndarray of int64, shape (B,)
    h, c : ndarray, shape (T + 1, B, H)
        State buffers with ``h[0]`` (and ``c[0]``) set; ``c`` has shape
        (T + 1, B, 0) for cells without a cell state.
    cache : ndarray, shape (T, B, CACHE_WIDTH * H)
    rec : ndarray, shape (B, G*H)
        Work buffer for the recurrent projection r_t = h_{t-1} @ W_hh.
    """
    n_steps, n_batch = a.shape[0], a.shape[1]
    for t in range(n_steps):
        np.dot(h[t], w_hh, rec)
        cells.forward_step(kind, nonlinearity, a[t], rec, h[t], c[t], h[t + 1], c[t + 1], cache[t])
        for b in range(n_batch):
            if t >= lengths[b]:
                h[t + 1, b] = h[t, b]
                c[t + 1, b] = c[t, b]


def unroll(model, theta, x, h0, lengths):
    """Forward pass of ``model`` with parameters ``theta`` (validated inputs).

    Parameters
    ----------
    model : RNN
    theta : ndarray, shape (n_params,)
    x : ndarray, shape (T, B, n_in), C-contiguous, of the model's dtype
    h0 : ndarray, shape (B, H)
    lengths : ndarray of int64, shape (B,)

    Returns
    -------
    Trajectory
    """
    p = model.layout.views(theta)
    cell = model.cell
    n_steps, n_batch, _ = x.shape
    width = cell.N_GATES * model.n_hidden
    a = np.empty((n_steps, n_batch, width), dtype=model.dtype)
    np.matmul(x.reshape(-1, model.n_in), p["W_xh"], out=a.reshape(-1, width))
    a += p["b_h"]
    h = np.empty((n_steps + 1, n_batch, model.n_hidden), dtype=model.dtype)
    h[0] = h0
    c_width = model.n_hidden if cell.HAS_CELL_STATE else 0
    c = np.zeros((n_steps + 1, n_batch, c_width), dtype=model.dtype)
    cache = np.empty((n_steps, n_batch, cell.CACHE_WIDTH * model.n_hidden), dtype=model.dtype)
    rec = np.empty((n_batch, width), dtype=model.dtype)
    _unroll_kernel(model.kind, model.nonlinearity_code, a, p["W_hh"], lengths, h, c, cache, rec)
    y = h[1:].reshape(-1, model.n_hidden) @ p["W_hy"] + p["b_y"]
    return Trajectory(
        h=h,
        y=y.reshape(n_steps, n_batch, model.n_out),
        lengths=lengths,
        c=c if cell.HAS_CELL_STATE else None,
        cache=cache,
    )
