"""The loss kernels on the readout and their gradient dL/dy (definitions in :mod:`rnn_numba.losses`)."""

import math
from typing import NamedTuple

import numpy as np

from .jit import jit_kernel

#: The loss codes the kernels see; NO_LOSS: no loss on the readout (a vector-Jacobian product of the states).
MSE, CROSS_ENTROPY, NO_LOSS = 0, 1, -1


class Objective(NamedTuple):
    """A loss on the readouts, over M = T*B rows.

    Attributes
    ----------
    loss : int
        :data:`MSE`, :data:`CROSS_ENTROPY` or :data:`NO_LOSS`.
    target : ndarray, shape (M, n_out)
        MSE targets (empty, (0, n_out), for cross-entropy).
    classes : ndarray of int64, shape (M,)
        Cross-entropy classes (empty for MSE); ignored where the weight is 0.
    weights : ndarray, shape (M,)
        The scaled weights w / Z of :func:`scaled_weights`.
    """

    loss: int
    target: np.ndarray
    classes: np.ndarray
    weights: np.ndarray


@jit_kernel
def loss_and_dy(objective, y, dy):
    """The loss of readouts ``y`` (M, n_out); writes dL/dy into ``dy`` (M, n_out)."""
    if objective.loss == MSE:
        return _mse(y, objective.target, objective.weights, dy)
    return _cross_entropy(y, objective.classes, objective.weights, dy)


@jit_kernel
def scaled_weights(weights, mean):
    """The weights w / Z of the loss terms, Z summed in float64.

    ``weights`` (M,) non-negative; ``mean`` chooses Z = sum(w) (0 if all are 0) over Z = 1.
    """
    total = 0.0
    for value in weights:
        total += value
    scale = (1.0 / total if total > 0 else 0.0) if mean else 1.0
    return (weights * scale).astype(weights.dtype)


@jit_kernel
def _mse(y, target, w, dy):
    """Sum of w_i * mean_k (y_ik - d_ik)^2 over rows i, accumulated in float64; writes dy = dL/dy."""
    value = 0.0
    n_out = y.shape[1]
    for i in range(y.shape[0]):
        term = 0.0
        for k in range(n_out):
            err = y[i, k] - target[i, k]
            term += err * err
            dy[i, k] = w[i] * err * (2.0 / n_out)
        value += w[i] * term / n_out
    return value


@jit_kernel
def _cross_entropy(y, classes, w, dy):
    """Sum of w_i * -log softmax(y_i)[c_i] over rows i, accumulated in float64; writes dy = dL/dy.

    With lse_i = log sum_k exp(y_ik) (shifted by the row's maximum):
    l_i = lse_i - y_ic and dl_i/dy_ik = softmax(y_i)_k - [k = c].
    """
    value = 0.0
    for i in range(y.shape[0]):
        if w[i] == 0:
            dy[i] = 0
            continue
        top = y[i].max()
        total = 0.0
        for k in range(y.shape[1]):
            total += math.exp(y[i, k] - top)
        lse = top + math.log(total)
        for k in range(y.shape[1]):
            dy[i, k] = w[i] * math.exp(y[i, k] - lse)
        dy[i, classes[i]] -= w[i]
        value += w[i] * (lse - y[i, classes[i]])
    return value
