"""A network's forward pass, readout, loss and full-BPTT gradient, built from the compiled pieces.

Every layer runs over the sequence in blocks of time steps: per block, the
input projection ``a = inputs @ W_xh + b_h`` is one GEMM over the block's
rows and the recursion (:mod:`rnn_numba._kernels.recurrence`) runs over
buffers allocated before it. Full BPTT runs backward block by block, last
block first and every layer per block, carrying dL/dh (and dL/dc) from block
to block: the loss gradient, the deltas and (when the forward pass did not
keep them) the gate activations exist for one block at a time, and each
block's weight gradients are GEMMs over its rows. Its memory is the stored
states and inputs plus O(block).

:func:`gradient` is the whole computation, whatever the cell, the number of
layers and blocks. On one thread (``threads=None``) it is one compiled call,
which matters for a single short sequence, where the work of a call is tens
of microseconds. On several threads the same source runs as Python
(:func:`run`), calling the compiled pieces, each a batch-parallel kernel:
compiled as one, Numba would generate the machine code of every parallel
kernel again inside it (it links callees into their caller), which costs
more compile time than the few Python-level calls cost time at batch sizes
that use threads. The truncated schedules (:mod:`rnn_numba.bptt`) use the
same pieces (:func:`forward`, :func:`readout_loss`, :func:`layer_gradients`,
the backward recursion).

Parameters are read from the flat vector ``theta`` through a table of
offsets (:attr:`rnn_numba.params.NetworkLayout.table`): row k < L holds layer
k's blocks in the order :data:`W_XH`, :data:`W_HH`, :data:`B_H`,
:data:`INNER`, row L the readout's :data:`W_HY`, :data:`B_Y`; each entry is
(offset, rows, columns), (0, 0, 0) for an absent block, a vector of length n
being n rows of one column.
"""

from typing import NamedTuple

import numpy as np

from .gemm import matmul, matmul_tn
from .jit import jit_kernel, jit_step_kernel
from .losses import NO_LOSS, loss_and_dy
from .packed import pack
from .recurrence import (
    Boundary,
    Deltas,
    LayerBlock,
    add_rows,
    backward_recursion,
    copy_rows,
    forward_recursion,
    recompute_cache,
)

#: Entries of a layer's row of the parameter table.
W_XH, W_HH, B_H, INNER = range(4)
#: Entries of the readout's row.
W_HY, B_Y = range(2)


class Work(NamedTuple):
    """The arrays a pass writes besides the gradient (T steps, B sequences, L layers).

    Attributes
    ----------
    h : ndarray, shape (L, T + 1, B, H)
        States of every layer; ``h[:, 0]`` holds the initial states.
    c : ndarray, shape (L, T + 1, B, H), or (L, T + 1, B, 0) without a cell state
    cache : ndarray, shape (L, T, B, cache_width * H), or (1, block, B, cache_width * H)
        Every layer's gate activations, if the forward pass keeps them for
        the backward pass; else one block's, recomputed where needed.
    projection : ndarray, shape (block, B, G*H)
        A block's input projections, then its deltas dL/da.
    recurrent : ndarray, shape (block, B, G*H)
        A recomputed block's recurrent projections, then its dL/dr.
    message : ndarray, shape (block, B, H)
        dL/dh of a block's states from above (the loss, or the layer above).
    y, dy : ndarray, shape (T, B, n_out)
        Readouts and dL/dy.
    """

    h: np.ndarray
    c: np.ndarray
    cache: np.ndarray
    projection: np.ndarray
    recurrent: np.ndarray
    message: np.ndarray
    y: np.ndarray
    dy: np.ndarray


class Gradients(NamedTuple):
    """What full BPTT writes.

    Attributes
    ----------
    grad : ndarray, shape (n_params,)
        dL/dtheta, zero on entry.
    dh, dc : ndarray, shape (L, B, H) (dc: (L, B, 0) without a cell state)
        dL/dh_T and dL/dc_T of every layer from outside on entry (zeros, or a
        later segment's dL/dh_0 when chaining); dL/dh_0 and dL/dc_0 on return.
    sq_norms : ndarray, shape (L, T + 1, B), or (L, 0, B)
        If not empty, receives ||dL/dh_t||^2 of every layer's states.
    """

    grad: np.ndarray
    dh: np.ndarray
    dc: np.ndarray
    sq_norms: np.ndarray


class Settings(NamedTuple):
    """How a pass runs: ``block`` steps at a time, keeping the gate activations or not, clipping the message.

    ``scale`` (T,) or empty: factors on the backward message, one per step
    (see :func:`~rnn_numba._kernels.recurrence.backward_recursion`).
    ``accumulate``: :func:`gradient` adds to ``out.grad`` instead of
    writing it (a gradient run a segment at a time, :mod:`rnn_numba.checkpointing`).
    """

    block: int
    keep_cache: bool
    clip: float
    scale: np.ndarray
    accumulate: bool = False


def run(kernel, threads):
    """``kernel`` itself on one thread; on several, its source as Python, calling the compiled pieces."""
    return kernel if threads is None else kernel.py_func


@jit_kernel
def matrix(theta, table, layer, role):
    """A 2-D parameter block, a view of ``theta``: entry ``role`` of row ``layer`` of the table."""
    start, n_rows, n_cols = table[layer, role, 0], table[layer, role, 1], table[layer, role, 2]
    return theta[start : start + n_rows * n_cols].reshape(n_rows, n_cols)


@jit_kernel
def vector(theta, table, layer, role):
    """A 1-D parameter block (empty if absent), a view of ``theta``."""
    return theta[table[layer, role, 0] : table[layer, role, 0] + table[layer, role, 1]]


@jit_kernel
def block_lengths(lengths, t0, n_steps):
    """Each sequence's valid steps within steps t0 .. t0 + n_steps - 1, counted from t0."""
    return np.minimum(np.maximum(lengths - t0, 0), n_steps)


@jit_kernel
def project(inputs, w, bias, out, threads):
    """Out = inputs @ w + bias over every row: inputs (n, B, K), w (K, N), bias (N,) or (0,), out (n, B, N)."""
    n_rows = inputs.shape[0] * inputs.shape[1]
    matmul(inputs.reshape(n_rows, inputs.shape[2]), w, out.reshape(n_rows, out.shape[2]), bias, threads)


@jit_step_kernel
def forward(cell, theta, table, x, lengths, work, settings, threads):
    """Run every layer over all T steps: ``work.h[:, 1:]``, ``work.c[:, 1:]`` and, if kept, ``work.cache``.

    Parameters
    ----------
    cell : configured cell
    theta : ndarray, shape (n_params,)
    table : ndarray of int64, shape (L + 1, 4, 3)
    x : ndarray, shape (T, B, n_in)
    lengths : ndarray of int64, shape (B,)
    work : Work
        ``h[:, 0]`` (and ``c[:, 0]``) hold the initial states.
    settings : Settings
    threads : int or None
    """
    n_steps, block = x.shape[0], settings.block
    for k in range(work.h.shape[0]):
        w_xh, w_hh = matrix(theta, table, k, W_XH), matrix(theta, table, k, W_HH)
        b_h, inner = vector(theta, table, k, B_H), vector(theta, table, k, INNER)
        w_hh_packed = pack(w_hh)
        for t0 in range(0, n_steps, block):
            t1 = min(t0 + block, n_steps)
            a = work.projection[: t1 - t0]
            project(x[t0:t1] if k == 0 else work.h[k - 1, t0 + 1 : t1 + 1], w_xh, b_h, a, threads)
            cache = work.cache[k, t0:t1] if settings.keep_cache else work.cache[0, : t1 - t0]
            layer = LayerBlock(work.h[k, t0 : t1 + 1], work.c[k, t0 : t1 + 1], cache)
            forward_recursion(cell, a, w_hh_packed, inner, block_lengths(lengths, t0, t1 - t0), layer, threads)


@jit_kernel
def readout(theta, table, work, threads):
    """work.y = h_top[1:] @ W_hy + b_y over all T*B rows."""
    n_layers, n_steps, n_batch = work.h.shape[0], work.y.shape[0], work.y.shape[1]
    top = work.h[n_layers - 1, 1:].reshape(n_steps * n_batch, work.h.shape[3])
    y = work.y.reshape(n_steps * n_batch, work.y.shape[2])
    matmul(top, matrix(theta, table, n_layers, W_HY), y, vector(theta, table, n_layers, B_Y), threads)


@jit_kernel
def readout_loss(theta, table, objective, work, grad, threads, accumulate=False):
    """The readout, the loss, dL/dy into ``work.dy``, and the readout's gradient into (or added to) ``grad``.

    Returns the loss.
    """
    readout(theta, table, work, threads)
    n_layers, n_rows, n_out = work.h.shape[0], work.y.shape[0] * work.y.shape[1], work.y.shape[2]
    dy = work.dy.reshape(n_rows, n_out)
    value = loss_and_dy(objective, work.y.reshape(n_rows, n_out), dy)
    # dL/dW_hy = h_top.T @ dL/dy; dL/db_y = the column sums of dL/dy
    top = work.h[n_layers - 1, 1:].reshape(n_rows, work.h.shape[3])
    g_w_hy = matrix(grad, table, n_layers, W_HY)
    matmul_tn(top, None, dy, g_w_hy, None, vector(grad, table, n_layers, B_Y), np.bool_(accumulate), threads)
    return value


@jit_kernel
def inject(theta, table, dy, out, threads):
    """Out = dy @ W_hy.T: dL/dh_{t+1} of the top layer from the loss, dy (n, B, n_out), out (n, B, H)."""
    w_hy_t = np.ascontiguousarray(matrix(theta, table, table.shape[0] - 1, W_HY).T)
    project(dy, w_hy_t, dy[0, 0, :0], out, threads)


@jit_kernel
def recompute_block(cell, theta, table, k, inputs, block, projection, recurrent, threads):
    """Layer k's gate activations over a block, from its stored states, into ``block.cache``.

    Two GEMMs over the block's rows (``inputs @ W_xh + b_h`` into
    ``projection``, ``h_prev @ W_hh`` into ``recurrent``, both (n, B, G*H))
    and the cell's forward steps, with no serial dependence.
    """
    n = inputs.shape[0]
    project(inputs, matrix(theta, table, k, W_XH), vector(theta, table, k, B_H), projection[:n], threads)
    w_hh = matrix(theta, table, k, W_HH)
    project(block.h[:n], w_hh, vector(theta, table, k, B_H)[:0], recurrent[:n], threads)
    recompute_cache(cell, projection[:n], recurrent[:n], vector(theta, table, k, INNER), block, threads)


@jit_kernel
def layer_gradients(cell, theta, table, grad, k, inputs, block, deltas, accumulate, threads):
    """Layer k's parameter gradients from its deltas over a block, into ``grad`` (added if ``accumulate``).

    dL/dW_xh = inputs.T @ d_a, dL/dW_hh = h_prev.T @ d_r (d_a for most
    cells), dL/db_h = the column sums of d_a: GEMMs over the block's rows;
    the cell's own parameters by its ``inner_gradient``.
    """
    n, n_batch, width = deltas.d_a.shape
    rows = n * n_batch
    d_a = deltas.d_a.reshape(rows, width)
    x = inputs.reshape(rows, inputs.shape[2])
    h_prev = block.h[:n].reshape(rows, block.h.shape[2])
    g_w_xh, g_w_hh, g_b_h = matrix(grad, table, k, W_XH), matrix(grad, table, k, W_HH), vector(grad, table, k, B_H)
    if cell.separate_recurrent_delta:
        d_r = deltas.d_r.reshape(rows, width)
        matmul_tn(x, None, d_a, g_w_xh, None, g_b_h, accumulate, threads)
        matmul_tn(h_prev, None, d_r, g_w_hh, None, g_b_h[:0], accumulate, threads)
    else:
        d_r = d_a
        matmul_tn(x, h_prev, d_a, g_w_xh, g_w_hh, g_b_h, accumulate, threads)
    c_prev = block.c[:n].reshape(rows, block.c.shape[2])
    cache = block.cache.reshape(rows, block.cache.shape[2])
    cell.inner_gradient(vector(theta, table, k, INNER), h_prev, c_prev, cache, d_a, d_r, vector(grad, table, k, INNER))


@jit_kernel
def gradient(cell, theta, table, x, lengths, objective, dh_top, work, out, settings, threads):
    """Forward pass, loss and full-BPTT gradient of a network, in one call; returns the loss.

    Parameters
    ----------
    cell, theta, table, x, lengths, work, settings, threads
        As in :func:`forward`.
    objective : Objective
        The loss on the readout, or none (``objective.loss`` is
        :data:`~rnn_numba._kernels.losses.NO_LOSS`) for a vector-Jacobian
        product of the states: then ``dh_top`` is used, and the loss returned
        is 0.
    dh_top : ndarray, shape (T, B, H), or (0, B, H) with a loss
        dL/dh_{t+1} of the top layer's states from a loss of the caller's.
    out : Gradients

    Notes
    -----
    The backward pass runs block by block, last block first, every layer
    per block, carrying dL/dh (and dL/dc) of each layer from block to block
    in ``out.dh`` and ``out.dc``.
    """
    forward(cell, theta, table, x, lengths, work, settings, threads)
    from_loss = objective.loss != NO_LOSS
    value = 0.0
    if from_loss:
        value = readout_loss(theta, table, objective, work, out.grad, threads, settings.accumulate)
    n_layers, n_steps, n_batch, block = work.h.shape[0], x.shape[0], x.shape[1], settings.block
    record, recompute = out.sq_norms.shape[1] > 0, not settings.keep_cache and work.cache.shape[3] > 0
    packed = [pack(np.ascontiguousarray(matrix(theta, table, k, W_HH).T)) for k in range(n_layers)]
    segment = np.zeros((1, 3), dtype=np.int64)
    first = not settings.accumulate
    for t0 in range(((n_steps - 1) // block) * block, -1, -block):
        t1 = min(t0 + block, n_steps)
        n = t1 - t0
        segment[0, 1] = n
        message = work.message[:n]
        if from_loss:
            inject(theta, table, work.dy[t0:t1], message, threads)
        else:
            for t in range(n):
                copy_rows(message[t], dh_top[t0 + t], 0, n_batch)
        lengths_here = block_lengths(lengths, t0, n)
        for k in range(n_layers - 1, -1, -1):
            inputs = x[t0:t1] if k == 0 else work.h[k - 1, t0 + 1 : t1 + 1]
            add_rows(message[n - 1], out.dh[k], 0, n_batch)
            cache = work.cache[k, t0:t1] if settings.keep_cache else work.cache[0, :n]
            layer = LayerBlock(work.h[k, t0 : t1 + 1], work.c[k, t0 : t1 + 1], cache)
            if recompute:  # the cache first: the buffers of its projections then hold the deltas
                recompute_block(cell, theta, table, k, inputs, layer, work.projection, work.recurrent, threads)
            deltas = Deltas(work.projection[:n], work.recurrent[: n if cell.separate_recurrent_delta else 0])
            sq = np.zeros((n + 1 if record else 0, n_batch), dtype=x.dtype)
            boundary = Boundary(out.dc[k].copy(), out.dh[k], out.dc[k], sq)
            out.dh[k] = 0
            out.dc[k] = 0
            scale = settings.scale[t0:t1] if settings.scale.shape[0] > 0 else settings.scale
            backward_recursion(
                cell, segment, message, packed[k], vector(theta, table, k, INNER), lengths_here, layer, deltas,
                boundary, settings.clip, scale, np.bool_(False), threads,
            )  # fmt: skip
            if record:
                for t in range(0 if t0 == 0 else 1, n + 1):
                    for b in range(n_batch):
                        out.sq_norms[k, t0 + t, b] = sq[t, b]
            layer_gradients(cell, theta, table, out.grad, k, inputs, layer, deltas, np.bool_(not first), threads)
            if k > 0:  # the layer below sees this layer's input gradient at every step of the block
                w_xh_t = np.ascontiguousarray(matrix(theta, table, k, W_XH).T)
                project(deltas.d_a, w_xh_t, w_xh_t[0, :0], message, threads)
        first = False
    return value
