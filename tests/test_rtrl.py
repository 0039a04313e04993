"""RTRL: at fixed parameters its per-window gradients sum to the full-BPTT gradient, for every cell and option."""

import numpy as np
import pytest

import rnn_numba as rn

from .test_cells import TOY


def problem(cell, num_layers=1, n_steps=7, n_batch=3, seed=0, nonlinearity=None, loss="mse"):
    rng = np.random.default_rng(seed)
    net = rn.RNN(cell, 3, 5, 4, num_layers=num_layers, nonlinearity=nonlinearity, seed=seed + 1)
    x = rng.normal(size=(n_steps, n_batch, 3))
    if loss == "mse":
        y = rng.normal(size=(n_steps, n_batch, 4))
    else:
        y = rng.integers(0, 4, size=(n_steps, n_batch))
    weights = rng.uniform(size=(n_steps, n_batch))
    return net, x, y, weights


def relative_error(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_rtrl_summed_over_a_sequence_is_full_bptt(cell, num_layers, k):
    net, x, y, weights = problem(cell, num_layers)
    lengths = np.array([7, 4, 6])
    full = net.backward(x, y, weights=weights, lengths=lengths, reduction="sum")
    windows = list(rn.rtrl(net, x, y, k, weights=weights, lengths=lengths, reduction="sum"))
    assert [(w.start, w.stop) for w in windows] == [(t, min(t + k, 7)) for t in range(0, 7, k)]
    assert relative_error(sum(w.grad for w in windows), full.grad) < 1e-10
    assert sum(w.loss for w in windows) == pytest.approx(full.loss, rel=1e-12)
    h_final = windows[-1].h_final
    np.testing.assert_allclose(h_final, full.h_final, rtol=0, atol=1e-14)


@pytest.mark.parametrize("nonlinearity", ["relu", "sigmoid", "identity"])
def test_rtrl_is_full_bptt_for_every_elman_nonlinearity(nonlinearity):
    net, x, y, weights = problem("elman", nonlinearity=nonlinearity)
    full = net.backward(x, y, weights=weights, reduction="sum")
    g = sum(w.grad for w in rn.rtrl(net, x, y, 2, weights=weights, reduction="sum"))
    assert relative_error(g, full.grad) < 1e-10


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rtrl_is_full_bptt_with_cross_entropy_chunks_and_an_initial_state(cell):
    net, x, y, weights = problem(cell, num_layers=2, n_steps=9, loss="cross_entropy")
    rng = np.random.default_rng(5)
    h0 = rng.normal(size=(2, 3, 5))
    c0 = rng.normal(size=(2, 3, 5)) if cell == "lstm" else None
    full = net.backward(x, y, loss="cross_entropy", weights=weights, h0=h0, c0=c0, reduction="sum")
    chunks = [slice(0, 2), slice(2, 7), slice(7, 9)]  # windows of 4 cross the chunks' boundaries
    windows = list(
        rn.rtrl(net, [x[s] for s in chunks], [y[s] for s in chunks], 4, loss="cross_entropy",
                weights=[weights[s] for s in chunks], h0=h0, c0=c0, reduction="sum")
    )  # fmt: skip
    assert [(w.start, w.stop) for w in windows] == [(0, 4), (4, 8), (8, 9)]
    assert relative_error(sum(w.grad for w in windows), full.grad) < 1e-10


def test_rtrl_first_window_is_the_first_tbptt_window_and_frozen_blocks_get_no_gradient():
    net, x, y, weights = problem("gru")
    net.freeze("W_hy")
    first_rtrl = next(rn.rtrl(net, x, y, 3, weights=weights))
    first_tbptt = next(rn.tbptt(net, x, y, 3, 3, weights=weights))  # the same objective: no history yet
    assert relative_error(first_rtrl.grad, first_tbptt.grad) < 1e-10
    assert not net.layout.views(first_rtrl.grad)["W_hy"].any()


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_every_rtrl_window_is_the_tbptt_window_that_reaches_back_to_the_start(cell, num_layers):
    # TBPTT(k, k2 >= T + k): each window's losses backpropagated through all of the history, as RTRL carries it
    net, x, y, weights = problem(cell, num_layers, n_steps=8)
    windows = list(rn.rtrl(net, x, y, 3, weights=weights))
    truncated = list(rn.tbptt(net, x, y, 3, 8 + 3, weights=weights))
    assert [(w.start, w.stop) for w in windows] == [(w.loss_start, w.stop) for w in truncated]
    for online, backward in zip(windows, truncated, strict=True):
        assert relative_error(online.grad, backward.grad) < 1e-10
        assert online.loss == pytest.approx(backward.loss, rel=1e-12)
    # and a shorter reach is what RTRL is not: TBPTT(3, 3) drops the history of the later windows
    chunked = list(rn.tbptt(net, x, y, 3, 3, weights=weights))
    assert relative_error(windows[-1].grad, chunked[-1].grad) > 1e-4


def test_rtrl_honours_parameter_changes_between_windows():
    net, x, y, weights = problem("elman")
    before = net.theta.copy()
    grads = []
    for window in rn.rtrl(net, x, y, 2, weights=weights):
        grads.append(window.grad)
        net.theta -= 0.1 * window.grad
    assert not np.array_equal(net.theta, before)
    # the first window saw the initial parameters; the second the updated ones
    frozen_net = net.copy()
    frozen_net.theta[:] = before
    fixed = list(rn.rtrl(frozen_net, x, y, 2, weights=weights))
    np.testing.assert_array_equal(grads[0], fixed[0].grad)
    assert not np.allclose(grads[1], fixed[1].grad)


def test_rtrl_says_which_cells_it_supports_and_what_is_too_large():
    net = rn.RNN(TOY, 2, 3, 1, seed=0)
    supported = r"\['elman', 'lstm', 'gru', 'leaky_elman'\]"
    with pytest.raises(ValueError, match=rf"RTRL runs on the cells {supported}; the model's cell is 'toy_mgu'"):
        next(rn.rtrl(net, np.zeros((2, 1, 2)), np.zeros((2, 1, 1))))
    big = rn.Elman(512, 512, 1, seed=0)
    with pytest.raises(ValueError, match=r"needs \d+\.\d GB"):
        next(rn.rtrl(big, np.zeros((1, 64, 512)), np.zeros((1, 64, 1))))
    small = rn.Elman(2, 3, 1, seed=0)
    with pytest.raises(ValueError, match="k must be"):
        next(rn.rtrl(small, np.zeros((2, 1, 2)), np.zeros((2, 1, 1)), 0))
    with pytest.raises(ValueError, match="lengths"):
        next(rn.rtrl(small, [np.zeros((2, 1, 2))], [np.zeros((2, 1, 1))], lengths=[2]))
