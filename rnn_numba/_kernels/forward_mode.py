"""Forward-mode pieces of the RTRL family: a cell's state tangent over a batch, and the immediate influence.

For a layer with ``a_t = x_t @ W_xh + b_h`` and ``r_t = h_{t-1} @ W_hh``, a
direction theta_dot of the parameters gives the tangents::

    a_dot = x_dot_t @ W_xh + x_t @ W_xh_dot + b_h_dot
    r_dot = h_dot_{t-1} @ W_hh + h_{t-1} @ W_hh_dot

The products with the tangents of the inputs and states are GEMMs over all
directions at once; the rest, the immediate influence of the layer's own
W_xh, W_hh, b_h (and its cell's own parameters), is sparse: one entry per
parameter, written by :func:`add_immediate_rows`. The cell then maps the
tangents of a_t, r_t and s_{t-1} to that of s_t (:func:`state_tangents`,
the cell's ``jvp`` for every sequence). :func:`influence_step` does all of
RTRL's step, tile by tile of a sequence's directions, so that a tile's
tangents stay in cache from the GEMM to the cell.
"""

import numpy as np
from numba import prange

from .jit import jit_kernel, jit_parallel_kernel
from .recurrence import _chunk


@jit_kernel
def state_tangents(cell, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next):
    """The tangents of the new states, ds_next (tuples of (B, M, H)), for M directions per sequence.

    Parameters
    ----------
    cell : configured cell
    a_dot, r_dot : ndarray, shape (B, M, G*H)
    inner : ndarray, shape (n_inner,)
    inner_dot : ndarray, shape (B, M, n_inner)
    s_prev, s_next : tuple of ndarray, shape (B, H) (c: (B, 0) without a cell state)
        The primal states around the step.
    cache_t : ndarray, shape (B, cache_width*H)
        What the forward step stored.
    ds_prev, ds_next : tuple of ndarray, shape (B, M, H) (c: (B, M, 0))
    """
    for b in range(a_dot.shape[0]):
        cell.jvp(
            b, a_dot[b], r_dot[b], inner, inner_dot[b], s_prev, s_next, cache_t,
            (ds_prev[0][b], ds_prev[1][b]), (ds_next[0][b], ds_next[1][b]),
        )  # fmt: skip


#: Directions per tile of RTRL's step: a tile's J rows, its tangents of r_t and a_t stay in cache between
#: the product with W_hh and the cell's forward-mode step.
TILE = 512


@jit_kernel
def influence_step(cell, x, h_prev, w_xh, w_hh, inner, offsets, j_below, s_prev, s_next, cache_t, ds_prev, ds_next,
                   held, threads):  # fmt: skip
    """RTRL's step of one layer, J_t = D_t J_{t-1} + M_t, sequence by sequence and tile by tile of directions.

    The rows of the batch's one product J^h_{t-1} @ W_hh (B M rows) are
    taken a tile of :data:`TILE` directions at a time, and each tile's
    tangent r_dot goes straight on to the cell: with a_dot = J^{below}_t @
    W_xh for the lower layers' directions, the immediate influence of the
    layer's own parameters added (:func:`add_immediate_rows`), the cell's
    ``jvp`` writes the tile's rows of J_t while they are in cache.

    Parameters
    ----------
    cell : configured cell
    x : ndarray, shape (B, n_in)
        The layer's input at the step.
    h_prev : ndarray, shape (B, H)
    w_xh : ndarray, shape (n_in, G*H)
    w_hh : ndarray, shape (H, G*H)
    inner : ndarray, shape (n_inner,)
    offsets : ndarray of int64, shape (4,)
        The directions of the first entries of the layer's W_xh, W_hh, b_h
        and inner block (-1 if absent), as in :func:`add_immediate_rows`.
    j_below : ndarray, shape (B, M_below, H)
        The h-influence of the layer below at step t (M_below = 0 for the first layer).
    s_prev, s_next, cache_t
        The primal step, as in :func:`state_tangents`.
    ds_prev, ds_next : tuple of ndarray, shape (B, M, H) (c: (B, M, 0))
        J_{t-1} and J_t.
    held : ndarray of bool, shape (B,)
        Sequences past their length: J_t = J_{t-1}.
    threads : int or None
        Chunks of the (sequence, tile) pairs to run on Numba's threads, or
        None: the calling thread.
    """
    # flat: a parallel kernel's arguments cannot hold tuples of arrays
    args = (cell, x, h_prev, w_xh, w_hh, inner, offsets, j_below, s_prev[0], s_prev[1], s_next[0], s_next[1], cache_t,
            ds_prev[0], ds_prev[1], ds_next[0], ds_next[1], held)  # fmt: skip
    n_tiles = -(-ds_prev[0].shape[1] // TILE)
    if isinstance(threads, int):
        _influence_parallel(args, n_tiles, threads)
    else:
        _influence_tiles(args, n_tiles, np.int64(0), np.int64(x.shape[0] * n_tiles))


@jit_parallel_kernel
def _influence_parallel(args, n_tiles, n_chunks):
    for chunk in prange(n_chunks):
        first, stop = _chunk(chunk, n_chunks, args[1].shape[0] * n_tiles)
        _influence_tiles(args, n_tiles, first, stop)


@jit_kernel
def _influence_tiles(args, n_tiles, first, stop):
    """:func:`influence_step` for the (sequence, tile) pairs first:stop, b = pair // n_tiles."""
    cell, x, h_prev, w_xh, w_hh, inner, offsets, j_below, h0, c0, h1, c1, cache_t, jh0, jc0, jh1, jc1, held = args
    s_prev, s_next, ds_prev, ds_next = (h0, c0), (h1, c1), (jh0, jc0), (jh1, jc1)
    n_directions, width, dtype = ds_prev[0].shape[1], w_hh.shape[1], w_hh.dtype
    n_below = j_below.shape[1]
    r_dot, a_dot = np.zeros((TILE, width), dtype), np.zeros((TILE, width), dtype)
    inner_dot = np.zeros((TILE, inner.shape[0]), dtype)
    for pair in range(first, stop):
        b, p0 = pair // n_tiles, (pair % n_tiles) * TILE
        p1 = min(p0 + TILE, n_directions)
        n = p1 - p0
        if held[b]:
            ds_next[0][b][p0:p1] = ds_prev[0][b][p0:p1]
            ds_next[1][b][p0:p1] = ds_prev[1][b][p0:p1]
            continue
        np.dot(ds_prev[0][b][p0:p1], w_hh, r_dot[:n])  # D_t J_{t-1} through W_hh: the GEMM's tile
        if p0 < n_below:  # the lower layers' directions reach this layer through its input
            q1 = min(p1, n_below)
            np.dot(j_below[b][p0:q1], w_xh, a_dot[: q1 - p0])
            a_dot[q1 - p0 : n] = 0
        else:
            a_dot[:n] = 0
        inner_dot[:n] = 0
        add_immediate_rows(x[b], h_prev[b], offsets, a_dot, r_dot, inner_dot, p0, p1)
        cell.jvp(
            b, a_dot[:n], r_dot[:n], inner, inner_dot[:n], s_prev, s_next, cache_t,
            (ds_prev[0][b][p0:p1], ds_prev[1][b][p0:p1]), (ds_next[0][b][p0:p1], ds_next[1][b][p0:p1]),
        )  # fmt: skip


@jit_kernel
def add_immediate_rows(x, h_prev, offsets, a_dot, r_dot, inner_dot, p0, p1):
    """Add the immediate influence of a layer's own parameters to the tangents of directions p0:p1 (one sequence).

    A direction per parameter, one entry each: row p - p0 of the tile.

    Parameters
    ----------
    x : ndarray, shape (n_in,)
        The layer's input at the step.
    h_prev : ndarray, shape (H,)
    offsets : ndarray of int64, shape (4,)
        The directions of the first entries of W_xh (n_in, G*H), W_hh
        (H, G*H), b_h (G*H,) and the inner block, -1 for an absent block;
        each stored row-major, as in theta.
    a_dot, r_dot : ndarray, shape (>= p1 - p0, G*H)
    inner_dot : ndarray, shape (>= p1 - p0, n_inner)
    p0, p1 : int
        The tile's directions.
    """
    n_in, n_hidden, width = x.shape[0], h_prev.shape[0], a_dot.shape[1]
    if offsets[0] >= 0:  # d a_t[j] / d W_xh[i, j] = x_t[i]
        for p in range(max(p0, offsets[0]), min(p1, offsets[0] + n_in * width)):
            i, j = divmod(p - offsets[0], width)
            a_dot[p - p0, j] += x[i]
    if offsets[1] >= 0:  # d r_t[j] / d W_hh[i, j] = h_{t-1}[i]
        for p in range(max(p0, offsets[1]), min(p1, offsets[1] + n_hidden * width)):
            i, j = divmod(p - offsets[1], width)
            r_dot[p - p0, j] += h_prev[i]
    if offsets[2] >= 0:  # d a_t[j] / d b_h[j] = 1
        for p in range(max(p0, offsets[2]), min(p1, offsets[2] + width)):
            a_dot[p - p0, p - offsets[2]] += 1
    if offsets[3] >= 0:
        for p in range(max(p0, offsets[3]), min(p1, offsets[3] + inner_dot.shape[1])):
            inner_dot[p - p0, p - offsets[3]] += 1


@jit_kernel
def immediate_vjp(cell, x, ds, inner, s_prev, s_next, cache_t, offsets, out, da, dr, scratch):
    """Per sequence, v^T M_t: the vector-Jacobian product of the immediate influence of a layer's own parameters.

    With the previous state held, one backward step of the cell from ``ds``
    = v gives dL/da_t and dL/dr_t, and then dW_xh = x_t (x) da,
    dW_hh = h_{t-1} (x) dr, db_h = da and the cell's own parameters' part.

    Parameters
    ----------
    cell : configured cell
    x : ndarray, shape (B, n_in)
    ds : tuple of ndarray, shape (B, H) (c: (B, 0) without a cell state)
        v, per sequence.
    inner : ndarray, shape (n_inner,)
    s_prev, s_next, cache_t
        The primal step, as in :func:`state_tangents`.
    offsets : ndarray of int64, shape (4,)
        Where W_xh, W_hh, b_h and the inner block start in ``out``'s rows, -1 if absent.
    out : ndarray, shape (B, P)
        Receives v^T M_t of each sequence (its other entries are left alone).
    da, dr : ndarray, shape (B, G*H)
        Work arrays.
    scratch : tuple of ndarray, shape (B, H)
        Work arrays for the backward step's dL/ds_{t-1}.
    """
    n_batch, n_in, width = x.shape[0], x.shape[1], da.shape[1]
    cell.backward(0, n_batch, ds, inner, s_prev, s_next, cache_t, da, dr, scratch)
    d_r = dr if cell.separate_recurrent_delta else da
    h_prev, c_prev = s_prev
    for b in range(n_batch):
        if offsets[0] >= 0:
            for i in range(n_in):
                for j in range(width):
                    out[b, offsets[0] + i * width + j] = x[b, i] * da[b, j]
        if offsets[1] >= 0:
            for i in range(h_prev.shape[1]):
                for j in range(width):
                    out[b, offsets[1] + i * width + j] = h_prev[b, i] * d_r[b, j]
        if offsets[2] >= 0:
            for j in range(width):
                out[b, offsets[2] + j] = da[b, j]
        if offsets[3] >= 0:
            d_inner = out[b, offsets[3] : offsets[3] + inner.shape[0]]
            d_inner[:] = 0
            cell.inner_gradient(
                inner, h_prev[b : b + 1], c_prev[b : b + 1], cache_t[b : b + 1], da[b : b + 1], d_r[b : b + 1], d_inner
            )


@jit_kernel
def diagonal_window(cell, x, h, c, cache, w_hh, inner, offsets, through_recurrence, writes_c, held, dh,
                    j_h, j_c, grad, threads):  # fmt: skip
    """A window of the influence kept on each parameter's own unit (SnAp-1, RFLO, e-prop), its gradient summed.

    Sequence by sequence (its influence stays in cache) and step by step:
    the unit-diagonal blocks of D_t from the cell's ``jvp`` along all-ones
    tangents of h and of c (with r_dot[g H + j] = W_hh[j, g H + j] when the
    path through W_hh is kept), the immediate influence on each unit from one
    backward step of the cell per state part with all-ones cotangents
    (dL/da, dL/dr: columns of M_t up to the input factor), then, per
    parameter p of unit j = p mod H and gate column q, with input factor u
    (x_t[i], h_{t-1}[i] or 1)::

        J^h[p] <- D^hh_j J^h[p] + D^hc_j J^c[p] + m^h_q u
        J^c[p] <- (D^ch_j J^h[p] + D^cc_j J^c[p] + m^c_q u) [gate of q writes c]
        grad[p] += dh_t[j] J^h[p]

    Parameters
    ----------
    cell : configured cell
    x : ndarray, shape (T, B, n_in)
    h, c : ndarray, shape (T + 1, B, H) (c: (T + 1, B, 0) without a cell state)
        The window's states, from its forward pass.
    cache : ndarray, shape (T, B, cache_width*H)
    w_hh : ndarray, shape (H, G*H)
    inner : ndarray, shape (n_inner,)
    offsets : ndarray of int64, shape (4,)
        As in :func:`add_immediate_influence`; every block H-aligned, the
        inner block one parameter per unit (a GRU's b_hn).
    through_recurrence : bool
    writes_c : ndarray of bool, shape (G*H,)
        Whether gate column q writes c (read with a cell state only).
    held : ndarray of bool, shape (T, B)
        Steps past a sequence's length: its influence is held (and its dh is zero).
    dh : ndarray, shape (T, B, H)
        dL_t/dh_t, or the learning signal that replaces it.
    j_h, j_c : ndarray, shape (B, P) (j_c: (B, 0) without a cell state)
        The kept influence, entry p on unit p mod H; updated in place.
    grad : ndarray, shape (>= P,)
        Receives the window's estimate in its first P entries.
    threads : int or None
        Chunks of sequences to run on Numba's threads (each its own
        gradient, summed after), or None: the calling thread.
    """
    args = (cell, x, h, c, cache, w_hh, inner, offsets, through_recurrence, writes_c, held, dh, j_h, j_c)
    if isinstance(threads, int):
        partial = np.zeros((threads, j_h.shape[1]), grad.dtype)
        _diagonal_parallel(args, partial, threads)
        for chunk in range(threads):
            grad[: partial.shape[1]] += partial[chunk]
    else:
        _diagonal_rows(args, grad, np.int64(0), np.int64(x.shape[1]))


@jit_parallel_kernel
def _diagonal_parallel(args, partial, n_chunks):
    for chunk in prange(n_chunks):
        b0, b1 = _chunk(chunk, n_chunks, args[1].shape[1])
        _diagonal_rows(args, partial[chunk], b0, b1)


@jit_kernel
def _diagonal_rows(args, grad, b0, b1):
    """:func:`diagonal_window` for sequences b0:b1, with work arrays of its own."""
    cell, x, h, c, cache, w_hh, inner, offsets, through_recurrence, writes_c, held, dh, j_h, j_c = args
    n_steps, n_batch, n_in = x.shape
    n_hidden, width = h.shape[2], w_hh.shape[1]
    has_c = j_c.shape[1] > 0
    n_dirs = 2 if has_c else 1
    dtype = h.dtype
    one, zero = dtype.type(1), dtype.type(0)
    # the cell's backward step: all-ones cotangents of h and of c, its outputs and scratch (rows b0:b1 used)
    towards_h = (np.ones((n_batch, n_hidden), dtype), np.zeros((n_batch, c.shape[2]), dtype))
    towards_c = (np.zeros((n_batch, n_hidden), dtype), np.ones((n_batch, c.shape[2]), dtype))
    da, dr = np.zeros((n_batch, width), dtype), np.zeros((n_batch, width), dtype)
    scratch = (np.zeros((n_batch, n_hidden), dtype), np.zeros((n_batch, c.shape[2]), dtype))
    a_dot = np.zeros((n_dirs, width), dtype)
    r_dot = np.zeros((n_dirs, width), dtype)
    inner_dot = np.zeros((n_dirs, inner.shape[0]), dtype)
    unit_h, unit_c = np.zeros((n_dirs, n_hidden), dtype), np.zeros((n_dirs, c.shape[2]), dtype)
    unit_h[0, :] = one  # direction 0: all of h_{t-1}; direction 1: all of c_{t-1}
    if has_c:
        unit_c[1, :] = one
    if through_recurrence:
        for g in range(width // n_hidden):
            for j in range(n_hidden):
                r_dot[0, g * n_hidden + j] = w_hh[j, g * n_hidden + j]
    d_h, d_c = np.zeros((n_dirs, n_hidden), dtype), np.zeros((n_dirs, c.shape[2]), dtype)
    m_h, m_c = np.zeros((2, width), dtype), np.zeros((2, width), dtype)  # rows: dL/da, dL/dr
    m_inner = np.zeros(inner.shape[0], dtype)
    columns = np.zeros((5, width), dtype)  # per gate column: D^hh, D^hc, D^ch, D^cc of its unit, and dh_t
    col_hh, col_hc, col_ch, col_cc, col_dh = columns[0], columns[1], columns[2], columns[3], columns[4]
    for b in range(b0, b1):
        jh, jc = j_h[b], j_c[b]
        for t in range(n_steps):
            if held[t, b]:
                continue
            s_prev, s_next, cache_t = (h[t], c[t]), (h[t + 1], c[t + 1]), cache[t]
            cell.jvp(b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, (unit_h, unit_c), (d_h, d_c))
            for part in range(n_dirs):
                towards = towards_h if part == 0 else towards_c
                cell.backward(b, b + 1, towards, inner, s_prev, s_next, cache_t, da, dr, scratch)
                m = m_h if part == 0 else m_c
                for q in range(width):
                    m[0, q] = da[b, q]
                    m[1, q] = dr[b, q] if cell.separate_recurrent_delta else da[b, q]
                if part == 0 and offsets[3] >= 0:
                    m_inner[:] = zero
                    d_r = dr if cell.separate_recurrent_delta else da
                    cell.inner_gradient(inner, h[t, b : b + 1], c[t, b : b + 1], cache_t[b : b + 1],
                                        da[b : b + 1], d_r[b : b + 1], m_inner)  # fmt: skip
            # per gate column q (unit j = q mod H): the coefficients of the update, so that the loop over a
            # block's rows runs over contiguous entries
            for q in range(width):
                j = q % n_hidden
                col_hh[q], col_dh[q] = d_h[0, j], dh[t, b, j]
                if has_c:
                    col_hc[q], col_ch[q], col_cc[q] = d_h[1, j], d_c[0, j], d_c[1, j]
            for role in range(3):  # W_xh (input factor x_t[i]), W_hh (h_{t-1}[i], meets dL/dr), b_h (1)
                start = offsets[role]
                if start < 0:
                    continue
                rows = n_in if role == 0 else (n_hidden if role == 1 else 1)
                mh, mc = m_h[1 if role == 1 else 0], m_c[1 if role == 1 else 0]
                for i in range(rows):
                    u = x[t, b, i] if role == 0 else (h[t, b, i] if role == 1 else one)
                    row = start + i * width
                    if has_c:
                        for q in range(width):
                            old_h, old_c = jh[row + q], jc[row + q]
                            new_h = col_hh[q] * old_h + col_hc[q] * old_c + mh[q] * u
                            new_c = col_ch[q] * old_h + col_cc[q] * old_c + mc[q] * u
                            jh[row + q] = new_h
                            jc[row + q] = new_c if writes_c[q] else zero
                            grad[row + q] += col_dh[q] * new_h
                    else:
                        for q in range(width):
                            new_h = col_hh[q] * jh[row + q] + mh[q] * u
                            jh[row + q] = new_h
                            grad[row + q] += col_dh[q] * new_h
            if offsets[3] >= 0:  # the inner block (a GRU's b_hn): one parameter per unit, input factor 1
                start = offsets[3]
                for q in range(inner.shape[0]):
                    new_h = col_hh[q] * jh[start + q] + m_inner[q]
                    jh[start + q] = new_h
                    grad[start + q] += col_dh[q] * new_h


@jit_kernel
def rank_one_window(cell, x, h, c, cache, w_hh, inner, offsets, held, dh, signs_h, signs_c, u_h, u_c, w, grad,
                    epsilon, threads):  # fmt: skip
    """A window of UORO's rank-one influence u w^T, its gradient estimate summed (Tallec & Ollivier 2017).

    Sequence by sequence and step by step, with v the step's random signs::

        u <- rho0 D_t u + rho1 v,   w <- w / rho0 + v^T M_t / rho1,   grad += (dh_t . u) w
        rho0 = sqrt((||w|| + eps) / (||D_t u|| + eps)),  rho1 = sqrt((||v^T M_t|| + eps) / (||v|| + eps))

    D_t u by the cell's ``jvp`` (r_dot = u_h @ W_hh), v^T M_t by
    :func:`immediate_vjp` on the sequence's row.

    Parameters
    ----------
    cell, x, h, c, cache, w_hh, inner, offsets, held, dh
        As in :func:`diagonal_window`.
    signs_h, signs_c : ndarray, shape (T, B, H) (c: (T, B, 0) without a cell state)
        The random signs of every step.
    u_h, u_c : ndarray, shape (B, H) (c: (B, 0))
    w : ndarray, shape (B, P)
        UORO's state, updated in place.
    grad : ndarray, shape (>= P,)
    epsilon : float
        Keeps rho0 and rho1 finite where a norm is zero.
    threads : int or None
        As in :func:`diagonal_window`.
    """
    args = (cell, x, h, c, cache, w_hh, inner, offsets, held, dh, signs_h, signs_c, u_h, u_c, w)
    if isinstance(threads, int):
        partial = np.zeros((threads, w.shape[1]), grad.dtype)
        _rank_one_parallel(args, partial, epsilon, threads)
        for chunk in range(threads):
            grad[: partial.shape[1]] += partial[chunk]
    else:
        _rank_one_rows(args, grad, epsilon, np.int64(0), np.int64(x.shape[1]))


@jit_parallel_kernel
def _rank_one_parallel(args, partial, epsilon, n_chunks):
    for chunk in prange(n_chunks):
        b0, b1 = _chunk(chunk, n_chunks, args[1].shape[1])
        _rank_one_rows(args, partial[chunk], epsilon, b0, b1)


@jit_kernel
def _rank_one_rows(args, grad, epsilon, b0, b1):
    """:func:`rank_one_window` for sequences b0:b1, with one sequence's work arrays of its own."""
    cell, x, h, c, cache, w_hh, inner, offsets, held, dh, signs_h, signs_c, u_h, u_c, w = args
    n_steps = x.shape[0]
    n_hidden, width, n_params = h.shape[2], w_hh.shape[1], w.shape[1]
    dtype = h.dtype
    a_dot = np.zeros((1, width), dtype)
    r_dot = np.zeros((1, width), dtype)
    inner_dot = np.zeros((1, inner.shape[0]), dtype)
    du_h, du_c = np.zeros((1, n_hidden), dtype), np.zeros((1, u_c.shape[1]), dtype)
    u_row = (np.zeros((1, n_hidden), dtype), np.zeros((1, u_c.shape[1]), dtype))
    x_row, cache_row = np.zeros((1, x.shape[2]), dtype), np.zeros((1, cache.shape[2]), dtype)
    s_prev = (np.zeros((1, n_hidden), dtype), np.zeros((1, c.shape[2]), dtype))
    s_next = (np.zeros((1, n_hidden), dtype), np.zeros((1, c.shape[2]), dtype))
    v_h, v_c = np.zeros((1, n_hidden), dtype), np.zeros((1, u_c.shape[1]), dtype)
    vm = np.zeros((1, n_params), dtype)
    da, dr = np.zeros((1, width), dtype), np.zeros((1, width), dtype)
    scratch = (np.zeros((1, n_hidden), dtype), np.zeros((1, u_c.shape[1]), dtype))
    v_norm = np.sqrt(dtype.type(n_hidden + u_c.shape[1]))
    zero = dtype.type(0)
    for b in range(b0, b1):
        w_b = w[b]
        for t in range(n_steps):
            if held[t, b]:
                continue
            u_row[0][0, :], u_row[1][0, :] = u_h[b], u_c[b]
            np.dot(u_row[0], w_hh, r_dot)  # D_t u's recurrent tangent, into the work array
            cell.jvp(b, a_dot, r_dot, inner, inner_dot, (h[t], c[t]), (h[t + 1], c[t + 1]), cache[t], u_row,
                     (du_h, du_c))  # fmt: skip
            # the sequence's step as one-row arrays of their own (contiguous, unlike a slice b:b+1 to Numba)
            x_row[0, :], cache_row[0, :] = x[t, b], cache[t, b]
            s_prev[0][0, :], s_prev[1][0, :], s_next[0][0, :], s_next[1][0, :] = (
                h[t, b],
                c[t, b],
                h[t + 1, b],
                c[t + 1, b],
            )
            v_h[0, :], v_c[0, :] = signs_h[t, b], signs_c[t, b]
            immediate_vjp(cell, x_row, (v_h, v_c), inner, s_prev, s_next, cache_row, offsets, vm, da, dr, scratch)
            m = vm[0]
            # the norms by BLAS: a compiled running sum without reassociation (the fastmath policy) is 3x slower
            du_norm = np.sqrt(np.dot(du_h[0], du_h[0]) + (np.dot(du_c[0], du_c[0]) if du_c.shape[1] else zero))
            rho0 = np.sqrt((np.sqrt(np.dot(w_b, w_b)) + epsilon) / (du_norm + epsilon))
            rho1 = np.sqrt((np.sqrt(np.dot(m, m)) + epsilon) / (v_norm + epsilon))
            signal = zero
            for j in range(n_hidden):
                u_h[b, j] = rho0 * du_h[0, j] + rho1 * v_h[0, j]
                signal += dh[t, b, j] * u_h[b, j]
            for j in range(du_c.shape[1]):
                u_c[b, j] = rho0 * du_c[0, j] + rho1 * v_c[0, j]
            keep, add = 1 / rho0, 1 / rho1
            for p in range(n_params):
                w_new = w_b[p] * keep + m[p] * add
                w_b[p] = w_new
                grad[p] += signal * w_new
