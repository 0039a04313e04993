"""SnAp-1: RTRL where its sparsity is exact, and RTRL masked to the immediate-influence pattern otherwise."""

import importlib

import numpy as np
import pytest

import rnn_numba as rn

online = importlib.import_module("rnn_numba.estimators.online")
rtrl_module = importlib.import_module("rnn_numba.estimators.rtrl")

CELLS = ["elman", "lstm", "gru", "leaky_elman"]


def model(cell, seed=1, **options):
    if cell == "leaky_elman":
        return rn.Elman(2, 4, 1, alpha=0.4, seed=seed, **options)
    return rn.RNN(cell, 2, 4, 1, seed=seed, **options)


def diagonal_recurrence(net):
    """Every gate's recurrent weights diagonal: no unit reaches another in a step.

    For the LSTM, also none into the gates that write c: an output gate's
    parameter reaches h_t in a step, and c_{t+1} (outside SnAp-1's pattern)
    through h_t and those gates' diagonal weights.
    """
    w_hh = net.params["W_hh"]
    n_hidden = w_hh.shape[0]
    for g in range(w_hh.shape[1] // n_hidden):
        block = w_hh[:, g * n_hidden : (g + 1) * n_hidden]
        block[...] = 0 if g in net.cell.cell_state_gates else np.diag(np.diag(block))


def immediate_pattern(net, rng):
    """Where M_t is nonzero, for h and c: RTRL's J after one step from a random state (J_0 = 0) and input."""
    kept = []

    class FirstStep(rtrl_module.Influence):
        def step(self, *args):
            super().step(*args)
            kept.append((self.h[0][0] != 0, self.c[0][0] != 0))

    x, h0 = rng.normal(size=(1, 1, 2)), rng.normal(size=(1, 4))
    c0 = h0 if net.cell.has_cell_state else None
    list(online.online(FirstStep, net, x, np.zeros((1, 1, 1)), h0=h0, c0=c0))
    return kept[0]


def masked_rtrl(pattern):
    """SnAp-1 as Menick et al. define it: RTRL's step, then J masked to the patterns (dense, RTRL's cost)."""

    class Masked(rtrl_module.Influence):
        def step(self, *args):
            super().step(*args)
            self.h[0] *= pattern[0]
            self.c[0] *= pattern[1]

    return Masked


@pytest.mark.parametrize("cell", CELLS)
def test_snap1_is_rtrl_when_the_recurrent_weights_are_diagonal(cell):
    rng = np.random.default_rng(0)
    net = model(cell)
    diagonal_recurrence(net)
    x, y, w = rng.normal(size=(8, 3, 2)), rng.normal(size=(8, 3, 1)), rng.uniform(size=(8, 3))
    lengths = [8, 5, 2]
    exact = sum(win.grad for win in rn.rtrl(net, x, y, 3, weights=w, lengths=lengths, reduction="sum"))
    sparse = sum(win.grad for win in rn.snap1(net, x, y, 3, weights=w, lengths=lengths, reduction="sum"))
    np.testing.assert_allclose(sparse, exact, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", CELLS)
def test_snap1_is_rtrl_masked_to_the_immediate_pattern_and_is_biased_beyond_it(cell):
    rng = np.random.default_rng(0)
    net = model(cell)
    pattern = immediate_pattern(net, rng)
    assert (pattern[0].sum(axis=1) == 1).all()  # one unit of h per parameter
    if net.cell.has_cell_state:  # and of c, but for the output gate's, which reach h only
        assert pattern[1].sum() == 3 * pattern[1].shape[0] // 4
    x, y = rng.normal(size=(7, 2, 2)), rng.normal(size=(7, 2, 1))
    reference = [w.grad for w in online.online(masked_rtrl(pattern), net, x, y, 3)]
    sparse = [w.grad for w in rn.snap1(net, x, y, 3)]
    np.testing.assert_allclose(sparse, reference, rtol=1e-11, atol=1e-14)
    exact = sum(w.grad for w in rn.rtrl(net, x, y, 7))
    assert np.abs(sum(sparse) - exact).max() > 1e-3 * np.abs(exact).max()


def test_snap1_first_step_is_rtrl_and_it_runs_on_one_layer():
    rng = np.random.default_rng(1)
    net = rn.GRU(2, 3, 1, seed=0)
    x, y = rng.normal(size=(1, 2, 2)), rng.normal(size=(1, 2, 1))
    np.testing.assert_allclose(next(rn.snap1(net, x, y)).grad, next(rn.rtrl(net, x, y)).grad, rtol=1e-13)
    with pytest.raises(ValueError, match="one layer"):
        rn.snap1(rn.GRU(2, 3, 1, num_layers=2), x, y)


def test_snap1_runs_in_float32_and_without_biases():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 2, 2)), rng.normal(size=(6, 2, 1))
    net = rn.LSTM(2, 4, 1, bias=False, seed=3)
    diagonal_recurrence(net)
    exact = sum(w.grad for w in rn.rtrl(net, x, y, 2))
    np.testing.assert_allclose(sum(w.grad for w in rn.snap1(net, x, y, 2)), exact, rtol=1e-12, atol=1e-14)
    single = rn.LSTM(2, 4, 1, dtype=np.float32, seed=3)
    grads = [w.grad for w in rn.snap1(single, x.astype(np.float32), y.astype(np.float32), 2)]
    assert all(g.dtype == np.float32 and np.isfinite(g).all() for g in grads)
