"""Finite-difference gradient checks, for full BPTT and every truncation.

A truncated gradient is the exact gradient of a different objective: for
each segment ``(start, stop, inject_from)`` of the schedule (see
:mod:`rnn_numba.bptt`), the losses of steps ``inject_from .. stop - 1`` of a
forward run from the state h_start, which is computed once at the base
parameters and then held fixed. :func:`check_grad` differentiates the sum of
these objectives by central differences, so it checks full BPTT, TBPTT(k1,
k2) and fixed-horizon truncation alike.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from . import losses
from .inputs import Inputs, loss_inputs
from .model import RNN
from .schedules import segments_for
from .unroll import forward

#: How many times the unit round-off of |L| an evaluation of the objective is taken to be off by: sums over T B terms
#: round each term, so the error grows with their number; 10 covers the sums of the problems a check is run on.
ROUND_OFF = 10.0


@dataclass
class GradCheck:
    """The outcome of :func:`check_grad`.

    Attributes
    ----------
    errors : dict of str -> float
        Per checked block, max(||g - g_fd|| - noise, 0) / max(||g||, ||g_fd||,
        floor) over the checked coordinates. ``floor`` is ``floor_ratio``
        times the norm of the whole checked gradient: a block far smaller than
        the rest (say, W_xh for inputs near zero) is judged on that scale.
        ``noise`` bounds the round-off of the finite differences themselves,
        ``ROUND_OFF`` u abs(L) / eps per coordinate (u the unit round-off, L the
        objective): a difference that they cannot resolve is not an error.
    noise : dict of str -> float
        That bound, per block.
    n_checked : dict of str -> int
        Coordinates checked per block.
    tolerance : float
    skipped : list of str
        Frozen blocks, whose gradient is zero by design.
    """

    errors: dict
    n_checked: dict
    tolerance: float
    skipped: list = field(default_factory=list)
    noise: dict = field(default_factory=dict)

    @property
    def max_error(self):
        """float: the largest block error."""
        return max(self.errors.values())

    @property
    def passed(self):
        """bool: every block's error is within ``tolerance``."""
        return self.max_error <= self.tolerance

    def __str__(self):
        rows = [
            f"  {name:6s} rel. error {err:.2e} over {self.n_checked[name]} coords" for name, err in self.errors.items()
        ]
        verdict = "passed" if self.passed else "FAILED"
        return f"gradient check {verdict} (tolerance {self.tolerance:.0e}):\n" + "\n".join(rows)


def central_differences(fun: Callable, theta: np.ndarray, coords: np.ndarray, eps: float) -> np.ndarray:
    """Fourth-order central differences of ``fun`` along the coordinates ``coords``.

    f'(x) ~ [8 (f(x + e) - f(x - e)) - (f(x + 2e) - f(x - 2e))] / (12 e), with
    truncation error O(e^4), so a larger step (less round-off) can be used
    than with the two-point formula.

    Parameters
    ----------
    fun : callable, ndarray (n,) -> float
    theta : ndarray, shape (n,), float64
    coords : ndarray of int, shape (m,)
    eps : float

    Returns
    -------
    ndarray, shape (m,)
    """
    out = np.empty(len(coords))
    probe = theta.copy()

    def at(i, step):
        probe[i] = theta[i] + step
        value = fun(probe)
        probe[i] = theta[i]
        return value

    for k, i in enumerate(coords):
        near = at(i, eps) - at(i, -eps)
        far = at(i, 2 * eps) - at(i, -2 * eps)
        out[k] = (8 * near - far) / (12 * eps)
    return out


def check_grad(
    model: RNN,
    x: ArrayLike,
    target: ArrayLike,
    *,
    loss: str = "mse",
    weights: ArrayLike | None = None,
    lengths: ArrayLike | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
    reduction: str = "mean",
    horizon: int | None = None,
    tbptt: tuple[int, int] | None = None,
    recompute: bool = False,
    checkpoints: int | None = None,
    memory: int | float | str | None = None,
    eps: float = 1e-4,
    max_coords: int | None = None,
    seed: int = 0,
    tolerance: float = 1e-6,
    floor_ratio: float = 1e-3,
) -> GradCheck:
    """Compare the model's gradient with central finite differences, per block.

    The check runs in float64 (a float32 model is converted). Arguments
    ``x`` .. ``memory`` are those of :meth:`RNN.backward`; with ``horizon``
    or ``tbptt`` the truncated gradient is compared with finite differences
    of the truncated objective (module docstring).

    Parameters
    ----------
    eps : float
        Step of the (fourth-order) central differences.
    max_coords : int, optional
        Check at most this many coordinates per block, drawn at random with
        ``seed``; all coordinates by default.
    tolerance : float
        ``passed`` when every block's relative error is at most this.
    floor_ratio : float
        Smallest denominator of a block's relative error, as a fraction of the
        norm of the whole checked gradient.

    Returns
    -------
    GradCheck

    Examples
    --------
    >>> report = rn.check_grad(net, x, y)   # doctest: +SKIP
    >>> assert report.passed, report
    """
    model = model.astype(np.float64)
    result = model.backward(
        x, target, loss=loss, weights=weights, lengths=lengths, h0=h0, c0=c0,
        reduction=reduction, horizon=horizon, tbptt=tbptt, recompute=recompute, checkpoints=checkpoints,
        memory=memory,
    )  # fmt: skip
    # The validated arrays, and the weights with the reduction folded in.
    call = loss_inputs(model, x, target, loss, weights, lengths, h0, c0, reduction)
    theta0, xv, lengths, tv, wv = call.inputs.theta, call.inputs.x, call.inputs.lengths, call.target, call.weights
    total = wv.sum()
    if reduction == "mean":
        wv = wv / total if total > 0 else wv * 0
    segments = segments_for(xv.shape[0], horizon, tbptt)
    # the forward pass at theta0: each segment's incoming state, held fixed (a checkpointed gradient keeps none)
    held = result.trajectory if result.trajectory is not None else forward(model, call.inputs)
    no_c = call.inputs.c0

    def objective(theta):
        value = 0.0
        for start, stop, inject_from in segments:
            seg_weights = wv[start:stop].copy()
            seg_weights[: inject_from - start] = 0
            seg_lengths = np.clip(lengths - start, 0, stop - start)
            h_start, c_start = held.state_at(start)
            segment = Inputs(theta, xv[start:stop], h_start, no_c if c_start is None else c_start, seg_lengths)
            traj = forward(model, segment)
            value += losses.loss_and_dy(loss, traj.y, tv[start:stop], seg_weights, "sum")[0]
        return value

    rng = np.random.default_rng(seed)
    checked, skipped = {}, []
    for name in model.layout.names:
        if name in model.frozen:
            skipped.append(name)
            continue
        sl = model.layout.slices[name]
        coords = np.arange(sl.start, sl.stop)
        if max_coords is not None and len(coords) > max_coords:
            coords = np.sort(rng.choice(coords, size=max_coords, replace=False))
        checked[name] = (result.grad[coords], central_differences(objective, theta0, coords, eps))
    floor = floor_ratio * np.linalg.norm(np.concatenate([fd for _, fd in checked.values()])) + 1e-300
    # Round-off of the finite differences: each evaluation of the objective is off by about u |L| (times a few),
    # and the formula's weights (8, 8, 1, 1) / (12 eps) turn that into 1.5 times as much over eps per coordinate.
    per_coordinate = ROUND_OFF * 1.5 * np.finfo(np.float64).eps * abs(objective(theta0)) / eps
    noise = {name: float(per_coordinate * np.sqrt(len(g))) for name, (g, _) in checked.items()}
    errors = {
        name: float(max(np.linalg.norm(g - fd) - noise[name], 0.0) / max(np.linalg.norm(g), np.linalg.norm(fd), floor))
        for name, (g, fd) in checked.items()
    }
    counts = {name: len(g) for name, (g, _) in checked.items()}
    return GradCheck(errors=errors, n_checked=counts, tolerance=tolerance, skipped=skipped, noise=noise)
