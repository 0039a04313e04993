"""RFLO: RTRL without the recurrent path, so RTRL's gradient where the recurrent weights are zero."""

import numpy as np
import pytest

import rnn_numba as rn

from . import naive


def problem(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(9, 3, 2)), rng.normal(size=(9, 3, 1)), rng.uniform(size=(9, 3))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rflo_is_rtrl_when_the_recurrent_weights_are_zero(nonlinearity):
    x, y, w = problem()
    net = rn.Elman(2, 4, 1, alpha=0.3, nonlinearity=nonlinearity, seed=1)
    net.params["W_hh"][:] = 0
    exact = sum(win.grad for win in rn.rtrl(net, x, y, 2, weights=w, reduction="sum"))
    local = sum(win.grad for win in rn.rflo(net, x, y, 2, weights=w, reduction="sum"))
    np.testing.assert_allclose(local, exact, rtol=1e-12, atol=1e-14)


def test_rflo_follows_murrays_equations_with_recurrence_and_differs_from_rtrl():
    x, y, w = problem()
    for nonlinearity in ["tanh", "relu"]:
        net = rn.Elman(2, 4, 1, alpha=0.3, nonlinearity=nonlinearity, seed=1)
        local = sum(win.grad for win in rn.rflo(net, x, y, 4, weights=w, reduction="sum"))
        np.testing.assert_allclose(local, naive.eligibility_gradient(net, x, y, weights=w, reduction="sum"),
                                   rtol=1e-11, atol=1e-13)  # fmt: skip
        feedback = np.random.default_rng(3).normal(size=(1, 4))
        random = sum(win.grad for win in rn.rflo(net, x, y, 4, weights=w, reduction="sum", feedback=feedback))
        reference = naive.eligibility_gradient(net, x, y, weights=w, reduction="sum", feedback=feedback)
        np.testing.assert_allclose(random, reference, rtol=1e-11, atol=1e-13)
    exact = sum(win.grad for win in rn.rtrl(net, x, y, 9, weights=w, reduction="sum"))
    assert np.abs(local - exact).max() > 1e-2 * np.abs(exact).max()


def test_rflo_feedback_the_readout_weights_is_the_default_and_random_feedback_differs():
    x, y, w = problem()
    net = rn.Elman(2, 4, 1, alpha=0.5, seed=2)
    default = sum(win.grad for win in rn.rflo(net, x, y, 3, weights=w))
    explicit = sum(win.grad for win in rn.rflo(net, x, y, 3, weights=w, feedback=net.params["W_hy"].T))
    np.testing.assert_array_equal(default, explicit)
    random = sum(win.grad for win in rn.rflo(net, x, y, 3, weights=w, feedback=np.ones((1, 4))))
    assert not np.allclose(default, random)
    # the readout's own gradient is exact either way
    views = net.layout.views
    np.testing.assert_allclose(views(random)["W_hy"], views(default)["W_hy"], rtol=1e-13)


def test_rflo_says_what_it_needs():
    x, y, _ = problem()
    with pytest.raises(ValueError, match=r"RFLO runs on the cells \['leaky_elman'\]"):
        rn.rflo(rn.GRU(2, 4, 1), x, y)
    with pytest.raises(ValueError, match="one layer"):
        rn.rflo(rn.Elman(2, 4, 1, alpha=0.5, num_layers=2), x, y)
    with pytest.raises(ValueError, match=r"feedback must be a finite \(n_out, H\) = \(1, 4\)"):
        rn.rflo(rn.Elman(2, 4, 1, alpha=0.5), x, y, feedback=np.ones((4, 1)))
