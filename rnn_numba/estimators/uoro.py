"""Unbiased online recurrent optimization (UORO): a rank-one, unbiased estimate of RTRL's influence.

Tallec & Ollivier (2017), Unbiased online recurrent optimization,
arXiv:1702.05043 (ICLR 2018). Each sequence carries a state tangent u (the
size of the state) and a parameter vector w (the size of theta), whose outer
product u w^T estimates the influence J_t = ds_t/dtheta without bias. Per
step, with v a vector of independent random signs::

    u_t = rho0 D_t u_{t-1} + rho1 v
    w_t = w_{t-1} / rho0 + (v^T M_t) / rho1
    rho0 = sqrt(||w_{t-1}|| / ||D_t u_{t-1}||),  rho1 = sqrt(||v^T M_t|| / ||v||)

(D_t = ds_t/ds_{t-1} applied forward, by the cell's forward-mode step;
v^T M_t, the immediate influence transposed, by one backward step of the
cell with the previous state held). E[u_t w_t^T] = J_t when E[u_{t-1}
w_{t-1}^T] = J_{t-1}: the cross terms vanish because v has mean zero and
rho1 is even in v. The gradient estimate at step t is (dL_t/ds_t . u_t) w_t.
Cost per step: one forward-mode and one backward step of the cell, and
O(B P) for w, like a step of BPTT; memory O(B P). A window runs in one
compiled loop (:func:`~rnn_numba._kernels.forward_mode.rank_one_window`).

One layer; every cell with a forward-mode step.
"""

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .._kernels import engine
from .._kernels.forward_mode import rank_one_window
from ..model import RNN
from ..stream import Window
from .online import online, random_generator, require_forward_mode
from .rtrl import Influence

#: Keeps rho0 and rho1 finite where a norm is zero (at the start, u = w = 0).
EPSILON = 1e-7


class RankOne:
    """UORO's state for a batch: u (B, H) and u_c (B, H or 0), w (B, P), and the random signs' generator."""

    def __init__(self, model, n_batch, rng):
        layout = Influence.layout(model)  # one layer: its directions are theta[:P]
        self.offsets, self.n_params = layout[0][0], layout[1][0]
        n_hidden, width, dtype = model.n_hidden, model.n_hidden if model.cell.has_cell_state else 0, model.dtype
        self.u_h = np.zeros((n_batch, n_hidden), dtype=dtype)
        self.u_c = np.zeros((n_batch, width), dtype=dtype)
        self.w = np.zeros((n_batch, self.n_params), dtype=dtype)
        self.rng = rng

    def window(self, model, theta, work, x, held, dh, grad, threads):
        """Advance u and w through a window (``work`` holds its forward pass), adding the estimates to grad.

        ``threads``: chunks of sequences for Numba's threads, or None.
        """
        table, dtype = model.layout.table, model.dtype
        n_steps, n_batch = x.shape[:2]
        signs_h = self.rng.integers(0, 2, size=(n_steps, n_batch, self.u_h.shape[1])).astype(dtype) * 2 - 1
        signs_c = self.rng.integers(0, 2, size=(n_steps, n_batch, self.u_c.shape[1])).astype(dtype) * 2 - 1
        rank_one_window(
            model.cell_settings, x, work.h[0], work.c[0], work.cache[0], engine.matrix(theta, table, 0, engine.W_HH),
            engine.vector(theta, table, 0, engine.INNER), self.offsets, held, dh, signs_h, signs_c, self.u_h,
            self.u_c, self.w, grad, dtype(EPSILON), threads,
        )  # fmt: skip


def uoro(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    *,
    seed=None,
    **options,
) -> Iterator[Window]:
    """Yield UORO's gradient estimate every ``k`` steps of a stream, for online learning.

    Parameters
    ----------
    model : RNN
        One layer of any cell with a forward-mode step (Elman, LSTM, GRU).
    stream, targets, k, **options
        As for :func:`rnn_numba.rtrl`.
    seed : int or numpy.random.Generator, optional
        The random signs' generator: the same seed gives the same estimates.

    Yields
    ------
    Window
        As :func:`rnn_numba.rtrl`'s; ``grad`` is an unbiased estimate of
        RTRL's (of the full-BPTT gradient, at fixed parameters).
    """
    require_forward_mode(model, "UORO", one_layer=True)
    rng = random_generator(seed)
    return online(lambda model, n_batch: RankOne(model, n_batch, rng), model, stream, targets, k, **options)
