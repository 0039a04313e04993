"""Recurrent network models: a cell, a linear readout and one flat parameter vector.

The public layer: it validates and converts the caller's arrays, allocates
outputs, and calls the drivers in :mod:`rnn_numba.unroll` and
:mod:`rnn_numba.bptt`, which are the same for every cell.
"""

from dataclasses import dataclass

import numpy as np

from . import _validate as check
from . import bptt, cells, losses, params
from .unroll import unroll


@dataclass
class Gradient:
    """The result of :meth:`RNN.backward`.

    Attributes
    ----------
    loss : float
    grad : ndarray, shape (n_params,)
        dL/dtheta in the layout of ``model.theta``; zero on frozen blocks.
    dh0 : ndarray, shape (B, H)
        dL/dh_0 under the same schedule (for chaining segments).
    h_final : ndarray, shape (B, H)
        Each sequence's last valid state, to continue the sequence from.
    h : ndarray, shape (T + 1, B, H)
        The states h_0 .. h_T of the forward pass.
    y : ndarray, shape (T, B, n_out)
        The readouts.
    dh_norms : ndarray, shape (T + 1, B), or None
        ||dL/dh_t|| for t = 0..T, if requested (full BPTT only).
    """

    loss: float
    grad: np.ndarray
    dh0: np.ndarray
    h_final: np.ndarray
    h: np.ndarray
    y: np.ndarray
    dh_norms: np.ndarray = None


class RNN:
    """A single-layer recurrent network with a linear readout.

    Parameters
    ----------
    cell : str
        The cell: ``"elman"``.
    n_in, n_hidden, n_out : int
        Input, state and readout sizes.
    nonlinearity : {"tanh", "relu", "identity"}
        The Elman cell's f; "identity" gives a linear RNN.
    dtype : np.float32 or np.float64
    seed : int or None
        Seeds the initialisation.
    recurrent_init : {"uniform", "orthogonal", "identity"}
        W_hh initialiser: PyTorch's U(-1/sqrt(H), 1/sqrt(H)), a random
        orthogonal matrix, or the identity (IRNN, Le et al. 2015).
    spectral_radius : float or None
        If given, W_hh is rescaled to this spectral radius after initialisation.

    Attributes
    ----------
    theta : ndarray, shape (n_params,)
        All parameters, contiguous. Update it in place (``net.theta -= lr * grad``)
        or assign to it (``net.theta = new``, copied in).
    params : dict of ndarray
        Named views of ``theta``: the cell's blocks (Elman: ``W_xh`` (n_in, H),
        ``W_hh`` (H, H), ``b_h`` (H,)) then ``W_hy`` (H, n_out), ``b_y`` (n_out,).
    frozen : frozenset of str
        Blocks whose gradient is forced to zero (see :meth:`freeze`).

    Notes
    -----
    Everything is time-major: inputs ``x`` have shape (T, B, n_in), states
    (T + 1, B, H). Weights multiply from the right (``x @ W_xh``), so
    ``W_xh`` is the transpose of PyTorch's ``weight_ih_l0``.
    """

    def __init__(
        self,
        cell,
        n_in,
        n_hidden,
        n_out,
        *,
        nonlinearity="tanh",
        dtype=np.float64,
        seed=None,
        recurrent_init="uniform",
        spectral_radius=None,
    ):
        if cell not in cells.KINDS:
            raise ValueError(f"cell must be one of {tuple(cells.KINDS)}, got {cell!r}")
        self.kind = cells.KINDS[cell]
        self.cell = cells.CELLS[self.kind]
        if nonlinearity not in self.cell.NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {tuple(self.cell.NONLINEARITIES)}, got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.nonlinearity_code = self.cell.NONLINEARITIES[nonlinearity]
        self.n_in = check.positive_int("n_in", n_in)
        self.n_hidden = check.positive_int("n_hidden", n_hidden)
        self.n_out = check.positive_int("n_out", n_out)
        self.dtype = check.model_dtype(dtype)
        self.layout = params.ParamLayout(
            self.cell.blocks(self.n_in, self.n_hidden) + [("W_hy", (self.n_hidden, self.n_out)), ("b_y", (self.n_out,))]
        )
        self._theta = np.zeros(self.layout.size, dtype=self.dtype)
        self.params = self.layout.views(self._theta)
        self.frozen = frozenset()
        self.initialise(seed, recurrent_init=recurrent_init, spectral_radius=spectral_radius)

    # ------------------------------------------------------------------ parameters
    @property
    def theta(self):
        """ndarray, shape (n_params,): all parameters; assignment copies into place."""
        return self._theta

    @theta.setter
    def theta(self, value):
        value = np.asarray(value)
        if value.shape != self._theta.shape:
            raise ValueError(f"theta must have shape {self._theta.shape}, got {value.shape}")
        self._theta[...] = value

    @property
    def n_params(self):
        """int: the length of ``theta``."""
        return self.layout.size

    def initialise(self, seed=None, *, recurrent_init="uniform", spectral_radius=None):
        """(Re)draw all parameters.

        Every block is U(-1/sqrt(H), 1/sqrt(H)) (PyTorch's default for RNN
        layers), except W_hh when ``recurrent_init`` is "orthogonal" or
        "identity"; then W_hh is rescaled if ``spectral_radius`` is given.
        """
        inits = ("uniform", "orthogonal", "identity")
        if recurrent_init not in inits:
            raise ValueError(f"recurrent_init must be one of {inits}, got {recurrent_init!r}")
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(self.n_hidden)
        for view in self.params.values():
            view[...] = params.uniform(rng, view.shape, bound)
        if recurrent_init == "orthogonal":
            self.params["W_hh"][...] = params.orthogonal(rng, self.n_hidden)
        elif recurrent_init == "identity":
            self.params["W_hh"][...] = params.identity(self.n_hidden)
        if spectral_radius is not None:
            rho = float(spectral_radius)
            if not np.isfinite(rho) or rho < 0:
                raise ValueError(f"spectral_radius must be a finite number >= 0, got {spectral_radius!r}")
            w = self.params["W_hh"].astype(np.float64)
            self.params["W_hh"][...] = params.scale_to_spectral_radius(w, rho)

    def freeze(self, *names):
        """Hold the named blocks fixed: their gradient is zero (e.g. a reservoir's W_hh)."""
        unknown = set(names) - set(self.layout.names)
        if unknown:
            raise ValueError(f"unknown parameter block(s) {sorted(unknown)}; blocks are {self.layout.names}")
        self.frozen = self.frozen | frozenset(names)

    def unfreeze(self, *names):
        """Let the named blocks (all, if none named) learn again."""
        self.frozen = self.frozen - frozenset(names or self.layout.names)

    def astype(self, dtype):
        """A copy of the model in another dtype (float32 or float64)."""
        other = self.copy()
        other.dtype = check.model_dtype(dtype)
        other._theta = self._theta.astype(other.dtype)
        other.params = other.layout.views(other._theta)
        return other

    def copy(self):
        """An independent copy (parameters, configuration, frozen blocks)."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other._theta = self._theta.copy()
        other.params = other.layout.views(other._theta)
        return other

    def _theta_arg(self, theta):
        if theta is None:
            theta = self._theta
        else:
            theta = check.float_array("theta", theta, self.dtype, (self.layout.size,))
        check.finite_theta(self.layout, theta)
        return theta

    def __repr__(self):
        return (
            f"{type(self).__name__}(cell={self.cell.NAME!r}, n_in={self.n_in}, n_hidden={self.n_hidden}, "
            f"n_out={self.n_out}, nonlinearity={self.nonlinearity!r}, dtype={np.dtype(self.dtype).name})"
        )

    # ------------------------------------------------------------------ forward
    def forward(self, x, h0=None, lengths=None, *, theta=None):
        """Unroll the network over a batch of sequences.

        Parameters
        ----------
        x : array_like, shape (T, B, n_in)
            Time-major inputs.
        h0 : array_like, shape (B, H), optional
            Initial state; zeros by default.
        lengths : array_like of int, shape (B,), optional
            Valid steps per sequence (1 <= lengths[b] <= T); all T by default.
        theta : array_like, shape (n_params,), optional
            Parameters to use instead of ``self.theta``.

        Returns
        -------
        Trajectory
            ``h`` (T + 1, B, H) with h_0 first, ``y`` (T, B, n_out),
            ``h_final`` (B, H), each sequence's last valid state.
        """
        theta = self._theta_arg(theta)
        x, lengths = check.sequence_batch(x, self.n_in, self.dtype, h0, lengths)
        h0 = check.initial_state(h0, x.shape[1], self.n_hidden, self.dtype)
        return unroll(self, theta, x, h0, lengths)

    def _loss_inputs(self, x, target, loss, weights, lengths, h0, reduction, theta):
        theta = self._theta_arg(theta)
        x, lengths = check.sequence_batch(x, self.n_in, self.dtype, h0, lengths)
        n_steps, n_batch = x.shape[:2]
        h0 = check.initial_state(h0, n_batch, self.n_hidden, self.dtype)
        target = check.targets(loss, target, n_steps, n_batch, self.n_out, self.dtype)
        weights = check.loss_weights(weights, n_steps, n_batch, self.dtype)
        weights = weights * (np.arange(n_steps)[:, None] < lengths[None, :])
        if loss == "cross_entropy":
            check.class_range(target, weights, self.n_out)
        if reduction not in losses.REDUCTIONS:
            raise ValueError(f"reduction must be one of {losses.REDUCTIONS}, got {reduction!r}")
        return theta, x, lengths, h0, target, weights

    def loss(self, x, target, *, loss="mse", weights=None, lengths=None, h0=None, reduction="mean", theta=None):
        """The loss alone (one forward pass); arguments as in :meth:`backward`."""
        theta, x, lengths, h0, target, weights = self._loss_inputs(
            x, target, loss, weights, lengths, h0, reduction, theta
        )
        traj = unroll(self, theta, x, h0, lengths)
        return losses.loss_and_dy(loss, traj.y, target, weights, reduction)[0]

    # ------------------------------------------------------------------ backward
    def backward(
        self,
        x,
        target,
        *,
        loss="mse",
        weights=None,
        lengths=None,
        h0=None,
        reduction="mean",
        horizon=None,
        tbptt=None,
        grad_norms=False,
        theta=None,
    ):
        """Loss and gradient by full BPTT or one of the truncations.

        Parameters
        ----------
        x : array_like, shape (T, B, n_in)
        target : array_like
            (T, B, n_out) floats for ``"mse"``; (T, B) integer classes for
            ``"cross_entropy"``.
        loss : {"mse", "cross_entropy"}
            See :mod:`rnn_numba.losses` for the exact definitions.
        weights : array_like, shape (T, B), optional
            Non-negative per-step loss weights; 0 drops a step. Ones by default.
        lengths : array_like of int, shape (B,), optional
            Valid steps per sequence; padded steps add nothing to loss or gradient.
        h0 : array_like, shape (B, H), optional
        reduction : {"mean", "sum"}
            L = sum(w * l) / Z with Z = sum(w) ("mean") or 1 ("sum"). All-zero
            weights give loss 0 and gradient 0.
        horizon : int, optional
            Fixed-horizon truncation: every loss term is backpropagated exactly
            ``horizon`` steps (>= T is full BPTT).
        tbptt : (int, int), optional
            ``(k1, k2)``: the sum over TBPTT(k1, k2) windows at fixed parameters
            (Williams & Peng 1990). For updates between windows use
            :func:`rnn_numba.tbptt`.
        grad_norms : bool
            Also return ||dL/dh_t|| for every t (full BPTT only).
        theta : array_like, shape (n_params,), optional

        Returns
        -------
        Gradient
        """
        theta, x, lengths, h0, target, weights = self._loss_inputs(
            x, target, loss, weights, lengths, h0, reduction, theta
        )
        n_steps = x.shape[0]
        segments = self._schedule(n_steps, horizon, tbptt)
        if grad_norms and (horizon is not None or tbptt is not None):
            raise ValueError("grad_norms is defined for full BPTT; drop horizon/tbptt or grad_norms")
        traj = unroll(self, theta, x, h0, lengths)
        value, dy = losses.loss_and_dy(loss, traj.y, target, weights, reduction)
        grad, dh0, norms = self._backprop(theta, x, traj, dy, None, segments, grad_norms)
        return Gradient(loss=value, grad=grad, dh0=dh0, h_final=traj.h_final, h=traj.h, y=traj.y, dh_norms=norms)

    def loss_and_grad(self, x, target, **kwargs):
        """``(loss, grad)`` of :meth:`backward`, which documents the arguments."""
        result = self.backward(x, target, **kwargs)
        return result.loss, result.grad

    def objective(self, x, target, **kwargs):
        """A function ``theta -> (loss, grad)`` for ``scipy.optimize.minimize(..., jac=True)``.

        ``grad`` is returned in float64, as SciPy expects; keyword arguments
        as in :meth:`backward`.
        """

        def fun(theta):
            loss, grad = self.loss_and_grad(x, target, theta=np.asarray(theta, dtype=self.dtype), **kwargs)
            return loss, grad.astype(np.float64)

        return fun

    def vjp(self, x, dh, *, h0=None, lengths=None, theta=None):
        """Vector-Jacobian product of the unrolled network, for a loss of your own.

        Parameters
        ----------
        x : array_like, shape (T, B, n_in)
        dh : array_like, shape (T, B, H)
            dL/dh_t for t = 1..T (the caller's loss on the states).
        h0, lengths, theta : optional, as in :meth:`forward`

        Returns
        -------
        grad : ndarray, shape (n_params,)
            dL/dtheta (the readout blocks get zero: they do not touch the states).
        dh0 : ndarray, shape (B, H)
            dL/dh_0.
        """
        theta = self._theta_arg(theta)
        x, lengths = check.sequence_batch(x, self.n_in, self.dtype, h0, lengths)
        n_steps, n_batch = x.shape[:2]
        h0 = check.initial_state(h0, n_batch, self.n_hidden, self.dtype)
        dh = check.float_array("dh", dh, self.dtype, (n_steps, n_batch, self.n_hidden))
        traj = unroll(self, theta, x, h0, lengths)
        grad, dh0, _ = self._backprop(theta, x, traj, None, dh, bptt.full_schedule(n_steps), False)
        return grad, dh0

    def _schedule(self, n_steps, horizon, tbptt):
        if horizon is not None and tbptt is not None:
            raise ValueError("give horizon or tbptt, not both")
        if horizon is not None:
            return bptt.horizon_schedule(n_steps, check.positive_int("horizon", horizon))
        if tbptt is not None:
            k1, k2 = check_k1_k2(*tbptt)
            return bptt.tbptt_schedule(n_steps, k1, k2)
        return bptt.full_schedule(n_steps)

    def _backprop(self, theta, x, traj, dy, dh, segments, grad_norms):
        """Flat gradient from dL/dy (readout loss) or dL/dh (caller's loss)."""
        p = self.layout.views(theta)
        grad = np.zeros(self.layout.size, dtype=self.dtype)
        g = self.layout.views(grad)
        if dy is not None:
            dy2 = dy.reshape(-1, self.n_out)
            g["W_hy"][...] = traj.h[1:].reshape(-1, self.n_hidden).T @ dy2
            g["b_y"][...] = dy2.sum(axis=0)
            dh = (dy2 @ p["W_hy"].T).reshape(traj.h[1:].shape)
        cell_grads, dh0, norms = bptt.backprop(self, theta, x, traj, dh, segments, grad_norms)
        for name, value in cell_grads.items():
            g[name][...] = value
        for name in self.frozen:
            g[name][...] = 0
        return grad, dh0, norms


def check_k1_k2(k1, k2):
    """Validate TBPTT(k1, k2): integers with 1 <= k1 <= k2."""
    k1 = check.positive_int("k1", k1)
    k2 = check.positive_int("k2", k2)
    if k1 > k2:
        raise ValueError(f"TBPTT needs k1 <= k2 (k2 steps of history for k1 new steps), got k1={k1} > k2={k2}")
    return k1, k2


class Elman(RNN):
    """An Elman (simple) RNN: h_t = f(x_t @ W_xh + h_{t-1} @ W_hh + b_h), y_t = h_t @ W_hy + b_y.

    Parameters as in :class:`RNN` without ``cell``.

    Examples
    --------
    >>> import numpy as np, rnn_numba as rn
    >>> net = rn.Elman(n_in=2, n_hidden=8, n_out=1, seed=0)
    >>> x = np.zeros((5, 3, 2))
    >>> net.forward(x).h.shape
    (6, 3, 8)
    """

    def __init__(self, n_in, n_hidden, n_out, **kwargs):
        super().__init__("elman", n_in, n_hidden, n_out, **kwargs)
