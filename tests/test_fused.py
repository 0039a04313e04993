"""The one-call gradient of small one-layer problems: when it is taken, and that it is the general path's gradient."""

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnn_numba as rn
from rnn_numba.testing import problems

from .threads import numba_threads


def one_thread():
    """One Numba thread, so that batches of several sequences take the one-call path too."""
    return numba_threads(1)


def general_path(net, x, target, **kwargs):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rn.fused, "applies", lambda *args: False)
        return net.backward(x, target, **kwargs)


def spy_on_fused(monkeypatch):
    calls = []
    original = rn.fused.gradient
    monkeypatch.setattr(rn.fused, "gradient", lambda *args: calls.append(args) or original(*args))
    return calls


@given(problems(max_layers=1, max_batch=3), st.sampled_from([None, 0.05]))
def test_one_call_gives_the_general_paths_result(problem, clip):
    # The same kernels in the same order: equal up to the round-off of GEMMs of other shapes.
    net, opts = problem.model, problem.options
    kwargs = dict(grad_norms=True, clip_message=clip, **opts)
    with one_thread():
        fused = net.backward(problem.x, problem.target, **kwargs)
        general = general_path(net, problem.x, problem.target, **kwargs)
    rtol = 1e-12 if net.dtype == np.float64 else 1e-5
    assert fused.grad.dtype == general.grad.dtype == net.dtype
    np.testing.assert_allclose(fused.loss, general.loss, rtol=rtol, atol=rtol)
    for name in ("grad", "dh0", "dc0", "dh_norms", "h", "y", "h_final", "c_final"):
        a, b = getattr(fused, name), getattr(general, name)
        if b is None:
            assert a is None, name
        else:
            assert a.shape == b.shape, name
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=name)


def test_one_call_zeroes_frozen_blocks(monkeypatch):
    calls = spy_on_fused(monkeypatch)
    net = rn.GRU(2, 3, 1, seed=0)
    net.freeze("W_hh", "b_hn")
    x, y = np.ones((5, 1, 2)), np.ones((5, 1, 1))
    g = net.layout.views(net.backward(x, y).grad)
    assert calls
    assert not g["W_hh"].any() and not g["b_hn"].any()
    assert g["W_xh"].any() and g["W_hy"].any()


@pytest.mark.parametrize(
    ("layers", "n_steps", "n_batch", "kwargs", "taken"),
    [
        (1, 100, 1, {}, True),
        (1, 100, 1, {"grad_norms": True, "clip_message": 1.0}, True),
        (1, 100, 1, {"recompute": True}, False),  # a smaller block: the blocked driver keeps its memory bound
        (1, 100, 1, {"horizon": 10}, False),
        (1, 100, 1, {"tbptt": (10, 20)}, False),
        (2, 100, 1, {}, False),
        (1, 5000, 1, {}, False),  # more than one block
    ],
)
def test_one_call_is_taken_for_one_layer_full_bptt_in_one_block(monkeypatch, layers, n_steps, n_batch, kwargs, taken):
    calls = spy_on_fused(monkeypatch)
    net = rn.LSTM(2, 3, 1, num_layers=layers, seed=0)
    net.backward(np.ones((n_steps, n_batch, 2)), np.ones((n_steps, n_batch, 1)), **kwargs)
    assert bool(calls) == taken


def test_several_threads_over_a_batch_take_the_general_path(monkeypatch):
    if numba.get_num_threads() < 2:
        pytest.skip("needs two Numba threads")
    calls = spy_on_fused(monkeypatch)
    rn.Elman(2, 3, 1, seed=0).backward(np.ones((10, 4, 2)), np.ones((10, 4, 1)))
    assert not calls
