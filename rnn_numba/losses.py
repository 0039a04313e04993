"""Loss terms on the linear readout y_t = h_t @ W_hy + b_y, and their gradients.

Every loss is a weighted sum of per-step, per-sequence terms::

    L = (1 / Z) * sum_{t, b} w[t, b] * l(y[t, b], target[t, b])

with Z = 1 for ``reduction="sum"`` and Z = sum_{t, b} w[t, b] for
``reduction="mean"`` (the default; with 0/1 weights, the mean over the steps
that carry a loss). Weights w of shape (T, B) select the steps: all ones
for sequence-to-sequence, ones on the last step only for sequence-to-one,
zeros past each sequence's length for padding (applied automatically).

- ``"mse"``: l = mean_k (y_k - d_k)^2 over the n_out outputs; targets of
  shape (T, B, n_out).
- ``"cross_entropy"``: l = -log softmax(y)_c for an integer class c; targets
  of shape (T, B), integers in [0, n_out). Targets where w = 0 are ignored.

All-zero weights give L = 0 and a zero gradient under either reduction.
"""

import numpy as np

from ._kernels.losses import CROSS_ENTROPY, MSE, NO_LOSS, Objective, scaled_weights
from ._kernels.losses import loss_and_dy as _loss_and_dy

LOSSES = ("mse", "cross_entropy")
REDUCTIONS = ("mean", "sum")


def objective(loss, target, weights, reduction, n_out):
    """The kernels' :class:`~rnn_numba._kernels.losses.Objective` of a validated loss, over all T*B rows.

    Parameters
    ----------
    loss : {"mse", "cross_entropy"}
    target : ndarray, shape (T, B, n_out) for MSE, int (T, B) for cross-entropy
    weights : ndarray, shape (T, B)
        Non-negative, zero at padded steps.
    reduction : {"mean", "sum"}
    n_out : int
    """
    w = scaled_weights(np.ascontiguousarray(weights).ravel(), reduction == "mean")
    if loss == "mse":
        return Objective(MSE, target.reshape(-1, n_out), np.zeros(0, dtype=np.int64), w)
    return Objective(CROSS_ENTROPY, np.zeros((0, n_out), dtype=weights.dtype), target.ravel(), w)


def no_loss(n_out, dtype):
    """The kernels' Objective of no loss on the readout (a vector-Jacobian product of the states)."""
    return Objective(NO_LOSS, np.zeros((0, n_out), dtype=dtype), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=dtype))


def loss_and_dy(loss, y, target, weights, reduction):
    """The loss and dL/dy (validated inputs).

    Parameters
    ----------
    loss : {"mse", "cross_entropy"}
    y : ndarray, shape (T, B, n_out)
    target : ndarray, shape (T, B, n_out) for MSE, int (T, B) for cross-entropy
    weights : ndarray, shape (T, B)
        Non-negative, zero at padded steps.
    reduction : {"mean", "sum"}

    Returns
    -------
    value : float
    dy : ndarray, shape (T, B, n_out), of ``y``'s dtype
    """
    y = np.ascontiguousarray(y)
    rows = y.reshape(-1, y.shape[-1])
    spec = objective(loss, target, np.asarray(weights, dtype=y.dtype), reduction, y.shape[-1])
    dy = np.empty_like(rows)
    return float(_loss_and_dy(spec, rows, dy)), dy.reshape(y.shape)
