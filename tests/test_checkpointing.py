"""Checkpointed full BPTT: the schedule's optimality, exactness against full BPTT, memory and bad input."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnn_numba as rn
from rnn_numba import checkpointing
from rnn_numba.checkpointing import ADVANCE, FREE, REVERSE, STORE, optimal_forward_steps, schedule
from rnn_numba.inputs import loss_inputs
from rnn_numba.testing import problems
from rnn_numba.unroll import block_steps

from . import naive


def simulate(n_units, checkpoints):
    """Run a schedule on paper: (forward units, most states stored at once), checking every action is legal."""
    stored, position, reversed_units, steps, most = {0}, None, [], 0, 1
    for action in schedule(n_units, checkpoints):
        if action[0] == ADVANCE:
            a, j = action[1:]
            assert a in stored and a < j <= n_units - 1
            steps += j - a
            position = j
        elif action[0] == STORE:
            assert action[1] == position
            stored.add(action[1])
            most = max(most, len(stored))
        elif action[0] == FREE:
            stored.remove(action[1])
        else:
            u = action[1]
            assert u in stored or u == position
            reversed_units.append(u)
            steps += 1
            position = None
    assert reversed_units == list(range(n_units - 1, -1, -1))
    assert stored == {0}
    return steps, most


@pytest.mark.parametrize("n_units", [1, 2, 3, 7, 13, 30, 41])
@pytest.mark.parametrize("checkpoints", [1, 2, 3, 4, 6])
def test_closed_form_and_schedule_attain_the_dynamic_programme(n_units, checkpoints):
    best = naive.checkpoint_cost(n_units, checkpoints)
    assert optimal_forward_steps(n_units, checkpoints) == best
    steps, most = simulate(n_units, checkpoints)
    assert steps == best and most <= checkpoints


@pytest.mark.parametrize("n_steps", [10, 100, 1000])
@pytest.mark.parametrize("checkpoints", [1, 2, 5, 20, 50])
def test_schedule_is_the_binomial_optimum(n_steps, checkpoints):
    steps, most = simulate(n_steps, checkpoints)
    assert steps == optimal_forward_steps(n_steps, checkpoints)
    assert most <= checkpoints


def test_gruslys_counts_at_1000_steps():
    # Gruslys et al. (2016): 7.28, 3.75 and 2.95 forward steps per step with 5, 20 and 50 stored states
    per_step = [round(optimal_forward_steps(1000, m) / 1000, 2) for m in (5, 20, 50)]
    assert per_step == [7.28, 3.75, 2.95]


def elman_call(n_steps, n_batch=2, seed=0):
    net = rn.Elman(3, 4, 2, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n_steps, n_batch, 3)), rng.normal(size=(n_steps, n_batch, 2))
    return net, x, y


@pytest.mark.parametrize(
    "n_steps, checkpoints",
    [(10, 1), (10, 2), (10, 5), (10, 20), (10, 50), (100, 1), (100, 2), (100, 5), (100, 20), (100, 50), (1000, 5),
     (1000, 20), (1000, 50)],  # (1000, 1) and (1000, 2), 500,500 and 29,820 kernel calls, only on paper above
)  # fmt: skip
def test_the_driver_counts_the_optimum_step_by_step(n_steps, checkpoints):
    net, x, y = elman_call(n_steps)
    result = checkpointing.gradient(net, loss_inputs(net, x, y), checkpoints, block=1)
    assert result.forward_steps == optimal_forward_steps(n_steps, checkpoints)
    np.testing.assert_allclose(result.grad, net.backward(x, y).grad, rtol=1e-11, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(problems(dtypes=[np.float64], max_steps=9), st.data())
def test_any_block_and_budget_give_full_bptt(problem, data):
    net, opts = problem.model, problem.options
    n_steps = problem.x.shape[0]
    checkpoints = data.draw(st.integers(1, n_steps + 2), label="checkpoints")
    block = data.draw(st.integers(1, n_steps), label="block")
    clip = data.draw(st.sampled_from([None, 0.05]), label="clip")
    full = net.backward(problem.x, problem.target, **opts, clip_message=clip, grad_norms=True)
    call = loss_inputs(net, problem.x, problem.target, opts["loss"], opts.get("weights"), opts.get("lengths"),
                       opts.get("h0"), opts.get("c0"), opts.get("reduction", "mean"))  # fmt: skip
    result = checkpointing.gradient(net, call, checkpoints, block=block, clip=clip, grad_norms=True)
    n_units = -(-n_steps // block)
    if n_steps % block == 0:
        assert result.forward_steps == block * optimal_forward_steps(n_units, min(checkpoints, n_units))
    np.testing.assert_allclose(result.loss, full.loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(result.grad, full.grad, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(result.dh0, full.dh0, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(result.dh_norms, full.dh_norms, rtol=1e-10, atol=1e-13)
    if net.cell.has_cell_state:
        np.testing.assert_allclose(result.dc0, full.dc0, rtol=1e-10, atol=1e-13)


def same_to_rounding(actual, desired):
    np.testing.assert_allclose(actual, desired, rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("cell", ["elman", "leaky_elman", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("recompute", [False, True])
def test_recurrent_gradients_are_full_bptts_to_the_last_bit(cell, num_layers, recompute):
    # Several blocks: full BPTT runs 512 steps a block here (128 recomputing a gated cell's gates), the
    # checkpointed units are 128 steps; in the same blocks every recurrent block of the gradient is the same
    n_steps, n_batch = 1100, 4
    options = {"alpha": 0.5} if cell == "leaky_elman" else {}
    net = rn.RNN(cell, 3, 5, 2, num_layers=num_layers, seed=1, dtype=np.float64, cell_options=options)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n_steps, n_batch, 3)), rng.normal(size=(n_steps, n_batch, 2))
    weights = rng.uniform(size=(n_steps, n_batch))
    kwargs = dict(lengths=[1100, 900, 1050, 3], weights=weights, clip_message=0.2, recompute=recompute, grad_norms=True)
    full = net.backward(x, y, **kwargs)
    call = loss_inputs(net, x, y, "mse", weights, kwargs["lengths"], None, None, "mean")
    readout = net.layout.slices["W_hy"].start  # the readout's blocks come last in theta
    gated = net.cell.cache_width > 0
    full_blocks = block_steps(n_steps, n_batch, recompute and gated)
    assert n_steps > full_blocks  # several blocks
    for checkpoints in (1, 3):
        same_blocks = checkpointing.gradient(net, call, checkpoints, block=full_blocks, grad_norms=True, clip=0.2,
                                             recompute=recompute)  # fmt: skip
        public = net.backward(x, y, **kwargs, checkpoints=checkpoints)
        public_same = np.testing.assert_array_equal if recompute and gated else same_to_rounding
        for result, same in ((same_blocks, np.testing.assert_array_equal), (public, public_same)):
            same(result.grad[:readout], full.grad[:readout])
            np.testing.assert_allclose(result.grad[readout:], full.grad[readout:], rtol=1e-13)
            np.testing.assert_allclose(result.loss, full.loss, rtol=1e-13)
            same(result.dh0, full.dh0)
            same(result.dh_norms, full.dh_norms)
            assert result.trajectory is None and result.forward_steps > n_steps
    with pytest.raises(ValueError, match="kept no states.*net.forward"):
        public.h_final


def test_float32_and_frozen_blocks():
    net = rn.LSTM(3, 6, 2, seed=2, dtype=np.float32)
    net.freeze("W_hh")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 3, 3)).astype(np.float32), rng.normal(size=(40, 3, 2)).astype(np.float32)
    full = net.backward(x, y)
    result = net.backward(x, y, checkpoints=2)
    assert result.grad.dtype == np.float32 and np.all(result.grad[net.layout.slices["W_hh"]] == 0)
    np.testing.assert_allclose(result.grad, full.grad, rtol=1e-5, atol=1e-7)


def test_check_grad_and_loss_and_grad_take_a_budget():
    net, x, y = elman_call(12)
    assert rn.check_grad(net, x, y, checkpoints=2).passed
    loss, grad = net.loss_and_grad(x, y, memory="1 GiB")
    np.testing.assert_allclose(grad, net.backward(x, y).grad, rtol=1e-12)


def test_memory_is_converted_to_stored_states():
    net = rn.LSTM(4, 16, 2, num_layers=2, seed=0, dtype=np.float32)
    n_steps, n_batch = 5000, 8
    block = checkpointing.unit_steps(n_steps, n_batch)
    state = checkpointing.state_bytes(net, n_batch)
    work = checkpointing.work_bytes(net, n_batch, block, recompute=False)
    assert state == 2 * n_batch * 16 * 2 * 4
    for k in (1, 7, 100):
        assert checkpointing.checkpoints_for(net, n_steps, n_batch, memory=work + k * state + 3) == (k, block)
    with pytest.raises(ValueError, match=f"smallest budget that works.*{work + state} bytes"):
        checkpointing.checkpoints_for(net, n_steps, n_batch, memory=work + state - 1)
    assert checkpointing.parse_bytes("2 GB") == 2e9 and checkpointing.parse_bytes("512MiB") == 2**29


def test_peak_memory_is_the_stored_states_and_one_block():
    # LSTM, T = 4000, B = 8, H = 64, float64: full BPTT stores 4001 states (33 MB) and every gate
    net = rn.LSTM(8, 64, 2, seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    n_steps, n_batch, checkpoints = 4000, 8, 10
    x, y = rng.normal(size=(n_steps, n_batch, 8)), rng.normal(size=(n_steps, n_batch, 2))
    net.loss_and_grad(x[:600], y[:600], checkpoints=2)  # compiled, and the work buffers' sizes seen

    def peak(**budget):
        rn.release_workspace()
        tracemalloc.start()
        net.loss_and_grad(x, y, **budget)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    block = checkpointing.unit_steps(n_steps, n_batch)
    bound = checkpoints * checkpointing.state_bytes(net, n_batch) + checkpointing.work_bytes(net, n_batch, block, False)
    bounded, full = peak(checkpoints=checkpoints), peak()
    assert 0.7 * bound < bounded < 1.1 * bound, (bounded, bound)  # the budget counts what the call holds
    assert full > 5 * bounded


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(checkpoints=0), ValueError, "checkpoints must be >= 1"),
        (dict(checkpoints=2.5), TypeError, "checkpoints must be an integer"),
        (dict(checkpoints=True), TypeError, "checkpoints must be an integer"),
        (dict(memory=-1), ValueError, "positive"),
        (dict(memory=[1]), TypeError, "memory must be"),
        (dict(memory="2 parsecs"), ValueError, "2 GB"),
        (dict(memory=100), ValueError, "smallest budget"),
        (dict(checkpoints=2, memory="1 GB"), ValueError, "not both"),
        (dict(checkpoints=2, horizon=3), ValueError, "full BPTT"),
        (dict(checkpoints=2, tbptt=(2, 3)), ValueError, "full BPTT"),
    ],
)
def test_bad_budgets_are_refused(kwargs, error, match):
    net, x, y = elman_call(8)
    with pytest.raises(error, match=match):
        net.backward(x, y, **kwargs)


@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_vector_jacobian_product_within_a_budget(cell):
    net = rn.RNN(cell, 3, 5, 2, num_layers=2, seed=4, dtype=np.float64)
    rng = np.random.default_rng(2)
    n_steps, n_batch = 300, 2
    x, dh = rng.normal(size=(n_steps, n_batch, 3)), rng.normal(size=(n_steps, n_batch, 5))
    finals = {"dh_final": rng.normal(size=(2, n_batch, 5))}
    if net.cell.has_cell_state:
        finals["dc_final"] = rng.normal(size=(2, n_batch, 5))
    full = net.vjp(x, dh, lengths=[300, 170], **finals)
    for checkpoints in (1, 4):
        result = net.vjp(x, dh, lengths=[300, 170], **finals, checkpoints=checkpoints)
        assert result.loss is None and result.forward_steps > n_steps
        np.testing.assert_allclose(result.grad, full.grad, rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(result.dh0, full.dh0, rtol=1e-11, atol=1e-14)
        if net.cell.has_cell_state:
            np.testing.assert_allclose(result.dc0, full.dc0, rtol=1e-11, atol=1e-14)
