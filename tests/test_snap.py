"""SnAp-1: RTRL where its sparsity is exact, and exactly the immediate-influence pattern otherwise."""

import importlib

import numpy as np
import pytest

import rnn_numba as rn

snap = importlib.import_module("rnn_numba.estimators.snap")


def diagonal_recurrence(net):
    """Every gate's recurrent weights diagonal: no unit reaches another in a step."""
    w_hh = net.params["W_hh"]
    n_hidden = w_hh.shape[0]
    for g in range(w_hh.shape[1] // n_hidden):
        block = w_hh[:, g * n_hidden : (g + 1) * n_hidden]
        block[...] = np.diag(np.diag(block))


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_snap1_is_rtrl_when_the_recurrent_weights_are_diagonal(cell):
    rng = np.random.default_rng(0)
    net = rn.RNN(cell, 2, 4, 1, seed=1)
    diagonal_recurrence(net)
    x, y = rng.normal(size=(8, 3, 2)), rng.normal(size=(8, 3, 1))
    exact = sum(w.grad for w in rn.rtrl(net, x, y, 3, reduction="sum"))
    sparse = sum(w.grad for w in rn.snap1(net, x, y, 3, reduction="sum"))
    np.testing.assert_allclose(sparse, exact, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_snap1_keeps_exactly_the_immediate_pattern_and_is_biased_beyond_it(cell):
    rng = np.random.default_rng(0)
    net = rn.RNN(cell, 2, 4, 1, seed=1)
    x, y = rng.normal(size=(6, 2, 2)), rng.normal(size=(6, 2, 1))
    kept = []

    class Spy(snap.SparseInfluence):
        def step(self, *args):
            super().step(*args)
            kept.append(self.h[0].copy())

    list(snap.online(Spy, net, x, y, 6))
    pattern = snap.immediate_pattern(net)
    assert pattern.sum() == net.layout.table[0, :, 1:].prod(axis=1).sum()  # one unit per parameter
    for j in kept:
        assert not j[:, ~pattern].any()
        assert j[:, pattern].any()
    exact = sum(w.grad for w in rn.rtrl(net, x, y, 6))
    sparse = sum(w.grad for w in rn.snap1(net, x, y, 6))
    assert np.abs(sparse - exact).max() > 1e-3 * np.abs(exact).max()


def test_snap1_first_step_is_rtrl_and_it_runs_on_one_layer():
    rng = np.random.default_rng(1)
    net = rn.GRU(2, 3, 1, seed=0)
    x, y = rng.normal(size=(1, 2, 2)), rng.normal(size=(1, 2, 1))
    np.testing.assert_allclose(next(rn.snap1(net, x, y)).grad, next(rn.rtrl(net, x, y)).grad, rtol=1e-13)
    with pytest.raises(ValueError, match="one layer"):
        rn.snap1(rn.GRU(2, 3, 1, num_layers=2), x, y)
