"""Backpropagation through time: one driver for full BPTT and both truncations.

Every schedule is a list of *segments* ``(start, stop, inject_from)``: the
backward message starts at zero at step ``stop - 1``, picks up the loss
gradient dL/dh_{t+1} of every step ``t >= inject_from``, and is carried back
through steps ``stop - 1, ..., start``; the state before ``start`` is held
constant. The deltas dL/da_t of all segments are summed per step, and the
weight gradients are then GEMMs over all T*B rows.

- Full (epochwise) BPTT, Werbos (1990), doi:10.1109/5.58337: one segment
  ``(0, T, 0)``.
- Fixed-horizon truncation (Theano's ``truncate_gradient``; the estimator
  studied by Aicher, Foti & Fox 2019, arXiv:1905.07473): each loss term L_t
  is backpropagated exactly K steps, segments ``(max(0, t-K+1), t+1, t)``.
  K >= T is full BPTT. Cost O(T K) steps.
- Truncated BPTT(k2; k1), Williams & Peng (1990), doi:10.1162/neco.1990.2.4.490,
  written TBPTT(k1, k2): every k1 steps the losses of those k1 steps are
  backpropagated k2 >= k1 steps, segments ``(max(0, e-k2), e, e-k1)`` for
  window ends e = k1, 2 k1, ... (and a last, shorter window at T). The sum
  over windows at fixed parameters; :func:`rnn_numba.tbptt` yields the
  windows one by one, for updates between them.
"""

import numpy as np

from . import cells
from ._jit import jit_kernel


def full_schedule(n_steps):
    """Segments of full BPTT over ``n_steps`` steps, int64 array (1, 3)."""
    return np.array([[0, n_steps, 0]], dtype=np.int64)


def horizon_schedule(n_steps, horizon):
    """Segments of fixed-horizon truncation: term t backpropagated ``horizon`` steps."""
    t = np.arange(n_steps, dtype=np.int64)
    return np.stack([np.maximum(0, t - horizon + 1), t + 1, t], axis=1)


def tbptt_schedule(n_steps, k1, k2):
    """Segments of TBPTT(k1, k2) over ``n_steps`` steps, one per window.

    Window ends are k1, 2 k1, ..., and ``n_steps`` if it is not a multiple of
    k1; the last window then carries the losses of its remaining steps.
    """
    ends = np.arange(k1, n_steps + k1, k1, dtype=np.int64)
    ends[-1] = n_steps
    inject_from = np.concatenate([[0], ends[:-1]])
    return np.stack([np.maximum(0, ends - k2), ends, inject_from], axis=1)


@jit_kernel
def _add_sq_norms(dh, out):
    """out[b] += ||dh[b]||^2 for dh of shape (B, H), without a temporary."""
    for b in range(dh.shape[0]):
        for j in range(dh.shape[1]):
            out[b] += dh[b, j] * dh[b, j]


@jit_kernel
def _backward_kernel(kind, nonlinearity, segments, dh_loss, w_hh_t, lengths, h, c, cache, d_a, d_r, dh0, dc0, sq_norms):
    """Run the backward recursion of every segment, accumulating deltas.

    Parameters
    ----------
    segments : ndarray of int64, shape (S, 3)
        Rows ``(start, stop, inject_from)``.
    dh_loss : ndarray, shape (T, B, H)
        dL/dh_{t+1} coming directly from the loss at step t.
    w_hh_t : ndarray, shape (G*H, H)
        W_hh transposed, C-contiguous.
    lengths : ndarray of int64, shape (B,)
    h, c : ndarray, shape (T + 1, B, H) (c: (T + 1, B, 0) without a cell state)
    cache : ndarray, shape (T, B, CACHE_WIDTH * H)
    d_a : ndarray, shape (T, B, G*H)
        Zeroed on entry; receives sum over segments of dL/da_t.
    d_r : ndarray, shape (T, B, G*H), or (0, B, G*H)
        Same for dL/dr_t, for cells with a separate recurrent delta.
    dh0, dc0 : ndarray, shape (B, H) (dc0: (B, 0) without a cell state)
        Zeroed on entry; receive dL/dh_0 (and dL/dc_0) from segments with start 0.
    sq_norms : ndarray, shape (T + 1, B), or (0, B)
        If not empty, receives ||dL/dh_t||^2 (meaningful for full BPTT).
    """
    n_batch, n_hidden = h.shape[1], h.shape[2]
    width = d_a.shape[2]
    separate = d_r.shape[0] > 0
    record = sq_norms.shape[0] > 0
    dh = np.empty((n_batch, n_hidden), dtype=h.dtype)
    dh_prev = np.empty((n_batch, n_hidden), dtype=h.dtype)
    dc = np.empty((n_batch, c.shape[2]), dtype=h.dtype)
    dc_prev = np.empty((n_batch, c.shape[2]), dtype=h.dtype)
    da = np.empty((n_batch, width), dtype=h.dtype)
    dr = np.empty((n_batch, width if separate else 0), dtype=h.dtype)
    zero = h.dtype.type(0)
    for s in range(segments.shape[0]):
        start, stop, inject_from = segments[s, 0], segments[s, 1], segments[s, 2]
        dh[:] = zero
        dc[:] = zero
        for t in range(stop - 1, start - 1, -1):
            if t >= inject_from:
                dh += dh_loss[t]
            if record:
                _add_sq_norms(dh, sq_norms[t + 1])
            cells.backward_step(kind, nonlinearity, dh, dc, h[t], h[t + 1], c[t], c[t + 1], cache[t], da, dr, dc_prev)
            # dL/dh_{t-1} = dL/dr_t @ W_hh.T
            np.dot(dr if separate else da, w_hh_t, dh_prev)
            for b in range(n_batch):
                if t >= lengths[b]:  # padded step: h_{t+1} = h_t, the message passes unchanged
                    da[b] = zero
                    if separate:
                        dr[b] = zero
                    dh_prev[b] = dh[b]
                    dc_prev[b] = dc[b]
            d_a[t] += da
            if separate:
                d_r[t] += dr
            dh[:] = dh_prev
            dc[:] = dc_prev
        if start == 0:
            dh0 += dh
            dc0 += dc
            if record:
                _add_sq_norms(dh, sq_norms[0])


def backprop(model, theta, x, traj, dh_loss, segments, record_norms=False):
    """Gradients of the recurrent blocks, by the given schedule (validated inputs).

    Parameters
    ----------
    model : RNN
    theta : ndarray, shape (n_params,)
    x : ndarray, shape (T, B, n_in)
    traj : Trajectory
        The forward pass of ``x`` under ``theta``.
    dh_loss : ndarray, shape (T, B, H)
        dL/dh_{t+1} from the loss at step t (before any backpropagation).
    segments : ndarray of int64, shape (S, 3)
    record_norms : bool
        Also return ||dL/dh_t|| for t = 0..T, shape (T + 1, B).

    Returns
    -------
    grads : dict of ndarray
        dL/dW_xh, dL/dW_hh, dL/db_h (the cell's blocks).
    dh0 : ndarray, shape (B, H)
    dh_norms : ndarray, shape (T + 1, B), or None
    """
    p = model.layout.views(theta)
    cell = model.cell
    n_steps, n_batch, _ = x.shape
    n_hidden, dtype = model.n_hidden, model.dtype
    width = cell.N_GATES * n_hidden
    d_a = np.zeros((n_steps, n_batch, width), dtype=dtype)
    d_r = np.zeros((n_steps if cell.SEPARATE_RECURRENT_DELTA else 0, n_batch, width), dtype=dtype)
    dh0 = np.zeros((n_batch, n_hidden), dtype=dtype)
    c = traj.c if traj.c is not None else np.zeros((n_steps + 1, n_batch, 0), dtype=dtype)
    dc0 = np.zeros((n_batch, c.shape[2]), dtype=dtype)
    sq_norms = np.zeros((n_steps + 1 if record_norms else 0, n_batch), dtype=dtype)
    _backward_kernel(
        model.kind,
        model.nonlinearity_code,
        segments,
        dh_loss,
        np.ascontiguousarray(p["W_hh"].T),
        traj.lengths,
        traj.h,
        c,
        traj.cache,
        d_a,
        d_r,
        dh0,
        dc0,
        sq_norms,
    )
    d_a2 = d_a.reshape(-1, width)
    d_r2 = d_r.reshape(-1, width) if cell.SEPARATE_RECURRENT_DELTA else d_a2
    grads = {
        "W_xh": x.reshape(-1, model.n_in).T @ d_a2,
        "W_hh": traj.h[:-1].reshape(-1, n_hidden).T @ d_r2,
        "b_h": d_a2.sum(axis=0),
    }
    return grads, dh0, (np.sqrt(sq_norms) if record_norms else None)
