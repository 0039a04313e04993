"""Input validation for the public layer: clear errors before any kernel runs.

Every public entry point converts its arrays here, once, to C-contiguous
arrays of the model's dtype, and raises a ``TypeError`` or ``ValueError``
whose message names the argument and says how to fix the call.
"""

import operator

import numpy as np

from ._kernels.jit import jit_kernel
from .losses import LOSSES

FLOAT_DTYPES = (np.float32, np.float64)


def model_dtype(dtype):
    """The model's dtype as ``np.float32`` or ``np.float64``."""
    try:
        dt = np.dtype(dtype).type
    except TypeError:
        dt = None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return dt


def positive_int(name, value, minimum=1):
    """``value`` as an int >= ``minimum``; TypeError for a non-integer."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def positive_float(name, value):
    """``value`` as a finite float > 0; TypeError for a non-number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def finite_float(name, value):
    """``value`` as a finite float; TypeError for a non-number (None, a string), ValueError for NaN or Inf."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def _as_array(name, value):
    if not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be an array-like of numbers: {exc}") from None
    if value.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a numeric array, got dtype {value.dtype}")
    return value


def float_array(name, value, dtype, shape):
    """``value`` as a C-contiguous, finite array of ``dtype``.

    Parameters
    ----------
    name : str
        The argument's name, for messages.
    shape : tuple of (int or None or str)
        Expected shape; an int entry must match, a str entry names a free axis
        (for messages).

    Raises
    ------
    TypeError
        For integer, boolean, float16, complex or non-numeric data.
    ValueError
        For a wrong rank or shape, or NaN/Inf entries.
    """
    value = _as_array(name, value)
    kind = value.dtype.kind
    if kind in "biu":
        raise TypeError(
            f"{name} has dtype {value.dtype}, but must hold floating-point values; "
            f"convert it with {name}.astype(np.{np.dtype(dtype).name})"
        )
    if value.dtype == np.float16:
        raise TypeError(
            f"{name} is float16, which rnn_numba does not compute in; "
            f"convert it with {name}.astype(np.{np.dtype(dtype).name})"
        )
    if kind != "f":
        raise TypeError(f"{name} must be a real floating-point array, got dtype {value.dtype}")
    check_shape(name, value, shape)
    if value.dtype.itemsize > np.dtype(dtype).itemsize:
        with np.errstate(over="ignore"):  # an overflow becomes Inf, refused below with its index
            converted = np.ascontiguousarray(value, dtype=dtype)
    else:
        converted = np.ascontiguousarray(value, dtype=dtype)
    if not _all_finite(converted.ravel()):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
        hint = "" if not np.isfinite(value[where]) else f"; {float(value[where]):g} overflows {np.dtype(dtype).name}"
        raise ValueError(f"{name} contains NaN or Inf (first at index {where}{hint}); remove or replace it")
    return converted


#: Arrays of at least this many entries are first checked by their sum (see :func:`_all_finite`).
SUM_CHECK_SIZE = 4096


def _all_finite(values):
    """Whether every entry of a 1-D float array is finite.

    A NaN or an infinity makes the sum non-finite, so a finite sum proves
    every entry finite; NumPy's vectorised sum is several times faster than
    the entry-by-entry loop on a large array. Only a non-finite sum (a bad
    entry, or an overflow) needs the loop. Small arrays go straight to the
    loop, whose call costs less than NumPy's.
    """
    if values.size >= SUM_CHECK_SIZE:
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow or Inf - Inf: the loop decides
            if np.isfinite(np.add.reduce(values)):
                return True
    return _each_finite(values)


@jit_kernel
def _each_finite(values):
    """Whether every entry of a 1-D float array is finite (one pass, no temporary)."""
    for v in values:
        if not np.isfinite(v):
            return False
    return True


def check_shape(name, value, shape):
    """Raise ValueError unless ``value.shape`` matches ``shape`` (see :func:`float_array`)."""
    if value.ndim != len(shape):
        raise ValueError(f"{name} must have shape {_shape_text(shape)}, got an array of shape {value.shape}")
    got_shape = value.shape
    for axis, want in enumerate(shape):  # compare first: this runs for every array of every call
        got = got_shape[axis]
        if got != want and isinstance(want, (int, np.integer)):
            raise ValueError(
                f"{name} must have shape {_shape_text(shape)}, got {value.shape} (axis {axis} is {got}, not {want})"
            )


def _shape_text(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def int_array(name, value, shape):
    """``value`` as a C-contiguous int64 array of the given shape."""
    value = _as_array(name, value)
    if value.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {value.dtype}; convert it with {name}.astype(int)")
    check_shape(name, value, shape)
    return np.ascontiguousarray(value, dtype=np.int64)


def sequence_batch(x, n_in, dtype, batch_hints=(), lengths=None):
    """Validate the time-major input batch and its lengths.

    Parameters
    ----------
    batch_hints : sequence of (str, int)
        Batch sizes that other arguments imply (``h0``, ``lengths``), to tell
        a batch-first ``x`` apart.

    Returns
    -------
    x : ndarray, shape (T, B, n_in)
    lengths : ndarray of int64, shape (B,)
    """
    x = _as_array("x", x)
    if x.ndim != 3:
        raise ValueError(f"x must be time-major with shape (T, B, n_in) = (T, B, {n_in}), got shape {x.shape}")
    n_steps, n_batch = x.shape[0], x.shape[1]
    for name, hinted_batch in batch_hints:
        if hinted_batch != n_batch and hinted_batch == n_steps:
            raise ValueError(
                f"x has shape {x.shape} but {name} says the batch size is {hinted_batch}: x looks "
                f"batch-first (B, T, n_in); rnn_numba is time-major, pass x.transpose(1, 0, 2)"
            )
    if n_steps == 0 or n_batch == 0:
        raise ValueError(
            f"x must hold at least one step and one sequence, got shape {x.shape} (T={n_steps}, B={n_batch})"
        )
    x = float_array("x", x, dtype, ("T", "B", n_in))
    if lengths is None:
        lengths = np.full(n_batch, n_steps, dtype=np.int64)
    else:
        lengths = int_array("lengths", lengths, (n_batch,))
        if lengths.min() < 1 or lengths.max() > n_steps:
            bad = int(lengths[(lengths < 1) | (lengths > n_steps)][0])
            hint = " (is x batch-first? rnn_numba is time-major)" if bad == n_batch else ""
            raise ValueError(f"lengths must lie in [1, T] = [1, {n_steps}], got {bad}{hint}")
    return x, lengths


def initial_state(name, state, shape, dtype):
    """An initial state of the given shape, zeros when None."""
    if state is None:
        return np.zeros(shape, dtype=dtype)
    return float_array(name, state, dtype, shape)


def targets(loss, target, n_steps, n_batch, n_out, dtype):
    """Validate targets for ``loss`` (see :mod:`rnn_numba.losses`)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    target = _as_array("target", target)
    expected = (n_steps, n_batch, n_out) if loss == "mse" else (n_steps, n_batch)
    if target.shape[:2] == (n_batch, n_steps) and n_batch != n_steps:
        raise ValueError(
            f"target has shape {target.shape}, but x is (T, B) = ({n_steps}, {n_batch}): target looks "
            f"batch-first; rnn_numba is time-major, transpose it with target.swapaxes(0, 1)"
        )
    if loss == "mse":
        return float_array("target", target, dtype, expected)
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"cross-entropy targets must be integer class indices of shape (T, B), got dtype {target.dtype}; "
            f"convert with target.astype(int)"
        )
    return int_array("target", target, expected)


def loss_weights(weights, n_steps, n_batch, dtype):
    """Per-step loss weights (T, B): finite and non-negative, ones when None."""
    if weights is None:
        return np.ones((n_steps, n_batch), dtype=dtype)
    weights = float_array("weights", weights, dtype, (n_steps, n_batch))
    if np.any(weights < 0):
        raise ValueError("weights must be non-negative; use 0 to drop a step from the loss")
    return weights


def class_range(target, weights, n_out):
    """Raise unless every weighted class target lies in [0, n_out)."""
    active = target[weights > 0]
    if active.size and (active.min() < 0 or active.max() >= n_out):
        bad = int(active[(active < 0) | (active >= n_out)][0])
        raise ValueError(f"target holds class {bad}, outside [0, n_out) = [0, {n_out})")


def finite_theta(layout, theta):
    """Raise ValueError naming the first parameter block that holds NaN or Inf."""
    if not _all_finite(theta):
        first = int(np.argmax(~np.isfinite(theta)))
        raise ValueError(
            f"the parameters hold NaN or Inf (block {layout.block_of(first)}); "
            "reinitialise the model or lower the learning rate"
        )
