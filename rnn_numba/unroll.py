"""Forward unrolling of any cell, layer by layer, over a batch of time-major sequences.

Per layer and per block of time steps (:func:`block_steps`), the input
projection ``a = x @ W_xh + b_h`` is one GEMM over the block's rows; the
serial recurrence runs in :func:`_unroll_kernel` over buffers allocated
before it, with no allocation inside the time loop. Working in blocks keeps
the projections and the gate activations (the cache) at O(block) memory
unless the cache is kept for the backward pass; :func:`layer_cache`
recomputes a block's cache from the stored states instead, with two GEMMs
over the block and no serial dependence. A layer's states are the next
layer's inputs. Padded steps of shorter sequences (``t >= lengths[b]``)
copy the state forward, so every sequence's final state is its last valid
state.
"""

from dataclasses import dataclass

import numpy as np
from numba import prange

from . import cells
from ._jit import batch_chunks, borrowed, jit_kernel, jit_parallel_kernel
from ._linalg import matmul
from ._packed import pack, packed_matmul
from ._workspace import work_array


@dataclass
class LayerTrajectory:
    """What the forward pass computed in one layer.

    Attributes
    ----------
    h : ndarray, shape (T + 1, B, H)
        States h_0 .. h_T, ``h[0]`` the initial state.
    c : ndarray, shape (T + 1, B, H), or None
        Cell states c_0 .. c_T (LSTM); None for cells without one.
    cache : ndarray, shape (T, B, CACHE_WIDTH * H), or None
        What the cell's backward step needs, if it was kept (else
        :func:`layer_cache` recomputes it from ``h`` and ``c``): a work
        buffer, which a trajectory returned to the user never holds.
    """

    h: np.ndarray
    c: np.ndarray
    cache: np.ndarray = None


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
def _unroll_kernel(kind, nonlinearity, a, w_hh_packed, b_rec, lengths, h, c, cache, rec, n_chunks):
    """Run the recurrence of cell ``kind`` over T steps, in place.

    The batch is split into ``n_chunks`` groups of whole sequences, one per
    thread; each runs the serial time loop :func:`_unroll_rows` for its own rows.

    Parameters
    ----------
    a : ndarray, shape (T, B, G*H)
        Input projections, bias included.
    w_hh_packed : ndarray, shape (ceil(G*H / NR), H, NR)
        W_hh (H, G*H) packed for each step's product by
        :func:`rnn_numba._packed.pack`.
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
    n_batch = a.shape[1]
    for chunk in prange(n_chunks):
        b0, b1 = chunk * n_batch // n_chunks, (chunk + 1) * n_batch // n_chunks
        _unroll_rows(kind, nonlinearity, a, w_hh_packed, b_rec, lengths, h, c, cache, rec, b0, b1)


@jit_kernel
def _unroll_rows(kind, nonlinearity, a, w_hh_packed, b_rec, lengths, h, c, cache, rec, b0, b1):
    """The serial recursion for sequences b0:b1 (arguments of :func:`_unroll_kernel`)."""
    a, w_hh_packed, b_rec, lengths, h, c, cache, rec = borrowed(a, w_hh_packed, b_rec, lengths, h, c, cache, rec)
    for t in range(a.shape[0]):
        packed_matmul(h[t], w_hh_packed, rec, b0, b1)
        cells.forward_step(kind, nonlinearity, b0, b1, a[t], rec, b_rec, h[t], c[t], h[t + 1], c[t + 1], cache[t])
        for b in range(b0, b1):
            if t >= lengths[b]:
                h[t + 1, b] = h[t, b]
                c[t + 1, b] = c[t, b]


@jit_parallel_kernel
def _gate_kernel(kind, nonlinearity, a, r, b_rec, h, c, cache, h_scratch, c_scratch, n_chunks):
    """Recompute the cache of steps whose states are known: no serial dependence.

    ``a`` and ``r`` (T, B, G*H) are the input and recurrent projections of
    the steps, ``h`` and ``c`` (T + 1, B, H) their stored states; the cell's
    forward step writes ``cache`` (T, B, CACHE_WIDTH*H) and a next state into
    the scratch buffers (B, H), which are discarded.
    """
    n_steps, n_batch = a.shape[0], a.shape[1]
    a, r, b_rec, h, c, cache, h_scratch, c_scratch = borrowed(a, r, b_rec, h, c, cache, h_scratch, c_scratch)
    for chunk in prange(n_chunks):
        b0, b1 = chunk * n_batch // n_chunks, (chunk + 1) * n_batch // n_chunks
        for t in range(n_steps):
            cells.forward_step(
                kind, nonlinearity, b0, b1, a[t], r[t], b_rec, h[t], c[t], h_scratch, c_scratch, cache[t]
            )


#: Rows (steps x sequences) per block: enough for an efficient GEMM, few enough
#: that a block's buffers stay a small part of the stored states. Blocks whose
#: gate activations are recomputed hold more per row, so they are smaller.
BLOCK_ROWS, RECOMPUTE_BLOCK_ROWS = 2048, 512


def block_steps(n_steps, n_batch, recompute=False):
    """Time steps per block: about ``BLOCK_ROWS`` (or ``RECOMPUTE_BLOCK_ROWS``) rows, at least 16 steps, at most T.

    Without recomputation, up to twice ``BLOCK_ROWS`` rows are one block
    rather than two, one of them short: measured here in one process, a
    float32 Elman gradient at T = 100, B = 32, H = 128 (3200 rows) took
    1/1.08 of the time in one block.
    """
    rows = RECOMPUTE_BLOCK_ROWS if recompute else BLOCK_ROWS
    if not recompute and n_steps * n_batch <= 2 * rows:
        return n_steps
    return max(1, min(n_steps, max(16, rows // n_batch)))


def _recurrent_bias(model, p):
    b_rec = p.get(model.cell.RECURRENT_BIAS[0]) if model.cell.RECURRENT_BIAS else None
    return np.zeros(0, dtype=model.dtype) if b_rec is None else b_rec


def _input_projection(p, x, n_chunks):
    """A = x @ W_xh + b_h for a block of inputs x (T, B, n_in): (T, B, G*H), on the ``"projection"`` work buffer."""
    n_steps, n_batch, n_in = x.shape
    width = p["W_xh"].shape[1]
    a = work_array("projection", (n_steps, n_batch, width), x.dtype)
    matmul(x.reshape(-1, n_in), p["W_xh"], n_chunks, out=a.reshape(-1, width), bias=p.get("b_h"))
    return a


def _new_or_work_array(role, shape, dtype):
    """A new array, or the work buffer of ``role`` (kept at any size; see :mod:`rnn_numba._workspace`)."""
    return np.empty(shape, dtype=dtype) if role is None else work_array(role, shape, dtype, any_size=True)


def unroll_layer(model, p, x, h0, c0, lengths, n_chunks, cache_role=None, state_roles=(None, None)):
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
    cache_role : str, optional
        Keep the gate activations of every step for the backward pass
        (T * B * CACHE_WIDTH * H numbers), on the work buffer of this role
        (:mod:`rnn_numba._workspace`); else only a block's worth exists at a
        time.
    state_roles : (str or None, str or None)
        Work-buffer roles for ``h`` and ``c`` instead of new arrays.

    Returns
    -------
    LayerTrajectory
    """
    cell, dtype, n_hidden = model.cell, model.dtype, model.n_hidden
    n_steps, n_batch, _ = x.shape
    h = _new_or_work_array(state_roles[0], (n_steps + 1, n_batch, n_hidden), dtype)
    h[0] = h0
    c = _new_or_work_array(state_roles[1], (n_steps + 1, n_batch, n_hidden if cell.HAS_CELL_STATE else 0), dtype)
    if cell.HAS_CELL_STATE:
        c[0] = c0
    block = block_steps(n_steps, n_batch, recompute=cache_role is None)
    cache = _new_or_work_array(
        cache_role, (block if cache_role is None else n_steps, n_batch, cell.CACHE_WIDTH * n_hidden), dtype
    )
    rec = np.empty((n_batch, cell.N_GATES * n_hidden), dtype=dtype)
    b_rec = _recurrent_bias(model, p)
    w_hh_packed = pack(p["W_hh"])
    for t0 in range(0, n_steps, block):
        t1 = min(t0 + block, n_steps)
        a = _input_projection(p, x[t0:t1], n_chunks)
        block_cache = cache[: t1 - t0] if cache_role is None else cache[t0:t1]
        _unroll_kernel(
            model.kind, model.nonlinearity_code, a, w_hh_packed, b_rec, lengths - t0 if t0 else lengths,
            h[t0 : t1 + 1], c[t0 : t1 + 1], block_cache, rec, n_chunks,
        )  # fmt: skip
    return LayerTrajectory(h=h, c=c if cell.HAS_CELL_STATE else None, cache=None if cache_role is None else cache)


def layer_cache(model, p, inputs, layer, t0, t1, n_chunks):
    """The cache of steps t0 .. t1 - 1 of one layer: the kept one, or recomputed from the stored states.

    Parameters
    ----------
    model : RNN
    p : dict of ndarray
        The layer's blocks.
    inputs : ndarray, shape (T, B, n_in_layer)
        The layer's inputs over all steps.
    layer : LayerTrajectory
    t0, t1 : int
    n_chunks : int

    Returns
    -------
    ndarray, shape (t1 - t0, B, CACHE_WIDTH * H)
    """
    if layer.cache is not None:
        return layer.cache[t0:t1]
    cell, n_batch, n_hidden = model.cell, inputs.shape[1], model.n_hidden
    cache = np.empty((t1 - t0, n_batch, cell.CACHE_WIDTH * n_hidden), dtype=model.dtype)
    if cell.CACHE_WIDTH == 0:
        return cache
    h = layer.h[t0 : t1 + 1]
    c = layer.c[t0 : t1 + 1] if layer.c is not None else np.zeros((t1 - t0 + 1, n_batch, 0), dtype=model.dtype)
    a = _input_projection(p, inputs[t0:t1], n_chunks)
    width = a.shape[2]
    r = work_array("recurrent", a.shape, model.dtype)
    matmul(h[:-1].reshape(-1, n_hidden), p["W_hh"], n_chunks, out=r.reshape(-1, width))
    scratch_h = np.empty((n_batch, n_hidden), dtype=model.dtype)
    scratch_c = np.empty((n_batch, c.shape[2]), dtype=model.dtype)
    _gate_kernel(
        model.kind, model.nonlinearity_code, a, r, _recurrent_bias(model, p), h, c, cache, scratch_h, scratch_c,
        n_chunks,
    )  # fmt: skip
    return cache


def unroll(model, theta, x, h0, c0, lengths, n_chunks=None, keep_cache=True, states_on_workspace=False):
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
    keep_cache : bool
        Keep every layer's gate activations for a backward pass, on this
        thread's work buffers ``"cache0"``, ``"cache1"``, ...: they are
        valid until the next pass that keeps them, on this thread, and must
        not leave the call that asked for them.
    states_on_workspace : bool
        Put every layer's states on the work buffers ``"h0"``, ``"c0"``,
        ``"h1"``, ... instead of new arrays, under the same terms: for a
        caller that returns none of the trajectory.

    Returns
    -------
    Trajectory
    """
    if n_chunks is None:
        n_chunks = batch_chunks(x.shape[1])
    layers, inputs = [], x
    for k, p in enumerate(model.layer_views(theta)):
        c0_k, cache_role = None if c0 is None else c0[k], f"cache{k}" if keep_cache else None
        state_roles = (f"h{k}", f"c{k}") if states_on_workspace else (None, None)
        layer = unroll_layer(model, p, inputs, h0[k], c0_k, lengths, n_chunks, cache_role, state_roles)
        layers.append(layer)
        inputs = layer.h[1:]
    readout = model.readout_views(theta)
    n_steps, n_batch = x.shape[:2]
    y = matmul(inputs.reshape(-1, model.n_hidden), readout["W_hy"], n_chunks) + readout["b_y"]
    return Trajectory(layers=layers, y=y.reshape(n_steps, n_batch, model.n_out), lengths=lengths)
