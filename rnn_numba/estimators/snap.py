"""SnAp-1: RTRL's influence kept only where a parameter influences the state in one step.

Menick, Elsen, Evci, Osindero, Simonyan & Graves (2021), Practical real-time
recurrent learning with a sparse approximation, ICLR, arXiv:2006.07232. The
influence matrix is updated as RTRL's and then masked to the pattern of the
immediate influence M_t::

    J_t = (D_t J_{t-1} + M_t) * pattern(M)

For the cells here (gate blocks H wide, unit j of every gate feeding unit j
of the state) a parameter that writes gate column g H + j influences only
unit j of the state (h and c) in one step, so SnAp-1 keeps one (Elman, GRU)
or two (LSTM) entries per parameter. It is exact where the recurrent weights
of every gate are diagonal (no unit reaches another), and biased otherwise.

This implementation keeps the dense influence and masks it, which gives the
estimator's values at RTRL's cost; a sparse one (O(B P) per step) is future
work. One layer.
"""

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from ..model import RNN
from ..stream import Window
from .online import online, require_forward_mode
from .rtrl import Influence


def immediate_pattern(model):
    """The (P, H) mask of the state units each parameter of layer 0 influences in one step (P = its parameters)."""
    offsets, ends = Influence.layout(model)
    n_hidden, width = model.n_hidden, model.cell.n_gates * model.n_hidden
    pattern = np.zeros((ends[0], n_hidden), dtype=bool)
    table = model.layout.table
    for role, start in enumerate(offsets[0]):
        if start < 0:
            continue
        size = int(table[0, role, 1]) * int(table[0, role, 2])
        columns = np.arange(size)
        # a projection block is stored row-major with G H columns; the inner block has one entry per unit
        unit = (columns % width) % n_hidden if role < 3 else columns % n_hidden
        pattern[start + columns, unit] = True
    return pattern


class SparseInfluence(Influence):
    """RTRL's influence masked to the immediate pattern after every step."""

    def __init__(self, model, n_batch):
        super().__init__(model, n_batch)
        self.pattern = immediate_pattern(model)

    def step(self, model, theta, work, x_t, t, held):
        """RTRL's step, then the mask."""
        super().step(model, theta, work, x_t, t, held)
        self.h[0] *= self.pattern
        if self.c[0].shape[2]:
            self.c[0] *= self.pattern


def snap1(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    **options,
) -> Iterator[Window]:
    """Yield SnAp-1's gradient every ``k`` steps of a stream, for online learning.

    Parameters
    ----------
    model : RNN
        One layer of any cell with a forward-mode step (Elman, LSTM, GRU).
    stream, targets, k, **options
        As for :func:`rnn_numba.rtrl`.

    Yields
    ------
    Window
        As :func:`rnn_numba.rtrl`'s.
    """
    require_forward_mode(model, "SnAp-1", one_layer=True)
    return online(SparseInfluence, model, stream, targets, k, **options)
