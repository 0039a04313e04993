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
from .._kernels.forward_mode import immediate_vjp, state_tangents
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
        table = model.layout.table
        if self.n_params % n_hidden or any(int(o) % n_hidden for o in self.offsets if o >= 0):
            raise ValueError(f"the {model.cell.name} cell's blocks are not H = {n_hidden} aligned in theta")
        n_directions = self.n_params // n_hidden
        width = n_hidden if model.cell.has_cell_state else 0
        self.h = np.zeros((n_batch, n_directions, n_hidden), dtype=dtype)
        self.c = np.zeros((n_batch, n_directions, width), dtype=dtype)
        # work buffers of a step, allocated once; a_dot and inner_dot stay zero (the immediate part comes from M_t)
        self._next_h, self._next_c = np.empty_like(self.h), np.empty_like(self.c)
        self._r_dot = np.zeros((n_batch, n_directions, n_gates * n_hidden), dtype=dtype)
        self._a_dot = np.zeros_like(self._r_dot)
        self._inner_dot = np.zeros((n_batch, n_directions, int(table[0, engine.INNER, 1])), dtype=dtype)
        self._immediate = np.empty((n_batch, self.n_params), dtype=dtype)
        self._units = np.arange(n_hidden)
        self._reaches_c = self._cell_state_pattern(model, n_directions) if width else None
        ones, zeros = np.ones((n_batch, n_hidden), dtype), np.zeros((n_batch, n_hidden), dtype)
        self._towards_h = (ones, zeros[:, :width])  # v = all of h: the immediate influence on h
        self._towards_c = (zeros, ones[:, :width])  # v = all of c (the LSTM)
        self._da, self._dr = np.empty((n_batch, n_gates * n_hidden), dtype), np.empty_like(self._r_dot[:, 0])
        self._scratch = (np.empty((n_batch, n_hidden), dtype), np.empty((n_batch, width), dtype))

    def _cell_state_pattern(self, model, n_directions):
        """(P/H, H) mask of the parameters whose gate reaches c within a step (the cell's ``cell_state_gates``)."""
        width, n_hidden, table = model.cell.n_gates * model.n_hidden, model.n_hidden, model.layout.table
        reaches = np.ones(self.n_params, dtype=bool)
        for role, start in enumerate(self.offsets[:3]):  # W_xh, W_hh, b_h: G H columns, row-major
            if start >= 0:
                gate = np.arange(int(table[0, role, 1]) * int(table[0, role, 2])) % width // n_hidden
                reaches[start : start + gate.size] = np.isin(gate, model.cell.cell_state_gates)
        return reaches.reshape(n_directions, n_hidden)

    def step(self, model, theta, work, x_t, t, held):
        """Advance the kept influence by step t of the window in ``work``; held sequences keep theirs."""
        table, cell = model.layout.table, model.cell_settings
        n_batch, n_directions, n_hidden = self.h.shape
        inner = engine.vector(theta, table, 0, engine.INNER)
        s_prev, s_next, cache_t = (work.h[0, t], work.c[0, t]), (work.h[0, t + 1], work.c[0, t + 1]), work.cache[0, t]
        if self.through_recurrence:  # r_dot[g H + u] = W_hh[u, g H + u] h_dot[u]
            w_hh = engine.matrix(theta, table, 0, engine.W_HH).reshape(n_hidden, -1, n_hidden)
            diagonal = w_hh[self._units, :, self._units].T  # (G, H)
            np.multiply(self.h[:, :, None, :], diagonal, out=self._r_dot.reshape(n_batch, n_directions, -1, n_hidden))
        new_h, new_c = self._next_h, self._next_c
        state_tangents(cell, self._a_dot, self._r_dot, inner, self._inner_dot, s_prev, s_next, cache_t,
                       (self.h, self.c), (new_h, new_c))  # fmt: skip
        for towards, new in ((self._towards_h, new_h), (self._towards_c, new_c)):
            if new.shape[2]:
                immediate_vjp(cell, x_t, towards, inner, s_prev, s_next, cache_t, self.offsets, self._immediate,
                              self._da, self._dr, self._scratch)  # fmt: skip
                new += self._immediate.reshape(new.shape)
        if self._reaches_c is not None:  # SnAp-1's mask on c: D_t carries an output gate's h-influence into c
            new_c *= self._reaches_c
        new_h[held], new_c[held] = self.h[held], self.c[held]
        self.h, self._next_h = new_h, self.h
        self.c, self._next_c = new_c, self.c

    def add_gradient(self, grad, dh):
        """Add the estimate of dL_t/dtheta, sum over sequences of dh[b, p % H] J[b, p // H, p % H], to grad."""
        grad[: self.n_params] += np.einsum("bh,bkh->kh", dh, self.h).reshape(-1)
