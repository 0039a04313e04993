"""Recurrent network models: a cell, stacked layers, a linear readout, one flat parameter vector.

The public layer: it validates and converts the caller's arrays, allocates
outputs, and calls the drivers in :mod:`rnn_numba.unroll` and
:mod:`rnn_numba.bptt`, which are the same for every cell.
"""

import contextlib
from dataclasses import dataclass

import numba
import numpy as np

from . import _validate as check
from . import bptt, cells, fused, losses, params
from ._jit import batch_chunks, single_threaded_blas
from ._linalg import matmul, matmul_tn
from ._workspace import work_array
from .unroll import Trajectory, unroll


@dataclass
class Gradient:
    """The result of :meth:`RNN.backward` and :meth:`RNN.vjp`.

    States are shaped (B, H) for a one-layer model and (L, B, H) for L layers.

    Attributes
    ----------
    loss : float or None
        The loss (None for :meth:`RNN.vjp`, whose loss is the caller's).
    grad : ndarray, shape (n_params,)
        dL/dtheta in the layout of ``model.theta``; zero on frozen blocks.
    dh0 : ndarray
        dL/dh_0 under the same schedule (for chaining segments).
    dc0 : ndarray or None
        dL/dc_0 for cells with a cell state (LSTM).
    trajectory : Trajectory
        The forward pass: ``trajectory.layers[k].h`` and ``.c`` for every
        layer (without the gate activations, whose buffer the next call reuses).
    dh_norms : ndarray, shape (T + 1, B) or (L, T + 1, B), or None
        ||dL/dh_t|| for t = 0..T, if requested (full BPTT only).
    """

    loss: float
    grad: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray
    trajectory: Trajectory
    dh_norms: np.ndarray = None

    @property
    def h(self):
        """ndarray, shape (T + 1, B, H): the top layer's states h_0 .. h_T."""
        return self.trajectory.h

    @property
    def y(self):
        """ndarray, shape (T, B, n_out): the readouts."""
        return self.trajectory.y

    @property
    def h_final(self):
        """Each sequence's last valid state, to continue the sequence from."""
        return self.trajectory.h_final

    @property
    def c_final(self):
        """The last valid cell state (LSTM), or None."""
        return self.trajectory.c_final


class RNN:
    """A recurrent network: stacked layers of one cell type and a linear readout.

    Parameters
    ----------
    cell : {"elman", "lstm", "gru"}
        The cell; see :mod:`rnn_numba.cells` for each one's equations.
    n_in, n_hidden, n_out : int
        Input, state and readout sizes.
    num_layers : int
        Stacked layers; layer k > 0 takes layer k - 1's states as its input.
    bias : bool
        Whether the cells have biases (the readout always has ``b_y``).
    nonlinearity : {"tanh", "relu", "identity"}
        The Elman cell's f ("identity" gives a linear RNN); gated cells take "tanh".
    dtype : np.float32 or np.float64
    seed : int or None
        Seeds the initialisation.
    recurrent_init : {"uniform", "orthogonal", "identity"}
        Initialiser of each H x H gate block of W_hh: PyTorch's
        U(-1/sqrt(H), 1/sqrt(H)), a random orthogonal matrix, or the identity
        (IRNN, Le et al. 2015).
    spectral_radius : float or None
        If given, each gate block of W_hh is rescaled to this spectral radius.
    forget_bias : float
        Initial forget-gate bias of an LSTM (Jozefowicz et al. 2015); ignored
        by other cells.

    Attributes
    ----------
    theta : ndarray, shape (n_params,)
        All parameters, contiguous. Update it in place (``net.theta -= lr * grad``)
        or assign to it (``net.theta = new``, copied in).
    params : dict of ndarray
        Named views of ``theta``. Layer 0's blocks are ``W_xh`` (n_in, G*H),
        ``W_hh`` (H, G*H), ``b_h`` (G*H,) (and a GRU's ``b_hn`` (H,)); layer
        k > 0's carry the suffix ``_l{k}``; then ``W_hy`` (H, n_out), ``b_y``
        (n_out,). G is 1, 4, 3 for Elman, LSTM, GRU.
    frozen : frozenset of str
        Blocks whose gradient is forced to zero (see :meth:`freeze`).

    Notes
    -----
    Everything is time-major: inputs ``x`` have shape (T, B, n_in), states
    (T + 1, B, H). Weights multiply from the right (``x @ W_xh``), so
    ``W_xh`` is the transpose of PyTorch's ``weight_ih_l0``. Initial states
    ``h0`` (and an LSTM's ``c0``) have shape (B, H) for one layer and
    (L, B, H) for L layers.
    """

    def __init__(
        self,
        cell,
        n_in,
        n_hidden,
        n_out,
        *,
        num_layers=1,
        bias=True,
        nonlinearity="tanh",
        dtype=np.float64,
        seed=None,
        recurrent_init="uniform",
        spectral_radius=None,
        forget_bias=1.0,
    ):
        if cell not in cells.KINDS:
            raise ValueError(f"cell must be one of {tuple(cells.KINDS)}, got {cell!r}")
        self.kind = cells.KINDS[cell]
        self.cell = cells.CELLS[self.kind]
        if nonlinearity not in self.cell.NONLINEARITIES:
            raise ValueError(
                f"nonlinearity must be one of {tuple(self.cell.NONLINEARITIES)} for the {cell} cell, "
                f"got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        self.nonlinearity_code = self.cell.NONLINEARITIES[nonlinearity]
        self.n_in = check.positive_int("n_in", n_in)
        self.n_hidden = check.positive_int("n_hidden", n_hidden)
        self.n_out = check.positive_int("n_out", n_out)
        self.num_layers = check.positive_int("num_layers", num_layers)
        self.bias = bool(bias)
        self.dtype = check.model_dtype(dtype)
        blocks, self.layer_names = [], []
        for k in range(self.num_layers):
            suffix = f"_l{k}" if k else ""
            layer_in = self.n_in if k == 0 else self.n_hidden
            layer_blocks = self.cell.blocks(layer_in, self.n_hidden, self.bias)
            self.layer_names.append({name: name + suffix for name, _ in layer_blocks})
            blocks += [(name + suffix, shape) for name, shape in layer_blocks]
        blocks += [("W_hy", (self.n_hidden, self.n_out)), ("b_y", (self.n_out,))]
        self.layout = params.ParamLayout(blocks)
        self._theta = np.zeros(self.layout.size, dtype=self.dtype)
        self.params = self.layout.views(self._theta)
        self.frozen = frozenset()
        self.initialise(seed, recurrent_init=recurrent_init, spectral_radius=spectral_radius, forget_bias=forget_bias)

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

    def layer_views(self, theta):
        """Per layer, a dict of that layer's blocks under their cell names (``W_xh``, ...)."""
        views = self.params if theta is self._theta else self.layout.views(theta)
        return [{name: views[full] for name, full in names.items()} for names in self.layer_names]

    def readout_views(self, theta):
        """The readout blocks ``W_hy`` and ``b_y`` of ``theta``."""
        views = self.params if theta is self._theta else self.layout.views(theta)
        return {"W_hy": views["W_hy"], "b_y": views["b_y"]}

    def initialise(self, seed=None, *, recurrent_init="uniform", spectral_radius=None, forget_bias=1.0):
        """(Re)draw all parameters; arguments as in the constructor."""
        inits = ("uniform", "orthogonal", "identity")
        if recurrent_init not in inits:
            raise ValueError(f"recurrent_init must be one of {inits}, got {recurrent_init!r}")
        if spectral_radius is not None:
            rho = float(spectral_radius)
            if not np.isfinite(rho) or rho < 0:
                raise ValueError(f"spectral_radius must be a finite number >= 0, got {spectral_radius!r}")
        rng = np.random.default_rng(seed)
        n = self.n_hidden
        for view in self.params.values():
            view[...] = params.uniform(rng, view.shape, 1.0 / np.sqrt(n))
        for layer in self.layer_views(self._theta):
            for gate in range(self.cell.N_GATES):
                block = layer["W_hh"][:, gate * n : (gate + 1) * n]
                if recurrent_init == "orthogonal":
                    block[...] = params.orthogonal(rng, n)
                elif recurrent_init == "identity":
                    block[...] = params.identity(n)
                if spectral_radius is not None:
                    block[...] = params.scale_to_spectral_radius(block.astype(np.float64), rho)
            self.cell.initialise(layer, n, forget_bias)

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

    def save(self, path):
        """Save parameters and configuration to one file, atomically; :func:`rnn_numba.load` reads it."""
        from .io import save

        save(self, path)

    def __repr__(self):
        return (
            f"{type(self).__name__}(cell={self.cell.NAME!r}, n_in={self.n_in}, n_hidden={self.n_hidden}, "
            f"n_out={self.n_out}, num_layers={self.num_layers}, nonlinearity={self.nonlinearity!r}, "
            f"dtype={np.dtype(self.dtype).name})"
        )

    # ------------------------------------------------------------------ inputs
    def _theta_arg(self, theta):
        if theta is None:
            theta = self._theta
        else:
            theta = check.float_array("theta", theta, self.dtype, (self.layout.size,))
        check.finite_theta(self.layout, theta)
        return theta

    def state_shape(self, n_batch):
        """Shape of an initial or final state: (B, H) for one layer, (L, B, H) for several."""
        layers = (self.num_layers,) if self.num_layers > 1 else ()
        return layers + (n_batch, self.n_hidden)

    def _state_out(self, state):
        """An (L, B, H) state in the public shape."""
        return state[0] if self.num_layers == 1 and state is not None else state

    def _batch_inputs(self, x, h0, c0, lengths, theta):
        """Validate x, the initial states and lengths; states come back as (L, B, H)."""
        theta = self._theta_arg(theta)
        hints = [(name, np.shape(s)[-2]) for name, s in (("h0", h0), ("c0", c0)) if s is not None and np.ndim(s) >= 2]
        if lengths is not None and np.ndim(lengths) == 1:
            hints.append(("lengths", np.shape(lengths)[0]))
        x, lengths = check.sequence_batch(x, self.n_in, self.dtype, hints, lengths)
        shape = self.state_shape(x.shape[1])
        h0 = check.initial_state("h0", h0, shape, self.dtype).reshape((self.num_layers,) + shape[-2:])
        if self.cell.HAS_CELL_STATE:
            c0 = check.initial_state("c0", c0, shape, self.dtype).reshape(h0.shape)
        elif c0 is not None:
            raise ValueError(f"c0 is the LSTM's cell state; the {self.cell.NAME} cell has none, drop c0")
        return theta, x, h0, c0, lengths

    def _loss_inputs(self, x, target, loss, weights, lengths, h0, c0, reduction, theta):
        padded = lengths is not None  # else every sequence has all T steps
        theta, x, h0, c0, lengths = self._batch_inputs(x, h0, c0, lengths, theta)
        n_steps, n_batch = x.shape[:2]
        target = check.targets(loss, target, n_steps, n_batch, self.n_out, self.dtype)
        weights = check.loss_weights(weights, n_steps, n_batch, self.dtype)
        if padded and lengths.min() < n_steps:
            weights = weights * (np.arange(n_steps)[:, None] < lengths[None, :])
        if loss == "cross_entropy":
            check.class_range(target, weights, self.n_out)
        if reduction not in losses.REDUCTIONS:
            raise ValueError(f"reduction must be one of {losses.REDUCTIONS}, got {reduction!r}")
        return theta, x, h0, c0, lengths, target, weights

    # ------------------------------------------------------------------ forward
    def forward(self, x, h0=None, lengths=None, *, c0=None, theta=None):
        """Unroll the network over a batch of sequences.

        Parameters
        ----------
        x : array_like, shape (T, B, n_in)
            Time-major inputs.
        h0 : array_like, shape (B, H) or (L, B, H), optional
            Initial state; zeros by default.
        lengths : array_like of int, shape (B,), optional
            Valid steps per sequence (1 <= lengths[b] <= T); all T by default.
        c0 : array_like, optional
            Initial cell state of an LSTM, shaped like ``h0``; zeros by default.
        theta : array_like, shape (n_params,), optional
            Parameters to use instead of ``self.theta``.

        Returns
        -------
        Trajectory
            ``h`` (T + 1, B, H), the top layer's states with h_0 first; ``c``
            its cell states (LSTM); ``y`` (T, B, n_out); ``h_final`` and
            ``c_final``, each sequence's last valid state; ``layers`` for
            every layer's states.
        """
        theta, x, h0, c0, lengths = self._batch_inputs(x, h0, c0, lengths, theta)
        with _threads(x) as n_chunks:
            return unroll(self, theta, x, h0, c0, lengths, n_chunks, keep_cache=False)

    def loss(
        self, x, target, *, loss="mse", weights=None, lengths=None, h0=None, c0=None, reduction="mean", theta=None
    ):
        """The loss alone (one forward pass); arguments as in :meth:`backward`."""
        theta, x, h0, c0, lengths, target, weights = self._loss_inputs(
            x, target, loss, weights, lengths, h0, c0, reduction, theta
        )
        with _threads(x) as n_chunks:
            traj = unroll(self, theta, x, h0, c0, lengths, n_chunks, keep_cache=False)
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
        c0=None,
        reduction="mean",
        horizon=None,
        tbptt=None,
        grad_norms=False,
        clip_message=None,
        recompute=False,
        theta=None,
        _trajectory=True,
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
        h0, c0 : array_like, shape (B, H) or (L, B, H), optional
            Initial state (and an LSTM's cell state).
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
        clip_message : float, optional
            Clip the backward message at every step (Lasagne's
            ``grad_clipping``): each element of dL/da_t, the gradient of the
            gate pre-activations (for a GRU also of dL/dr_t, the recurrent
            projection), to [-clip_message, clip_message], before it travels
            to earlier steps, lower layers and the weight gradients. Not a
            gradient of the loss any more where it clips.
        recompute : bool
            Keep no gate activations from the forward pass: full BPTT
            recomputes them block by block from the stored states (two more
            GEMMs per block). The peak memory is then about the stored states
            and inputs (measured: 1.16x for an LSTM, 1.18x for a GRU; the
            README's Memory section), for 1.2x to 1.5x the time. The Elman
            cell stores no gates, so this changes nothing for it; the
            truncations recompute all gates at once, which saves nothing.
        theta : array_like, shape (n_params,), optional
        _trajectory : bool
            False: the forward pass's states stay on this thread's work
            buffers and the result's ``trajectory`` is None (for
            :meth:`loss_and_grad`).

        Returns
        -------
        Gradient
        """
        theta, x, h0, c0, lengths, target, weights = self._loss_inputs(
            x, target, loss, weights, lengths, h0, c0, reduction, theta
        )
        segments = self._schedule(x.shape[0], horizon, tbptt)
        if grad_norms and (horizon is not None or tbptt is not None):
            raise ValueError("grad_norms is defined for full BPTT; drop horizon/tbptt or grad_norms")
        if clip_message is not None:
            clip_message = check.positive_float("clip_message", clip_message)
        if fused.applies(self, *x.shape[:2], bptt.is_full(segments, x.shape[0]), recompute):
            clip = 0.0 if clip_message is None else clip_message
            value, grad, traj, dh0, dc0, norms = fused.gradient(
                self, theta, x, h0, c0, lengths, loss, target, weights, reduction, clip, grad_norms
            )
            result = self._result(value, grad, dh0, dc0, traj, norms)
        else:
            with _threads(x) as n_chunks:
                traj = unroll(
                    self, theta, x, h0, c0, lengths, n_chunks, keep_cache=not recompute,
                    states_on_workspace=not _trajectory,
                )  # fmt: skip
                value, dy = losses.loss_and_dy(loss, traj.y, target, weights, reduction)
                result = self._backprop(
                    value, theta, x, traj, dy, None, segments, n_chunks, grad_norms, clip_message=clip_message
                )
        if not _trajectory:
            result.trajectory = None
        return result

    def loss_and_grad(self, x, target, **kwargs):
        """``(loss, grad)`` of :meth:`backward`, which documents the arguments.

        The forward pass's states stay on this thread's work buffers, reused
        by the next call (:func:`rnn_numba.release_workspace` frees them),
        instead of being written to new memory at every call. Measured here
        (2-core Intel Xeon, float32 Elman, B = 32, H = 128, separate
        processes): 1.10x and 1.08x faster at T = 3000 and 10,000 (states of
        49 and 164 MB), where it then took the time per step of T = 1000,
        whose 16 MB the C allocator recycles anyway.
        """
        result = self.backward(x, target, _trajectory=False, **kwargs)
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

    def vjp(self, x, dh=None, *, dh_final=None, dc_final=None, h0=None, c0=None, lengths=None, theta=None):
        """Vector-Jacobian product of the unrolled network, for a loss of your own.

        Parameters
        ----------
        x : array_like, shape (T, B, n_in)
        dh : array_like, shape (T, B, H), optional
            dL/dh_t for t = 1..T of the top layer (the caller's loss on the states).
        dh_final, dc_final : array_like, shape (B, H) or (L, B, H), optional
            dL/dh and dL/dc (LSTM) of the final state of every layer: what a
            later segment's ``dh0`` and ``dc0`` say, to chain segments.
        h0, c0, lengths, theta : optional, as in :meth:`forward`

        Returns
        -------
        Gradient
            ``grad`` (the readout blocks get zero: they do not touch the
            states), ``dh0`` and ``dc0``; ``loss`` is None.
        """
        theta, x, h0, c0, lengths = self._batch_inputs(x, h0, c0, lengths, theta)
        shape = self.state_shape(x.shape[1])
        if dh is None:
            dh = np.zeros(x.shape[:2] + (self.n_hidden,), dtype=self.dtype)
        dh = check.float_array("dh", dh, self.dtype, x.shape[:2] + (self.n_hidden,))
        if dh_final is not None:
            dh_final = check.float_array("dh_final", dh_final, self.dtype, shape).reshape(h0.shape)
        if dc_final is not None:
            if not self.cell.HAS_CELL_STATE:
                raise ValueError(f"dc_final is for cells with a cell state; the {self.cell.NAME} cell has none")
            dc_final = check.float_array("dc_final", dc_final, self.dtype, shape).reshape(h0.shape)
        segments = bptt.full_schedule(x.shape[0])
        with _threads(x) as n_chunks:
            traj = unroll(self, theta, x, h0, c0, lengths, n_chunks)
            return self._backprop(None, theta, x, traj, None, dh, segments, n_chunks, False, dh_final, dc_final)

    def _schedule(self, n_steps, horizon, tbptt):
        if horizon is not None and tbptt is not None:
            raise ValueError("give horizon or tbptt, not both")
        if horizon is not None:
            return bptt.horizon_schedule(n_steps, check.positive_int("horizon", horizon))
        if tbptt is not None:
            k1, k2 = check_k1_k2(*tbptt)
            return bptt.tbptt_schedule(n_steps, k1, k2)
        return bptt.full_schedule(n_steps)

    def _backprop(
        self, value, theta, x, traj, dy, dh, segments, n_chunks, grad_norms, dh_final=None, dc_final=None,
        clip_message=None,
    ):  # fmt: skip
        """Gradient from dL/dy (readout loss) or dL/dh (caller's loss on the top states)."""
        readout = self.readout_views(theta)
        grad = np.zeros(self.layout.size, dtype=self.dtype)
        g = self.layout.views(grad)
        if dy is not None:
            dy2 = dy.reshape(-1, self.n_out)
            states = traj.h[1:].reshape(-1, self.n_hidden)
            g["W_hy"][...], g["b_y"][...] = matmul_tn(states, dy2, n_chunks, column_sums=True)
            w_hy_t = np.ascontiguousarray(readout["W_hy"].T)

            def inject(t0, t1):  # dL/dh_{t+1} = dL/dy_t @ W_hy.T, made block by block
                out = work_array("loss_gradient", (t1 - t0, x.shape[1], self.n_hidden), self.dtype)
                matmul(dy[t0:t1].reshape(-1, self.n_out), w_hy_t, n_chunks, out=out.reshape(-1, self.n_hidden))
                return out
        else:

            def inject(t0, t1):
                out = work_array("loss_gradient", (t1 - t0, x.shape[1], self.n_hidden), self.dtype)
                out[...] = dh[t0:t1]
                return out

        layer_grads, dh0, dc0, norms = bptt.backprop(
            self, theta, x, traj, inject, segments, n_chunks, grad_norms, dh_final, dc_final, clip_message
        )
        for names, layer in zip(self.layer_names, layer_grads, strict=True):
            for name, value_k in layer.items():
                g[names[name]][...] = value_k
        return self._result(value, grad, dh0, dc0, traj, norms)

    def _result(self, value, grad, dh0, dc0, traj, norms):
        """The Gradient of a backward pass, with the frozen blocks' gradient zeroed."""
        for layer in traj.layers:  # the gate activations are on a work buffer (unroll): they stay in the call
            layer.cache = None
        if self.frozen:
            g = self.layout.views(grad)
            for name in self.frozen:
                g[name][...] = 0
        return Gradient(
            loss=value,
            grad=grad,
            dh0=self._state_out(dh0),
            dc0=self._state_out(dc0),
            trajectory=traj,
            dh_norms=self._state_out(norms),
        )


@contextlib.contextmanager
def _threads(x):
    """One Numba thread per chunk of the batch, and BLAS on one thread while they run.

    OpenBLAS's idle workers spin after a multi-threaded call and take the
    core from the batch-parallel kernels (measured here: an LSTM gradient at
    T = 100, B = 32, H = 128 took 2x longer), so the whole computation runs
    with single-threaded BLAS and splits its large GEMMs itself. A single
    sequence gets a single Numba thread: idle OpenMP workers spin too (a
    T = 1000, B = 1 Elman gradient took 8 ms on 2 threads, 2.2 ms on 1).
    """
    saved = numba.get_num_threads()
    n_chunks = batch_chunks(x.shape[1])
    if n_chunks != saved:
        numba.set_num_threads(n_chunks)
    try:
        with single_threaded_blas(n_chunks > 1):
            yield n_chunks
    finally:
        if n_chunks != saved:
            numba.set_num_threads(saved)


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
    >>> net.forward(np.zeros((5, 3, 2))).h.shape
    (6, 3, 8)
    """

    def __init__(self, n_in, n_hidden, n_out, **kwargs):
        super().__init__("elman", n_in, n_hidden, n_out, **kwargs)


class LSTM(RNN):
    """An LSTM with a forget gate (equations in :mod:`rnn_numba.cells.lstm`).

    Parameters as in :class:`RNN` without ``cell`` and ``nonlinearity``.
    """

    def __init__(self, n_in, n_hidden, n_out, **kwargs):
        super().__init__("lstm", n_in, n_hidden, n_out, **kwargs)


class GRU(RNN):
    """A GRU in PyTorch's formulation (equations in :mod:`rnn_numba.cells.gru`).

    Parameters as in :class:`RNN` without ``cell`` and ``nonlinearity``.
    """

    def __init__(self, n_in, n_hidden, n_out, **kwargs):
        super().__init__("gru", n_in, n_hidden, n_out, **kwargs)
