"""The influence kept on each parameter's own unit: the state SnAp-1, RFLO and e-prop carry, O(B P) per step.

In the cells here a parameter that writes gate column g H + j (a column of
W_xh, W_hh or b_h, or entry j of the cell's inner block) reaches only unit j
of the state in one step. Every block's size and start in ``theta`` is a
multiple of H, so parameter p's unit is p mod H, and an influence kept on
that unit alone is a (B, P/H, H) array: entry [b, p // H, p % H] holds
ds_t[p % H] / dtheta[p] of sequence b (for the LSTM, one such array for h
and one for c). Its update is RTRL's step restricted to those entries::

    J_t[p] = D_t[u, u] J_{t-1}[p] + M_t[u, p],      u = p mod H

D_t[u, u], unit u's state on its own next state, is the cell's forward-mode
step (``jvp``) with the recurrent tangent r_dot[g H + u] = W_hh[u, g H + u]
h_dot[u]: the cells act unit by unit, so one ``jvp`` over the P/H
"directions" of this array updates every entry at once. An estimator that
drops the path through W_hh (RFLO, e-prop) passes r_dot = 0 and keeps the
cell's direct path alone (the leak; the LSTM's forget gate). M_t[u, p], the
immediate influence on p's own unit, is v^T M_t with v all ones (each column
of M_t has that one entry): one backward step of the cell with the previous
state held (:func:`~rnn_numba._kernels.forward_mode.immediate_vjp`), and one
more for the LSTM's c. The c entries of a parameter whose gate does not
write c (the LSTM's output gate: ``Cell.cell_state_gates``) are kept zero,
as its immediate influence there is.

Cost per step: the cell's ``jvp`` over B P / H directions of H units and a
backward step, O(B P), like a step of BPTT; memory O(B P).
"""

import numpy as np

from .._kernels import engine
from .._kernels.forward_mode import diagonal_window
from .rtrl import Influence


def check_feedback(model, feedback):
    """``feedback`` as a finite (n_out, H) array of the model's dtype (None stays None); ValueError otherwise."""
    if feedback is None:
        return None
    feedback = np.asarray(feedback, dtype=model.dtype)
    if feedback.shape != (model.n_out, model.n_hidden) or not np.isfinite(feedback).all():
        raise ValueError(
            f"feedback must be a finite (n_out, H) = {(model.n_out, model.n_hidden)} matrix, got shape {feedback.shape}"
        )
    return feedback


class DiagonalInfluence:
    """Each parameter's influence on its own unit, h (B, P/H, H) and c (B, P/H, H or 0), for one layer.

    Parameters
    ----------
    model : RNN
        One layer.
    n_batch : int
    through_recurrence : bool
        Keep the path through the diagonal of W_hh (SnAp-1) or only the
        cell's direct path from s_{t-1} (RFLO, e-prop).
    feedback : ndarray, shape (n_out, H), optional
        Carries dL/dy_t to the state instead of W_hy^T (see :mod:`.online`).
    """

    def __init__(self, model, n_batch, through_recurrence, feedback=None):
        offsets, ends = Influence.layout(model)
        self.offsets, self.n_params = offsets[0], ends[0]
        self.through_recurrence, self.feedback = through_recurrence, feedback
        n_hidden, n_gates, dtype = model.n_hidden, model.cell.n_gates, model.dtype
        if self.n_params % n_hidden or any(int(o) % n_hidden for o in self.offsets if o >= 0):
            raise ValueError(f"the {model.cell.name} cell's blocks are not H = {n_hidden} aligned in theta")
        n_directions = self.n_params // n_hidden
        width = n_hidden if model.cell.has_cell_state else 0
        self.h = np.zeros((n_batch, n_directions, n_hidden), dtype=dtype)
        self.c = np.zeros((n_batch, n_directions, width), dtype=dtype)
        gate = np.arange(n_gates * n_hidden) // n_hidden  # of each gate column
        self._writes_c = np.isin(gate, model.cell.cell_state_gates)

    def window(self, model, theta, work, x, held, dh, grad, threads):
        """Advance the kept influence through a window (``work`` holds its forward pass) and add its estimate to grad.

        ``x`` (T, B, n_in), ``held`` (T, B) steps past a sequence's length,
        ``dh`` (T, B, H) the learning signal of every step, ``threads``
        chunks of sequences for Numba's threads or None; one compiled loop
        (:func:`~rnn_numba._kernels.forward_mode.diagonal_window`).
        """
        table, cell = model.layout.table, model.cell_settings
        n_batch = self.h.shape[0]
        diagonal_window(
            cell, x, work.h[0], work.c[0], work.cache[0], engine.matrix(theta, table, 0, engine.W_HH),
            engine.vector(theta, table, 0, engine.INNER), self.offsets, self.through_recurrence, self._writes_c,
            held, dh, self.h.reshape(n_batch, -1), self.c.reshape(n_batch, -1), grad, threads,
        )  # fmt: skip
