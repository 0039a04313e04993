"""Real-time recurrent learning (RTRL): the exact gradient of a stream, carried forward in time.

Williams & Zipser (1989), A learning algorithm for continually running fully
recurrent neural networks, Neural Computation 1(2), 270-280,
doi:10.1162/neco.1989.1.2.270. Each sequence carries the influence of the
parameters on its state, J_t = ds_t / dtheta ((H or 2H) x P per layer), and
updates it with the step::

    J_t = D_t J_{t-1} + M_t,     D_t = ds_t / ds_{t-1},  M_t = the immediate influence of theta on s_t

so that the gradient of the loss at step t is available at step t, with no
backward pass: dL_t/dtheta = (dL_t/dh_t) J_t (plus the readout's own
gradient). At fixed parameters the sum over a sequence of these is the
full-BPTT gradient; when the parameters change between updates, J carries the
influence of the older parameters, which is the approximation every online
method makes.

In a stacked network, layer k's J covers the parameters of layers 0..k
(the lower layers reach it through its input). Per step and layer the
tangent of the recurrent projection, J^h_{t-1} @ W_hh, is one GEMM over all
sequences and directions (B P rows), taken a tile of rows at a time and
each tile handed straight to the cell's forward-mode step (its ``jvp``, see
:mod:`rnn_numba.cells.contract`) while it is in cache; the input
projection's, for the lower layers' directions, J^{k-1,h}_t @ W_xh, the
same way. Memory: O(B P H) for P parameters below the readout; time per
step O(B P H G H), against O(B G H (n_in + H)) for a step of BPTT.
"""

import os
from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .._kernels import engine
from .._kernels.forward_mode import TILE, influence_step
from .._threads import threads_for
from ..model import RNN
from ..stream import Window
from .online import online, require_forward_mode


def _available_bytes():
    """Memory the system can give without swapping (Linux), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


class Influence:
    """The influence matrices of every layer, J^k (B, P_k, H) and J^k_c (B, P_k, H or 0), with their layout.

    Parameters
    ----------
    model : RNN
    n_batch : int
    """

    #: Maps dL/dy_t (B, n_out) to the dL/dh_t an estimator uses; None: the readout's W_hy^T (the exact one).
    feedback = None

    @staticmethod
    def layout(model):
        """Per layer, the first directions of its own blocks (W_xh, W_hh, b_h, inner; -1 if absent) and its end.

        The directions of layer k are the parameters of layers 0..k, theta[:end_k].
        """
        table = model.layout.table
        offsets, ends = [], []
        start = 0
        for k in range(model.num_layers):
            blocks = [(int(o), int(r) * int(c)) for o, r, c in table[k] if r * c > 0]
            first, end = min(o for o, _ in blocks), max(o + n for o, n in blocks)
            if first != start:  # the layout this module assumes: layers one after another
                raise ValueError(f"layer {k}'s parameters do not follow layer {k - 1}'s in theta")
            offsets.append(np.array([o if r * c > 0 else -1 for o, r, c in table[k]], dtype=np.int64))
            ends.append(end)
            start = end
        return offsets, ends

    def __init__(self, model, n_batch):
        self.offsets, self.ends = self.layout(model)
        width = model.n_hidden if model.cell.has_cell_state else 0
        n_directions = self.ends[-1]
        itemsize = np.dtype(model.dtype).itemsize
        # J and its next value (h and c parts) per layer, at most the top layer's directions each
        needed = n_batch * n_directions * 2 * (model.n_hidden + width) * itemsize
        available = _available_bytes()
        if available is not None and needed * model.num_layers > available:
            raise ValueError(
                f"RTRL needs {needed * model.num_layers / 1e9:.1f} GB for its influence matrices "
                f"({n_batch} sequences x {n_directions} parameters x state and gate width), more than the "
                f"{available / 1e9:.1f} GB available; use fewer sequences or a smaller network, or an approximation"
            )
        self.h = [np.zeros((n_batch, end, model.n_hidden), dtype=model.dtype) for end in self.ends]
        self.c = [np.zeros((n_batch, end, width), dtype=model.dtype) for end in self.ends]
        # the next J of each layer (swapped with J after a step)
        self._next_h, self._next_c = [np.empty_like(j) for j in self.h], [np.empty_like(j) for j in self.c]
        self._no_below = np.zeros((n_batch, 0, model.n_hidden), dtype=model.dtype)

    def step(self, model, theta, work, x_t, t, held):
        """Advance every layer's J by step t of a window (``work`` holds the window's forward pass).

        ``held`` (B,) marks the sequences whose state step t copies forward
        (past their length): their J is copied too.
        """
        table, cell = model.layout.table, model.cell_settings
        n_batch, n_hidden = x_t.shape[0], model.n_hidden
        n_pairs = n_batch * -(-self.ends[-1] // TILE)  # (sequence, tile) pairs of the top layer, for the threads
        work_size = n_batch * self.ends[-1] * n_hidden * model.cell.n_gates * n_hidden  # the D_t J multiply-adds
        with threads_for(n_pairs, work_size) as threads:
            for k in range(model.num_layers):
                w_xh, w_hh = engine.matrix(theta, table, k, engine.W_XH), engine.matrix(theta, table, k, engine.W_HH)
                inner = engine.vector(theta, table, k, engine.INNER)
                j_h, j_c, new_h, new_c = self.h[k], self.c[k], self._next_h[k], self._next_c[k]
                # the lower layers' directions reach this layer through its input (J^{k-1}_t @ W_xh)
                below, layer_input = (self._no_below, x_t) if k == 0 else (self.h[k - 1], work.h[k - 1, t + 1])
                influence_step(
                    cell, layer_input, work.h[k, t], w_xh, w_hh, inner, self.offsets[k], below,
                    (work.h[k, t], work.c[k, t]), (work.h[k, t + 1], work.c[k, t + 1]), work.cache[k, t],
                    (j_h, j_c), (new_h, new_c), held, threads,
                )  # fmt: skip
                # the new J becomes J; the old one's memory the next step's buffer
                self.h[k], self._next_h[k] = new_h, j_h
                self.c[k], self._next_c[k] = new_c, j_c

    def add_gradient(self, grad, dh):
        """Add dL_t/dtheta, the sum over sequences of (dL_t/dh_t) J_t, to grad; dh is (B, H)."""
        grad[: self.ends[-1]] += np.einsum("bph,bh->p", self.h[-1], dh)


def rtrl(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    **options,
) -> Iterator[Window]:
    """Yield RTRL's gradient every ``k`` steps of a stream, for online learning.

    Parameters
    ----------
    model : RNN
        Any cell with a forward-mode step (Elman, LSTM, GRU), any number of
        layers. Its ``theta`` may be changed between windows; each window
        runs with the parameters current when it is computed, and the
        influence matrices carry over.
    stream : ndarray, shape (T, B, n_in), or iterable of such chunks
    targets : ndarray or iterable of chunks
        As for :meth:`RNN.backward`, chunked like ``stream``.
    k : int
        Steps per update: each window's gradient is that of the losses of
        its k steps.
    **options
        ``loss``, ``weights``, ``lengths``, ``h0``, ``c0``, ``reduction``:
        see :func:`rnn_numba.estimators.online.online`.

    Yields
    ------
    Window
        One per k steps (the last may be shorter), with ``loss_start`` =
        ``start``; ``dh0`` and ``dc0`` are None (RTRL has no backward
        message).

    Raises
    ------
    ValueError
        For a cell without a forward-mode step, or influence matrices larger
        than the available memory (the message gives the size in GB).

    Examples
    --------
    >>> for w in rn.rtrl(net, x, y, k=1):   # doctest: +SKIP
    ...     net.theta -= 0.01 * w.grad
    """
    require_forward_mode(model, "RTRL")
    return online(Influence, model, stream, targets, k, **options)
