"""The cells: one module each, declaring a :class:`Cell` (see :mod:`rnn_numba.cells.contract`).

``rn.cells.get("lstm")`` gives a built-in cell; :func:`register` makes a cell
of your own available by name, to :class:`rnn_numba.RNN` and to
:func:`rnn_numba.load`. A model also takes a :class:`Cell` directly.
"""

from .contract import Cell, CellSettings, get, register, registered
from .elman import ELMAN
from .gru import GRU
from .leaky import LEAKY_ELMAN
from .lstm import LSTM

for _cell in (ELMAN, LSTM, GRU, LEAKY_ELMAN):
    register(_cell)

__all__ = ["Cell", "CellSettings", "ELMAN", "LSTM", "GRU", "LEAKY_ELMAN", "get", "register", "registered"]
