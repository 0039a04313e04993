"""Online gradient estimators over a stream: the driver they share.

Every estimator of the RTRL family carries something forward in time (an
influence matrix, or an approximation of one) and gives, at each step, an
estimate of dL_t/dtheta without a backward pass. The driver here does the
rest, the same for all of them and like :func:`rnn_numba.tbptt`: it cuts the
stream into windows of k steps (across chunks), runs each window's forward
pass with the model's current parameters (keeping the gate activations the
estimator's steps read), the readout, the loss and dL/dh_t of the top layer,
then steps the estimator through the window and sums its per-step gradients
with the readout's exact one. An estimator is an object with two methods::

    step(model, theta, work, x_t, t, held)   advance by step t of the window in ``work``
    add_gradient(grad, dh)                   grad += its estimate of dL_t/dtheta, given dh = dL_t/dh_t (B, H)

where ``held`` (B,) marks the sequences whose state step t copies forward
(past their length); or with one method that does a whole window in a
compiled loop, ``window(model, theta, work, x, held, dh, grad, threads)``,
with x (T, B, n_in), held (T, B), dh (T, B, H) and ``threads`` the chunks
of sequences for Numba's threads (or None), as the forward pass's. An
estimator with a ``feedback`` matrix (n_out, H) gets dh = dL/dy_t @
feedback instead of the exact dL/dy_t @ W_hy^T (random feedback, as in
RFLO).
"""

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .. import _validate as check
from .. import losses
from .._kernels import engine
from .._threads import threads_for
from ..bptt import warn_if_overflowed
from ..inputs import loss_inputs, public_state
from ..model import RNN
from ..stream import Window, _chunks
from ..unroll import multiply_adds, work_arrays


def require_forward_mode(model, method, cells=None, one_layer=False):
    """TypeError for a non-model, ValueError naming the supported cells for a cell ``method`` cannot run on.

    ``cells``: the names ``method`` supports; by default every registered cell with a forward-mode step.
    ``one_layer``: ``method`` runs on one layer only.
    """
    from ..cells import get, registered

    if not isinstance(model, RNN):
        raise TypeError(f"model must be an rnn_numba RNN, got {type(model).__name__}")
    supported = [name for name in registered() if get(name).jvp is not None] if cells is None else list(cells)
    if model.cell.name not in supported or model.cell.jvp is None:
        raise ValueError(f"{method} runs on the cells {supported}; the model's cell is {model.cell.name!r}")
    if one_layer and model.num_layers != 1:
        raise ValueError(f"{method} here runs on one layer; the model has {model.num_layers} (rn.rtrl runs on stacks)")


def random_generator(seed):
    """A stochastic estimator's generator: ``seed`` itself if it is a numpy.random.Generator, else one seeded by it."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _window(model, estimator, x, y, w, lengths, h0, c0, options):
    """Forward over one window with the model's current parameters, the estimator stepped through it.

    ``lengths`` (B,) may hold 0 for sequences that ended before the window:
    their state and J are held, their losses zero.

    Returns
    -------
    loss, grad, h_final (L, B, H), c_final (L, B, H or 0)
    """
    n_steps = np.shape(x)[0]
    ended = None
    if lengths is not None:
        lengths = np.asarray(lengths)
        ended = lengths == 0
        if ended.any():
            w = np.ones(np.shape(x)[:2]) if w is None else np.asarray(w)
            w = np.where(ended[None, :], 0, w)
        lengths = np.maximum(lengths, 1)  # the kernels run at least a step; the ended sequences are restored below
    call = loss_inputs(model, x, y, weights=w, lengths=lengths, h0=h0, c0=c0, **options)
    inputs = call.inputs
    theta, table = inputs.theta, model.layout.table
    objective = losses.objective(call.loss, call.target, call.weights, call.reduction, model.n_out)
    work = work_arrays(model, inputs, n_steps, keep_cache=True, gradient=True, new_states=True)
    settings = engine.Settings(n_steps, True, model.dtype(0), np.zeros(0, model.dtype))
    grad = np.zeros(model.n_params, dtype=model.dtype)
    n_batch = inputs.x.shape[1]
    held = np.arange(n_steps)[:, None] >= inputs.lengths[None, :]  # (T, B): steps past a sequence's length
    if ended is not None:
        held |= ended[None, :]
    feedback = getattr(estimator, "feedback", None)
    compiled = hasattr(estimator, "window")  # a compiled loop over the window's steps, on the same threads
    with threads_for(n_batch, multiply_adds(model, n_steps, n_batch)) as threads:  # the same kernels as BPTT's
        engine.forward(model.cell_settings, theta, table, inputs.x, inputs.lengths, work, settings, threads)
        value = engine.readout_loss(theta, table, objective, work, grad, threads)  # the readout's gradient, dL/dy
        engine.inject(theta, table, work.dy, work.message, threads)  # dL/dh_t of the top layer, every step
        dh = work.message[:n_steps] if feedback is None else work.dy[:n_steps] @ feedback
        if compiled:
            estimator.window(model, theta, work, inputs.x, held, np.ascontiguousarray(dh), grad, threads)
    if not compiled:  # step by step, its NumPy products on BLAS's own threads
        for t in range(n_steps):
            estimator.step(model, theta, work, inputs.x[t], t, held[t])
            estimator.add_gradient(grad, dh[t])
    if model.frozen:
        views = model.layout.views(grad)
        for name in model.frozen:
            views[name][...] = 0
    warn_if_overflowed(model, value, grad)
    h_final, c_final = work.h[:, n_steps].copy(), work.c[:, n_steps].copy()  # padded steps held the states
    if ended is not None and ended.any():
        h_final[:, ended], c_final[:, ended] = inputs.h0[:, ended], inputs.c0[:, ended]
    return float(value), grad, h_final, c_final


def online(
    estimator,
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    *,
    loss: str = "mse",
    weights: ArrayLike | Iterable[ArrayLike] | None = None,
    lengths: ArrayLike | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
    reduction: str = "mean",
) -> Iterator[Window]:
    """Yield an online estimator's gradient every ``k`` steps of a stream.

    Parameters
    ----------
    estimator : callable
        ``estimator(model, n_batch)``: the estimator's state for a batch,
        made at the first chunk (see the module docstring).
    model, stream, targets, k
        As for :func:`rnn_numba.rtrl`.
    loss, reduction : as in :meth:`RNN.backward`
        The reduction applies per window.
    weights : ndarray or iterable of chunks, optional
        Per-step loss weights, chunked like ``stream``.
    lengths : array_like of int, shape (B,), optional
        Valid steps of each sequence, for a stream given as one array: past
        its length a sequence's state (and influence) is held and its
        losses are zero.
    h0, c0 : array_like, shape (B, H) or (L, B, H), optional
        Initial state; zeros by default. Its influence is zero.

    Yields
    ------
    Window
        One per k steps (the last may be shorter), with ``loss_start`` =
        ``start``; ``dh0`` and ``dc0`` are None (RTRL has no backward
        message).


    """
    k = check.positive_int("k", k)
    options = {"loss": loss, "reduction": reduction}
    if lengths is not None and not isinstance(stream, np.ndarray):
        raise ValueError("lengths is for a stream given as one array (T, B, n_in); chunks cannot be padded")
    xs, ys, ws = _chunks(stream), _chunks(targets), _chunks(weights)
    buffered = None  # (x, y, w) steps not yet in a window
    state = None
    h, c = h0, c0
    now = 0
    for x in xs:
        y, w = next(ys, None), next(ws, None)
        if y is None:
            raise ValueError(f"targets ended before the stream, at step {now}; give one target chunk per input chunk")
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"each chunk of the stream must be (T, B, n_in), got shape {x.shape}")
        w = np.ones(x.shape[:2], dtype=model.dtype) if w is None and weights is None else w
        if w is None:
            raise ValueError(f"weights ended before the stream, at step {now}; give one weight chunk per input chunk")
        if buffered is not None:
            x, y, w = (np.concatenate([old, np.asarray(new)]) for old, new in zip(buffered, (x, y, w), strict=True))
        if state is None:
            state = estimator(model, x.shape[1])
        while x.shape[0] >= k:
            window_lengths = None if lengths is None else np.clip(np.asarray(lengths) - now, 0, k)
            yield_ = _window_result(model, state, x[:k], y[:k], w[:k], window_lengths, h, c, options, now, k)
            h, c = yield_.h_final, yield_.c_final
            yield yield_
            now += k
            x, y, w = x[k:], y[k:], w[k:]
        buffered = (x, y, w)
    if state is None:
        raise ValueError("the stream is empty; give at least one chunk of shape (T, B, n_in)")
    if buffered[0].shape[0] > 0:
        n = buffered[0].shape[0]
        window_lengths = None if lengths is None else np.clip(np.asarray(lengths) - now, 0, n)
        yield _window_result(model, state, *buffered, window_lengths, h, c, options, now, n)


def _window_result(model, estimator, x, y, w, lengths, h0, c0, options, start, n_steps):
    value, grad, h_final, c_final = _window(model, estimator, x, y, w, lengths, h0, c0, options)
    c_out = public_state(model, c_final) if model.cell.has_cell_state else None
    return Window(start, start + n_steps, start, value, grad, None, None, public_state(model, h_final), c_out)
