"""Kronecker-factored RTRL (KF-RTRL): an unbiased estimate of the influence as one Kronecker product.

Mujika, Meier & Steger (2018), Approximating real-time recurrent learning
with random Kronecker factors, NeurIPS, arXiv:1805.10842. For an Elman cell
(leaky or not) a weight W[i, j] (input i of the concatenation
a_hat_t = [x_t; h_{t-1}; 1], unit j) influences the state in one step through
unit j only, and the immediate influence is a Kronecker product::

    M_t[(i, j), s] = a_hat_t[i] K_t[j, s],   K_t = diag(alpha f'(z_t))

KF-RTRL keeps, per sequence, J_t[(i, j), s] ~ u_t[i] A_t[j, s] with u of the
size of a_hat and A (H, H), and reduces the rank-two update
u_{t-1} (x) D_t A_{t-1} + a_hat_t (x) K_t to rank one with two random signs
c0, c1 (each +-1, independent)::

    u_t = c0 p0 u_{t-1} + c1 p1 a_hat_t
    A_t = c0 / p0 (D_t A_{t-1}) + c1 / p1 K_t
    p0 = sqrt(||D_t A_{t-1}|| / ||u_{t-1}||),   p1 = sqrt(||K_t|| / ||a_hat_t||)

(D_t A_{t-1}: the rows of A as state tangents through the cell's forward-mode
step). E[u_t (x) A_t] = J_t when E[u_{t-1} (x) A_{t-1}] = J_{t-1}: the cross
terms carry c0 c1, of mean zero. Unlike UORO's, the noise enters only through
two scalars per step, and its variance stays bounded (the paper's Theorem 1).
The gradient estimate at step t is dL/dW[i, j] = u_t[i] (A_t dL_t/dh_t)[j].
Cost per step O(B H^3) for D_t A (one GEMM over the batch) and O(B H (n_in +
H)) for the gradient; memory O(B H (n_in + H)), against RTRL's O(B H^2 (n_in
+ H)).

One layer of the Elman or leaky Elman cell.
"""

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .._kernels import engine
from .._kernels.forward_mode import state_tangents
from ..model import RNN
from ..stream import Window
from .online import online, random_generator, require_forward_mode

#: Keeps p0 and p1 finite where a norm is zero (at the start, u = A = 0).
EPSILON = 1e-7

#: The cells whose immediate influence is a Kronecker product (one gate block, no cell-own parameters).
KRONECKER_CELLS = ("elman", "leaky_elman")


class KroneckerInfluence:
    """KF-RTRL's state for a batch: u (B, n_in + H + 1) and A (B, H, H), and the random signs' generator.

    ``A[b, j, s]``: the influence of unit j's incoming weights on state unit
    s; ``u[b]``: the concatenated input [x_t; h_{t-1}; 1] it multiplies.
    The entries of ``u`` for absent blocks (no bias) stay zero.
    """

    def __init__(self, model, n_batch, rng):
        n_hidden, dtype, table = model.n_hidden, model.dtype, model.layout.table
        n_in = int(table[0, engine.W_XH, 1])
        # the rows of u for each block of theta: (offset in theta, first row of u, rows)
        blocks = [(engine.W_XH, 0, n_in), (engine.W_HH, n_in, n_hidden), (engine.B_H, n_in + n_hidden, 1)]
        self.blocks = [(role, int(table[0, role, 0]), row, rows) for role, row, rows in blocks if table[0, role, 1] > 0]
        self.u = np.zeros((n_batch, n_in + n_hidden + 1), dtype=dtype)
        self.a = np.zeros((n_batch, n_hidden, n_hidden), dtype=dtype)
        # one forward-mode call for 2H directions a sequence: H rows of D_t A (through W_hh), H unit directions (K_t)
        self._a_dot = np.zeros((n_batch, 2 * n_hidden, n_hidden), dtype=dtype)
        self._a_dot[:, n_hidden:] = np.eye(n_hidden, dtype=dtype)
        self._r_dot = np.zeros((n_batch, 2 * n_hidden, n_hidden), dtype=dtype)
        self._ds_prev = np.zeros((n_batch, 2 * n_hidden, n_hidden), dtype=dtype)
        self._ds_next = np.empty_like(self._ds_prev)
        self._no_cell_state = np.zeros((n_batch, 2 * n_hidden, 0), dtype=dtype)
        self._no_inner = np.zeros((n_batch, 2 * n_hidden, 0), dtype=dtype)
        self._a_hat = np.zeros_like(self.u)
        self.rng = rng

    def step(self, model, theta, work, x_t, t, held):
        """Advance u and A by step t of the window in ``work``."""
        table, n_hidden = model.layout.table, model.n_hidden
        w_hh, inner = engine.matrix(theta, table, 0, engine.W_HH), engine.vector(theta, table, 0, engine.INNER)
        self._ds_prev[:, :n_hidden] = self.a
        np.matmul(self.a, w_hh, out=self._r_dot[:, :n_hidden])
        s_prev, s_next = (work.h[0, t], work.c[0, t]), (work.h[0, t + 1], work.c[0, t + 1])
        state_tangents(
            model.cell_settings, self._a_dot, self._r_dot, inner, self._no_inner, s_prev, s_next, work.cache[0, t],
            (self._ds_prev, self._no_cell_state), (self._ds_next, self._no_cell_state),
        )  # fmt: skip
        forward, immediate = self._ds_next[:, :n_hidden], self._ds_next[:, n_hidden:]
        a_hat, inputs = self._a_hat, {engine.W_XH: x_t, engine.W_HH: work.h[0, t], engine.B_H: 1}
        for role, _, row, rows in self.blocks:
            a_hat[:, row : row + rows] = inputs[role]
        p0 = np.sqrt((np.linalg.norm(forward, axis=(1, 2)) + EPSILON) / (np.linalg.norm(self.u, axis=1) + EPSILON))
        p1 = np.sqrt((np.linalg.norm(immediate, axis=(1, 2)) + EPSILON) / (np.linalg.norm(a_hat, axis=1) + EPSILON))
        n_batch = x_t.shape[0]
        c0, c1 = (self.rng.integers(0, 2, size=(2, n_batch)) * 2 - 1).astype(self.u.dtype)
        keep = ~held
        u = (c0 * p0)[:, None] * self.u + (c1 * p1)[:, None] * a_hat
        a = (c0 / p0)[:, None, None] * forward + (c1 / p1)[:, None, None] * immediate
        self.u[keep], self.a[keep] = u[keep], a[keep]

    def add_gradient(self, grad, dh):
        """Add the estimate of dL_t/dtheta: dL/dW[i, j] = sum over sequences of u[i] (A dL_t/dh_t)[j]."""
        signal = np.einsum("bjs,bs->bj", self.a, dh)  # each unit's learning signal through A
        n_hidden = self.a.shape[1]
        for _, offset, row, rows in self.blocks:
            grad[offset : offset + rows * n_hidden] += (self.u[:, row : row + rows].T @ signal).ravel()


def kf_rtrl(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    *,
    seed=None,
    **options,
) -> Iterator[Window]:
    """Yield KF-RTRL's gradient estimate every ``k`` steps of a stream, for online learning.

    Parameters
    ----------
    model : RNN
        One layer of the Elman or the leaky Elman cell.
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
    require_forward_mode(model, "KF-RTRL", cells=KRONECKER_CELLS, one_layer=True)
    rng = random_generator(seed)
    return online(lambda model, n_batch: KroneckerInfluence(model, n_batch, rng), model, stream, targets, k, **options)
