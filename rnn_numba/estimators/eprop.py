"""e-prop for the LSTM: eligibility traces through the memory cell, with a broadcast learning signal.

Bellec, Scherr, Subramoney, Hajek, Salaj, Legenstein & Maass (2020), A
solution to the learning dilemma for recurrent networks of spiking neurons,
Nat. Commun. 11:3625, doi:10.1038/s41467-020-17236-y, its LSTM form (their
Methods, "e-prop for LSTMs"). The hidden state of a unit is its memory cell
c_j and its observable state h_j = o_j tanh(c_j). Each parameter W_ji of
unit j keeps an eligibility vector through the cell's own path only::

    eps_t = f_t[j] eps_{t-1} + dc_t[j]/dW_ji        (forget gate: the diagonal of dc_t/dc_{t-1})
    e_t   = o_t[j] tanh'(c_t[j]) eps_t + dh_t[j]/dW_ji   (the eligibility trace)

and the gradient estimate is sum_t L_t[j] e_t, with the learning signal
L_t = dL_t/dy_t @ W_hy^T (symmetric e-prop) or a fixed random matrix in its
place (random e-prop). This is RTRL's update with every path through h_{t-1}
(W_hh) dropped, kept on each parameter's unit
(:class:`~rnn_numba.estimators.diagonal.DiagonalInfluence`): O(B P) per
step, and RTRL's gradient where W_hh = 0. One layer.
"""

from collections.abc import Iterable, Iterator

from numpy.typing import ArrayLike

from ..model import RNN
from ..stream import Window
from .diagonal import DiagonalInfluence, check_feedback
from .online import online, require_forward_mode


def eprop(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    *,
    feedback: ArrayLike | None = None,
    **options,
) -> Iterator[Window]:
    """Yield e-prop's gradient estimate every ``k`` steps of a stream, for online learning.

    Parameters
    ----------
    model : RNN
        One layer of the LSTM cell.
    stream, targets, k, **options
        As for :func:`rnn_numba.rtrl`.
    feedback : array_like, shape (n_out, H), optional
        Fixed random feedback weights carrying dL/dy_t to the units (random
        e-prop); by default the readout's weights, W_hy^T (symmetric e-prop).

    Yields
    ------
    Window
        As :func:`rnn_numba.rtrl`'s.
    """
    require_forward_mode(model, "e-prop", cells=["lstm"], one_layer=True)
    feedback = check_feedback(model, feedback)
    traces = lambda m, n_batch: DiagonalInfluence(m, n_batch, False, feedback)  # noqa: E731
    return online(traces, model, stream, targets, k, **options)
