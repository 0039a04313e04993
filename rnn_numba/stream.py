"""Online truncated BPTT over a stream: TBPTT(k1, k2) window by window.

Williams & Peng (1990), An efficient gradient-based algorithm for on-line
training of recurrent network trajectories, Neural Computation 2(4),
490-501, doi:10.1162/neco.1990.2.4.490: every k1 steps, the losses of the
last k1 steps are backpropagated k2 >= k1 steps into the past, with the
state k2 steps back held constant.

Each window's gradient is exactly the full-BPTT gradient of the window's
objective, the sum of the losses of its last k1 steps as a function of the
parameters, run forward over its k2 steps from the held state. The window
is therefore rerun with the current parameters, so updates between windows
are honoured; states enter the carried history the first time they are
computed. Memory is O(k2 + chunk) steps, whatever the stream's length.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as check
from .inputs import batch_inputs, public_state
from .model import RNN
from .schedules import check_k1_k2


@dataclass
class Window:
    """One TBPTT window.

    Attributes
    ----------
    start, stop : int
        The window spans stream steps ``start .. stop - 1``; its losses are
        those of steps ``loss_start .. stop - 1``, at most k1 of them.
    loss_start : int
    loss : float
    grad : ndarray, shape (n_params,)
        Gradient of the window's loss at the parameters it ran with.
    dh0, dc0 : ndarray
        Gradient with respect to the held incoming state h_start (and an
        LSTM's c_start; None for other cells).
    h_final, c_final : ndarray
        The carried state at ``stop`` (``c_final`` None without cell state).

    States are shaped (B, H) for one layer and (L, B, H) for L layers.
    """

    start: int
    stop: int
    loss_start: int
    loss: float
    grad: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray
    h_final: np.ndarray
    c_final: np.ndarray


#: What ``next`` gives for an iterable of chunks that ended.
_ENDED = object()


def _chunks(stream):
    """An array is one chunk; anything else is iterated as a sequence of chunks."""
    if stream is None:
        while True:
            yield None
    if isinstance(stream, np.ndarray):
        yield stream
        return
    yield from stream


def tbptt(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k1: int,
    k2: int,
    *,
    loss: str = "mse",
    weights: ArrayLike | Iterable[ArrayLike] | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
    reduction: str = "mean",
    clip_message: float | None = None,
) -> Iterator[Window]:
    """Yield the TBPTT(k1, k2) windows of a stream, for online learning.

    Parameters
    ----------
    model : RNN
        Its ``theta`` may be changed between windows; each window runs with
        the parameters current when it is computed.
    stream : ndarray, shape (T, B, n_in), or iterable of such chunks
        Time-major inputs; chunks may have any length and are never joined
        beyond the last k2 steps.
    targets : ndarray or iterable of chunks
        As for :meth:`RNN.backward`, chunked like ``stream``.
    k1, k2 : int
        1 <= k1 <= k2. k1 = k2 = k is the chunked form; k1 = k2 = T is full BPTT.
    loss, reduction : as in :meth:`RNN.backward`
        The reduction applies per window.
    weights : ndarray or iterable of chunks, optional
        Per-step loss weights, chunked like ``stream``.
    h0, c0 : array_like, shape (B, H) or (L, B, H), optional
        Initial state (and an LSTM's cell state); zeros by default.
    clip_message : float, optional
        Clip the backward message at every step, as in :meth:`RNN.backward`.

    Yields
    ------
    Window
        One per k1 steps; when the stream ends between window ends, a last
        window carries the remaining losses, with k2 - k1 steps of history
        before them like every window (so k1 = k2 = k is the chunked loop).

    Examples
    --------
    >>> for w in rn.tbptt(net, x, y, k1=5, k2=20):   # doctest: +SKIP
    ...     net.theta -= 0.01 * w.grad
    """
    k1, k2 = check_k1_k2(k1, k2)
    options = {"loss": loss, "reduction": reduction}
    if clip_message is not None:
        options["clip_message"] = check.positive_float("clip_message", clip_message)
    xs, ys, ws = _chunks(stream), _chunks(targets), _chunks(weights)
    # History from stream step `buf_start` on; the states (one more row than
    # the inputs) are (L, B, H) per step, stored when first computed.
    buf = None
    buf_start = done = now = 0
    for x in xs:
        y, w = next(ys, _ENDED), next(ws, _ENDED)
        if y is _ENDED:
            raise ValueError(f"targets ended before the stream, at step {now}; give one target chunk per input chunk")
        if w is _ENDED:
            raise ValueError(f"weights ended before the stream, at step {now}; give one weight chunk per input chunk")
        if buf is None:
            first = batch_inputs(model, x, h0, c0)
            x, h_start = first.x, first.h0
            c_start = first.c0 if model.cell.has_cell_state else None
        else:
            x, _ = check.sequence_batch(x, model.n_in, model.dtype)
        n_new, n_batch = x.shape[:2]
        y = check.targets(loss, y, n_new, n_batch, model.n_out, model.dtype)
        w = check.loss_weights(w, n_new, n_batch, model.dtype)
        if buf is None:
            states = [h_start] if c_start is None else [h_start, c_start]
            buf = {"x": x[:0], "y": y[:0], "w": w[:0], "states": [s[None] for s in states]}
        elif n_batch != buf["x"].shape[1]:
            raise ValueError(f"stream chunk at step {now} has batch size {n_batch}, not {buf['x'].shape[1]}")
        for key, new in (("x", x), ("y", y), ("w", w)):
            buf[key] = np.concatenate([buf[key], new])
        buf["states"] = [np.concatenate([s, np.full((n_new,) + s.shape[1:], np.nan, s.dtype)]) for s in buf["states"]]
        now += n_new
        while now - done >= k1:
            yield _window(model, buf, buf_start, done, done + k1, k2 - k1, options)
            done += k1
        # Keep what the next window (or a last, shorter one) reaches back to.
        keep_from = max(0, done - (k2 - k1)) - buf_start
        if keep_from > 0:
            buf = {key: value[keep_from:] for key, value in buf.items() if key != "states"} | {
                "states": [s[keep_from:] for s in buf["states"]]
            }
            buf_start += keep_from
    if buf is None:
        raise ValueError("the stream is empty; give at least one chunk of shape (T, B, n_in)")
    if now > done:
        yield _window(model, buf, buf_start, done, now, k2 - k1, options)


def _window(model, buf, buf_start, loss_start, stop, history, options):
    """Run one window: forward from the held state ``history`` steps before its losses, full BPTT."""
    start = max(0, loss_start - history)
    lo, hi = start - buf_start, stop - buf_start
    weights = buf["w"][lo:hi].copy()
    weights[: loss_start - start] = 0
    held = [public_state(model, s[lo]) for s in buf["states"]]
    c0 = held[1] if len(held) > 1 else None
    result = model.backward(buf["x"][lo:hi], buf["y"][lo:hi], weights=weights, h0=held[0], c0=c0, **options)
    # States first computed in this window join the history.
    traj = result.trajectory
    computed = [np.stack([layer.h for layer in traj.layers], axis=1)]
    if traj.c is not None:
        computed.append(np.stack([layer.c for layer in traj.layers], axis=1))
    for s, new in zip(buf["states"], computed, strict=True):
        s[loss_start - buf_start + 1 : hi + 1] = new[loss_start - start + 1 :]
    return Window(
        start, stop, loss_start, result.loss, result.grad, result.dh0, result.dc0, result.h_final, result.c_final
    )
