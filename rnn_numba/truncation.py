"""Truncation's bias removed or bounded: ARTBP (random truncation points, compensated messages), adaptive horizons.

**ARTBP.**
Tallec & Ollivier (2017), Unbiasing truncated backpropagation through time,
arXiv:1705.08209 (Anticipated Reweighted Truncated BPTT). Truncated BPTT
cuts every path of credit longer than its window, so its gradient is biased
towards short-term dependencies. ARTBP cuts the stream at random points
instead: after the a-th step of a window (its *age* a), the window ends with
probability c_a. Within a window the gradient is full BPTT's, except that
the backward message is multiplied by 1 / (1 - c_a) each time it passes back
over the state of age a, where the window could have ended and did not. A
path of credit from a loss back over the states of ages a1..an survives
with probability prod (1 - c_a) and is weighted by prod 1 / (1 - c_a), so
in expectation every path counts once: the sum of the windows' gradients is
an unbiased estimate of the full-BPTT gradient of the stream's summed loss
(at fixed parameters). The price is variance, which grows with the
compensation over long windows.

The truncation probabilities are given as the distribution of the windows'
lengths: a number c in (0, 1) for a constant probability (geometric lengths
of mean 1 / c; the default c = 0.05, mean 20 steps, is ours, not the
paper's), or the probabilities p_1..p_n of lengths 1..n, for which
c_a = p_a / (p_a + ... + p_n). A distribution with a longest length n
cannot carry credit further than n steps and is unbiased only for
dependencies up to that length.

**Adaptive horizon.** Aicher, Foti & Fox (2019), Adaptively truncating
backpropagation through time to control gradient bias, UAI,
arXiv:1905.07473: where the backward message of a loss term decays
geometrically, ||dL_t/dh_{t-k}|| <= C beta^k, the lags a horizon-K gradient
drops add up to at most C beta^K / (1 - beta); with C the scale of the
gradient (their bound, up to its constant), K = ceil(log(delta (1 - beta)) /
log beta) keeps the relative bias under a tolerance delta. beta is measured,
not assumed: one full-BPTT pass of the last step's loss alone records
||dL_T/dh_{T-k}|| for every lag k (the ``grad_norms`` the kernels keep), and
beta is the geometric fit of their decay. The premise can fail (a loss that
depends on one distant input more than on the recent ones); the tests
measure the bias the chosen K leaves on the truncation-bias figure's
problems, whose targets copy the input 10 steps back. :func:`adaptive` makes the function that picks K, which
``horizon="adaptive"`` (tolerance 0.1) or ``horizon=rn.truncation.adaptive(0.01)``
give to :meth:`rnn_numba.RNN.backward`.
"""

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as check
from .bptt import gradient
from .estimators.online import random_generator
from .inputs import batch_inputs, loss_inputs
from .model import RNN
from .schedules import DEFAULT_TOLERANCE, Horizon, adaptive, choose_horizon, full_schedule  # noqa: F401
from .stream import Window, _chunks

#: The default truncation probability per step: window lengths geometric with a mean of 20 steps.
DEFAULT_TRUNCATION = 0.05


def truncation_hazard(truncation):
    """The truncation probability c_a after a window's a-th step (a = 1, 2, ...), as a function of a.

    Parameters
    ----------
    truncation : float or array_like
        c in (0, 1), constant; or the probabilities of window lengths 1..n
        (non-negative, not all zero; normalised here).

    Raises
    ------
    ValueError
        For c outside (0, 1), or probabilities that are negative, not finite,
        all zero or not one-dimensional.
    """
    if np.ndim(truncation) == 0:
        try:
            c = float(truncation)
        except (TypeError, ValueError):
            raise TypeError(f"truncation must be a number or an array of probabilities, got {truncation!r}") from None
        if not 0 < c < 1:
            raise ValueError(f"truncation, the probability of ending a window at each step, must be in (0, 1), got {c}")
        return lambda age: c
    p = np.asarray(truncation, dtype=np.float64)
    if p.ndim != 1 or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
        raise ValueError(
            "truncation as a distribution must be the non-negative probabilities of window lengths 1, 2, ..., n, "
            f"not all zero; got {truncation!r}"
        )
    p = p / p.sum()
    survival = np.cumsum(p[::-1])[::-1]  # S(a) = P(length >= a), a = 1..n
    hazard = np.divide(p, survival, out=np.ones_like(p), where=survival > 0)
    return lambda age: float(hazard[age - 1]) if age <= len(p) else 1.0


def compensation(hazard, n_steps):
    """The message factors of a window of ``n_steps``: 1 / (1 - c_a) over the state of age a, 1 at the start."""
    scale = np.ones(n_steps)
    for age in range(1, n_steps):
        scale[age] = 1.0 / (1.0 - hazard(age))
    return scale


def artbp(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    truncation: float | ArrayLike = DEFAULT_TRUNCATION,
    *,
    seed=None,
    loss: str = "mse",
    weights: ArrayLike | Iterable[ArrayLike] | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
    reduction: str = "sum",
) -> Iterator[Window]:
    """Yield ARTBP's windows of a stream: random truncation points, compensated messages, unbiased gradients.

    Parameters
    ----------
    model : RNN
        Any cell, any number of layers. Its ``theta`` may be changed between
        windows; each window runs with the parameters current when it is
        computed.
    stream : ndarray, shape (T, B, n_in), or iterable of such chunks
    targets : ndarray or iterable of chunks
        As for :func:`rnn_numba.tbptt`. The truncation points are drawn as
        the steps arrive, the same for every sequence of the batch.
    truncation : float or array_like
        The distribution of window lengths: a probability c in (0, 1) of
        ending a window after each step (lengths geometric, mean 1 / c;
        default 0.05), or the probabilities of lengths 1..n (see the module
        docstring).
    seed : int or numpy.random.Generator, optional
        The truncation points' generator: the same seed gives the same windows.
    loss, weights, h0, c0
        As for :func:`rnn_numba.tbptt`.
    reduction : {"sum"}
        The windows' losses are summed: a mean per window would weight each
        step by one over its window's random length, and bias the estimate.

    Yields
    ------
    Window
        One per window, ``loss_start`` = ``start``; ``grad`` the window's
        compensated gradient (its sum over the stream estimates the full-BPTT
        gradient without bias, at fixed parameters); ``dh0`` and ``dc0``
        None (a window's message stops at its start).

    Examples
    --------
    >>> for w in rn.artbp(net, x, y, truncation=0.05, seed=0):   # doctest: +SKIP
    ...     net.theta -= 0.01 * w.grad
    """
    if not isinstance(model, RNN):
        raise TypeError(f"model must be an rnn_numba RNN, got {type(model).__name__}")
    hazard = truncation_hazard(truncation)
    if reduction != "sum":
        raise ValueError(f"ARTBP sums the windows' losses (reduction='sum'); got reduction={reduction!r}")
    return _windows(model, stream, targets, hazard, random_generator(seed), loss, weights, h0, c0)


def _windows(model, stream, targets, hazard, rng, loss, weights, h0, c0):
    """The windows of :func:`artbp`, validated arguments given."""
    xs, ys, ws = _chunks(stream), _chunks(targets), _chunks(weights)
    pending = None  # the current window's steps: x, y, w
    h, c = h0, c0
    start = now = age = 0
    for x in xs:
        y, w = next(ys, None), next(ws, None)
        if y is None:
            raise ValueError(f"targets ended before the stream, at step {now}; give one target chunk per input chunk")
        if w is None and weights is not None:
            raise ValueError(f"weights ended before the stream, at step {now}; give one weight chunk per input chunk")
        if pending is None:
            first = batch_inputs(model, x, h0, c0)
            x = first.x
            pending = (x[:0], None, None)
        else:
            x, _ = check.sequence_batch(x, model.n_in, model.dtype)
            if x.shape[1] != pending[0].shape[1]:
                raise ValueError(f"stream chunk at step {now} has batch size {x.shape[1]}, not {pending[0].shape[1]}")
        n_new, n_batch = x.shape[:2]
        y = check.targets(loss, y, n_new, n_batch, model.n_out, model.dtype)
        w = check.loss_weights(w, n_new, n_batch, model.dtype)
        if pending[1] is None:
            pending = (pending[0], y[:0], w[:0])
        cut = 0
        for i in range(n_new):  # the truncation decisions, one per step as it arrives
            age += 1
            if rng.random() < hazard(age):
                pending = _extend(pending, (x, y, w), cut, i + 1)
                window = _window(model, pending, h, c, start, hazard, loss)
                yield window
                h, c = window.h_final, window.c_final
                start, cut, age = window.stop, i + 1, 0
                pending = tuple(p[:0] for p in pending)
        pending = _extend(pending, (x, y, w), cut, n_new)
        now += n_new
    if pending is None:
        raise ValueError("the stream is empty; give at least one chunk of shape (T, B, n_in)")
    if pending[0].shape[0] > 0:  # the stream's end closes the last window
        yield _window(model, pending, h, c, start, hazard, loss)


def _extend(pending, chunk, lo, hi):
    """The window's steps (x, y, w) with steps lo:hi of a chunk's appended."""
    return tuple(np.concatenate([old, new[lo:hi]]) for old, new in zip(pending, chunk, strict=True))


def _window(model, steps, h0, c0, start, hazard, loss):
    """Full BPTT over one window from the carried state, the message compensated at every step."""
    x, y, w = steps
    n_steps = x.shape[0]
    call = loss_inputs(model, x, y, loss, w, None, h0, c0, "sum")
    result = gradient(model, call, full_schedule(n_steps), message_scale=compensation(hazard, n_steps))
    return Window(start, start + n_steps, start, result.loss, result.grad, None, None, result.h_final, result.c_final)
