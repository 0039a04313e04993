"""The serial recursions of any cell over a block of time steps: forward, backward, gate recomputation.

Written once against the cell contract (:mod:`rnn_numba.cells.contract`):
``cell.forward`` and ``cell.backward`` are the cell's step kernels, inlined.
The batch is split into ``threads`` chunks of whole sequences, one per
Numba thread, each running the time loop for its own rows (``threads=None``:
one chunk, on the calling thread). Each step's product by W_hh (forward) or
W_hh.T (backward) uses a weight packed once (:mod:`rnn_numba._kernels.packed`).
Nothing is allocated inside a time loop.

A step ``t >= lengths[b]`` of a shorter sequence b is padding: its state is
held (h_{t+1} = h_t), and backward its message passes unchanged with zero
deltas, so every sequence's final state is its last valid state.
"""

from typing import NamedTuple

import numpy as np
from numba import prange

from .jit import borrowed, jit_kernel, jit_parallel_kernel, jit_step_kernel
from .packed import packed_matmul


class LayerBlock(NamedTuple):
    """One layer's forward quantities over a block of n steps (t0 .. t1 - 1).

    Attributes
    ----------
    h : ndarray, shape (n + 1, B, H)
        States h_t0 .. h_t1; ``h[0]`` is the block's incoming state.
    c : ndarray, shape (n + 1, B, H), or (n + 1, B, 0) without a cell state
    cache : ndarray, shape (n, B, cache_width * H)
        What each step keeps for its backward step.
    """

    h: np.ndarray
    c: np.ndarray
    cache: np.ndarray


class Deltas(NamedTuple):
    """The backward recursion's output over a block of n steps.

    Attributes
    ----------
    d_a : ndarray, shape (n, B, G*H)
        dL/da_t, the gradient of the input projection (the gate pre-activations).
    d_r : ndarray, shape (n, B, G*H), or (0, B, G*H)
        dL/dr_t, the gradient of the recurrent projection, for a cell with a
        separate recurrent delta (else it is ``d_a``).
    """

    d_a: np.ndarray
    d_r: np.ndarray


class Boundary(NamedTuple):
    """The backward message where the segments of a block start and end.

    Attributes
    ----------
    dc_end : ndarray, shape (B, H) (or (B, 0))
        dL/dc at the block's last state, from outside (a later block).
    dh0, dc0 : ndarray, shape (B, H) (dc0: (B, 0) without a cell state)
        Receive (add) dL/dh and dL/dc at the block's first state, from
        segments that start there.
    sq_norms : ndarray, shape (n + 1, B), or (0, B)
        If not empty, receives ||dL/dh_t||^2 at every state of the block.
    """

    dc_end: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray
    sq_norms: np.ndarray


@jit_step_kernel
def _chunk(chunk, n_chunks, n_batch):
    """Rows b0:b1 of the batch that chunk ``chunk`` of ``n_chunks`` takes."""
    return chunk * n_batch // n_chunks, (chunk + 1) * n_batch // n_chunks


# --------------------------------------------------------------------------- forward
@jit_step_kernel
def forward_recursion(cell, a, w_hh_packed, inner, lengths, block, threads):
    """Run the cell over a block of steps, in place: ``block.h[1:]``, ``block.c[1:]`` and ``block.cache``.

    Parameters
    ----------
    cell : configured cell (:meth:`rnn_numba.cells.Cell.configure`)
    a : ndarray, shape (n, B, G*H)
        Input projections a_t, bias included.
    w_hh_packed : ndarray
        W_hh (H, G*H) packed by :func:`rnn_numba._kernels.packed.pack`.
    inner : ndarray, shape (n_inner,)
        The cell's own parameters (empty if none).
    lengths : ndarray of int64, shape (B,)
        Valid steps of each sequence, counted from the block's first step.
    block : LayerBlock
        ``h[0]`` (and ``c[0]``) set.
    threads : int or None
    """
    rec = np.empty((a.shape[1], a.shape[2]), dtype=a.dtype)  # r_t = h_{t-1} @ W_hh, one step's rows
    if isinstance(threads, int):
        _forward_parallel(cell, a, w_hh_packed, inner, lengths, block, rec, threads)
    else:
        _forward_rows_kernel(cell, a, w_hh_packed, inner, lengths, block, rec, np.int64(0), np.int64(a.shape[1]))


@jit_parallel_kernel
def _forward_parallel(cell, a, w_hh_packed, inner, lengths, block, rec, n_chunks):
    for chunk in prange(n_chunks):
        b0, b1 = _chunk(chunk, n_chunks, a.shape[1])
        _forward_rows_kernel(cell, a, w_hh_packed, inner, lengths, block, rec, b0, b1)


@jit_step_kernel
def _forward_rows(cell, a, w_hh_packed, inner, lengths, block, rec, b0, b1):
    """The serial forward recursion for sequences b0:b1 (arguments of :func:`forward_recursion`)."""
    h, c, cache = block
    a, w_hh_packed, inner, lengths, h, c, cache, rec = borrowed(a, w_hh_packed, inner, lengths, h, c, cache, rec)
    for t in range(a.shape[0]):
        packed_matmul(h[t], w_hh_packed, rec, b0, b1, False)
        cell.forward(b0, b1, a[t], rec, inner, (h[t], c[t]), (h[t + 1], c[t + 1]), cache[t])
        for b in range(b0, b1):
            if t >= lengths[b]:
                copy_rows(h[t + 1], h[t], b, b + 1)
                copy_rows(c[t + 1], c[t], b, b + 1)


@jit_step_kernel
def recompute_cache(cell, a, r, inner, block, threads):
    """Recompute ``block.cache`` from the stored states: no serial dependence.

    ``a`` and ``r`` (n, B, G*H) are the input and recurrent projections of
    the block's steps, ``block.h`` and ``block.c`` their stored states; the
    cell's forward step writes each step's cache and a next state into a
    scratch buffer, which is discarded.
    """
    h, c, _ = block
    scratch = (np.empty((h.shape[1], h.shape[2]), dtype=h.dtype), np.empty((c.shape[1], c.shape[2]), dtype=c.dtype))
    if isinstance(threads, int):
        _recompute_parallel(cell, a, r, inner, block, scratch, threads)
    else:
        _recompute_rows_kernel(cell, a, r, inner, block, scratch, np.int64(0), np.int64(h.shape[1]))


@jit_parallel_kernel
def _recompute_parallel(cell, a, r, inner, block, scratch, n_chunks):
    for chunk in prange(n_chunks):
        b0, b1 = _chunk(chunk, n_chunks, a.shape[1])
        _recompute_rows_kernel(cell, a, r, inner, block, scratch, b0, b1)


@jit_step_kernel
def _recompute_rows(cell, a, r, inner, block, scratch, b0, b1):
    h, c, cache = block
    h_scratch, c_scratch = scratch
    a, r, inner, h, c, cache, h_scratch, c_scratch = borrowed(a, r, inner, h, c, cache, h_scratch, c_scratch)
    for t in range(a.shape[0]):
        cell.forward(b0, b1, a[t], r[t], inner, (h[t], c[t]), (h_scratch, c_scratch), cache[t])


# --------------------------------------------------------------------------- backward
@jit_step_kernel
def backward_recursion(
    cell, segments, dh_loss, w_hh_t_packed, inner, lengths, block, deltas, boundary, clip, scale, accumulate, threads
):
    """Run the backward recursion of every segment over a block, writing or accumulating the deltas.

    Parameters
    ----------
    cell : configured cell
    segments : ndarray of int64, shape (S, 3)
        Rows ``(start, stop, inject_from)`` within the block (see
        :mod:`rnn_numba.schedules`): the message starts at zero at step
        ``stop - 1``, picks up ``dh_loss[t]`` at every step t >=
        ``inject_from`` and is carried back to ``start``.
    dh_loss : ndarray, shape (n, B, H)
        dL/dh_{t+1} coming directly from the loss (or the layer above) at step t.
    w_hh_t_packed : ndarray
        W_hh.T (G*H, H) packed by :func:`rnn_numba._kernels.packed.pack`.
    inner : ndarray, shape (n_inner,)
    lengths : ndarray of int64, shape (B,)
        Valid steps of each sequence, counted from the block's first step.
    block : LayerBlock
    deltas : Deltas
        Receive the sum over segments of dL/da_t (and dL/dr_t): added to what
        they hold if ``accumulate``, else written over the steps of the
        segment (one segment only: then each step's deltas are computed in
        place, with no zeroed buffers and no copy per step).
    boundary : Boundary
        ``dc_end`` starts a segment that ends at the block's end;
        ``dh0``/``dc0`` receive the message of segments that start at 0.
    clip : float
        If > 0, every step's deltas are clipped to [-clip, clip] before they
        travel on (Lasagne's ``grad_clipping``).
    scale : ndarray, shape (n,) or (0,)
        If not empty, the message dL/dh_t (and dL/dc_t) is multiplied by
        ``scale[t]`` as it passes from step t back to step t - 1 (ARTBP's
        compensation factors, Tallec & Ollivier 2017).
    accumulate : bool
    threads : int or None
    """
    if isinstance(threads, int):
        _backward_parallel(
            cell, segments, dh_loss, w_hh_t_packed, inner, lengths, block, deltas, boundary, clip, scale, accumulate,
            threads,
        )  # fmt: skip
    else:
        _backward_rows_kernel(
            cell, segments, dh_loss, w_hh_t_packed, inner, lengths, block, deltas, boundary, clip, scale, accumulate,
            np.int64(0), np.int64(block.h.shape[1]),
        )  # fmt: skip


@jit_parallel_kernel
def _backward_parallel(
    cell, segments, dh_loss, w_hh_t_packed, inner, lengths, block, deltas, boundary, clip, scale, accumulate, n_chunks
):
    for chunk in prange(n_chunks):
        b0, b1 = _chunk(chunk, n_chunks, block.h.shape[1])
        _backward_rows_kernel(
            cell, segments, dh_loss, w_hh_t_packed, inner, lengths, block, deltas, boundary, clip, scale, accumulate,
            b0, b1,
        )  # fmt: skip


@jit_step_kernel
def _backward_rows(
    cell, segments, dh_loss, w_hh_t_packed, inner, lengths, block, deltas, boundary, clip, scale, accumulate, b0, b1
):
    """Allocate the message buffers of sequences b0:b1 and run their time loops (:func:`_backward_steps`)."""
    n_batch, n_hidden, width, dtype = block.h.shape[1], block.h.shape[2], deltas.d_a.shape[2], block.h.dtype
    c_width = block.c.shape[2]
    # Indexed like the batch; only rows b0:b1 are touched.
    dh, dh_prev = np.zeros((n_batch, n_hidden), dtype=dtype), np.zeros((n_batch, n_hidden), dtype=dtype)
    dc, dc_prev = np.zeros((n_batch, c_width), dtype=dtype), np.zeros((n_batch, c_width), dtype=dtype)
    da = np.zeros((n_batch if accumulate else 0, width), dtype=dtype)
    dr = np.zeros((n_batch if accumulate and cell.separate_recurrent_delta else 0, width), dtype=dtype)
    messages = (dh, dh_prev, dc, dc_prev, da, dr)
    _backward_steps(
        cell, segments, dh_loss, w_hh_t_packed, inner, lengths, block, deltas, boundary, clip, scale, accumulate,
        b0, b1, messages,
    )  # fmt: skip


@jit_step_kernel
def _backward_steps(
    cell, segments, dh_loss, w_hh_t_packed, inner, lengths, block, deltas, boundary, clip, scale, accumulate, b0, b1,
    messages,
):  # fmt: skip
    """The time loops of :func:`_backward_rows`, on borrowed arrays."""
    h, c, cache = block
    d_a, d_r = deltas
    dc_end, dh0, dc0, sq_norms = boundary
    dh, dh_prev, dc, dc_prev, da, dr = messages
    segments, dh_loss, w_hh_t_packed, inner, lengths = borrowed(segments, dh_loss, w_hh_t_packed, inner, lengths)
    h, c, cache, d_a, d_r, dc_end, dh0, dc0, sq_norms = borrowed(h, c, cache, d_a, d_r, dc_end, dh0, dc0, sq_norms)
    dh, dh_prev, dc, dc_prev, da, dr = borrowed(dh, dh_prev, dc, dc_prev, da, dr)
    separate = cell.separate_recurrent_delta
    n_steps = h.shape[0] - 1
    record = sq_norms.shape[0] > 0
    zero = h.dtype.type(0)
    for s in range(segments.shape[0]):
        start, stop, inject_from = segments[s, 0], segments[s, 1], segments[s, 2]
        dh[b0:b1] = zero
        dc[b0:b1] = zero
        if stop == n_steps:
            add_rows(dc, dc_end, b0, b1)
        for t in range(stop - 1, start - 1, -1):
            # This step's deltas: in the work buffers to be added, or in place.
            da_t = da if accumulate else d_a[t]
            if separate:
                dr_t = dr if accumulate else d_r[t]
            else:
                dr_t = da_t
            if t >= inject_from:
                add_rows(dh, dh_loss[t], b0, b1)
            if record:
                _add_sq_norms(dh, sq_norms[t + 1], b0, b1)
            cell.backward(b0, b1, (dh, dc), inner, (h[t], c[t]), (h[t + 1], c[t + 1]), cache[t], da_t, dr_t,
                          (dh_prev, dc_prev))  # fmt: skip
            if clip > zero:
                _clip_rows(da_t, clip, b0, b1)
                if separate:
                    _clip_rows(dr_t, clip, b0, b1)
            # dL/dh_{t-1} = dL/dr_t @ W_hh.T, added to the cell's direct path if it has one
            packed_matmul(dr_t, w_hh_t_packed, dh_prev, b0, b1, cell.direct_path)
            if scale.shape[0] > 0:
                _scale_rows(dh_prev, scale[t], b0, b1)
                _scale_rows(dc_prev, scale[t], b0, b1)
            for b in range(b0, b1):
                if t >= lengths[b]:  # padded step: h_{t+1} = h_t, the message passes unchanged
                    da_t[b] = zero
                    if separate:
                        dr_t[b] = zero
                    copy_rows(dh_prev, dh, b, b + 1)
                    copy_rows(dc_prev, dc, b, b + 1)
            if accumulate:
                add_rows(d_a[t], da, b0, b1)
                if separate:
                    add_rows(d_r[t], dr, b0, b1)
            dh, dh_prev = dh_prev, dh  # the message moves one step back: swapped, not copied
            dc, dc_prev = dc_prev, dc
        if start == 0:
            add_rows(dh0, dh, b0, b1)
            add_rows(dc0, dc, b0, b1)
            if record:
                _add_sq_norms(dh, sq_norms[0], b0, b1)


# The rows as kernels of their own, for the parallel loops: a call in a prange body keeps Numba's parfor passes
# cheap, where a body inlined into it takes them several seconds more to compile.
_forward_rows_kernel = jit_kernel(_forward_rows.py_func)
_recompute_rows_kernel = jit_kernel(_recompute_rows.py_func)
_backward_rows_kernel = jit_kernel(_backward_rows.py_func)


@jit_step_kernel
def _add_sq_norms(dh, out, b0, b1):
    """out[b] += ||dh[b]||^2 for rows b0:b1 of dh (B, H), without a temporary."""
    for b in range(b0, b1):
        for j in range(dh.shape[1]):
            out[b] += dh[b, j] * dh[b, j]


@jit_step_kernel
def add_rows(dst, src, b0, b1):
    """dst[b0:b1] += src[b0:b1] for 2-D arrays, in place."""
    for b in range(b0, b1):
        for j in range(dst.shape[1]):
            dst[b, j] += src[b, j]


@jit_step_kernel
def copy_rows(dst, src, b0, b1):
    """dst[b0:b1] = src[b0:b1] for 2-D arrays."""
    for b in range(b0, b1):
        for j in range(dst.shape[1]):
            dst[b, j] = src[b, j]


@jit_step_kernel
def _scale_rows(a, factor, b0, b1):
    """Rows b0:b1 of a 2-D array times ``factor``, in place."""
    for b in range(b0, b1):
        for j in range(a.shape[1]):
            a[b, j] *= factor


@jit_step_kernel
def _clip_rows(a, clip, b0, b1):
    """Clip rows b0:b1 of a 2-D array to [-clip, clip] in place (NaN stays NaN)."""
    for b in range(b0, b1):
        for j in range(a.shape[1]):
            if a[b, j] > clip:
                a[b, j] = clip
            elif a[b, j] < -clip:
                a[b, j] = -clip
