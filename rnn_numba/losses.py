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

LOSSES = ("mse", "cross_entropy")
REDUCTIONS = ("mean", "sum")


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
    total = float(weights.sum())
    scale = 1.0 if reduction == "sum" else (1.0 / total if total > 0 else 0.0)
    w = (weights * scale).astype(y.dtype)[..., None]
    if loss == "mse":
        err = y - target
        terms = np.mean(err * err, axis=-1)
        dy = w * err * y.dtype.type(2.0 / y.shape[-1])
    else:
        from scipy.special import log_softmax, softmax  # imported on first use: it costs ~0.3 s

        classes = np.where(weights > 0, target, 0)[..., None]
        logp = log_softmax(y, axis=-1)
        terms = -np.take_along_axis(logp, classes, axis=-1)[..., 0]
        dy = softmax(y, axis=-1)
        np.put_along_axis(dy, classes, np.take_along_axis(dy, classes, axis=-1) - 1, axis=-1)
        dy *= w
    value = float(np.sum(w[..., 0] * terms, dtype=np.float64))
    return value, dy.astype(y.dtype, copy=False)
