"""Full BPTT within a memory budget: m stored states and the optimal binomial schedule.

Full BPTT keeps every state h_0 .. h_T. With room for only m of them, the
backward pass recomputes the others by running forward again from a stored
one. Griewank & Walther's binomial checkpointing ("revolve", ACM TOMS 26(1),
2000) does this with the fewest forward steps for a given m; Gruslys et al.
(2016, "Memory-efficient backpropagation through time", arXiv:1606.03401)
reach the same counts by dynamic programming.

The unit of the schedule is a *block* of the full-BPTT kernels, the short
one of ``recompute=True`` (:func:`unit_steps`, about 512 rows; one step in
the tests of the counts): a stored state is every layer's (h, c) at a block
boundary, and each block is reversed by the same compiled call as a block of
full BPTT (its taped forward pass, readout, loss and backward pass, the
backward message carried between blocks). So with ``recompute=True`` every
recurrent layer's gradient equals full BPTT's to the last bit; without it
full BPTT runs blocks of 2,048 rows and its gates come from the forward
recursion rather than from the block's GEMMs, and the two agree to rounding.
The readout's gradient and the loss are summed block by block instead of
over all T*B rows at once (see :func:`gradient`).

Cost, counting the initial state among the m stored states: with r the
smallest integer with C(m + r, m) >= n for n units, the schedule takes

    r n - C(m + r, m + 1)   forward units without keeping anything, plus
    n                       taped units (forward, then backward),

(Griewank & Walther 2000, Prop. 1; at n = 1000 steps and m = 5, 20, 50 this is
7.28, 3.75 and 2.95 forward steps per step, Gruslys et al.'s numbers).
"""

from math import comb

import numpy as np

from . import losses
from ._kernels import engine
from ._kernels.losses import Objective
from ._threads import get_num_threads, threads_for
from . import _validate as check
from .bptt import gradient_result, new_gradients
from .inputs import Inputs
from .unroll import block_steps, multiply_adds, work_arrays

#: Actions of a :func:`schedule`.
ADVANCE, STORE, REVERSE, FREE = "advance", "store", "reverse", "free"


def repetitions(n_units, checkpoints):
    """The smallest r with C(m + r, m) >= n: how often the most recomputed unit runs forward (besides its taped run)."""
    r = 0
    while comb(checkpoints + r, checkpoints) < n_units:
        r += 1
    return r


def optimal_forward_steps(n_units, checkpoints):
    """The fewest forward units (untaped and taped) that reverse ``n_units`` with ``checkpoints`` stored states.

    ``r n - C(m + r, m + 1) + n`` (Griewank & Walther 2000): the binomial
    optimum that :func:`schedule` attains. The initial state counts as one
    of the m stored states.
    """
    _check_counts(n_units, checkpoints)
    r = repetitions(n_units, checkpoints)
    return r * n_units - comb(checkpoints + r, checkpoints + 1) + n_units


def _split(n_units, checkpoints):
    """Where to store the next state when reversing ``n_units`` from a stored state with ``checkpoints`` slots.

    An optimal first checkpoint j: the right part (n - j units, one slot
    fewer) must be reversible in r repetitions, n - j <= C(m - 1 + r, m - 1),
    and the left part in r - 1, j >= C(m + r - 2, m); the smallest such j
    is optimal (checked against the dynamic programme in the tests).
    """
    if checkpoints == 1:
        return n_units - 1
    r = repetitions(n_units, checkpoints)
    return max(n_units - comb(checkpoints - 1 + r, checkpoints - 1), comb(checkpoints + r - 2, checkpoints) if r >= 2 else 1)


def schedule(n_units, checkpoints):
    """The optimal binomial schedule that reverses ``n_units`` with ``checkpoints`` stored states.

    Yields
    ------
    tuple
        ``(ADVANCE, a, j)``: run forward from the stored state at a to j,
        keeping nothing; ``(STORE, j)``: store the current state (at j);
        ``(REVERSE, u)``: run unit u forward taped from the state at u
        (the current one, or the stored one) and backward; ``(FREE, a)``:
        drop the stored state at a. At most ``checkpoints`` states are
        stored at once, the initial one (at 0) among them; units are
        reversed from the last to the first.
    """
    _check_counts(n_units, checkpoints)
    pending = [(0, n_units, checkpoints)]  # reverse units [a, b) from the stored state at a, s slots from a on
    while pending:
        a, b, s = pending.pop()
        while b - a > 1:
            j = a + _split(b - a, s)
            yield ADVANCE, a, j
            if b - j == 1:  # the last unit: reversed at once, nothing stored
                yield REVERSE, j
                b = j
            else:
                yield STORE, j
                pending.append((a, j, s))
                a, s = j, s - 1
        yield REVERSE, a
        if a > 0:
            yield FREE, a


def _check_counts(n_units, checkpoints):
    if n_units < 1 or checkpoints < 1:
        raise ValueError(f"need at least one unit and one stored state, got {n_units} and {checkpoints}")


def unit_steps(n_steps, n_batch):
    """Steps per unit of the schedule: full BPTT's block with ``recompute=True`` (about 512 rows, at least 16 steps)."""
    return block_steps(n_steps, n_batch, recompute=True)


def state_bytes(model, n_batch):
    """Bytes of one stored state: every layer's h (and c) for a batch of ``n_batch``."""
    per_layer = model.n_hidden * (2 if model.cell.has_cell_state else 1)
    return model.num_layers * n_batch * per_layer * np.dtype(model.dtype).itemsize


def work_bytes(model, n_batch, block, recompute):
    """Bytes a checkpointed gradient holds besides its stored states.

    One block's work buffers (:func:`rnn_numba.unroll.work_arrays`) and the
    call's temporaries: the gradient, every layer's recurrent weights packed
    for the forward and (transposed) the backward recursion, and the
    per-thread partial sums of the weight-gradient GEMMs.
    """
    cell, n_hidden, n_layers = model.cell, model.n_hidden, model.num_layers
    c_width = n_hidden if cell.has_cell_state else 0
    width = cell.n_gates * n_hidden
    temporaries = (
        model.n_params
        + 2 * n_layers * width * n_hidden
        + get_num_threads() * (max(model.n_in, n_hidden) + n_hidden) * width
    )
    per_step = (
        n_layers * n_batch * (n_hidden + c_width)  # the block's states (one more step)
        + (1 if recompute else n_layers + 1) * n_batch * cell.cache_width * n_hidden  # gate activations
        + 2 * n_batch * cell.n_gates * n_hidden  # projections and deltas
        + n_batch * n_hidden  # messages from above
        + 2 * n_batch * model.n_out  # readouts and dL/dy
    )
    states = n_layers * n_batch * (n_hidden + c_width)
    return (block * per_step + states + temporaries) * np.dtype(model.dtype).itemsize


def checkpoints_for(model, n_steps, n_batch, *, checkpoints=None, memory=None, recompute=False):
    """The stored states of a call, given as ``checkpoints`` or as a byte budget ``memory``: (m, block).

    Raises
    ------
    TypeError, ValueError
        For a bad count or budget, or both given; a budget below one block's
        work buffers plus one state names the smallest budget that works.
    """
    recompute = recompute and model.cell.cache_width > 0
    block = unit_steps(n_steps, n_batch)
    if checkpoints is not None and memory is not None:
        raise ValueError("give checkpoints (stored states) or memory (a byte budget), not both")
    if checkpoints is not None:
        return check.positive_int("checkpoints", checkpoints), block
    budget = parse_bytes(memory)
    work, state = work_bytes(model, n_batch, block, recompute), state_bytes(model, n_batch)
    if budget < work + state:
        raise ValueError(
            f"memory={memory!r} is below the smallest budget that works, {format_bytes(work + state)} ({work + state} "
            f"bytes: one block's work buffers, {block} steps, and one stored state of {state} bytes)"
        )
    return int((budget - work) // state), block


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20,
          "GIB": 2**30, "TIB": 2**40}  # fmt: skip


def parse_bytes(memory):
    """Bytes of a budget: a positive number, or a string such as ``"2 GB"``, ``"512MiB"``."""
    if isinstance(memory, str):
        text = memory.strip().upper()
        number = text.rstrip("KMGTIB ")
        unit = text[len(number) :].strip()
        try:
            value = float(number) * _UNITS[unit]
        except (ValueError, KeyError):
            raise ValueError(f"memory={memory!r}: give bytes as a number or a string such as '2 GB' or '512 MiB'") from None
    elif isinstance(memory, (int, float, np.integer, np.floating)) and not isinstance(memory, bool):
        value = float(memory)
    else:
        raise TypeError(f"memory must be a number of bytes or a string such as '2 GB', got {type(memory).__name__}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"memory must be a positive number of bytes, got {memory!r}")
    return value


def format_bytes(n_bytes):
    """``n_bytes`` in the largest binary unit that keeps a number >= 1 (``"1.5 MiB"``)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{int(n_bytes)} bytes"


def gradient(model, call, checkpoints, *, block=None, grad_norms=False, clip=None, recompute=False,
             message_scale=None):  # fmt: skip
    """Loss and full-BPTT gradient of a validated call with at most ``checkpoints`` stored states.

    Parameters
    ----------
    model : RNN
    call : rnn_numba.inputs.LossInputs
    checkpoints : int
        Stored states m >= 1 (every layer's h and c at a block boundary),
        the initial state among them.
    block : int, optional
        Steps per unit of the schedule (:func:`unit_steps` by default).
    grad_norms, clip, recompute, message_scale
        As in :func:`rnn_numba.bptt.gradient` (full BPTT).

    Returns
    -------
    Gradient
        ``trajectory`` None (the states are not kept); ``forward_steps`` the
        steps of the forward recursion taken, untaped and taped (the gate
        recomputation of ``recompute`` is a third pass of GEMMs, not
        counted), ``block`` times the binomial optimum of
        :func:`optimal_forward_steps` when ``block`` divides T.

    Notes
    -----
    Each unit is reversed by :func:`rnn_numba._kernels.engine.gradient` on
    that unit alone, adding to one gradient vector in the order of full
    BPTT (last block first), from the same states, so where full BPTT runs
    the same blocks (``recompute=True``) every layer's blocks of the
    gradient are full BPTT's to the last bit. The readout's gradient
    (W_hy, b_y) and the loss are sums over all T*B rows in full BPTT and
    sums of per-block sums here: they agree to rounding, a relative
    difference of at most about (T / block) * eps of the sum of the
    absolute terms.
    """
    inputs = call.inputs
    n_steps, n_batch = inputs.x.shape[:2]
    objective = losses.objective(call.loss, call.target, call.weights, call.reduction, model.n_out)
    out = new_gradients(model, n_steps, n_batch, grad_norms)
    scale = np.zeros(0, model.dtype) if message_scale is None else np.ascontiguousarray(message_scale, model.dtype)
    units = Units(model, inputs, objective, block or unit_steps(n_steps, n_batch), recompute)
    value, forward_steps = _reverse_all(units, checkpoints, out, model.dtype(0 if clip is None else clip), scale)
    return gradient_result(model, value, out, forward_steps=forward_steps)


def vjp(model, inputs, dh, dh_final, dc_final, checkpoints, *, block=None):
    """:func:`rnn_numba.bptt.vjp` with at most ``checkpoints`` stored states (see :func:`gradient`).

    ``dh`` (T, B, H): dL/dh_t of the top layer for t = 1..T; ``dh_final``,
    ``dc_final`` (L, B, H) or None: dL/dh_T and dL/dc_T of every layer.
    """
    n_steps, n_batch = inputs.x.shape[:2]
    out = new_gradients(model, n_steps, n_batch, False)
    if dh_final is not None:
        out.dh[...] = dh_final
    if dc_final is not None:
        out.dc[...] = dc_final
    units = Units(model, inputs, losses.no_loss(model.n_out, model.dtype), block or unit_steps(n_steps, n_batch),
                  False, dh_top=dh)  # fmt: skip
    _, forward_steps = _reverse_all(units, checkpoints, out, model.dtype(0), np.zeros(0, model.dtype))
    return gradient_result(model, None, out, forward_steps=forward_steps)


def _reverse_all(units, checkpoints, out, clip, scale):
    """Run the schedule over ``units``, adding to ``out``: (the loss, the forward steps taken)."""
    inputs, model = units.inputs, units.model
    n_steps, n_batch = inputs.x.shape[:2]
    record = out.sq_norms.shape[1] > 0
    stored = {0: (inputs.h0.copy(), inputs.c0.copy())}
    current, position = None, None  # the state at the end of the last advance
    value, forward_steps = 0.0, 0
    with threads_for(n_batch, multiply_adds(model, n_steps, n_batch)) as threads:
        for action in schedule(units.n_units, min(checkpoints, units.n_units)):
            if action[0] == ADVANCE:
                a, j = action[1:]
                current, position = stored[a], a
                for u in range(a, j):
                    current = units.forward(u, current, threads)
                    forward_steps += units.length(u)
                position = j
            elif action[0] == STORE:
                stored[action[1]] = current
            elif action[0] == FREE:
                del stored[action[1]]
            else:
                u = action[1]
                start = current if position == u and u not in stored else stored[u]
                value += units.reverse(u, start, out, clip, scale, record, threads)
                forward_steps += units.length(u)
                position = None
    return value, forward_steps


class Units:
    """The blocks of one call, run forward (keeping nothing) or reversed, one at a time on one block's work buffers."""

    def __init__(self, model, inputs, objective, block, recompute, dh_top=None):
        self.model, self.inputs, self.objective = model, inputs, objective
        self.block, self.recompute = block, recompute and model.cell.cache_width > 0
        self.n_steps, self.n_batch = inputs.x.shape[:2]
        self.n_units = -(-self.n_steps // block)
        # dL/dh of the top layer's states from a loss of the caller's (a vector-Jacobian product), or none
        self.dh_top = np.zeros((0, self.n_batch, model.n_hidden), model.dtype) if dh_top is None else dh_top

    def length(self, u):
        """Steps in unit u."""
        return min(self.block, self.n_steps - u * self.block)

    def _work(self, u, start, keep_cache):
        """Unit u's inputs and work buffers, its initial state ``start`` in place."""
        t0, n = u * self.block, self.length(u)
        inputs = self.inputs
        unit = Inputs(inputs.theta, inputs.x[t0 : t0 + n], start[0], start[1], inputs.lengths - t0)
        work = work_arrays(self.model, unit, n, keep_cache=keep_cache, gradient=True, new_states=False)
        return unit, work, t0, n

    def forward(self, u, start, threads):
        """The state after unit u from the state ``start`` before it, (h, c) in new arrays of shape (L, B, H)."""
        model = self.model
        unit, work, _, n = self._work(u, start, keep_cache=False)
        settings = engine.Settings(n, False, model.dtype(0), np.zeros(0, model.dtype))
        engine.forward(model.cell_settings, unit.theta, model.layout.table, unit.x, unit.lengths, work, settings,
                       threads)  # fmt: skip
        return work.h[:, n].copy(), work.c[:, n].copy()

    def reverse(self, u, start, out, clip, scale, record, threads):
        """Unit u forward (taped) from ``start`` and backward, adding to ``out``; returns the unit's loss.

        ``out.dh``/``out.dc`` carry dL/dh and dL/dc at the unit's end in and at its start out.
        """
        model = self.model
        unit, work, t0, n = self._work(u, start, keep_cache=not self.recompute)
        rows = slice(t0 * self.n_batch, (t0 + n) * self.n_batch)
        objective = self.objective
        objective = Objective(objective.loss, objective.target[rows] if objective.target.shape[0] else objective.target,
                              objective.classes[rows] if objective.classes.shape[0] else objective.classes,
                              objective.weights[rows])  # fmt: skip
        sq_norms = np.zeros((model.num_layers, n + 1 if record else 0, self.n_batch), dtype=model.dtype)
        unit_out = engine.Gradients(out.grad, out.dh, out.dc, sq_norms)
        settings = engine.Settings(n, not self.recompute, clip, scale[t0 : t0 + n] if scale.shape[0] else scale, True)
        dh_top = self.dh_top[t0 : t0 + n] if self.dh_top.shape[0] else self.dh_top
        value = engine.run(engine.gradient, threads)(
            model.cell_settings, unit.theta, model.layout.table, unit.x, unit.lengths, objective, dh_top, work,
            unit_out, settings, threads,
        )  # fmt: skip
        if record:  # the unit's end is the next unit's start: that one recorded it
            first = 0 if t0 == 0 else 1
            out.sq_norms[:, t0 + first : t0 + n + 1] = sq_norms[:, first:]
        return float(value)
