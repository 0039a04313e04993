"""A call's arguments, validated and converted once: the internal API of the public layer.

The public entry points (:class:`rnn_numba.RNN`'s methods, :func:`rnn_numba.tbptt`,
:func:`rnn_numba.check_grad`, the :class:`rnn_numba.Trainer`) turn the
caller's arrays into an :class:`Inputs` or :class:`LossInputs` here, raising a
``TypeError`` or ``ValueError`` that names the argument and says how to fix
the call, before any kernel runs. Everything below this layer takes these
records and trusts them.
"""

from typing import NamedTuple

import numpy as np

from . import _validate as check
from .losses import REDUCTIONS


class Inputs(NamedTuple):
    """The validated inputs of a forward pass (T steps, B sequences, L layers).

    Attributes
    ----------
    theta : ndarray, shape (n_params,)
        The parameters, finite, of the model's dtype.
    x : ndarray, shape (T, B, n_in)
        C-contiguous, of the model's dtype.
    h0 : ndarray, shape (L, B, H)
    c0 : ndarray, shape (L, B, H), or (L, B, 0) for a cell without a cell state
    lengths : ndarray of int64, shape (B,)
        1 <= lengths[b] <= T.
    """

    theta: np.ndarray
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    lengths: np.ndarray


class LossInputs(NamedTuple):
    """The validated inputs of a loss: an :class:`Inputs` and the loss's arguments.

    Attributes
    ----------
    inputs : Inputs
    loss : {"mse", "cross_entropy"}
    target : ndarray
        (T, B, n_out) of the model's dtype for MSE, int64 (T, B) classes for cross-entropy.
    weights : ndarray, shape (T, B)
        Non-negative, zero at padded steps (past each sequence's length).
    reduction : {"mean", "sum"}
    """

    inputs: Inputs
    loss: str
    target: np.ndarray
    weights: np.ndarray
    reduction: str


def theta_of(model, theta=None):
    """The model's parameters, or ``theta`` validated against its layout."""
    if theta is None:
        theta = model.theta
    else:
        theta = check.float_array("theta", theta, model.dtype, (model.n_params,))
    check.finite_theta(model.layout, theta)
    return theta


def batch_inputs(model, x, h0=None, c0=None, lengths=None, theta=None):
    """Validate a forward pass's arguments (see :meth:`rnn_numba.RNN.forward`): an :class:`Inputs`."""
    theta = theta_of(model, theta)
    hints = [(name, np.shape(s)[-2]) for name, s in (("h0", h0), ("c0", c0)) if s is not None and np.ndim(s) >= 2]
    if lengths is not None and np.ndim(lengths) == 1:
        hints.append(("lengths", np.shape(lengths)[0]))
    x, lengths = check.sequence_batch(x, model.n_in, model.dtype, hints, lengths)
    shape = model.state_shape(x.shape[1])
    stacked = (model.num_layers,) + shape[-2:]
    h0 = check.initial_state("h0", h0, shape, model.dtype).reshape(stacked)
    if model.cell.has_cell_state:
        c0 = check.initial_state("c0", c0, shape, model.dtype).reshape(stacked)
    elif c0 is not None:
        raise ValueError(f"c0 is a cell state; the {model.cell.name} cell has none, drop c0")
    else:
        c0 = np.zeros(stacked[:-1] + (0,), dtype=model.dtype)
    return Inputs(theta, x, h0, c0, lengths)


def loss_inputs(model, x, target, loss="mse", weights=None, lengths=None, h0=None, c0=None, reduction="mean",
                theta=None):  # fmt: skip
    """Validate a loss's arguments (see :meth:`rnn_numba.RNN.backward`): a :class:`LossInputs`."""
    padded = lengths is not None  # else every sequence has all T steps
    inputs = batch_inputs(model, x, h0, c0, lengths, theta)
    n_steps, n_batch = inputs.x.shape[:2]
    target = check.targets(loss, target, n_steps, n_batch, model.n_out, model.dtype)
    weights = check.loss_weights(weights, n_steps, n_batch, model.dtype)
    if padded and inputs.lengths.min() < n_steps:
        weights = weights * (np.arange(n_steps)[:, None] < inputs.lengths[None, :])
    if loss == "cross_entropy":
        check.class_range(target, weights, model.n_out)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return LossInputs(inputs, loss, target, weights, reduction)


def public_state(model, state):
    """A stacked (L, B, H) state in the shape the public API gives: (B, H) for one layer; None stays None."""
    if state is None or (state.shape[-1] == 0 and not model.cell.has_cell_state):
        return None
    return state[0] if model.num_layers == 1 else state
