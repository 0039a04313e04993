"""Random-feedback local online learning (RFLO) for the leaky Elman cell.

Murray (2019), Local online learning in recurrent networks with random
feedback, eLife 8:e43299, doi:10.7554/eLife.43299. For the leaky cell
h_t = (1 - alpha) h_{t-1} + alpha f(a_t + r_t), RFLO keeps, for each
parameter, an eligibility trace of its immediate influence decayed by the
leak only::

    B_t = (1 - alpha) B_{t-1} + M_t,     M_t[j, W[i, j]] = alpha f'(z_t[j]) [x_t; h_{t-1}; 1][i]

that is RTRL's update without the path through the recurrent weights
(D_t ~ (1 - alpha) I); it is RTRL's where W_hh = 0. The error reaching the
state is dL/dy_t @ W_hy^T, or, in Murray's rule, dL/dy_t @ B with a fixed
random feedback matrix B (n_out, H). The readout's own gradient is exact.
Each trace stays on its parameter's unit: O(B P) time and memory per step
(:class:`~rnn_numba.estimators.diagonal.DiagonalInfluence`). One layer.
"""

from collections.abc import Iterable, Iterator

from numpy.typing import ArrayLike

from ..model import RNN
from ..stream import Window
from .diagonal import DiagonalInfluence, check_feedback
from .online import online, require_forward_mode


def rflo(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    *,
    feedback: ArrayLike | None = None,
    **options,
) -> Iterator[Window]:
    """Yield RFLO's gradient estimate every ``k`` steps of a stream, for online learning.

    Parameters
    ----------
    model : RNN
        One layer of the leaky Elman cell (``rn.Elman(..., alpha=...)``).
    stream, targets, k, **options
        As for :func:`rnn_numba.rtrl`.
    feedback : array_like, shape (n_out, H), optional
        A fixed matrix that carries the output error to the state (Murray's
        random feedback); by default the readout's weights, W_hy^T.

    Yields
    ------
    Window
        As :func:`rnn_numba.rtrl`'s.
    """
    require_forward_mode(model, "RFLO", cells=["leaky_elman"], one_layer=True)
    feedback = check_feedback(model, feedback)
    traces = lambda m, n_batch: DiagonalInfluence(m, n_batch, False, feedback)  # noqa: E731
    return online(traces, model, stream, targets, k, **options)
