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

from .._jit import jit_kernel
from . import elman

#: Cell modules by integer kind; the kind is what the kernels see.
CELLS = (elman,)
KINDS = {cell.NAME: kind for kind, cell in enumerate(CELLS)}
ELMAN = KINDS["elman"]


@jit_kernel
def forward_step(kind, nonlinearity, a_t, r_t, h_prev, c_prev, h_next, c_next, cache_t):
    """One step of cell ``kind``: (h_prev, c_prev) -> (h_next, c_next), shapes (B, H).

    ``a_t`` and ``r_t`` (B, G*H) are the input and recurrent projections;
    ``cache_t`` (B, CACHE_WIDTH*H) receives what the backward step needs.
    """
    if kind == ELMAN:
        elman.forward_step(nonlinearity, a_t, r_t, h_next)


@jit_kernel
def backward_step(kind, nonlinearity, dh, dc, h_prev, h_t, c_prev, c_t, cache_t, da, dr, dc_prev):
    """Backward through one step of cell ``kind``.

    Given ``dh`` = dL/dh_t (B, H) (and ``dc`` = dL/dc_t for cells with a
    cell state, whose dL/dc_{t-1} goes to ``dc_prev``), writes ``da`` = dL/da_t
    (B, G*H) and, when the cell's ``SEPARATE_RECURRENT_DELTA`` is set,
    ``dr`` = dL/dr_t. The driver then forms dL/dh_{t-1} = dr @ W_hh.T (with
    ``da`` in place of ``dr`` for cells whose two deltas coincide). A cell
    with a path from h_{t-1} to h_t that bypasses W_hh (a GRU's update gate)
    will add a ``dh_direct`` output here.
    """
    if kind == ELMAN:
        elman.backward_step(nonlinearity, dh, h_t, da)
