"""Compilation you can see: one line when a first call compiles, and compiling everything on purpose.

Numba compiles a kernel at its first call for a cell, dtype and way of
running, which takes tens of seconds. When that starts, the package says so
in one line (through the ``rnn_numba`` logger, at INFO, and on standard
error when it is a terminal), once per cell, dtype and way of running, with
where the result is cached. :func:`warmup` compiles (or loads) every path up
front; ``python -m rnn_numba warmup`` does the same from a shell.
"""

import logging
import sys
from itertools import product

import numpy as np
from numba import types
from numba.core import event

from . import cells as cell_registry
from ._kernels import cache
from .cells.contract import CellType

logger = logging.getLogger("rnn_numba")

#: Set to False to keep the one-line notices off standard error (the logger still has them).
NOTICES_ON_STDERR = True


def _describe(args):
    """What a compilation is for, from its argument types: (cell, dtype, way of running)."""
    cell = next((a for a in args if isinstance(a, CellType)), None)
    floats = (types.float32, types.float64)
    dtype = next((str(a.dtype) for a in args if isinstance(a, types.Array) and a.dtype in floats), "")
    threads = args[-1] if args else None
    way = "several threads" if isinstance(threads, types.Integer) else "one thread"
    if cell is None:
        return (None, dtype, way)
    return (f"the {cell.cell_name} cell ({cell.cell.nonlinearities[cell.nonlinearity]})", dtype, way)


class _Notices(event.Listener):
    """Listens to Numba's compile events; announces the first compilation of each kind, called from Python."""

    def __init__(self):
        self.depth = 0
        self.said = set()

    def on_start(self, ev):
        self.depth += 1
        if self.depth > 1:  # a kernel compiled inside another one's compilation
            return
        dispatcher = ev.data["dispatcher"]
        if not getattr(dispatcher.py_func, "__module__", "").startswith("rnn_numba"):
            return
        cell, dtype, way = _describe(ev.data["args"])
        key = (cell, dtype, way)
        if key in self.said:
            return
        self.said.add(key)
        what = f"the kernels of {cell}" if cell else "the shared kernels"
        where = f"cached in {cache.CACHE_DIR}" if cache.CACHE_DIR is not None else "not cached (no writable folder)"
        message = f"rnn_numba: compiling {what} for {dtype} on {way}; this takes a while once, then it is {where}"
        logger.info(message)
        if NOTICES_ON_STDERR and sys.stderr is not None and sys.stderr.isatty():
            print(message, file=sys.stderr, flush=True)

    def on_end(self, ev):
        self.depth -= 1


event.register("numba:compile", _Notices())

#: Every way a call can run, for :func:`warmup`: (label, number of sequences, layers, keyword arguments).
PATHS = (
    ("full BPTT", 1, 1, {}),
    ("full BPTT, batch", 2, 2, {}),
    ("message norms and clipping", 1, 1, {"grad_norms": True, "clip_message": 1.0}),
    ("message norms and clipping, batch", 2, 2, {"grad_norms": True, "clip_message": 1.0}),
    ("recomputed gates", 1, 1, {"recompute": True}),
    ("recomputed gates, batch", 2, 2, {"recompute": True}),
    ("truncations", 1, 2, {"tbptt": (1, 2)}),
    ("truncations, batch", 2, 2, {"horizon": 1}),
    ("online estimators", 2, 2, None),  # RTRL (stacked), UORO and SnAp-1, for a cell with a forward-mode step
)


def _online_estimators(net, x):
    """RTRL on the stacked ``net``, UORO and SnAp-1 (RFLO's and e-prop's kernel too) on one layer of its cell."""
    from .estimators import rtrl, snap1, uoro
    from .model import RNN

    if net.cell.jvp is None:
        return
    y = np.zeros((x.shape[0], x.shape[1], 1), dtype=x.dtype)
    next(rtrl(net, x, y, 2))
    one_layer = RNN(net.cell, 1, 2, 1, dtype=net.dtype, seed=0, cell_options=net.cell_options)
    next(uoro(one_layer, x, y, 2))
    next(snap1(one_layer, x, y, 2))


def warmup(
    dtypes: tuple = (np.float64, np.float32),
    cells: tuple = ("elman", "lstm", "gru"),
    *,
    progress: bool | None = None,
) -> None:
    """Compile (or load from the on-disk cache) every kernel of the given cells and dtypes.

    Every way a call can run: one sequence and a batch (one thread and
    several), stacked layers, full BPTT with and without message norms,
    clipping and recomputed gates, both truncations, the forward pass and
    the vector-Jacobian product. With a warm cache it only loads them.

    Parameters
    ----------
    dtypes : tuple of np.float32, np.float64
    cells : tuple of str or rnn_numba.cells.Cell
    progress : bool, optional
        Show a tqdm progress bar; by default only when standard error is a terminal.
    """
    from . import _threads
    from .model import RNN

    jobs = list(product(dtypes, cells, PATHS))
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="compiling", unit="path")
    threshold, _threads.MIN_PARALLEL_WORK = _threads.MIN_PARALLEL_WORK, 0  # a batch of two takes the parallel kernels
    try:
        for dtype, cell, (label, n_batch, num_layers, options) in jobs:
            if bar is not None:
                bar.set_postfix_str(f"{cell_registry.get(cell).name} {np.dtype(dtype).name}: {label}")
            net = RNN(cell, 1, 2, 1, num_layers=num_layers, dtype=dtype, seed=0)
            x = np.zeros((2, n_batch, 1), dtype=dtype)
            if options is None:
                _online_estimators(net, x)
            else:
                net.backward(x, np.zeros((2, n_batch, 1), dtype=dtype), **options)
                net.forward(x)
                net.vjp(x)
            if bar is not None:
                bar.update(1)
    finally:
        _threads.MIN_PARALLEL_WORK = threshold
        if bar is not None:
            bar.close()
