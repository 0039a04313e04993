"""Cells and the single point where the drivers dispatch to a cell's step math.

A cell module (see :mod:`rnn_numba.cells.elman`) declares its parameter
blocks, its gate count and cache width, and two kernels: one forward step and
one backward step. The drivers in :mod:`rnn_numba.unroll` and
:mod:`rnn_numba.bptt` call :func:`forward_step` and :func:`backward_step`
below, which branch on the cell's integer ``kind``. Adding a cell means
writing its module and adding one branch to each function here; the
unrolling, every BPTT schedule, the gradient checks and the benchmarks pick
it up.

Numba cannot cache a kernel that receives another jitted function as an
argument or through a closure (the cache key holds the function's identity),
so the dispatch is an integer branch, which compiles once and caches.
"""

from .._jit import jit_step_kernel
from . import elman, gru, lstm

#: Cell modules by integer kind; the kind is what the kernels see.
CELLS = (elman, lstm, gru)
KINDS = {cell.NAME: kind for kind, cell in enumerate(CELLS)}
ELMAN, LSTM, GRU = KINDS["elman"], KINDS["lstm"], KINDS["gru"]


@jit_step_kernel
def forward_step(kind, nonlinearity, b0, b1, a_t, r_t, b_rec, h_prev, c_prev, h_next, c_next, cache_t):
    """One step of cell ``kind`` for rows ``b0:b1``: (h_prev, c_prev) -> (h_next, c_next), shapes (B, H).

    ``a_t`` (B, G*H) is the input projection with its bias, ``r_t`` (B, G*H)
    the recurrent projection h_prev @ W_hh, ``b_rec`` the cell's recurrent
    bias (empty if it has none); ``cache_t`` (B, CACHE_WIDTH*H) receives
    what the backward step needs.
    """
    if kind == ELMAN:
        elman.forward_step(nonlinearity, b0, b1, a_t, r_t, h_next)
    elif kind == LSTM:
        lstm.forward_step(b0, b1, a_t, r_t, c_prev, h_next, c_next, cache_t)
    elif kind == GRU:
        gru.forward_step(b0, b1, a_t, r_t, b_rec, h_prev, h_next, cache_t)


@jit_step_kernel
def backward_step(kind, nonlinearity, b0, b1, dh, dc, h_prev, h_t, c_prev, cache_t, da, dr, dc_prev, dh_direct):
    """Backward through one step of cell ``kind``, for rows ``b0:b1``.

    Given ``dh`` = dL/dh_t (B, H) and, for cells with a cell state, ``dc`` =
    dL/dc_t, writes ``da`` = dL/da_t (B, G*H); ``dr`` = dL/dr_t when the
    cell's ``SEPARATE_RECURRENT_DELTA`` is set (else the driver uses ``da``);
    ``dc_prev`` = dL/dc_{t-1} for cells with a cell state; and
    ``dh_direct``, the part of dL/dh_{t-1} that bypasses W_hh, when
    ``HAS_DIRECT_PATH`` is set. The driver adds dr @ W_hh.T.
    """
    if kind == ELMAN:
        elman.backward_step(nonlinearity, b0, b1, dh, h_t, da)
    elif kind == LSTM:
        lstm.backward_step(b0, b1, dh, dc, c_prev, cache_t, da, dc_prev)
    elif kind == GRU:
        gru.backward_step(b0, b1, dh, h_prev, cache_t, da, dr, dh_direct)
