"""The gradient engine: one compiled call on one thread, the same code over the parallel kernels on several."""

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnn_numba as rn
from rnn_numba._kernels import engine
from rnn_numba.testing import problems

from .threads import numba_threads


def spy_on_runs(monkeypatch):
    """Record how each gradient runs: compiled (threads None) or as Python over the kernels."""
    runs = []
    original = engine.run

    def run(kernel, threads):
        runs.append(threads)
        return original(kernel, threads)

    monkeypatch.setattr(engine, "run", run)
    return runs


@given(problems(max_batch=4), st.sampled_from([None, 0.05]), st.booleans())
def test_one_thread_and_two_give_the_same_gradient(problem, clip, recompute):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two Numba threads")
    # The same kernels in the same order, but GEMMs split over the threads: equal up to their round-off.
    net, opts = problem.model, problem.options
    kwargs = dict(grad_norms=True, clip_message=clip, recompute=recompute, **opts)
    with numba_threads(1):
        one = net.backward(problem.x, problem.target, **kwargs)
    with numba_threads(2):
        two = net.backward(problem.x, problem.target, **kwargs)
    rtol = 1e-12 if net.dtype == np.float64 else 1e-5
    assert one.grad.dtype == two.grad.dtype == net.dtype
    np.testing.assert_allclose(one.loss, two.loss, rtol=rtol, atol=rtol)
    for name in ("grad", "dh0", "dc0", "dh_norms", "h", "y", "h_final", "c_final"):
        a, b = getattr(one, name), getattr(two, name)
        if b is None:
            assert a is None, name
        else:
            assert a.shape == b.shape, name
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=name)


@pytest.mark.parametrize("n_batch", [1, 3])
def test_a_single_sequence_is_one_compiled_call_and_a_batch_uses_the_threads(monkeypatch, n_batch):
    if numba.get_num_threads() < 2:
        pytest.skip("needs two Numba threads")
    runs = spy_on_runs(monkeypatch)
    net = rn.LSTM(2, 3, 1, num_layers=2, seed=0)
    net.loss_and_grad(np.ones((30, n_batch, 2)), np.ones((30, n_batch, 1)))
    assert runs == [None if n_batch == 1 else min(n_batch, numba.get_num_threads())]


def test_frozen_blocks_get_zero_and_the_others_do_not():
    net = rn.GRU(2, 3, 1, seed=0)
    net.freeze("W_hh", "b_hn")
    x, y = np.ones((5, 1, 2)), np.ones((5, 1, 1))
    g = net.layout.views(net.backward(x, y).grad)
    assert not g["W_hh"].any() and not g["b_hn"].any()
    assert g["W_xh"].any() and g["W_hy"].any()


def test_blocks_of_a_long_sequence_give_the_one_block_gradient(monkeypatch):
    # T = 5000 at B = 1 takes three blocks; with the block as long as the sequence, one.
    net = rn.GRU(2, 4, 1, num_layers=2, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5000, 1, 2)), rng.normal(size=(5000, 1, 1))
    blocked = net.backward(x, y, grad_norms=True)
    monkeypatch.setattr(rn.bptt, "block_steps", lambda n_steps, n_batch, recompute=False: n_steps)
    whole = net.backward(x, y, grad_norms=True)
    np.testing.assert_allclose(blocked.grad, whole.grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(blocked.dh_norms, whole.dh_norms, rtol=1e-12)
