"""KF-RTRL: an unbiased Kronecker-factored estimate of RTRL's gradient, checked statistically with fixed seeds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnn_numba as rn

from .estimates import largest_deviation, mean_and_standard_error


def problem(alpha, n_in=2, n_hidden=3, n_steps=5, seed=1, bias=True):
    rng = np.random.default_rng(seed + 2)
    net = rn.Elman(n_in, n_hidden, 1, alpha=alpha, bias=bias, seed=seed)
    return net, rng.normal(size=(n_steps, 1, n_in)), rng.normal(size=(n_steps, 1, 1))


@pytest.mark.parametrize("alpha", [1.0, 0.4])
def test_kf_rtrl_is_unbiased_within_four_standard_errors(alpha):
    net, x1, y1 = problem(alpha)
    exact = sum(w.grad for w in rn.rtrl(net, x1, y1, 1, reduction="sum"))
    mean, se = mean_and_standard_error(rn.kf_rtrl, net, x1, y1)
    z, random = largest_deviation(mean, se, exact, np.abs(exact).max())
    assert random.sum() == net.n_params - net.n_out * (net.n_hidden + 1)  # every weight below the readout
    assert z < 4, f"largest deviation {z:.2f} standard errors"
    np.testing.assert_allclose(mean[~random], exact[~random], rtol=1e-10, atol=1e-12)


def test_a_biased_estimate_fails_the_same_test():
    net, x1, y1 = problem(1.0)
    exact = sum(w.grad for w in rn.rtrl(net, x1, y1, 1, reduction="sum"))
    mean, se = mean_and_standard_error(rn.kf_rtrl, net, x1, y1)
    z, _ = largest_deviation(mean, se, 0.9 * exact, np.abs(exact).max())
    assert z > 4


@settings(max_examples=6, deadline=None, derandomize=True)
@given(
    n_in=st.integers(1, 3),
    n_hidden=st.integers(1, 4),
    n_steps=st.integers(1, 6),
    alpha=st.sampled_from([1.0, 0.5]),
    bias=st.booleans(),
    seed=st.integers(0, 100),
)
def test_kf_rtrl_and_uoro_are_unbiased_on_small_problems(n_in, n_hidden, n_steps, alpha, bias, seed):
    net, x1, y1 = problem(alpha, n_in, n_hidden, n_steps, seed, bias)
    exact = sum(w.grad for w in rn.rtrl(net, x1, y1, 1, reduction="sum"))
    for estimator in (rn.kf_rtrl, rn.uoro):
        mean, se = mean_and_standard_error(estimator, net, x1, y1, n_calls=12, copies=300)
        z, random = largest_deviation(mean, se, exact, np.abs(exact).max())
        assert z < 4, f"{estimator.__name__}: largest deviation {z:.2f} standard errors"
        np.testing.assert_allclose(mean[~random], exact[~random], rtol=1e-9, atol=1e-12)


def test_the_first_step_is_exact():
    # from u = A = 0 the first update is c1^2 a_hat (x) K_1 = M_1, RTRL's first influence, whatever the signs
    net, x1, y1 = problem(0.7, n_steps=1)
    exact = next(rn.rtrl(net, x1, y1, 1)).grad
    for seed in range(3):
        np.testing.assert_allclose(next(rn.kf_rtrl(net, x1, y1, 1, seed=seed)).grad, exact, rtol=1e-12, atol=1e-14)


def test_kf_rtrl_streams_like_rtrl():
    # state carried across chunks of any size, windows of k steps, lengths: the same windows as one array
    rng = np.random.default_rng(0)
    net = rn.Elman(2, 4, 1, alpha=0.5, seed=0)
    x, y = rng.normal(size=(7, 3, 2)), rng.normal(size=(7, 3, 1))
    whole = [w.grad for w in rn.kf_rtrl(net, x, y, 3, seed=5)]
    chunked = [w.grad for w in rn.kf_rtrl(net, np.split(x, [2, 3]), np.split(y, [2, 3]), 3, seed=5)]
    assert len(whole) == len(chunked) == 3
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert not np.allclose(whole[1], [w.grad for w in rn.kf_rtrl(net, x, y, 3, seed=6)][1])


def test_kf_rtrl_names_the_cells_it_runs_on():
    for net in (rn.LSTM(2, 3, 1, seed=0), rn.GRU(2, 3, 1, seed=0)):
        with pytest.raises(ValueError, match="KF-RTRL runs on the cells.*elman.*leaky_elman"):
            rn.kf_rtrl(net, np.zeros((2, 1, 2)), np.zeros((2, 1, 1)))
    with pytest.raises(ValueError, match="one layer"):
        rn.kf_rtrl(rn.Elman(2, 3, 1, num_layers=2, seed=0), np.zeros((2, 1, 2)), np.zeros((2, 1, 1)))
