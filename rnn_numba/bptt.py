"""Backpropagation through time by any schedule: the gradient of a validated call.

Full BPTT is one compiled call (:func:`rnn_numba._kernels.engine.gradient`):
forward pass, readout, loss and the backward pass block by block, whatever
the cell, layers, blocks and threads. A truncated schedule (see
:mod:`rnn_numba.schedules`) runs the same compiled forward pass, readout
and loss, then carries the backward message of each of its segments over
all T steps at once with the same compiled recursion, summing the deltas
dL/da_t of all segments per step; the weight gradients are then GEMMs over
all T*B rows.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from . import losses
from ._kernels import engine
from ._kernels.gemm import matmul
from ._kernels.recurrence import Boundary, Deltas, LayerBlock, backward_recursion
from ._threads import threads_for
from .inputs import public_state
from .schedules import is_full
from .unroll import Trajectory, block_steps, multiply_adds, trajectory, work_arrays


@dataclass
class Gradient:
    """The result of :meth:`rnn_numba.RNN.backward` and :meth:`rnn_numba.RNN.vjp`.

    States are shaped (B, H) for a one-layer model and (L, B, H) for L layers.

    Attributes
    ----------
    loss : float or None
        The loss (None for :meth:`~rnn_numba.RNN.vjp`, whose loss is the caller's).
    grad : ndarray, shape (n_params,)
        dL/dtheta in the layout of ``model.theta``; zero on frozen blocks.
    dh0 : ndarray
        dL/dh_0 under the same schedule (for chaining segments).
    dc0 : ndarray or None
        dL/dc_0 for cells with a cell state (LSTM).
    trajectory : Trajectory or None
        The forward pass: ``trajectory.layers[k].h`` and ``.c`` for every
        layer (None from :meth:`~rnn_numba.RNN.loss_and_grad`, which keeps
        the states on work buffers).
    dh_norms : ndarray, shape (T + 1, B) or (L, T + 1, B), or None
        ||dL/dh_t|| for t = 0..T, if requested (full BPTT only).
    forward_steps : int or None
        With ``checkpoints`` or ``memory``: the steps of the forward
        recursion the gradient took, recomputations included
        (:mod:`rnn_numba.checkpointing`); else None.
    """

    loss: float
    grad: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray
    trajectory: Trajectory
    dh_norms: np.ndarray = None
    forward_steps: int = None

    @property
    def h(self):
        """ndarray, shape (T + 1, B, H): the top layer's states h_0 .. h_T."""
        return self._forward_pass().h

    @property
    def y(self):
        """ndarray, shape (T, B, n_out): the readouts."""
        return self._forward_pass().y

    @property
    def h_final(self):
        """Each sequence's last valid state, to continue the sequence from."""
        return self._forward_pass().h_final

    @property
    def c_final(self):
        """The last valid cell state (LSTM), or None."""
        return self._forward_pass().c_final

    def _forward_pass(self):
        if self.trajectory is None:
            raise ValueError(
                "this gradient kept no states (checkpoints/memory store only a few); run net.forward for them"
            )
        return self.trajectory


def gradient(model, call, segments, *, grad_norms=False, clip=None, recompute=False, keep_trajectory=True,
             message_scale=None):  # fmt: skip
    """Loss and gradient of a validated call by the given schedule.

    Parameters
    ----------
    model : RNN
    call : rnn_numba.inputs.LossInputs
    segments : ndarray of int64, shape (S, 3)
        The schedule (:mod:`rnn_numba.schedules`).
    grad_norms : bool
        Also return ||dL/dh_t|| (full BPTT only).
    clip : float, optional
        Clip the backward message at every step (see :meth:`rnn_numba.RNN.backward`).
    recompute : bool
        Full BPTT keeps no gate activations and recomputes them block by block.
    keep_trajectory : bool
        Return the forward pass in new arrays; else the states stay on this
        thread's work buffers and ``trajectory`` is None.
    message_scale : ndarray, shape (T,), optional
        Full BPTT only: the backward message is multiplied by
        ``message_scale[t]`` as it passes from step t back to step t - 1
        (ARTBP's compensation, :func:`rnn_numba.artbp`).

    Returns
    -------
    Gradient
    """
    inputs = call.inputs
    n_steps, n_batch = inputs.x.shape[:2]
    objective = losses.objective(call.loss, call.target, call.weights, call.reduction, model.n_out)
    full = is_full(segments, n_steps)
    recompute = full and recompute and model.cell.cache_width > 0
    block = block_steps(n_steps, n_batch, recompute) if full else n_steps
    work = work_arrays(model, inputs, block, keep_cache=not recompute, gradient=True, new_states=keep_trajectory)
    out = new_gradients(model, n_steps, n_batch, grad_norms and full)
    scale = np.zeros(0, model.dtype) if message_scale is None else np.ascontiguousarray(message_scale, model.dtype)
    if scale.size and not full:
        raise ValueError("message_scale is for full BPTT")  # an internal call's mistake, not a user's
    settings = engine.Settings(block, not recompute, model.dtype(0 if clip is None else clip), scale)
    with threads_for(n_batch, multiply_adds(model, n_steps, n_batch)) as threads:
        if full:
            value = engine.run(engine.gradient, threads)(
                model.cell_settings, inputs.theta, model.layout.table, inputs.x, inputs.lengths, objective,
                np.zeros((0, n_batch, model.n_hidden), dtype=model.dtype), work, out, settings, threads,
            )  # fmt: skip
        else:
            engine.forward(model.cell_settings, inputs.theta, model.layout.table, inputs.x, inputs.lengths, work,
                           settings, threads)  # fmt: skip
            value = engine.readout_loss(inputs.theta, model.layout.table, objective, work, out.grad, threads)
            engine.inject(inputs.theta, model.layout.table, work.dy, work.message, threads)  # one block: all T steps
            _backward_segments(model, inputs, work, work.message, segments, out, settings.clip, threads)
    forward_pass = trajectory(model, work, inputs.lengths) if keep_trajectory else None
    return gradient_result(model, float(value), out, forward_pass)


def vjp(model, inputs, dh, dh_final=None, dc_final=None):
    """Full-BPTT vector-Jacobian product of the unrolled network for dL/dh of the top layer's states.

    Parameters
    ----------
    model : RNN
    inputs : rnn_numba.inputs.Inputs
    dh : ndarray, shape (T, B, H)
    dh_final, dc_final : ndarray, shape (L, B, H), optional
        dL/dh_T and dL/dc_T of every layer from outside.

    Returns
    -------
    Gradient
        ``loss`` None; the readout blocks' gradient is zero.
    """
    n_steps, n_batch = inputs.x.shape[:2]
    block = block_steps(n_steps, n_batch)
    work = work_arrays(model, inputs, block, keep_cache=True, gradient=True, new_states=True)
    out = new_gradients(model, n_steps, n_batch, False)
    if dh_final is not None:
        out.dh[...] = dh_final
    if dc_final is not None:
        out.dc[...] = dc_final
    settings = engine.Settings(block, True, model.dtype(0), np.zeros(0, model.dtype))
    with threads_for(n_batch, multiply_adds(model, n_steps, n_batch)) as threads:
        engine.run(engine.gradient, threads)(
            model.cell_settings, inputs.theta, model.layout.table, inputs.x, inputs.lengths,
            losses.no_loss(model.n_out, model.dtype), dh, work, out, settings, threads,
        )  # fmt: skip
    return gradient_result(model, None, out, trajectory(model, work, inputs.lengths))


def new_gradients(model, n_steps, n_batch, record_norms):
    """Zeroed :class:`~rnn_numba._kernels.engine.Gradients` of a pass."""
    n_layers, n_hidden, dtype = model.num_layers, model.n_hidden, model.dtype
    c_width = n_hidden if model.cell.has_cell_state else 0
    return engine.Gradients(
        grad=np.zeros(model.n_params, dtype=dtype),
        dh=np.zeros((n_layers, n_batch, n_hidden), dtype=dtype),
        dc=np.zeros((n_layers, n_batch, c_width), dtype=dtype),
        sq_norms=np.zeros((n_layers, n_steps + 1 if record_norms else 0, n_batch), dtype=dtype),
    )


def gradient_result(model, value, out, forward_pass=None, forward_steps=None):
    """The :class:`Gradient` of a pass, with the frozen blocks' gradient zeroed.

    ``forward_pass``: the :class:`~rnn_numba.unroll.Trajectory` to return, or
    None; ``forward_steps``: a checkpointed pass's count, or None.
    """
    if model.frozen:
        views = model.layout.views(out.grad)
        for name in model.frozen:
            views[name][...] = 0
    norms = np.sqrt(out.sq_norms) if out.sq_norms.shape[1] else None
    warn_if_overflowed(model, value, out.grad)
    return Gradient(
        loss=value,
        grad=out.grad,
        dh0=public_state(model, out.dh),
        dc0=public_state(model, out.dc),
        trajectory=forward_pass,
        dh_norms=public_state(model, norms),
        forward_steps=forward_steps,
    )


def warn_if_overflowed(model, loss, grad=None):
    """A RuntimeWarning when a loss or gradient of finite inputs and parameters is not finite: an overflow."""
    if loss is not None and not np.isfinite(loss):
        where = f"the forward pass (the loss is {loss})"
    elif grad is not None and not np.isfinite(grad.sum()):
        where = "the backward pass (the gradient holds NaN or Inf)"
    else:
        return
    largest = np.finfo(model.dtype).max
    warnings.warn(
        f"{where} overflowed in {np.dtype(model.dtype).name}, whose largest number is {largest:.3g}, with finite "
        "inputs and parameters: use float64, or smaller weights, inputs or targets",
        RuntimeWarning,
        stacklevel=4,
    )


def _segments_overlap(segments):
    """Whether two segments share a step (then each needs its own pass through the layers)."""
    order = np.argsort(segments[:, 0])
    return bool(np.any(segments[order[1:], 0] < segments[order[:-1], 1]))


def _backward_segments(model, inputs, work, dh_top, segments, out, clip, threads):
    """Any schedule over all T steps at once (the forward pass in ``work``, its caches kept).

    Layers are backpropagated top to bottom; a layer's dL/da_t @ W_xh.T is
    the loss gradient injected into the layer below. With several layers and
    overlapping segments (TBPTT with k1 < k2, fixed horizon K > 1), each
    segment is carried down the stack on its own, because the layer below
    must hold each segment's start state fixed separately.
    """
    cell, dtype, table, theta = model.cell, model.dtype, model.layout.table, inputs.theta
    n_steps, n_batch, _ = inputs.x.shape
    n_layers, width = model.num_layers, cell.n_gates * model.n_hidden
    separate = cell.separate_recurrent_delta
    layers = model.layout.layer_views(theta)
    packed = [engine.pack(np.ascontiguousarray(p["W_hh"].T)) for p in layers]
    inner = [engine.vector(theta, table, k, engine.INNER) for k in range(n_layers)]
    d_a = np.zeros((n_layers, n_steps, n_batch, width), dtype=dtype)
    d_r = np.zeros((n_layers, n_steps if separate else 0, n_batch, width), dtype=dtype)
    no_norms = np.zeros((0, n_batch), dtype=dtype)
    # A segment with no loss gradient to carry adds nothing: skip it. With a
    # sparse loss (one term per sequence) this turns O(T K) steps into O(K).
    loaded = np.concatenate([[0], np.cumsum(np.any(dh_top.reshape(n_steps, -1) != 0, axis=1))])
    segments = segments[loaded[segments[:, 1]] > loaded[segments[:, 2]]]
    if len(segments) == 0:
        groups = []
    elif n_layers == 1 or not _segments_overlap(segments):
        groups = [segments]
    else:
        groups = [segments[i : i + 1] for i in range(len(segments))]
    for group in groups:
        lo, hi = int(group[:, 0].min()), int(group[:, 1].max())
        local = group - lo
        message = dh_top[lo:hi]
        lengths = engine.block_lengths(inputs.lengths, lo, hi - lo)
        for k in reversed(range(n_layers)):
            # The bottom layer accumulates in place; upper layers keep their own deltas to pass down before adding them.
            own = k > 0 and len(groups) > 1
            deltas = Deltas(
                np.zeros((hi - lo, n_batch, width), dtype=dtype) if own else d_a[k, lo:hi],
                (np.zeros((hi - lo, n_batch, width), dtype=dtype) if own else d_r[k, lo:hi]) if separate else d_r[k],
            )
            block = LayerBlock(work.h[k, lo : hi + 1], work.c[k, lo : hi + 1], work.cache[k, lo:hi])
            boundary = Boundary(np.zeros_like(out.dc[k]), np.zeros_like(out.dh[k]), np.zeros_like(out.dc[k]), no_norms)
            backward_recursion(model.cell_settings, local, message, packed[k], inner[k], lengths, block, deltas,
                               boundary, clip, np.zeros(0, dtype), True, threads)  # fmt: skip
            if own:
                d_a[k, lo:hi] += deltas.d_a
                if separate:
                    d_r[k, lo:hi] += deltas.d_r
            if lo == 0:
                out.dh[k] += boundary.dh0
                out.dc[k] += boundary.dc0
            if k > 0:  # the layer below sees this layer's input gradient at every step of the group
                w_xh_t = np.ascontiguousarray(layers[k]["W_xh"].T)
                message = np.empty((hi - lo, n_batch, model.n_hidden), dtype=dtype)
                rows = (hi - lo) * n_batch
                matmul(deltas.d_a.reshape(rows, width), w_xh_t, message.reshape(rows, -1), w_xh_t[0, :0], threads)
                local = local.copy()
                local[:, 2] = local[:, 0]
    for k in range(n_layers):
        inputs_k = inputs.x if k == 0 else work.h[k - 1, 1:]
        block = LayerBlock(work.h[k], work.c[k], work.cache[k])
        deltas = Deltas(d_a[k], d_r[k])
        engine.layer_gradients(model.cell_settings, theta, table, out.grad, k, inputs_k, block, deltas, False, threads)
