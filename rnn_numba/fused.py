"""A one-layer network's loss and full-BPTT gradient in one compiled call, for one thread.

For a single short sequence the recursions are a small part of a gradient:
at T = 100, B = 1, H = 32 (Elman, float32) the forward and backward kernels
took about 0.08 ms of a 0.4 ms call through the general drivers, the rest
being about 240 Python-level steps (buffers, projections, the loss, the
blocked driver's bookkeeping, one NumPy call each). When the whole problem is
one block of :func:`rnn_numba.bptt.backprop`'s full BPTT and runs on one
thread (a single sequence, or a single Numba thread), :func:`gradient` does
the same work in one kernel: the input projection,
:func:`rnn_numba.unroll._unroll_rows`, the readout and loss of
:mod:`rnn_numba.losses`, :func:`rnn_numba.bptt._backward_rows` and the
weight-gradient GEMMs, in the same order as the general path, so the
results agree with it to round-off (``tests/test_fused.py``).
"""

import numpy as np

from . import losses
from ._jit import batch_chunks, jit_kernel
from ._packed import pack
from ._workspace import work_array
from .bptt import _backward_rows
from .unroll import LayerTrajectory, Trajectory, _unroll_rows, block_steps


def applies(model, n_steps, n_batch, segments_are_full, recompute):
    """Whether :func:`gradient` serves this call: one layer, full BPTT in one block, one thread."""
    keeps_cache = not recompute or model.cell.CACHE_WIDTH == 0
    return (
        model.num_layers == 1
        and batch_chunks(n_batch) == 1
        and segments_are_full
        and keeps_cache
        and block_steps(n_steps, n_batch) == n_steps
    )


def gradient(model, theta, x, h0, c0, lengths, loss, target, weights, reduction, clip, record_norms):
    """Loss, gradient and forward pass of a one-layer model (validated inputs; see :func:`applies`).

    Parameters
    ----------
    model : RNN
    theta : ndarray, shape (n_params,)
    x : ndarray, shape (T, B, n_in)
    h0, c0 : ndarray, shape (1, B, H); ``c0`` None without cell state
    lengths : ndarray of int64, shape (B,)
    loss, target, weights, reduction
        As in :func:`rnn_numba.losses.loss_and_dy`.
    clip : float
        Message clip (0: none), as in :func:`rnn_numba.bptt.backprop`.
    record_norms : bool

    Returns
    -------
    value : float
    grad : ndarray, shape (n_params,)
    trajectory : Trajectory
    dh0, dc0 : ndarray, shape (1, B, H); ``dc0`` None without cell state
    norms : ndarray, shape (1, T + 1, B), or None
    """
    cell, dtype = model.cell, model.dtype
    has_c = cell.HAS_CELL_STATE
    is_mse = loss == "mse"
    n_batch, width = x.shape[1], cell.N_GATES * model.n_hidden
    value, grad, h, c, cache, y, dh0, dc0, sq = _gradient_kernel(
        model.kind, model.nonlinearity_code, cell.HAS_DIRECT_PATH, cell.SEPARATE_RECURRENT_DELTA, cell.CACHE_WIDTH,
        (cell.RECURRENT_BIAS or (None, 0))[1], model.n_out, losses.MSE if is_mse else losses.CROSS_ENTROPY,
        x, h0[0], c0[0] if has_c else np.zeros((n_batch, 0), dtype=dtype), lengths,
        target.reshape(-1, model.n_out) if is_mse else np.zeros((0, model.n_out), dtype=dtype),
        np.zeros(0, dtype=np.int64) if is_mse else target.ravel(),
        weights.ravel(), reduction == "mean", theta, _block_table(model), dtype(clip), record_norms,
        work_array("projection", (x.shape[0], n_batch, width), dtype),
        work_array("recurrent", (x.shape[0] if cell.SEPARATE_RECURRENT_DELTA else 0, n_batch, width), dtype),
    )  # fmt: skip
    trajectory = Trajectory(layers=[LayerTrajectory(h=h, c=c if has_c else None, cache=cache)], y=y, lengths=lengths)
    norms = np.sqrt(sq)[None] if record_norms else None
    return value, grad, trajectory, dh0[None], (dc0[None] if has_c else None), norms


#: The blocks the kernel reads and writes, in the rows of :func:`_block_table`.
W_XH, B_H, W_HH, B_REC, W_HY, B_Y = range(6)


def _block_table(model):
    """(offset, rows, columns) in theta of W_xh, b_h, W_hh, the recurrent bias, W_hy, b_y; zeros for absent blocks.

    A vector block of length n has n rows and one column.
    """
    layout, names = model.layout, model.layer_names[0]
    rec_bias = (model.cell.RECURRENT_BIAS or (None,))[0]
    rows = []  # built as a list and converted once: a call costs a few us, which counts at B = 1
    for name in (names["W_xh"], names.get("b_h"), names["W_hh"], names.get(rec_bias), "W_hy", "b_y"):
        if name is None:
            rows.append((0, 0, 0))
        else:
            shape = layout.shapes[name]
            rows.append((layout.slices[name].start, shape[0], shape[1] if len(shape) == 2 else 1))
    return np.array(rows, dtype=np.int64)


@jit_kernel
def _matrix(theta, table, row):
    """The block in row ``row`` of the table, a view of ``theta`` of shape (rows, columns)."""
    start, n_rows, n_cols = table[row, 0], table[row, 1], table[row, 2]
    return theta[start : start + n_rows * n_cols].reshape(n_rows, n_cols)


@jit_kernel
def _vector(theta, table, row):
    """The vector block in row ``row`` of the table (empty if absent), a view of ``theta``."""
    return theta[table[row, 0] : table[row, 0] + table[row, 1]]


@jit_kernel
def _gradient_kernel(
    kind, nonlinearity, direct, separate, cache_width, rec_gate, n_out, loss_code,
    x, h0, c0, lengths, target, classes, weights, mean, theta, table, clip, record_norms,
    projection, recurrent,
):  # fmt: skip
    """Forward, loss and full BPTT of one layer on one thread.

    ``direct``, ``separate``, ``cache_width`` and ``rec_gate`` are the
    cell's ``HAS_DIRECT_PATH``, ``SEPARATE_RECURRENT_DELTA``, ``CACHE_WIDTH``
    and recurrent-bias gate; ``h0``, ``c0`` (B, H or 0); ``target`` (M,
    n_out) floats for MSE, ``classes`` (M,) ints for cross-entropy (M = T*B
    rows; the other is empty); ``weights`` (M,) the loss weights, ``mean``
    the reduction; ``table`` from :func:`_block_table`; ``projection``
    (T, B, G*H) and ``recurrent`` (T or 0, B, G*H) work buffers (see
    :mod:`rnn_numba._workspace`), for the input projections then the deltas
    dL/da, and for a GRU's dL/dr.

    Returns the loss, the gradient (n_params,), h and c (T + 1, B, H or 0),
    the cache, y (T, B, n_out), dh0 and dc0 (B, H or 0), and the squared
    message norms (T + 1, B), or (0, B) unless ``record_norms``.
    """
    n_steps, n_batch, n_in = x.shape
    n_rows, n_hidden = n_steps * n_batch, h0.shape[1]
    dtype = x.dtype
    w_xh, w_hh, w_hy = _matrix(theta, table, W_XH), _matrix(theta, table, W_HH), _matrix(theta, table, W_HY)
    b_h, b_rec, b_y = _vector(theta, table, B_H), _vector(theta, table, B_REC), _vector(theta, table, B_Y)
    width = w_hh.shape[1]
    # The recursions run rows 0:B; 0 typed int64 as in the parallel kernels (a literal 0 compiles them again).
    first_row = np.int64(0)
    inputs = x.reshape(n_rows, n_in)
    # Forward: a_t = x_t @ W_xh + b_h for all steps at once, then the recursion.
    a = projection
    np.dot(inputs, w_xh, a.reshape(n_rows, width))
    if b_h.size:
        a += b_h
    h = np.empty((n_steps + 1, n_batch, n_hidden), dtype=dtype)
    c = np.empty((n_steps + 1, n_batch, c0.shape[1]), dtype=dtype)
    h[0], c[0] = h0, c0
    cache = np.empty((n_steps, n_batch, cache_width * n_hidden), dtype=dtype)
    rec = np.empty((n_batch, width), dtype=dtype)
    w_hh_packed, w_hh_t_packed = pack(w_hh), pack(w_hh.T)  # for each step's product
    _unroll_rows(kind, nonlinearity, a, w_hh_packed, b_rec, lengths, h, c, cache, rec, first_row, n_batch)
    states, h_prev = h[1:].reshape(n_rows, n_hidden), h[:-1].reshape(n_rows, n_hidden)
    y = np.dot(states, w_hy)
    y += b_y
    w = losses.scaled_weights(weights, mean)
    dy = np.empty_like(y)
    if loss_code == losses.MSE:
        value = losses._mse(y, target, w, dy)
    else:
        value = losses._cross_entropy(y, classes, w, dy)
    # Backward: the readout's blocks, dL/dh_{t+1} = dL/dy_t @ W_hy.T, the recursion, the GEMMs over all rows.
    grad = np.zeros_like(theta)
    _matrix(grad, table, W_HY)[...] = np.dot(states.T, dy)
    _vector(grad, table, B_Y)[...] = dy.sum(axis=0)
    dh_loss = np.dot(dy, np.ascontiguousarray(w_hy.T)).reshape(n_steps, n_batch, n_hidden)
    d_a, d_r = projection, recurrent  # the input projections are spent; every step's deltas are written
    dh0, dc0 = np.zeros_like(h0), np.zeros_like(c0)
    sq = np.zeros((n_steps + 1 if record_norms else 0, n_batch), dtype=dtype)
    segment = np.array([[0, n_steps, 0]], dtype=np.int64)
    _backward_rows(
        kind, nonlinearity, direct, segment, dh_loss, np.zeros_like(c0), w_hh_t_packed, lengths,
        h, c, cache, d_a, d_r, dh0, dc0, sq, clip, False, first_row, n_batch,
    )  # fmt: skip
    d_a2 = d_a.reshape(n_rows, width)
    d_r2 = d_r.reshape(n_rows, width) if separate else d_a2
    _matrix(grad, table, W_XH)[...] = np.dot(inputs.T, d_a2)
    _matrix(grad, table, W_HH)[...] = np.dot(h_prev.T, d_r2)
    if b_h.size:
        _vector(grad, table, B_H)[...] = d_a2.sum(axis=0)
    if b_rec.size:
        _vector(grad, table, B_REC)[...] = d_r2[:, rec_gate * n_hidden : (rec_gate + 1) * n_hidden].sum(axis=0)
    return value, grad, h, c, cache, y.reshape(n_steps, n_batch, n_out), dh0, dc0, sq
