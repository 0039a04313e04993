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
O(B P) for w, like a step of BPTT; memory O(B P).

One layer; every cell with a forward-mode step.
"""

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .._kernels import engine
from .._kernels.forward_mode import immediate_vjp, state_tangents
from ..model import RNN
from ..stream import Window
from .online import online, random_generator, require_forward_mode
from .rtrl import Influence

#: Keeps rho0 and rho1 finite where a norm is zero (at the start, u = w = 0).
EPSILON = 1e-7


class RankOne:
    """UORO's state for a batch: u (B, 1, H) and u_c (B, 1, H or 0), w (B, P), and the random signs' generator."""

    def __init__(self, model, n_batch, rng):
        layout = Influence.layout(model)  # one layer: its directions are theta[:P]
        self.offsets, self.n_params = layout[0][0], layout[1][0]
        width = model.n_hidden if model.cell.has_cell_state else 0
        dtype = model.dtype
        self.u_h = np.zeros((n_batch, 1, model.n_hidden), dtype=dtype)
        self.u_c = np.zeros((n_batch, 1, width), dtype=dtype)
        self.w = np.zeros((n_batch, self.n_params), dtype=dtype)
        self.rng = rng

    def step(self, model, theta, work, x_t, t, held):
        """Advance u and w by step t of the window in ``work``."""
        table, cell = model.layout.table, model.cell_settings
        n_batch, n_hidden, dtype = x_t.shape[0], model.n_hidden, model.dtype
        width = model.cell.n_gates * n_hidden
        w_hh, inner = engine.matrix(theta, table, 0, engine.W_HH), engine.vector(theta, table, 0, engine.INNER)
        s_prev, s_next, cache_t = (work.h[0, t], work.c[0, t]), (work.h[0, t + 1], work.c[0, t + 1]), work.cache[0, t]
        # D_t u_{t-1}: the cell's forward-mode step with the tangent of r_t = u_h @ W_hh
        r_dot = (self.u_h[:, 0] @ w_hh)[:, None]
        zeros = np.zeros((n_batch, 1, width), dtype=dtype)
        inner_dot = np.zeros((n_batch, 1, inner.shape[0]), dtype=dtype)
        du_h, du_c = np.empty_like(self.u_h), np.empty_like(self.u_c)
        state_tangents(cell, zeros, r_dot, inner, inner_dot, s_prev, s_next, cache_t, (self.u_h, self.u_c),
                       (du_h, du_c))  # fmt: skip
        # v^T M_t for random signs v
        v_h = self.rng.integers(0, 2, size=(n_batch, n_hidden)).astype(dtype) * 2 - 1
        v_c = self.rng.integers(0, 2, size=(n_batch, self.u_c.shape[2])).astype(dtype) * 2 - 1
        vm = np.empty_like(self.w)
        scratch = (np.empty((n_batch, n_hidden), dtype), np.empty((n_batch, self.u_c.shape[2]), dtype))
        da, dr = np.empty((n_batch, width), dtype), np.empty((n_batch, width), dtype)
        immediate_vjp(cell, x_t, (v_h, v_c), inner, s_prev, s_next, cache_t, self.offsets, vm, da, dr, scratch)
        # the variance-reducing scales, per sequence
        du_norm = np.sqrt((du_h**2).sum(axis=(1, 2)) + (du_c**2).sum(axis=(1, 2)))
        rho0 = np.sqrt((np.linalg.norm(self.w, axis=1) + EPSILON) / (du_norm + EPSILON))
        v_norm = np.sqrt(v_h.shape[1] + v_c.shape[1])
        rho1 = np.sqrt((np.linalg.norm(vm, axis=1) + EPSILON) / (v_norm + EPSILON))
        keep = ~held
        self.u_h[keep] = rho0[keep, None, None] * du_h[keep] + rho1[keep, None, None] * v_h[keep, None]
        self.u_c[keep] = rho0[keep, None, None] * du_c[keep] + rho1[keep, None, None] * v_c[keep, None]
        self.w[keep] = self.w[keep] / rho0[keep, None] + vm[keep] / rho1[keep, None]

    def add_gradient(self, grad, dh):
        """Add the estimate of dL_t/dtheta, the sum over sequences of (dL_t/dh_t . u_t) w_t, to grad."""
        grad[: self.n_params] += np.einsum("b,bp->p", np.einsum("bh,bh->b", dh, self.u_h[:, 0]), self.w)


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
