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

import math

import numpy as np

from ._jit import jit_kernel

LOSSES = ("mse", "cross_entropy")
REDUCTIONS = ("mean", "sum")
MSE, CROSS_ENTROPY = range(2)  # the codes the kernels see


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
    w = scaled_weights(np.ascontiguousarray(weights, dtype=y.dtype).ravel(), reduction == "mean")
    dy = np.empty_like(rows)
    if loss == "mse":
        value = _mse(rows, np.ascontiguousarray(target, dtype=y.dtype).reshape(rows.shape), w, dy)
    else:
        value = _cross_entropy(rows, np.ascontiguousarray(target, dtype=np.int64).ravel(), w, dy)
    return float(value), dy.reshape(y.shape)


@jit_kernel
def scaled_weights(weights, mean):
    """The weights w / Z of the loss terms (see the module docstring), Z summed in float64.

    ``weights`` (M,) non-negative; ``mean`` chooses Z = sum(w) (0 if all are 0) over Z = 1.
    """
    total = 0.0
    for value in weights:
        total += value
    scale = (1.0 / total if total > 0 else 0.0) if mean else 1.0
    return (weights * scale).astype(weights.dtype)


@jit_kernel
def _mse(y, target, w, dy):
    """Sum of w_i * mean_k (y_ik - d_ik)^2 over rows i, accumulated in float64; writes dy = dL/dy.

    ``y``, ``target``, ``dy`` (M, n_out); ``w`` (M,), the scaled weights.
    """
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

    ``y``, ``dy`` (M, n_out); ``classes`` (M,) ints, ignored where w_i = 0;
    ``w`` (M,). With lse_i = log sum_k exp(y_ik) (shifted by the row's
    maximum): l_i = lse_i - y_ic and dl_i/dy_ik = softmax(y_i)_k - [k = c].
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
