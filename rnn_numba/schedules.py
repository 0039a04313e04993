"""BPTT schedules as lists of segments: full BPTT, fixed-horizon truncation, TBPTT(k1, k2).

Every schedule is a list of *segments* ``(start, stop, inject_from)``: the
backward message starts at zero at step ``stop - 1``, picks up the loss
gradient dL/dh_{t+1} of every step ``t >= inject_from``, and is carried back
through steps ``stop - 1, ..., start``; the state before ``start`` is held
constant. The gradient is the sum over segments.

- Full (epochwise) BPTT, Werbos (1990), doi:10.1109/5.58337: one segment
  ``(0, T, 0)``.
- Fixed-horizon truncation: each loss term L_t is backpropagated exactly K
  steps, segments ``(max(0, t-K+1), t+1, t)``; K >= T is full BPTT; cost
  O(T K) steps. This is the estimator whose bias Aicher, Foti & Fox (2019,
  arXiv:1905.07473) study. It is not Theano's ``truncate_gradient``, which
  runs only the last K steps of the backward recursion and so drops the
  gradient of every loss term before them.
- Truncated BPTT(k2; k1), Williams & Peng (1990), doi:10.1162/neco.1990.2.4.490,
  written TBPTT(k1, k2): every k1 steps the losses of those k1 steps are
  backpropagated k2 >= k1 steps, segments ``(max(0, e-k2), e, e-k1)`` for
  window ends e = k1, 2 k1, ... A last, shorter window at T keeps the same
  k2 - k1 steps of history before its losses, so that k1 = k2 = k is exactly
  the chunked loop (PyTorch's ``detach()`` every k steps). The sum over
  windows at fixed parameters; :func:`rnn_numba.tbptt` yields the windows
  one by one, for updates between them.

The fixed horizon can also be picked per call for a bias tolerance
(:func:`choose_horizon`, :func:`adaptive`: Aicher, Foti & Fox's rule, see
:mod:`rnn_numba.truncation`).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import _validate as check


def full_schedule(n_steps: int) -> np.ndarray:
    """Segments of full BPTT over ``n_steps`` steps, int64 array (1, 3)."""
    return np.array([[0, n_steps, 0]], dtype=np.int64)


def horizon_schedule(n_steps: int, horizon: int) -> np.ndarray:
    """Segments of fixed-horizon truncation, int64 array (T, 3): term t backpropagated ``horizon`` steps."""
    t = np.arange(n_steps, dtype=np.int64)
    return np.stack([np.maximum(0, t - horizon + 1), t + 1, t], axis=1)


def tbptt_schedule(n_steps: int, k1: int, k2: int) -> np.ndarray:
    """Segments of TBPTT(k1, k2) over ``n_steps`` steps, int64 array (S, 3), one per window.

    Window ends are k1, 2 k1, ..., and ``n_steps`` if it is not a multiple of
    k1; the last window then carries the losses of its remaining steps, with
    k2 - k1 steps of history before them like every other window.
    """
    ends = np.arange(k1, n_steps + k1, k1, dtype=np.int64)
    ends[-1] = n_steps
    inject_from = np.concatenate([[0], ends[:-1]])
    return np.stack([np.maximum(0, inject_from - (k2 - k1)), ends, inject_from], axis=1)


def check_k1_k2(k1, k2):
    """Validate TBPTT(k1, k2): integers with 1 <= k1 <= k2; returns them as ints."""
    k1 = check.positive_int("k1", k1)
    k2 = check.positive_int("k2", k2)
    if k1 > k2:
        raise ValueError(f"TBPTT needs k1 <= k2 (k2 steps of history for k1 new steps), got k1={k1} > k2={k2}")
    return k1, k2


def check_truncation(horizon, tbptt, adaptive=False):
    """Validate the truncation options of a call: at most one of them; returns (horizon, (k1, k2)).

    With ``adaptive``, ``horizon="adaptive"`` is kept as it is, for each call
    to pick its horizon (:func:`rnn_numba.truncation.choose_horizon`).
    """
    if horizon is not None and tbptt is not None:
        raise ValueError("give horizon or tbptt, not both")
    if adaptive and isinstance(horizon, str):
        if horizon != "adaptive":
            raise ValueError(f"horizon must be an int or 'adaptive', got {horizon!r}")
        return horizon, None
    horizon = None if horizon is None else check.positive_int("horizon", horizon)
    if tbptt is not None:
        try:
            k1, k2 = tbptt
        except (TypeError, ValueError):
            raise TypeError(f"tbptt must be a pair (k1, k2) of integers, got {tbptt!r}") from None
        tbptt = check_k1_k2(k1, k2)
    return horizon, tbptt


def segments_for(n_steps, horizon=None, tbptt=None):
    """The segments of a call's schedule: full BPTT unless ``horizon`` or ``tbptt`` (validated) is given."""
    horizon, tbptt = check_truncation(horizon, tbptt)
    if horizon is not None:
        return horizon_schedule(n_steps, horizon)
    if tbptt is not None:
        return tbptt_schedule(n_steps, *tbptt)
    return full_schedule(n_steps)


def is_full(segments, n_steps):
    """Whether the segments are full BPTT's one segment (0, T, 0)."""
    return segments.tolist() == [[0, n_steps, 0]]  # (tolist: Python ints, no NumPy scalar per comparison)


#: The relative bias ``horizon="adaptive"`` allows.
DEFAULT_TOLERANCE = 0.1


@dataclass
class Horizon:
    """A horizon picked for a bias tolerance (:func:`choose_horizon`).

    Attributes
    ----------
    horizon : int
        K, at most T (T: full BPTT).
    decay : float
        beta, the geometric decay per step of the last loss's backward message.
    message_norms : ndarray, shape (T,)
        ||dL_T/dh_{T-k}|| for k = 0..T-1, the mean over sequences.
    tolerance : float
    """

    horizon: int
    decay: float
    message_norms: np.ndarray
    tolerance: float


def choose_horizon(model, x, target, tolerance=DEFAULT_TOLERANCE, *, loss="mse", lengths=None, h0=None, c0=None):
    """The horizon K whose relative bias is bounded by ``tolerance`` where the backward message decays geometrically.

    Parameters
    ----------
    model : RNN
    x, target, loss, lengths, h0, c0
        As for :meth:`rnn_numba.RNN.backward`: the call the horizon is for.
    tolerance : float
        delta in (0, 1): the relative bias allowed.

    Returns
    -------
    Horizon
        K = ceil(log(delta (1 - beta)) / log beta), between 1 and T; T (full
        BPTT) where the message does not decay (beta >= 1).
    """
    tolerance = _check_tolerance(tolerance)
    n_steps, n_batch = np.shape(x)[:2]
    weights = np.zeros((n_steps, n_batch))  # the last valid step's loss alone: its message at every lag
    last = np.full(n_batch, n_steps - 1) if lengths is None else np.asarray(lengths) - 1
    weights[last, np.arange(n_batch)] = 1
    probe = model.backward(x, target, loss=loss, weights=weights, lengths=lengths, h0=h0, c0=c0, reduction="sum",
                           grad_norms=True)  # fmt: skip
    norms = probe.dh_norms if probe.dh_norms.ndim == 2 else probe.dh_norms[-1]  # (T + 1, B), the top layer
    lags = np.stack([norms[last - k + 1, np.arange(n_batch)] for k in range(n_steps)])  # (T, B), 0 past a start
    reached = last[None, :] - np.arange(n_steps)[:, None] >= 0
    message = np.array([lags[k][reached[k]].mean() if reached[k].any() else 0.0 for k in range(n_steps)])
    k = np.arange(1, n_steps)
    usable = message[1:] > 0
    if usable.sum() < 2:  # one step, or a message that vanishes at once: nothing to fit, nothing to keep
        return Horizon(1 if usable.sum() == 0 else n_steps, 0.0, message, tolerance)
    slope = np.polyfit(k[usable], np.log(message[1:][usable]), 1)[0]
    decay = float(np.exp(slope))
    if decay >= 1:
        return Horizon(n_steps, decay, message, tolerance)
    horizon = int(np.ceil(np.log(tolerance * (1 - decay)) / np.log(decay)))
    return Horizon(int(np.clip(horizon, 1, n_steps)), decay, message, tolerance)


def adaptive(tolerance: float = DEFAULT_TOLERANCE) -> Callable:
    """A horizon picker for :meth:`rnn_numba.RNN.backward`: ``horizon=adaptive(0.01)``.

    Returns ``pick(model, x, target, **options) -> K``, the horizon of
    :func:`choose_horizon` for ``tolerance``, chosen afresh for each call.
    """
    tolerance = _check_tolerance(tolerance)

    def pick(model, x, target, **options):
        return choose_horizon(model, x, target, tolerance, **options).horizon

    pick.tolerance = tolerance
    return pick


def _check_tolerance(tolerance):
    tolerance = check.positive_float("tolerance", tolerance)
    if tolerance >= 1:
        raise ValueError(f"tolerance, the relative bias allowed, must be in (0, 1), got {tolerance}")
    return tolerance
