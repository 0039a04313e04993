"""SnAp-1: RTRL's influence kept only where a parameter influences the state in one step.

Menick, Elsen, Evci, Osindero, Simonyan & Graves (2021), Practical real-time
recurrent learning with a sparse approximation, ICLR, arXiv:2006.07232. The
influence matrix is updated as RTRL's and then masked to the pattern of the
immediate influence M_t::

    J_t = (D_t J_{t-1} + M_t) * pattern(M)

In the cells here a parameter that writes gate column g H + j influences only
unit j of the state (h and c) in one step, so SnAp-1 keeps one (Elman, GRU)
or two (LSTM) entries per parameter, and the masked product D_t J_{t-1} needs
only the diagonal of D_t (unit j on itself: through W_hh[j, g H + j] and the
cell's direct path); for the LSTM, an output gate's parameter is kept on
h only (it reaches c in two steps). It is exact where no unit reaches
another through W_hh (diagonal recurrent weights; for the LSTM, none into
the gates that write c), and biased otherwise. Kept sparse
(:class:`~rnn_numba.estimators.diagonal.DiagonalInfluence`): O(B P) time and
memory per step, like a step of BPTT. One layer.
"""

from collections.abc import Iterable, Iterator

from numpy.typing import ArrayLike

from ..model import RNN
from ..stream import Window
from .diagonal import DiagonalInfluence
from .online import online, require_forward_mode


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
        One layer of any cell with a forward-mode step (Elman, leaky Elman,
        LSTM, GRU).
    stream, targets, k, **options
        As for :func:`rnn_numba.rtrl`.

    Yields
    ------
    Window
        As :func:`rnn_numba.rtrl`'s.
    """
    require_forward_mode(model, "SnAp-1", one_layer=True)
    return online(lambda m, n_batch: DiagonalInfluence(m, n_batch, True), model, stream, targets, k, **options)
