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
Each trace entry stays on its unit (the immediate pattern), so the cost is
O(P) per step in principle; this implementation keeps RTRL's dense layout.
One layer.
"""

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from ..model import RNN
from ..stream import Window
from .online import online, require_forward_mode
from .rtrl import Influence


class EligibilityTraces(Influence):
    """RFLO's traces: the influence updated through the leak and the immediate influence only."""

    through_recurrence = False

    def __init__(self, model, n_batch, feedback=None):
        super().__init__(model, n_batch)
        self.feedback = feedback


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
    if feedback is not None:
        feedback = np.asarray(feedback, dtype=model.dtype)
        if feedback.shape != (model.n_out, model.n_hidden) or not np.isfinite(feedback).all():
            raise ValueError(
                f"feedback must be a finite (n_out, H) = {(model.n_out, model.n_hidden)} matrix, got shape "
                f"{feedback.shape}"
            )
    return online(lambda m, n_batch: EligibilityTraces(m, n_batch, feedback), model, stream, targets, k, **options)
