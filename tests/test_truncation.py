"""ARTBP (the compensated message against a NumPy reference, exact limits, unbiasedness) and the adaptive horizon."""

import numpy as np
import pytest

import rnn_numba as rn
from rnn_numba import bptt, inputs
from rnn_numba.schedules import full_schedule
from rnn_numba.truncation import adaptive, choose_horizon

from . import naive
from .estimates import largest_deviation

CELLS = ["elman", "lstm", "gru", "leaky_elman"]


def model(cell, num_layers=1, seed=1, n_in=2, n_hidden=4):
    if cell == "leaky_elman":
        return rn.Elman(n_in, n_hidden, 1, alpha=0.4, num_layers=num_layers, seed=seed)
    return rn.RNN(cell, n_in, n_hidden, 1, num_layers=num_layers, seed=seed)


def problem(seed=0, n_steps=9, n_batch=3):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n_steps, n_batch, 2)), rng.normal(size=(n_steps, n_batch, 1))
    return x, y, rng.uniform(size=(n_steps, n_batch))


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])  # the reference's cells
@pytest.mark.parametrize("num_layers", [1, 2])
def test_the_scaled_message_is_the_term_by_term_reference(cell, num_layers):
    x, y, w = problem()
    net = model(cell, num_layers)
    scale = np.random.default_rng(1).uniform(0.5, 2.0, size=x.shape[0])
    call = inputs.loss_inputs(net, x, y, "mse", w, None, None, None, "sum")
    result = bptt.gradient(net, call, full_schedule(x.shape[0]), message_scale=scale)
    _, expected, _, _ = naive.gradient(net, x, y, weights=w, reduction="sum", scale=scale)
    np.testing.assert_allclose(result.grad, expected, rtol=1e-10, atol=1e-12)
    unscaled = net.backward(x, y, weights=w, reduction="sum").grad
    assert np.abs(result.grad - unscaled).max() > 1e-3 * np.abs(unscaled).max()


@pytest.mark.parametrize("cell", CELLS)
def test_one_window_length_is_chunked_tbptt_and_one_longer_than_the_stream_is_full_bptt(cell):
    x, y, w = problem(2)
    net = model(cell, num_layers=2)
    fixed = [0, 0, 1]  # every window 3 steps: no decision is random, every factor 1
    windows = list(rn.artbp(net, x, y, fixed, weights=w, seed=0))
    chunked = list(rn.tbptt(net, x, y, 3, 3, weights=w, reduction="sum"))
    assert [(a.start, a.stop) for a in windows] == [(b.start, b.stop) for b in chunked] == [(0, 3), (3, 6), (6, 9)]
    for a, b in zip(windows, chunked, strict=True):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a.h_final, b.h_final, rtol=1e-13)
    (whole,) = rn.artbp(net, x, y, [0] * 20 + [1], weights=w)
    full = net.backward(x, y, weights=w, reduction="sum")
    np.testing.assert_allclose(whole.grad, full.grad, rtol=1e-12, atol=1e-14)
    assert whole.loss == pytest.approx(full.loss, rel=1e-12)


def long_range_problem():
    """One loss at the last of 12 steps, on an input at the first: credit 11 steps back."""
    rng = np.random.default_rng(3)
    net = rn.Elman(1, 3, 1, seed=4)
    net.params["W_hh"][:] = 0.9 * np.linalg.qr(rng.normal(size=(3, 3)))[0]  # a slowly fading memory
    x = np.zeros((12, 1, 1))
    x[0] = 1.0
    y, w = np.ones((12, 1, 1)), np.zeros((12, 1))
    w[-1] = 1.0
    return net, x, y, w


def artbp_mean(net, x, y, w, n_samples, truncation=0.25):
    grads = np.array([sum(win.grad for win in rn.artbp(net, x, y, truncation, weights=w, seed=seed))
                      for seed in range(n_samples)])  # fmt: skip
    return grads.mean(axis=0), grads.std(axis=0, ddof=1) / np.sqrt(n_samples)


def test_artbp_is_unbiased_where_tbptt_of_its_mean_length_is_not():
    net, x, y, w = long_range_problem()
    full = net.backward(x, y, weights=w, reduction="sum").grad
    mean, se = artbp_mean(net, x, y, w, 3000)
    deviation, random = largest_deviation(mean, se, full, np.abs(full).max())
    assert random.sum() >= 10  # the recurrent parameters' estimates have a spread
    assert deviation < 4, deviation
    # the same test rejects a gradient 10% off, and TBPTT(4, 4) (the mean window) misses the long-range credit
    assert largest_deviation(mean, se, 0.9 * full, np.abs(full).max())[0] > 4
    truncated = sum(win.grad for win in rn.tbptt(net, x, y, 4, 4, weights=w, reduction="sum"))
    assert largest_deviation(mean, se, truncated, np.abs(full).max())[0] > 4
    assert np.abs(truncated - full)[random].max() > 0.3 * np.abs(full)[random].max()


def test_artbp_windows_are_reproducible_and_the_same_whatever_the_chunks():
    x, y, w = problem(4, n_steps=30)
    net = model("gru")
    whole = list(rn.artbp(net, x, y, 0.3, weights=w, seed=7))
    chunks = [0, 7, 8, 20, 30]
    parts = lambda a: [a[i:j] for i, j in zip(chunks, chunks[1:], strict=False)]  # noqa: E731
    chunked = list(rn.artbp(net, parts(x), parts(y), 0.3, weights=parts(w), seed=7))
    assert [(a.start, a.stop) for a in whole] == [(b.start, b.stop) for b in chunked]
    assert len(whole) > 3 and whole[-1].stop == 30
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-14)
    other = list(rn.artbp(net, x, y, 0.3, weights=w, seed=8))
    assert [(a.start, a.stop) for a in other] != [(a.start, a.stop) for a in whole]


@pytest.mark.parametrize(
    ("truncation", "error", "match"),
    [
        (0.0, ValueError, r"in \(0, 1\)"),
        (1.0, ValueError, r"in \(0, 1\)"),
        ("often", TypeError, "a number or an array"),
        ([0, 0, 0], ValueError, "not all zero"),
        ([0.5, -0.1], ValueError, "non-negative"),
        ([[0.5, 0.5]], ValueError, "lengths 1, 2, ..., n"),
        ([0.5, np.nan], ValueError, "non-negative"),
    ],
)
def test_artbp_says_what_is_wrong_with_its_truncation(truncation, error, match):
    x, y, _ = problem()
    with pytest.raises(error, match=match):
        rn.artbp(model("elman"), x, y, truncation)


def test_artbp_sums_its_losses_and_needs_a_stream():
    x, y, _ = problem()
    with pytest.raises(ValueError, match="reduction='sum'"):
        rn.artbp(model("elman"), x, y, reduction="mean")
    with pytest.raises(ValueError, match="stream is empty"):
        next(rn.artbp(model("elman"), [], []))


@pytest.mark.parametrize(("rho", "tolerance", "horizon"), [(0.5, 0.1, 5), (0.7, 0.01, 17), (0.9, 0.1, 30)])
def test_a_linear_network_decays_at_its_spectral_radius_and_k_follows_the_bound(rho, tolerance, horizon):
    # h_t = h_{t-1} W_hh + ...: the message of a loss shrinks by exactly rho a step (W_hh = rho Q, Q orthogonal)
    net = rn.Elman(3, 6, 1, nonlinearity="identity", recurrent_init="orthogonal", spectral_radius=rho, seed=0)
    x, y, _ = problem(5, n_steps=30, n_batch=4)
    x = np.random.default_rng(5).normal(size=(30, 4, 3))
    chosen = choose_horizon(net, x, y, tolerance)
    assert chosen.decay == pytest.approx(rho, rel=1e-9)
    # ceil(log(tolerance (1 - rho)) / log rho), at most T = 30
    assert chosen.horizon == horizon == min(30, int(np.ceil(np.log(tolerance * (1 - rho)) / np.log(rho))))


def copy_problem(rho, seed, n_steps=100, n_hidden=32, n_batch=16, delay=10):
    """The truncation-bias figure's problem: targets are the inputs ``delay`` steps back."""
    net = rn.Elman(4, n_hidden, 1, recurrent_init="orthogonal", spectral_radius=rho, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_steps, n_batch, 4))
    y = np.zeros((n_steps, n_batch, 1))
    y[delay:, :, 0] = x[:-delay, :, 0]
    return net, x, y


@pytest.mark.parametrize("rho", [0.8, 1.0, 1.2])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_adaptive_horizon_keeps_the_measured_bias_under_the_tolerance(rho, seed):
    net, x, y = copy_problem(rho, seed)
    full = net.loss_and_grad(x, y)[1]
    for tolerance in (0.1, 0.01):
        chosen = choose_horizon(net, x, y, tolerance)
        truncated = net.loss_and_grad(x, y, horizon=adaptive(tolerance))[1]
        np.testing.assert_array_equal(truncated, net.loss_and_grad(x, y, horizon=chosen.horizon)[1])
        assert np.linalg.norm(truncated - full) / np.linalg.norm(full) <= tolerance
        if rho < 1:  # a decaying message: less than the whole sequence
            assert chosen.horizon < x.shape[0] and 0 < chosen.decay < 1


def test_horizon_adaptive_and_pickers_in_backward():
    net, x, y = copy_problem(0.8, 2, n_steps=40, n_batch=3)
    picked = choose_horizon(net, x, y).horizon
    np.testing.assert_array_equal(net.backward(x, y, horizon="adaptive").grad, net.backward(x, y, horizon=picked).grad)
    seen = []

    def pick(model, x, target, **options):
        seen.append(options)
        return 3

    np.testing.assert_array_equal(net.backward(x, y, horizon=pick).grad, net.backward(x, y, horizon=3).grad)
    assert set(seen[0]) == {"loss", "lengths", "h0", "c0"}
    # picked at the call's parameters, not the model's
    other = net.theta * 0.5
    at_other = net.copy()
    at_other.theta[:] = other
    expected = at_other.loss_and_grad(x, y, horizon=choose_horizon(at_other, x, y).horizon)[1]
    np.testing.assert_array_equal(net.loss_and_grad(x, y, horizon="adaptive", theta=other)[1], expected)
    lengths = [40, 25, 7]
    chosen = choose_horizon(net, x, y, lengths=lengths)
    assert 1 <= chosen.horizon <= 40 and len(chosen.message_norms) == 40


def test_the_adaptive_horizon_says_what_is_wrong():
    net, x, y = copy_problem(0.8, 0, n_steps=10, n_batch=2)
    for tolerance, error in ((0.0, ValueError), (1.0, ValueError), ("small", TypeError)):
        with pytest.raises(error, match="tolerance"):
            adaptive(tolerance)
    with pytest.raises(ValueError, match="'adaptive' or a function"):
        net.backward(x, y, horizon="adaptve")
    with pytest.raises(ValueError, match="the horizon picked"):
        net.backward(x, y, horizon=lambda *args, **kwargs: 0)
