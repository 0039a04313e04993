"""Backpropagation through time: one driver for full BPTT and both truncations.

Every schedule is a list of *segments* ``(start, stop, inject_from)``: the
backward message starts at zero at step ``stop - 1``, picks up the loss
gradient dL/dh_{t+1} of every step ``t >= inject_from``, and is carried back
through steps ``stop - 1, ..., start``; the state before ``start`` is held
constant. The deltas dL/da_t of all segments are summed per step, and the
weight gradients are then GEMMs over all T*B rows.

Full BPTT runs in blocks of time steps instead, last block first and every
layer per block, carrying dL/dh (and dL/dc) from block to block: the loss
gradient, the deltas and (when the forward pass did not keep them) the gate
activations exist for one block at a time, and each block's weight
gradients are GEMMs over its rows. Its memory is then the stored states and
inputs plus O(block).

- Full (epochwise) BPTT, Werbos (1990), doi:10.1109/5.58337: one segment
  ``(0, T, 0)``.
- Fixed-horizon truncation (Theano's ``truncate_gradient``; the estimator
  studied by Aicher, Foti & Fox 2019, arXiv:1905.07473): each loss term L_t
  is backpropagated exactly K steps, segments ``(max(0, t-K+1), t+1, t)``.
  K >= T is full BPTT. Cost O(T K) steps.
- Truncated BPTT(k2; k1), Williams & Peng (1990), doi:10.1162/neco.1990.2.4.490,
  written TBPTT(k1, k2): every k1 steps the losses of those k1 steps are
  backpropagated k2 >= k1 steps, segments ``(max(0, e-k2), e, e-k1)`` for
  window ends e = k1, 2 k1, ... A last, shorter window at T keeps the same
  k2 - k1 steps of history before its losses, so that k1 = k2 = k is exactly
  the chunked loop (PyTorch's ``detach()`` every k steps). The sum over
  windows at fixed parameters; :func:`rnn_numba.tbptt` yields the windows
  one by one, for updates between them.
"""

import numpy as np
from numba import prange

from . import cells
from ._jit import borrowed, jit_kernel, jit_parallel_kernel, jit_step_kernel
from ._linalg import matmul, matmul_tn
from ._packed import pack, packed_matmul
from ._workspace import work_array
from .unroll import block_steps, layer_cache


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
    k1; the last window then carries the losses of its remaining steps, with
    k2 - k1 steps of history before them like every other window.
    """
    ends = np.arange(k1, n_steps + k1, k1, dtype=np.int64)
    ends[-1] = n_steps
    inject_from = np.concatenate([[0], ends[:-1]])
    return np.stack([np.maximum(0, inject_from - (k2 - k1)), ends, inject_from], axis=1)


@jit_step_kernel
def _add_sq_norms(dh, out, b0, b1):
    """out[b] += ||dh[b]||^2 for rows b0:b1 of dh (B, H), without a temporary."""
    for b in range(b0, b1):
        for j in range(dh.shape[1]):
            out[b] += dh[b, j] * dh[b, j]


@jit_step_kernel
def _add_rows(dst, src, b0, b1):
    """dst[b0:b1] += src[b0:b1] for 2-D arrays, in place."""
    for b in range(b0, b1):
        for j in range(dst.shape[1]):
            dst[b, j] += src[b, j]


@jit_step_kernel
def _copy_rows(dst, src, b0, b1):
    """dst[b0:b1] = src[b0:b1] for 2-D arrays."""
    for b in range(b0, b1):
        for j in range(dst.shape[1]):
            dst[b, j] = src[b, j]


@jit_step_kernel
def _clip_rows(a, clip, b0, b1):
    """Clip rows b0:b1 of a 2-D array to [-clip, clip] in place (NaN stays NaN)."""
    for b in range(b0, b1):
        for j in range(a.shape[1]):
            if a[b, j] > clip:
                a[b, j] = clip
            elif a[b, j] < -clip:
                a[b, j] = -clip


@jit_parallel_kernel
def _backward_kernel(
    kind, nonlinearity, direct, segments, dh_loss, dc_end, w_hh_t_packed, lengths, h, c, cache,
    d_a, d_r, dh0, dc0, sq_norms, clip, accumulate, n_chunks,
):  # fmt: skip
    """Run the backward recursion of every segment, accumulating or writing deltas.

    The batch is split into ``n_chunks`` groups of whole sequences, one per
    thread; each runs :func:`_backward_rows` for its own rows.

    Parameters
    ----------
    direct : bool
        The cell has a path from h_{t-1} to h_t that bypasses W_hh.
    segments : ndarray of int64, shape (S, 3)
        Rows ``(start, stop, inject_from)``.
    dh_loss : ndarray, shape (T, B, H)
        dL/dh_{t+1} coming directly from the loss (or the layer above) at step t.
    dc_end : ndarray, shape (B, H) (or (B, 0) without a cell state)
        dL/dc_T from outside, the starting dc of a segment that ends at T.
    w_hh_t_packed : ndarray, shape (ceil(H / NR), G*H, NR)
        W_hh.T (G*H, H) packed for each step's product dL/dr_t @ W_hh.T by
        :func:`rnn_numba._packed.pack`.
    lengths : ndarray of int64, shape (B,)
    h, c : ndarray, shape (T + 1, B, H) (c: (T + 1, B, 0) without a cell state)
    cache : ndarray, shape (T, B, CACHE_WIDTH * H)
    d_a : ndarray, shape (T, B, G*H)
        Receives the sum over segments of dL/da_t: added to what it holds,
        or, unless ``accumulate``, written over the steps of the segment.
    d_r : ndarray, shape (T, B, G*H), or (0, B, G*H)
        Same for dL/dr_t, for cells with a separate recurrent delta.
    dh0, dc0 : ndarray, shape (B, H) (dc0: (B, 0) without a cell state)
        Receive (add) dL/dh_0 (and dL/dc_0) from segments with start 0.
    sq_norms : ndarray, shape (T + 1, B), or (0, B)
        If not empty, receives ||dL/dh_t||^2 (meaningful for full BPTT).
    clip : float
        If > 0, every step's deltas dL/da_t (and dL/dr_t) are clipped to
        [-clip, clip] before they travel on (Lasagne's ``grad_clipping``).
    accumulate : bool
        Add the deltas into ``d_a`` and ``d_r``. If False (one segment only),
        each step's deltas are computed in place in ``d_a[t]`` and ``d_r[t]``:
        no zeroed buffers, no copy per step.
    n_chunks : int
    """
    n_batch = h.shape[1]
    for chunk in prange(n_chunks):
        b0, b1 = chunk * n_batch // n_chunks, (chunk + 1) * n_batch // n_chunks
        _backward_rows(
            kind, nonlinearity, direct, segments, dh_loss, dc_end, w_hh_t_packed, lengths, h, c, cache,
            d_a, d_r, dh0, dc0, sq_norms, clip, accumulate, b0, b1,
        )  # fmt: skip


@jit_kernel
def _backward_rows(
    kind, nonlinearity, direct, segments, dh_loss, dc_end, w_hh_t_packed, lengths, h, c, cache,
    d_a, d_r, dh0, dc0, sq_norms, clip, accumulate, b0, b1,
):  # fmt: skip
    """The serial backward recursion of every segment for sequences b0:b1 (arguments of :func:`_backward_kernel`)."""
    n_batch, n_hidden, width, dtype = h.shape[1], h.shape[2], d_a.shape[2], h.dtype
    separate = d_r.shape[0] > 0
    # The message buffers, indexed like the batch; only rows b0:b1 are touched.
    dh, dh_prev = np.zeros((n_batch, n_hidden), dtype=dtype), np.zeros((n_batch, n_hidden), dtype=dtype)
    dh_direct = np.zeros((n_batch, n_hidden if direct else 0), dtype=dtype)
    dc, dc_prev = np.zeros((n_batch, c.shape[2]), dtype=dtype), np.zeros((n_batch, c.shape[2]), dtype=dtype)
    da = np.zeros((n_batch if accumulate else 0, width), dtype=dtype)
    dr = np.zeros((n_batch if accumulate else 0, width if separate else 0), dtype=dtype)
    _backward_steps(
        kind, nonlinearity, direct, segments, dh_loss, dc_end, w_hh_t_packed, lengths, h, c, cache,
        d_a, d_r, dh0, dc0, sq_norms, clip, accumulate, b0, b1, dh, dh_prev, dh_direct, dc, dc_prev, da, dr,
    )  # fmt: skip


@jit_kernel
def _backward_steps(
    kind, nonlinearity, direct, segments, dh_loss, dc_end, w_hh_t_packed, lengths, h, c, cache,
    d_a, d_r, dh0, dc0, sq_norms, clip, accumulate, b0, b1, dh, dh_prev, dh_direct, dc, dc_prev, da, dr,
):  # fmt: skip
    """The time loops of :func:`_backward_rows`, with its message buffers ``dh`` .. ``dr`` (all borrowed)."""
    segments, dh_loss, dc_end, w_hh_t_packed, lengths, h, c, cache = borrowed(
        segments, dh_loss, dc_end, w_hh_t_packed, lengths, h, c, cache
    )
    d_a, d_r, dh0, dc0, sq_norms = borrowed(d_a, d_r, dh0, dc0, sq_norms)
    dh, dh_prev, dh_direct, dc, dc_prev, da, dr = borrowed(dh, dh_prev, dh_direct, dc, dc_prev, da, dr)
    n_steps = h.shape[0] - 1
    separate = d_r.shape[0] > 0
    record = sq_norms.shape[0] > 0
    zero = h.dtype.type(0)
    for s in range(segments.shape[0]):
        start, stop, inject_from = segments[s, 0], segments[s, 1], segments[s, 2]
        dh[b0:b1] = zero
        dc[b0:b1] = zero
        if stop == n_steps:
            _add_rows(dc, dc_end, b0, b1)
        for t in range(stop - 1, start - 1, -1):
            # This step's deltas: in the work buffers to be added, or in place.
            da_t = da if accumulate else d_a[t]
            dr_t = d_r[t] if separate and not accumulate else dr
            if t >= inject_from:
                _add_rows(dh, dh_loss[t], b0, b1)
            if record:
                _add_sq_norms(dh, sq_norms[t + 1], b0, b1)
            cells.backward_step(
                kind, nonlinearity, b0, b1, dh, dc, h[t], h[t + 1], c[t], cache[t], da_t, dr_t, dc_prev, dh_direct
            )
            if clip > zero:
                _clip_rows(da_t, clip, b0, b1)
                if separate:
                    _clip_rows(dr_t, clip, b0, b1)
            # dL/dh_{t-1} = dL/dr_t @ W_hh.T (+ the cell's direct path)
            packed_matmul(dr_t if separate else da_t, w_hh_t_packed, dh_prev, b0, b1)
            if direct:
                _add_rows(dh_prev, dh_direct, b0, b1)
            for b in range(b0, b1):
                if t >= lengths[b]:  # padded step: h_{t+1} = h_t, the message passes unchanged
                    da_t[b] = zero
                    if separate:
                        dr_t[b] = zero
                    dh_prev[b] = dh[b]
                    dc_prev[b] = dc[b]
            if accumulate:
                _add_rows(d_a[t], da, b0, b1)
                if separate:
                    _add_rows(d_r[t], dr, b0, b1)
            _copy_rows(dh, dh_prev, b0, b1)
            _copy_rows(dc, dc_prev, b0, b1)
        if start == 0:
            _add_rows(dh0, dh, b0, b1)
            _add_rows(dc0, dc, b0, b1)
            if record:
                _add_sq_norms(dh, sq_norms[0], b0, b1)


def _segments_overlap(segments):
    """Whether two segments share a step (then each needs its own pass through the layers)."""
    order = np.argsort(segments[:, 0])
    return bool(np.any(segments[order[1:], 0] < segments[order[:-1], 1]))


def _window_lengths(lengths, t0, t1, n_steps):
    """Each sequence's valid steps within steps t0 .. t1 - 1, counted from t0 (clipped to [0, t1 - t0])."""
    return lengths if t0 == 0 and t1 == n_steps else np.clip(lengths - t0, 0, t1 - t0)


def is_full(segments, n_steps):
    """Whether the schedule is full BPTT, one segment (0, T, 0)."""
    return segments.tolist() == [[0, n_steps, 0]]  # (tolist: Python ints, no NumPy scalar per comparison)


def _weight_grads(cell, p, inputs, h_prev, d_a, d_r, n_chunks, into=None):
    """The weight gradients of one layer from its deltas over some steps.

    ``inputs`` (M, n_in), ``h_prev`` (M, H), ``d_a`` (M, G*H) and ``d_r``
    (M, G*H, or None when the cell's recurrent delta is ``d_a``) hold the
    same M = steps * B rows. ``into``, the gradients of earlier blocks
    (from this function), receives these added to it, and is returned.
    """
    # The bias gradients are column sums of the deltas, taken by each thread after its share of the GEMM.
    g = {} if into is None else into
    if d_r is None:  # dL/dW_xh and dL/dW_hh as a pair: one product [inputs | h_prev].T @ d_a where it pays
        out = None if into is None else (g["W_xh"], g["W_hh"])
        (g["W_xh"], g["W_hh"]), sum_d_a = matmul_tn((inputs, h_prev), d_a, n_chunks, column_sums=True, out=out)
        sum_d_r = sum_d_a
    else:
        g["W_xh"], sum_d_a = matmul_tn(inputs, d_a, n_chunks, column_sums=True, out=g.get("W_xh"))
        g["W_hh"], sum_d_r = matmul_tn(h_prev, d_r, n_chunks, column_sums=True, out=g.get("W_hh"))
    biases = {}
    if "b_h" in p:
        biases["b_h"] = sum_d_a
    if cell.RECURRENT_BIAS and cell.RECURRENT_BIAS[0] in p:
        gate, n_hidden = cell.RECURRENT_BIAS[1], h_prev.shape[1]
        biases[cell.RECURRENT_BIAS[0]] = sum_d_r[gate * n_hidden : (gate + 1) * n_hidden]
    for name, value in biases.items():
        g[name] = value if into is None else g[name] + value
    return g


def backprop(
    model, theta, x, traj, inject, segments, n_chunks, record_norms=False, dh_final=None, dc_final=None,
    clip_message=None,
):  # fmt: skip
    """Gradients of every layer's blocks, by the given schedule (validated inputs).

    Parameters
    ----------
    model : RNN
    theta : ndarray, shape (n_params,)
    x : ndarray, shape (T, B, n_in)
    traj : Trajectory
        The forward pass of ``x`` under ``theta`` (with or without its cache).
    inject : callable
        ``inject(t0, t1)`` returns an array (t1 - t0, B, H) that this
        function may overwrite, valid until the next call: dL/dh_{t+1} of
        the top layer from the loss at steps t0 .. t1 - 1.
    segments : ndarray of int64, shape (S, 3)
    n_chunks : int
        Threads to split the batch over.
    record_norms : bool
        Also return ||dL/dh_t|| for every layer and t = 0..T (full BPTT
        only: for other schedules ``dh_norms`` is None).
    dh_final, dc_final : ndarray, shape (L, B, H), optional
        dL/dh_T and dL/dc_T of every layer from outside (chaining a later
        segment's dL/dh_0 back into this one).
    clip_message : float, optional
        Clip the backward message at every step: each element of dL/da_t
        (the gate pre-activations; for a GRU also of dL/dr_t, the recurrent
        projection) to [-clip_message, clip_message], as Lasagne's
        ``grad_clipping`` does. The clipped message is what travels on to
        earlier steps, lower layers and the weight gradients.

    Returns
    -------
    grads : list of dict of ndarray
        Per layer, the gradient of each of the layer's blocks.
    dh0, dc0 : ndarray, shape (L, B, H); ``dc0`` None without cell state
    dh_norms : ndarray, shape (L, T + 1, B), or None
    """
    clip = model.dtype(0 if clip_message is None else clip_message)
    if is_full(segments, x.shape[0]):
        return _backprop_blocked(model, theta, x, traj, inject, n_chunks, record_norms, dh_final, dc_final, clip)
    return _backprop_segments(model, theta, x, traj, inject, segments, n_chunks, dh_final, dc_final, clip)


def _backprop_blocked(model, theta, x, traj, inject, n_chunks, record_norms, dh_final, dc_final, clip):
    """Full BPTT block by block, last block first, all layers per block (see :func:`backprop`)."""
    cell, dtype = model.cell, model.dtype
    n_steps, n_batch, _ = x.shape
    n_hidden, n_layers = model.n_hidden, model.num_layers
    width = cell.N_GATES * n_hidden
    c_width = n_hidden if cell.HAS_CELL_STATE else 0
    params = model.layer_views(theta)
    w_hh_t_packed = [pack(p["W_hh"].T) for p in params]
    w_xh_t = [None] + [np.ascontiguousarray(p["W_xh"].T) for p in params[1:]]  # to pass deltas down
    # dL/dh and dL/dc at the end of the block being processed, per layer.
    dh = np.zeros((n_layers, n_batch, n_hidden), dtype=dtype) if dh_final is None else dh_final.copy()
    dc = np.zeros((n_layers, n_batch, c_width), dtype=dtype) if dc_final is None else dc_final.copy()
    sq_norms = np.zeros((n_layers, n_steps + 1 if record_norms else 0, n_batch), dtype=dtype)
    grads = [None] * n_layers
    recompute = cell.CACHE_WIDTH > 0 and any(layer.cache is None for layer in traj.layers)
    block = block_steps(n_steps, n_batch, recompute)
    for t0 in reversed(range(0, n_steps, block)):
        t1 = min(t0 + block, n_steps)
        n = t1 - t0
        segment = np.array([[0, n, 0]], dtype=np.int64)
        lengths = _window_lengths(traj.lengths, t0, t1, n_steps)
        below = inject(t0, t1)
        for k in reversed(range(n_layers)):
            layer = traj.layers[k]
            inputs = x if k == 0 else traj.layers[k - 1].h[1:]
            below[-1] += dh[k]
            # The cache first: the buffer of its projections then holds the deltas.
            cache = layer_cache(model, params[k], inputs, layer, t0, t1, n_chunks)
            d_a = work_array("projection", (n, n_batch, width), dtype)
            d_r = work_array("recurrent", (n if cell.SEPARATE_RECURRENT_DELTA else 0, n_batch, width), dtype)
            sq = np.zeros((n + 1 if record_norms else 0, n_batch), dtype=dtype)
            c = layer.c[t0 : t1 + 1] if layer.c is not None else np.zeros((n + 1, n_batch, 0), dtype=dtype)
            dh[k] = 0
            dc_end, dc[k] = dc[k].copy(), 0
            _backward_kernel(
                model.kind, model.nonlinearity_code, cell.HAS_DIRECT_PATH, segment, below, dc_end, w_hh_t_packed[k],
                lengths, layer.h[t0 : t1 + 1], c, cache, d_a, d_r, dh[k], dc[k], sq, clip, False, n_chunks,
            )  # fmt: skip
            if record_norms:
                sq_norms[k, t0 + 1 : t1 + 1] = sq[1:]
                if t0 == 0:
                    sq_norms[k, 0] = sq[0]
            grads[k] = _weight_grads(
                cell, params[k], inputs[t0:t1].reshape(n * n_batch, -1), layer.h[t0:t1].reshape(-1, n_hidden),
                d_a.reshape(-1, width), d_r.reshape(-1, width) if cell.SEPARATE_RECURRENT_DELTA else None, n_chunks,
                into=grads[k],
            )  # fmt: skip
            if k > 0:
                # The layer below sees this layer's input gradient at every step of the block.
                below = matmul(d_a.reshape(-1, width), w_xh_t[k], n_chunks).reshape(n, n_batch, n_hidden)
            del cache  # free a recomputed cache before the next block makes its own
    norms = np.sqrt(sq_norms) if record_norms else None
    return grads, dh, (dc if cell.HAS_CELL_STATE else None), norms


def _backprop_segments(model, theta, x, traj, inject, segments, n_chunks, dh_final, dc_final, clip):
    """Any schedule, over all T steps at once (see :func:`backprop`).

    Layers are backpropagated top to bottom; a layer's dL/da_t @ W_xh.T is
    the loss gradient injected into the layer below. With several layers and
    overlapping segments (TBPTT with k1 < k2, fixed horizon K > 1), each
    segment is carried down the stack on its own, because the layer below
    must hold each segment's start state fixed separately.
    """
    cell, dtype = model.cell, model.dtype
    n_steps, n_batch, _ = x.shape
    n_hidden, n_layers = model.n_hidden, model.num_layers
    width = cell.N_GATES * n_hidden
    params = model.layer_views(theta)
    w_hh_t_packed = [pack(p["W_hh"].T) for p in params]
    inputs = [x] + [layer.h[1:] for layer in traj.layers[:-1]]
    caches = [layer_cache(model, p, inputs[k], traj.layers[k], 0, n_steps, n_chunks) for k, p in enumerate(params)]
    dh_top = inject(0, n_steps)
    d_a = np.zeros((n_layers, n_steps, n_batch, width), dtype=dtype)
    d_r = np.zeros((n_layers, n_steps if cell.SEPARATE_RECURRENT_DELTA else 0, n_batch, width), dtype=dtype)
    c_width = n_hidden if cell.HAS_CELL_STATE else 0
    dh0 = np.zeros((n_layers, n_batch, n_hidden), dtype=dtype)
    dc0 = np.zeros((n_layers, n_batch, c_width), dtype=dtype)
    no_norms = np.zeros((0, n_batch), dtype=dtype)
    empty_c = np.zeros((n_steps + 1, n_batch, 0), dtype=dtype)
    no_dc = np.zeros((n_batch, c_width), dtype=dtype)
    if dh_final is not None:
        dh_top[-1] += dh_final[-1]
    # A segment with no loss gradient to carry adds nothing: skip it. With a
    # sparse loss (one term per sequence) this turns O(T K) steps into O(K).
    loaded = np.concatenate([[0], np.cumsum(np.any(dh_top.reshape(n_steps, -1) != 0, axis=1))])
    carries = loaded[segments[:, 1]] > loaded[segments[:, 2]]
    if dh_final is not None or dc_final is not None:
        carries |= segments[:, 1] == n_steps
    segments = segments[carries]

    if len(segments) == 0:
        groups = []
    elif n_layers == 1 or not _segments_overlap(segments):
        groups = [segments]
    else:
        groups = [segments[i : i + 1] for i in range(len(segments))]
    for group in groups:
        lo, hi = int(group[:, 0].min()), int(group[:, 1].max())
        local = group - lo
        inject_lo = dh_top[lo:hi]
        seg_lengths = _window_lengths(traj.lengths, lo, hi, n_steps)
        for k in reversed(range(n_layers)):
            layer = traj.layers[k]
            c = layer.c if layer.c is not None else empty_c
            # The bottom layer accumulates in place; upper layers keep their
            # own deltas to pass down before adding them.
            own = k > 0 and len(groups) > 1
            seg_d_a = np.zeros((hi - lo, n_batch, width), dtype=dtype) if own else d_a[k, lo:hi]
            seg_d_r = d_r[k, lo:hi]
            if own and cell.SEPARATE_RECURRENT_DELTA:
                seg_d_r = np.zeros_like(seg_d_a)
            seg_dh0 = np.zeros((n_batch, n_hidden), dtype=dtype)
            seg_dc0 = np.zeros((n_batch, c_width), dtype=dtype)
            dc_end = dc_final[k] if dc_final is not None and hi == n_steps else no_dc
            _backward_kernel(
                model.kind, model.nonlinearity_code, cell.HAS_DIRECT_PATH, local, inject_lo, dc_end, w_hh_t_packed[k],
                seg_lengths, layer.h[lo : hi + 1], c[lo : hi + 1], caches[k][lo:hi],
                seg_d_a, seg_d_r, seg_dh0, seg_dc0, no_norms, clip, True, n_chunks,
            )  # fmt: skip
            if own:
                d_a[k, lo:hi] += seg_d_a
                if cell.SEPARATE_RECURRENT_DELTA:
                    d_r[k, lo:hi] += seg_d_r
            if lo == 0:
                dh0[k] += seg_dh0
                dc0[k] += seg_dc0
            if k > 0:
                # The layer below sees this layer's input gradient at every step of the segment.
                w_xh_t = np.ascontiguousarray(params[k]["W_xh"].T)
                inject_lo = matmul(seg_d_a.reshape(-1, width), w_xh_t, n_chunks).reshape(hi - lo, n_batch, n_hidden)
                if dh_final is not None and hi == n_steps:
                    inject_lo[-1] += dh_final[k - 1]
                local = local.copy()
                local[:, 2] = local[:, 0]

    grads = []
    for k, p in enumerate(params):
        d_r2 = d_r[k].reshape(-1, width) if cell.SEPARATE_RECURRENT_DELTA else None
        h_prev = traj.layers[k].h[:-1].reshape(-1, n_hidden)
        grads.append(
            _weight_grads(
                cell, p, inputs[k].reshape(h_prev.shape[0], -1), h_prev, d_a[k].reshape(-1, width), d_r2, n_chunks
            )
        )
    return grads, dh0, (dc0 if cell.HAS_CELL_STATE else None), None
