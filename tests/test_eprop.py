"""e-prop (LSTM): Bellec et al.'s eligibility traces, RTRL's gradient where the recurrent weights are zero."""

import numpy as np
import pytest

import rnn_numba as rn

from . import naive


def problem(seed=0, n_steps=9, n_batch=3):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n_steps, n_batch, 2)), rng.normal(size=(n_steps, n_batch, 1))
    return x, y, rng.uniform(size=(n_steps, n_batch))


def test_eprop_is_rtrl_when_the_recurrent_weights_are_zero():
    x, y, w = problem()
    net = rn.LSTM(2, 4, 1, seed=1)
    net.params["W_hh"][:] = 0
    lengths = [9, 6, 1]
    exact = [win.grad for win in rn.rtrl(net, x, y, 2, weights=w, lengths=lengths, reduction="sum")]
    traces = [win.grad for win in rn.eprop(net, x, y, 2, weights=w, lengths=lengths, reduction="sum")]
    np.testing.assert_allclose(traces, exact, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
def test_eprop_follows_bellec_et_al_with_recurrence_and_differs_from_rtrl(bias):
    x, y, w = problem(1)
    net = rn.LSTM(2, 4, 1, bias=bias, seed=2)
    net.params["W_hh"][:] *= 3  # recurrence strong enough for the dropped paths to matter
    traces = sum(win.grad for win in rn.eprop(net, x, y, 3, weights=w, reduction="sum"))
    reference = naive.eligibility_gradient(net, x, y, weights=w, reduction="sum")
    np.testing.assert_allclose(traces, reference, rtol=1e-11, atol=1e-13)
    feedback = np.random.default_rng(4).normal(size=(1, 4))
    random = sum(win.grad for win in rn.eprop(net, x, y, 3, weights=w, reduction="sum", feedback=feedback))
    reference = naive.eligibility_gradient(net, x, y, weights=w, reduction="sum", feedback=feedback)
    np.testing.assert_allclose(random, reference, rtol=1e-11, atol=1e-13)
    exact = sum(win.grad for win in rn.rtrl(net, x, y, 9, weights=w, reduction="sum"))
    assert np.abs(traces - exact).max() > 1e-2 * np.abs(exact).max()


def test_eprop_carries_its_traces_across_chunks():
    x, y, w = problem(2, n_steps=8)
    net = rn.LSTM(2, 3, 1, seed=0)
    whole = [win.grad for win in rn.eprop(net, x, y, 4, weights=w)]
    chunked = [win.grad for win in rn.eprop(net, np.split(x, [3, 5]), np.split(y, [3, 5]), 4,
                                            weights=np.split(w, [3, 5]))]  # fmt: skip
    np.testing.assert_allclose(chunked, whole, rtol=1e-13)


def test_eprop_says_what_it_needs():
    x, y, _ = problem()
    with pytest.raises(ValueError, match=r"e-prop runs on the cells \['lstm'\]"):
        rn.eprop(rn.GRU(2, 4, 1), x, y)
    with pytest.raises(ValueError, match="one layer"):
        rn.eprop(rn.LSTM(2, 4, 1, num_layers=2), x, y)
    with pytest.raises(ValueError, match=r"feedback must be a finite \(n_out, H\) = \(1, 4\)"):
        rn.eprop(rn.LSTM(2, 4, 1), x, y, feedback=np.full((1, 4), np.nan))
