"""Evolution strategies over truncated unrolls: ES and Persistent ES (PES), antithetic, all particles in one batch.

Vicol, Metz & Sohl-Dickstein (2021), Unbiased gradient estimation in
unrolled computation graphs with persistent evolution strategies, ICML,
arXiv:2112.13835. Both estimate the gradient of the loss from the losses of
N perturbed copies of the parameters, theta +- sigma epsilon_i (antithetic
pairs, epsilon_i ~ N(0, I)), with no backward pass:

- **ES** over a truncated unroll of K steps starts every particle from the
  state the unperturbed parameters reached, so a perturbation sees only its
  own K steps: the estimate is biased like truncated BPTT. After the
  unroll, the state moves on with the unperturbed parameters.
- **PES** lets every particle keep its own state from unroll to unroll and
  accumulate its perturbations, xi_i = sum over the unrolls of sigma
  epsilon_i, and weights its loss by xi_i: an unbiased estimate of the
  gradient of the Gaussian-smoothed loss of the whole unroll so far.

Estimate per unroll, with L_i^+ and L_i^- the losses of the pair::

    ES:  g = 1 / (N sigma) sum_i epsilon_i (L_i^+ - L_i^-)
    PES: g = 1 / (N sigma^2) sum_i xi_i (L_i^+ - L_i^-)

The particles run as one batch of N x B sequences with their own parameters:
each step's projections are batched matrix products over the particles, and
the cell's compiled step runs over all rows at once. A cell's own inner
parameters (the GRU's b_hn, added to the recurrent projection before the
reset gate multiplies it) are folded into that projection per particle.
"""

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as check
from ._kernels import engine
from .estimators.online import random_generator
from .inputs import batch_inputs, public_state
from .model import RNN
from .stream import Window, _chunks

#: The cells whose own parameters ES and PES know how to give each particle (the GRU's b_hn: see the module).
CELLS = ("elman", "leaky_elman", "lstm", "gru")


def es(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    *,
    n_particles: int = 100,
    sigma: float = 0.01,
    seed=None,
    loss: str = "mse",
    weights: ArrayLike | Iterable[ArrayLike] | None = None,
    h0: ArrayLike | None = None,
    reduction: str = "sum",
    basis: ArrayLike | None = None,
) -> Iterator[Window]:
    """Yield truncated ES's gradient estimate for every unroll of ``k`` steps of a stream.

    Parameters
    ----------
    model : RNN
        The Elman (leaky or not), LSTM or GRU cell, any number of layers. Its
        ``theta`` may change between unrolls.
    stream, targets, weights, loss
        As for :func:`rnn_numba.tbptt`.
    k : int
        Steps per unroll; an estimate per unroll.
    n_particles : int
        N, even: N / 2 antithetic pairs.
    sigma : float
        The perturbations' standard deviation, > 0.
    seed : int or numpy.random.Generator, optional
    h0 : array_like, optional
        Initial state (zeros by default); an LSTM's cell state starts at zero.
    reduction : {"sum", "mean"}
        Each unroll's loss, summed or averaged over its steps and sequences.
    basis : array_like, shape (P, d), optional
        Orthonormal columns: perturb theta only within their span (e.g. the
        direction of a tied parameter, c / ||c||), with d numbers per
        particle instead of P; the estimate is then the gradient's
        projection on that span. Every parameter by default.

    Yields
    ------
    Window
        ``loss`` the unperturbed parameters' loss of the unroll, ``grad`` the
        estimate, ``h_final`` the unperturbed state after it.
    """
    return _run(model, stream, targets, k, n_particles, sigma, seed, loss, weights, h0, reduction, basis, False)


def pes(
    model: RNN,
    stream: ArrayLike | Iterable[ArrayLike],
    targets: ArrayLike | Iterable[ArrayLike],
    k: int = 1,
    *,
    n_particles: int = 100,
    sigma: float = 0.01,
    seed=None,
    loss: str = "mse",
    weights: ArrayLike | Iterable[ArrayLike] | None = None,
    h0: ArrayLike | None = None,
    reduction: str = "sum",
    basis: ArrayLike | None = None,
) -> Iterator[Window]:
    """Yield Persistent ES's gradient estimate for every unroll of ``k`` steps: unbiased for the whole unroll so far.

    Parameters and yields as for :func:`es`; each particle keeps its own
    state and its accumulated perturbation from unroll to unroll (and
    ``h_final`` is the unperturbed parameters' state, which the particles do
    not share).
    """
    return _run(model, stream, targets, k, n_particles, sigma, seed, loss, weights, h0, reduction, basis, True)


def _run(model, stream, targets, k, n_particles, sigma, seed, loss, weights, h0, reduction, basis, persistent):
    if not isinstance(model, RNN):
        raise TypeError(f"model must be an rnn_numba RNN, got {type(model).__name__}")
    if model.cell.name not in CELLS:
        raise ValueError(f"ES and PES run on the cells {list(CELLS)}, not {model.cell.name!r}")
    k = check.positive_int("k", k)
    n_particles = check.positive_int("n_particles", n_particles)
    if n_particles % 2:
        raise ValueError(f"n_particles must be even (antithetic pairs), got {n_particles}")
    sigma = check.positive_float("sigma", sigma)
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    free = np.ones(model.n_params)  # a frozen block is not perturbed
    for name in model.frozen:
        free[model.layout.slices[name]] = 0
    if basis is None:  # every parameter: the basis is the identity, kept implicit as the mask of free ones
        basis = free
    else:
        basis = np.asarray(basis, dtype=np.float64)
        basis = basis[:, None] if basis.ndim == 1 else basis
        if basis.ndim != 2 or basis.shape[0] != model.n_params or not np.isfinite(basis).all():
            raise ValueError(f"basis must be a finite (P, d) = ({model.n_params}, d) array, got shape {basis.shape}")
        if not np.allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-8):
            raise ValueError("basis must have orthonormal columns (basis.T @ basis = I)")
        basis = basis * free[:, None]
    return _unrolls(model, stream, targets, k, n_particles, sigma, random_generator(seed), loss, weights, h0,
                    reduction, basis, persistent)  # fmt: skip


def _unrolls(model, stream, targets, k, n_particles, sigma, rng, loss, weights, h0, reduction, basis, persistent):
    xs, ys, ws = _chunks(stream), _chunks(targets), _chunks(weights)
    n_pairs = n_particles // 2
    steps = None  # (x, y, w) not yet in an unroll
    mean_state = particle_state = xi = None
    now = 0
    for x in xs:
        y, w = next(ys, None), next(ws, None)
        if y is None:
            raise ValueError(f"targets ended before the stream, at step {now}; give one target chunk per input chunk")
        if steps is None:
            first = batch_inputs(model, x, h0, None)
            x = first.x
            mean_state = _zero_state(model, 1, x.shape[1], first.h0)
            particle_state = _zero_state(model, n_particles, x.shape[1], first.h0)
            xi = np.zeros((n_pairs, basis.shape[-1]))
        else:
            x, _ = check.sequence_batch(x, model.n_in, model.dtype)
        y = check.targets(loss, y, x.shape[0], x.shape[1], model.n_out, model.dtype)
        w = check.loss_weights(w, x.shape[0], x.shape[1], model.dtype)
        steps = (x, y, w) if steps is None or steps[0].shape[0] == 0 else tuple(
            np.concatenate([a, b]) for a, b in zip(steps, (x, y, w), strict=True))  # fmt: skip
        while steps[0].shape[0] >= k:
            chunk = tuple(s[:k] for s in steps)
            mean_state, particle_state, window = _unroll(model, chunk, now, n_pairs, sigma, rng, loss, reduction,
                                                         mean_state, particle_state, xi, basis, persistent)  # fmt: skip
            yield window
            steps = tuple(s[k:] for s in steps)
            now += k
    if steps is None:
        raise ValueError("the stream is empty; give at least one chunk of shape (T, B, n_in)")
    if steps[0].shape[0] > 0:
        yield _unroll(model, steps, now, n_pairs, sigma, rng, loss, reduction, mean_state, particle_state, xi,
                      basis, persistent)[2]  # fmt: skip


def _zero_state(model, n_copies, n_batch, h0):
    """(h, c) of every layer for n_copies x n_batch rows, h from h0 (L, B, H)."""
    h = np.repeat(h0[:, None], n_copies, axis=1).reshape(model.num_layers, n_copies * n_batch, model.n_hidden)
    return h.astype(model.dtype), np.zeros_like(h)


def _unroll(model, steps, start, n_pairs, sigma, rng, loss, reduction, mean_state, particle_state, xi, basis,
            persistent):  # fmt: skip
    """One unroll: the particles' losses and the estimate; returns the new states and the Window."""
    x, y, w = steps
    theta = model.theta.astype(np.float64)
    epsilon = rng.standard_normal((n_pairs, basis.shape[-1]))  # coordinates in the basis
    step = sigma * (epsilon * basis if basis.ndim == 1 else epsilon @ basis.T)
    perturbation = np.concatenate([step, -step])  # (N, P): pairs i and N/2 + i
    thetas = (theta[None] + perturbation).astype(model.dtype)
    if persistent:
        start_state = particle_state
    else:  # every particle from the unperturbed state
        n_particles = 2 * n_pairs
        start_state = tuple(np.tile(s, (1, n_particles, 1)) for s in mean_state)
    losses, end_state = particle_losses(model, thetas, x, y, w, start_state, loss, reduction)
    difference = losses[:n_pairs] - losses[n_pairs:]
    if persistent:
        xi += sigma * epsilon
        weighted = xi.T @ difference / sigma**2
    else:
        weighted = epsilon.T @ difference / sigma
    grad = (weighted * basis if basis.ndim == 1 else basis @ weighted) / (2 * n_pairs)
    mean_loss, mean_end = particle_losses(model, model.theta[None], x, y, w, mean_state, loss, reduction)
    h_final = public_state(model, mean_end[0])
    c_final = public_state(model, mean_end[1]) if model.cell.has_cell_state else None
    grad = grad.astype(model.dtype)  # zero on frozen blocks: the basis has no component there
    window = Window(start, start + x.shape[0], start, float(mean_loss[0]), grad, None, None, h_final, c_final)
    return mean_end, (end_state if persistent else particle_state), window


def particle_losses(model, thetas, x, y, w, state, loss, reduction):
    """The loss of every particle's parameters over one unroll, all particles as one batch.

    Parameters
    ----------
    model : RNN
    thetas : ndarray, shape (N, P)
        Each particle's parameters, in the layout of ``model.theta``.
    x : ndarray, shape (K, B, n_in)
    y, w : ndarray
        Targets and loss weights of the K steps (validated).
    state : tuple of ndarray, shape (L, N * B, H)
        h and c of every layer at the unroll's start, particle by particle.
    loss, reduction : str

    Returns
    -------
    losses : ndarray, shape (N,)
    state : tuple of ndarray, shape (L, N * B, H)
        At the unroll's end.
    """
    n_particles, (n_steps, n_batch, _) = thetas.shape[0], x.shape
    table, cell = model.layout.table, model.cell_settings
    n_hidden, width, rows = model.n_hidden, model.cell.n_gates * model.n_hidden, n_particles * n_batch
    dtype = model.dtype
    h, c = (s.copy() for s in state)
    views = [
        (_blocks(thetas, table, k, engine.W_XH), _blocks(thetas, table, k, engine.W_HH),
         _blocks(thetas, table, k, engine.B_H), _blocks(thetas, table, k, engine.INNER))
        for k in range(model.num_layers)
    ]  # fmt: skip
    w_hy = thetas[:, model.layout.slices["W_hy"]].reshape(n_particles, n_hidden, model.n_out)
    b_y = thetas[:, model.layout.slices["b_y"]]
    no_inner = np.zeros(0, dtype)
    cache = np.zeros((rows, model.cell.cache_width * n_hidden), dtype)
    h_next, c_next = np.empty((rows, n_hidden), dtype), np.empty((rows, c.shape[2]), dtype)
    total = np.zeros(n_particles)
    for t in range(n_steps):
        layer_input = np.broadcast_to(x[t], (n_particles, n_batch, x.shape[2]))
        for k, (w_xh, w_hh, b_h, inner) in enumerate(views):
            a = np.matmul(layer_input, w_xh.reshape(n_particles, -1, width))
            if b_h is not None:
                a += b_h[:, None, :]
            r = np.matmul(h[k].reshape(n_particles, n_batch, n_hidden), w_hh.reshape(n_particles, n_hidden, width))
            if inner is not None:  # the GRU's b_hn: added to the recurrent projection's n block
                r[:, :, 2 * n_hidden :] += inner[:, None, :]
            a, r = (np.ascontiguousarray(v.reshape(rows, width), dtype) for v in (a, r))
            model.cell.forward(cell, 0, rows, a, r, no_inner, (h[k], c[k]), (h_next, c_next), cache)
            h[k], c[k] = h_next, c_next  # copied in: the buffers serve the next layer and step
            layer_input = h[k].reshape(n_particles, n_batch, n_hidden)
        out = np.matmul(layer_input, w_hy) + b_y[:, None, :]  # (N, B, n_out)
        total += (_loss_terms(loss, out, y[t]) * w[t][None]).sum(axis=1)
    if reduction == "mean":
        total /= max(float(w.sum()), 1e-300)
    return total, (h, c)


def _blocks(thetas, table, layer, role):
    """The (N, rows * cols) block ``role`` of a layer for every particle, or None if absent."""
    start, n_rows, n_cols = (int(v) for v in table[layer, role])
    if n_rows * n_cols == 0:
        return None
    return thetas[:, start : start + n_rows * n_cols]


def _loss_terms(loss, out, target):
    """Per (particle, sequence) loss of one step: MSE (the mean over outputs) or cross-entropy, (N, B)."""
    if loss == "mse":
        return np.mean((out - target[None]) ** 2, axis=-1)
    shifted = out - out.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, target[None, :, None].astype(np.int64), axis=-1)[..., 0]
