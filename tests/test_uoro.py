"""UORO: an unbiased estimate of RTRL's gradient, checked statistically with fixed seeds."""

import numpy as np
import pytest

import rnn_numba as rn

from .estimates import largest_deviation, mean_and_standard_error


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_uoro_is_unbiased_within_four_standard_errors(cell):
    rng = np.random.default_rng(3)
    net = rn.RNN(cell, 2, 3, 1, seed=1)
    x1, y1 = rng.normal(size=(5, 1, 2)), rng.normal(size=(5, 1, 1))
    exact = sum(w.grad for w in rn.rtrl(net, x1, y1, 1, reduction="sum"))
    mean, se = mean_and_standard_error(rn.uoro, net, x1, y1)
    z, random = largest_deviation(mean, se, exact, np.abs(exact).max())
    assert random.sum() >= net.n_params - 4
    assert z < 4, f"largest deviation {z:.2f} standard errors"
    np.testing.assert_allclose(mean[~random], exact[~random], rtol=1e-10, atol=1e-12)


def test_a_biased_estimate_fails_the_same_test():
    # the test can fail: RTRL's gradient with its recurrent part scaled by 0.9 is many standard errors away
    rng = np.random.default_rng(3)
    net = rn.RNN("elman", 2, 3, 1, seed=1)
    x1, y1 = rng.normal(size=(5, 1, 2)), rng.normal(size=(5, 1, 1))
    exact = sum(w.grad for w in rn.rtrl(net, x1, y1, 1, reduction="sum"))
    mean, se = mean_and_standard_error(rn.uoro, net, x1, y1)
    z, _ = largest_deviation(mean, se, 0.9 * exact, np.abs(exact).max())
    assert z > 4


def test_uoro_is_reproducible_from_its_seed_and_differs_between_seeds():
    rng = np.random.default_rng(0)
    net = rn.GRU(2, 4, 1, seed=0)
    x, y = rng.normal(size=(6, 3, 2)), rng.normal(size=(6, 3, 1))
    a = [w.grad for w in rn.uoro(net, x, y, 3, seed=7)]
    b = [w.grad for w in rn.uoro(net, x, y, 3, seed=np.random.default_rng(7))]
    c = [w.grad for w in rn.uoro(net, x, y, 3, seed=8)]
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[1], c[1])


def test_uoro_runs_on_one_layer_and_says_so():
    net = rn.LSTM(2, 3, 1, num_layers=2, seed=0)
    with pytest.raises(ValueError, match="one layer"):
        rn.uoro(net, np.zeros((2, 1, 2)), np.zeros((2, 1, 1)))
