"""Recurrent network models: a cell, stacked layers, a linear readout, one flat parameter vector.

The public layer: :class:`RNN` holds the parameters, validates a call's
arguments (:mod:`rnn_numba.inputs`), picks the schedule
(:mod:`rnn_numba.schedules`) and calls the drivers (:mod:`rnn_numba.unroll`,
:mod:`rnn_numba.bptt`), which are the same for every cell.
"""

import json
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from . import _files, bptt, cells, checkpointing, inputs, params, unroll
from . import _validate as check
from .bptt import Gradient
from .losses import loss_and_dy
from .schedules import adaptive, segments_for
from .unroll import Trajectory

#: The format and version of a model file (bumped whenever its layout changes; newer files are refused).
MODEL_FORMAT, MODEL_VERSION = "rnn_numba.model", 1


class RNN:
    """A recurrent network: stacked layers of one cell type and a linear readout.

    Parameters
    ----------
    cell : {"elman", "lstm", "gru", "leaky_elman"} or rnn_numba.cells.Cell
        The cell, by name or as a :class:`~rnn_numba.cells.Cell` (see
        :mod:`rnn_numba.cells` for each one's equations).
    n_in, n_hidden, n_out : int
        Input, state and readout sizes.
    num_layers : int
        Stacked layers; layer k > 0 takes layer k - 1's states as its input.
    bias : bool
        Whether the cells have biases (the readout always has ``b_y``).
    nonlinearity : str, optional
        The Elman cell's f, one of "tanh" (the default), "relu", "identity"
        (a linear RNN) or "sigmoid"; gated cells take "tanh".
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
    cell_options : dict, optional
        The cell's settings, e.g. ``{"alpha": 0.5}`` for the leaky Elman cell.

    Attributes
    ----------
    cell : rnn_numba.cells.Cell
    theta : ndarray, shape (n_params,)
        All parameters, contiguous. Update it in place (``net.theta -= lr * grad``)
        or assign to it (``net.theta = new``, copied in).
    params : dict of ndarray
        Named views of ``theta``. Layer 0's blocks are ``W_xh`` (n_in, G*H),
        ``W_hh`` (H, G*H), ``b_h`` (G*H,) (and a GRU's ``b_hn`` (H,)); layer
        k > 0's carry the suffix ``_l{k}``; then ``W_hy`` (H, n_out), ``b_y``
        (n_out,). G is 1, 4, 3 for Elman, LSTM, GRU.
    layout : rnn_numba.params.NetworkLayout
        Names, shapes and offsets of the blocks.
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
        cell: str | cells.Cell,
        n_in: int,
        n_hidden: int,
        n_out: int,
        *,
        num_layers: int = 1,
        bias: bool = True,
        nonlinearity: str | None = None,
        dtype: type = np.float64,
        seed: int | None = None,
        recurrent_init: str = "uniform",
        spectral_radius: float | None = None,
        forget_bias: float = 1.0,
        cell_options: dict | None = None,
    ):
        self.cell = cells.get(cell)
        self.cell_options = dict(cell_options or {})
        self.cell_settings = self.cell.configure(nonlinearity, **self.cell_options)
        self.cell_options = dict(self.cell_settings.values)
        self.nonlinearity = self.cell_settings.nonlinearity_name
        self.n_in = check.positive_int("n_in", n_in)
        self.n_hidden = check.positive_int("n_hidden", n_hidden)
        self.n_out = check.positive_int("n_out", n_out)
        self.num_layers = check.positive_int("num_layers", num_layers)
        self.bias = bool(bias)
        self.dtype = check.model_dtype(dtype)
        self.layout = params.NetworkLayout(self.cell, self.n_in, self.n_hidden, self.n_out, self.num_layers, self.bias)
        self._theta = np.zeros(self.layout.size, dtype=self.dtype)
        self.params = self.layout.views(self._theta)
        self.frozen = frozenset()
        self.initialise(seed, recurrent_init=recurrent_init, spectral_radius=spectral_radius, forget_bias=forget_bias)

    # ------------------------------------------------------------------ parameters
    @property
    def theta(self) -> np.ndarray:
        """ndarray, shape (n_params,): all parameters; assignment copies into place."""
        return self._theta

    @theta.setter
    def theta(self, value):
        value = np.asarray(value)
        if value.shape != self._theta.shape:
            raise ValueError(f"theta must have shape {self._theta.shape}, got {value.shape}")
        self._theta[...] = value

    @property
    def n_params(self) -> int:
        """int: the length of ``theta``."""
        return self.layout.size

    def layer_views(self, theta: np.ndarray | None = None) -> list:
        """Per layer, a dict of that layer's blocks of ``theta`` (default ``self.theta``) under their cell names."""
        return self.layout.layer_views(self._theta if theta is None else theta)

    def initialise(
        self,
        seed: int | None = None,
        *,
        recurrent_init: str = "uniform",
        spectral_radius: float | None = None,
        forget_bias: float = 1.0,
    ) -> None:
        """(Re)draw all parameters; arguments as in the constructor."""
        inits = ("uniform", "orthogonal", "identity")
        if recurrent_init not in inits:
            raise ValueError(f"recurrent_init must be one of {inits}, got {recurrent_init!r}")
        forget_bias = check.finite_float("forget_bias", forget_bias)
        if spectral_radius is not None:
            rho = check.finite_float("spectral_radius", spectral_radius)
            if rho < 0:
                raise ValueError(f"spectral_radius must be >= 0, got {spectral_radius!r}")
        rng = np.random.default_rng(seed)
        n = self.n_hidden
        for view in self.params.values():
            view[...] = params.uniform(rng, view.shape, 1.0 / np.sqrt(n))
        for layer in self.layer_views():
            for gate in range(self.cell.n_gates):
                block = layer["W_hh"][:, gate * n : (gate + 1) * n]
                if recurrent_init == "orthogonal":
                    block[...] = params.orthogonal(rng, n)
                elif recurrent_init == "identity":
                    block[...] = params.identity(n)
                if spectral_radius is not None:
                    block[...] = self._scaled(block, rho, spectral_radius)
            if self.cell.initialise is not None:
                self.cell.initialise(layer, n, forget_bias)

    def _scaled(self, block, rho, asked):
        """A gate block of W_hh scaled to spectral radius ``rho``: refused if its recurrent sums could overflow.

        With |h| <= 1, a unit's recurrent input is at most its column's absolute
        sum; past the square root of the dtype's largest number, a step's
        products in the backward pass overflow.
        """
        unit = params.scale_to_spectral_radius(block.astype(np.float64), 1.0)
        per_unit_radius = float(np.abs(unit).sum(axis=0).max())  # the largest input at radius 1
        limit = np.sqrt(float(np.finfo(self.dtype).max)) / per_unit_radius
        if not rho < limit:
            raise ValueError(
                f"spectral_radius={asked!r} makes recurrent inputs up to {rho * per_unit_radius:.3g}, which overflow "
                f"{np.dtype(self.dtype).name} in the backward pass; use a radius below {limit:.3g}"
            )
        return unit * rho

    def freeze(self, *names: str) -> None:
        """Hold the named blocks fixed: their gradient is zero (e.g. a reservoir's W_hh)."""
        unknown = set(names) - set(self.layout.names)
        if unknown:
            raise ValueError(f"unknown parameter block(s) {sorted(unknown)}; blocks are {self.layout.names}")
        self.frozen = self.frozen | frozenset(names)

    def unfreeze(self, *names: str) -> None:
        """Let the named blocks (all, if none named) learn again."""
        self.frozen = self.frozen - frozenset(names or self.layout.names)

    def astype(self, dtype: type) -> "RNN":
        """A copy of the model in another dtype (float32 or float64)."""
        other = self.copy()
        other.dtype = check.model_dtype(dtype)
        other._theta = self._theta.astype(other.dtype)
        other.params = other.layout.views(other._theta)
        return other

    def copy(self) -> "RNN":
        """An independent copy (parameters, configuration, frozen blocks)."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other._theta = self._theta.copy()
        other.params = other.layout.views(other._theta)
        return other

    def config(self) -> dict:
        """The constructor's arguments that rebuild the model (without its parameters), JSON-ready."""
        return {
            "cell": self.cell.name,
            "n_in": self.n_in,
            "n_hidden": self.n_hidden,
            "n_out": self.n_out,
            "num_layers": self.num_layers,
            "bias": self.bias,
            "nonlinearity": self.nonlinearity,
            "dtype": np.dtype(self.dtype).name,
            "frozen": sorted(self.frozen),
        } | ({"cell_options": self.cell_options} if self.cell_options else {})

    def save(self, path) -> None:
        """Save parameters and configuration to one file, atomically; :func:`rnn_numba.load` reads it."""
        _files.atomic_savez(path, {"format": MODEL_FORMAT, "version": MODEL_VERSION, **model_arrays(self)})

    def state_shape(self, n_batch: int) -> tuple:
        """Shape of an initial or final state: (B, H) for one layer, (L, B, H) for several."""
        layers = (self.num_layers,) if self.num_layers > 1 else ()
        return layers + (n_batch, self.n_hidden)

    def __repr__(self):
        return (
            f"{type(self).__name__}(cell={self.cell.name!r}, n_in={self.n_in}, n_hidden={self.n_hidden}, "
            f"n_out={self.n_out}, num_layers={self.num_layers}, nonlinearity={self.nonlinearity!r}, "
            f"dtype={np.dtype(self.dtype).name})"
        )

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        x: ArrayLike,
        h0: ArrayLike | None = None,
        lengths: ArrayLike | None = None,
        *,
        c0: ArrayLike | None = None,
        theta: ArrayLike | None = None,
    ) -> Trajectory:
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
        return unroll.forward(self, inputs.batch_inputs(self, x, h0, c0, lengths, theta))

    def loss(
        self,
        x: ArrayLike,
        target: ArrayLike,
        *,
        loss: str = "mse",
        weights: ArrayLike | None = None,
        lengths: ArrayLike | None = None,
        h0: ArrayLike | None = None,
        c0: ArrayLike | None = None,
        reduction: str = "mean",
        theta: ArrayLike | None = None,
    ) -> float:
        """The loss alone (one forward pass); arguments as in :meth:`backward`."""
        call = inputs.loss_inputs(self, x, target, loss, weights, lengths, h0, c0, reduction, theta)
        traj = unroll.forward(self, call.inputs)
        value = loss_and_dy(loss, traj.y, call.target, call.weights, reduction)[0]
        bptt.warn_if_overflowed(self, value)
        return value

    # ------------------------------------------------------------------ backward
    def backward(
        self,
        x: ArrayLike,
        target: ArrayLike,
        *,
        loss: str = "mse",
        weights: ArrayLike | None = None,
        lengths: ArrayLike | None = None,
        h0: ArrayLike | None = None,
        c0: ArrayLike | None = None,
        reduction: str = "mean",
        horizon: int | str | Callable | None = None,
        tbptt: tuple | None = None,
        grad_norms: bool = False,
        clip_message: float | None = None,
        recompute: bool = False,
        checkpoints: int | None = None,
        memory: int | float | str | None = None,
        theta: ArrayLike | None = None,
    ) -> Gradient:
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
        horizon : int, "adaptive" or callable, optional
            Fixed-horizon truncation: every loss term is backpropagated exactly
            ``horizon`` steps (>= T is full BPTT). ``"adaptive"``: the horizon
            that bounds the relative bias by 0.1 where the backward message
            decays geometrically (Aicher et al. 2019; one extra probing pass,
            :func:`rnn_numba.truncation.choose_horizon`); a callable
            ``horizon(model, x, target, loss=..., lengths=..., h0=..., c0=...)``
            picks it, e.g. ``rn.truncation.adaptive(0.01)``.
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
            GEMMs per block), so that its peak memory is about the stored
            states and inputs. The Elman cell stores no gates, so this
            changes nothing for it; the truncations keep all gates.
        checkpoints : int, optional
            Full BPTT within a memory budget: keep at most this many states
            (every layer's h and c at a block boundary, the initial state
            among them) and recompute the others from them on the optimal
            binomial schedule (Griewank & Walther 2000;
            :mod:`rnn_numba.checkpointing`). The same gradient (every
            recurrent layer's to the last bit; the readout's and the loss to
            rounding), more forward steps (``Gradient.forward_steps``), no
            trajectory.
        memory : int, float or str, optional
            The budget in bytes instead (``2e9``, ``"2 GB"``, ``"512 MiB"``):
            the most states that fit besides one block's work buffers.
        theta : array_like, shape (n_params,), optional

        Returns
        -------
        Gradient
        """
        return self._gradient(x, target, loss, weights, lengths, h0, c0, reduction, horizon, tbptt, grad_norms,
                              clip_message, recompute, theta, keep_trajectory=True, checkpoints=checkpoints,
                              memory=memory)  # fmt: skip

    def loss_and_grad(
        self,
        x: ArrayLike,
        target: ArrayLike,
        *,
        loss: str = "mse",
        weights: ArrayLike | None = None,
        lengths: ArrayLike | None = None,
        h0: ArrayLike | None = None,
        c0: ArrayLike | None = None,
        reduction: str = "mean",
        horizon: int | str | Callable | None = None,
        tbptt: tuple | None = None,
        clip_message: float | None = None,
        recompute: bool = False,
        checkpoints: int | None = None,
        memory: int | float | str | None = None,
        theta: ArrayLike | None = None,
    ) -> tuple:
        """``(loss, grad)`` of :meth:`backward`, which documents the arguments.

        The forward pass's states stay on this thread's work buffers, reused
        by the next call (:func:`rnn_numba.release_workspace` frees them),
        instead of being written to new memory at every call.
        """
        result = self._gradient(x, target, loss, weights, lengths, h0, c0, reduction, horizon, tbptt, False,
                                clip_message, recompute, theta, keep_trajectory=False, checkpoints=checkpoints,
                                memory=memory)  # fmt: skip
        return result.loss, result.grad

    def _gradient(self, x, target, loss, weights, lengths, h0, c0, reduction, horizon, tbptt, grad_norms, clip,
                  recompute, theta, keep_trajectory, checkpoints=None, memory=None):  # fmt: skip
        call = inputs.loss_inputs(self, x, target, loss, weights, lengths, h0, c0, reduction, theta)
        budget = checkpoints is not None or memory is not None
        if budget and (horizon is not None or tbptt is not None):
            raise ValueError("checkpoints and memory are for full BPTT, which a truncation does not store; drop one")
        if isinstance(horizon, str) or callable(horizon):
            horizon = self._pick_horizon(horizon, x, target, loss, lengths, h0, c0, call.inputs.theta)
        segments = segments_for(call.inputs.x.shape[0], horizon, tbptt)
        if grad_norms and (horizon is not None or tbptt is not None):
            raise ValueError("grad_norms is defined for full BPTT; drop horizon/tbptt or grad_norms")
        clip = None if clip is None else check.positive_float("clip_message", clip)
        if budget:
            n_steps, n_batch = call.inputs.x.shape[:2]
            stored, block = checkpointing.checkpoints_for(self, n_steps, n_batch, checkpoints=checkpoints,
                                                          memory=memory, recompute=bool(recompute))  # fmt: skip
            return checkpointing.gradient(self, call, stored, block=block, grad_norms=grad_norms, clip=clip,
                                          recompute=bool(recompute))  # fmt: skip
        return bptt.gradient(self, call, segments, grad_norms=grad_norms, clip=clip, recompute=bool(recompute),
                             keep_trajectory=keep_trajectory)  # fmt: skip

    def _pick_horizon(self, horizon, x, target, loss, lengths, h0, c0, theta):
        """The horizon that ``"adaptive"`` or a picker chooses for a call, at the call's parameters ``theta``."""
        if isinstance(horizon, str):
            if horizon != "adaptive":
                raise ValueError(f"horizon must be an int, 'adaptive' or a function that picks one, got {horizon!r}")
            horizon = adaptive()
        model = self
        if theta is not self.theta:  # the call's parameters, validated
            model = self.copy()
            model.theta[:] = theta
        picked = horizon(model, x, target, loss=loss, lengths=lengths, h0=h0, c0=c0)
        return check.positive_int("the horizon picked", picked)

    def objective(self, x: ArrayLike, target: ArrayLike, **kwargs) -> Callable:
        """A function ``theta -> (loss, grad)`` for ``scipy.optimize.minimize(..., jac=True)``.

        ``grad`` is returned in float64, as SciPy expects; keyword arguments
        as in :meth:`loss_and_grad`.
        """

        def fun(theta):
            loss, grad = self.loss_and_grad(x, target, theta=np.asarray(theta, dtype=self.dtype), **kwargs)
            return loss, grad.astype(np.float64)

        return fun

    def vjp(
        self,
        x: ArrayLike,
        dh: ArrayLike | None = None,
        *,
        dh_final: ArrayLike | None = None,
        dc_final: ArrayLike | None = None,
        h0: ArrayLike | None = None,
        c0: ArrayLike | None = None,
        lengths: ArrayLike | None = None,
        theta: ArrayLike | None = None,
        checkpoints: int | None = None,
        memory: int | float | str | None = None,
    ) -> Gradient:
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
        checkpoints, memory : optional
            At most this many stored states, or a byte budget, as in
            :meth:`backward`.

        Returns
        -------
        Gradient
            ``grad`` (the readout blocks get zero: they do not touch the
            states), ``dh0`` and ``dc0``; ``loss`` is None.
        """
        batch = inputs.batch_inputs(self, x, h0, c0, lengths, theta)
        shape = self.state_shape(batch.x.shape[1])
        dh_shape = batch.x.shape[:2] + (self.n_hidden,)
        dh = np.zeros(dh_shape, dtype=self.dtype) if dh is None else check.float_array("dh", dh, self.dtype, dh_shape)
        if dh_final is not None:
            dh_final = check.float_array("dh_final", dh_final, self.dtype, shape).reshape(batch.h0.shape)
        if dc_final is not None:
            if not self.cell.has_cell_state:
                raise ValueError(f"dc_final is for cells with a cell state; the {self.cell.name} cell has none")
            dc_final = check.float_array("dc_final", dc_final, self.dtype, shape).reshape(batch.h0.shape)
        if checkpoints is not None or memory is not None:
            stored, block = checkpointing.checkpoints_for(self, *batch.x.shape[:2], checkpoints=checkpoints,
                                                          memory=memory)  # fmt: skip
            return checkpointing.vjp(self, batch, dh, dh_final, dc_final, stored, block=block)
        return bptt.vjp(self, batch, dh, dh_final, dc_final)


def model_arrays(model: RNN) -> dict:
    """What a file needs to rebuild ``model``: its configuration (JSON) and parameters."""
    return {"model.config": json.dumps(model.config()), "model.theta": model.theta}


class Elman(RNN):
    """An Elman (simple) RNN: h_t = f(x_t @ W_xh + h_{t-1} @ W_hh + b_h), y_t = h_t @ W_hy + b_y.

    Parameters as in :class:`RNN` without ``cell``, and

    alpha : float
        In (0, 1]: below 1, the leaky cell h_t = (1 - alpha) h_{t-1} +
        alpha f(...) (:mod:`rnn_numba.cells.leaky`, the cell of Marschall
        et al. 2020 and of RFLO); 1 is the Elman cell.

    Examples
    --------
    >>> import numpy as np, rnn_numba as rn
    >>> net = rn.Elman(n_in=2, n_hidden=8, n_out=1, seed=0)
    >>> net.forward(np.zeros((5, 3, 2))).h.shape
    (6, 3, 8)
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, *, alpha: float = 1.0, **kwargs):
        if alpha == 1.0:
            super().__init__("elman", n_in, n_hidden, n_out, **kwargs)
        else:  # the leaky cell, h_t = (1 - alpha) h_{t-1} + alpha f(...)
            super().__init__("leaky_elman", n_in, n_hidden, n_out, cell_options={"alpha": alpha}, **kwargs)


class LSTM(RNN):
    """An LSTM with a forget gate (equations in :mod:`rnn_numba.cells.lstm`).

    Parameters as in :class:`RNN` without ``cell`` and ``nonlinearity``.
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, **kwargs):
        super().__init__("lstm", n_in, n_hidden, n_out, **kwargs)


class GRU(RNN):
    """A GRU in PyTorch's formulation (equations in :mod:`rnn_numba.cells.gru`).

    Parameters as in :class:`RNN` without ``cell`` and ``nonlinearity``.
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, **kwargs):
        super().__init__("gru", n_in, n_hidden, n_out, **kwargs)
