"""The per-thread work buffers: reuse, growth, release, and no trace of one call in the next."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import rnn_numba as rn
from rnn_numba import _workspace
from rnn_numba._workspace import nbytes, release_workspace, work_array


@pytest.fixture(autouse=True)
def empty_workspace():
    release_workspace()
    yield
    release_workspace()


def test_a_role_is_reused_for_requests_up_to_its_size_and_grows_beyond():
    first = work_array("projection", (4, 3, 5), np.float64)
    assert first.shape == (4, 3, 5) and first.dtype == np.float64 and first.flags.c_contiguous
    smaller = work_array("projection", (2, 7), np.float32)
    assert np.shares_memory(first, smaller) and nbytes() == first.nbytes
    other_role = work_array("recurrent", (2, 7), np.float32)
    assert not np.shares_memory(smaller, other_role)
    larger = work_array("projection", (5, 3, 5), np.float64)
    assert not np.shares_memory(first, larger)
    assert nbytes() == larger.nbytes + other_role.nbytes  # the smaller buffer was let go
    release_workspace()
    assert nbytes() == 0


def test_each_thread_has_its_own_buffers():
    mine = work_array("projection", (8,), np.float64)
    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(work_array, "projection", (8,), np.float64).result()
    assert not np.shares_memory(mine, theirs)


PROBLEMS = [  # (cell, T, B, layers, kwargs): the one-call path, the blocked driver, the segments, recompute
    ("gru", 30, 1, 1, {}),
    ("lstm", 40, 3, 2, {}),
    ("gru", 20, 4, 1, {"tbptt": (3, 5)}),
    ("lstm", 25, 2, 1, {"recompute": True}),
    ("gru", 35, 3, 2, {"lengths": [35, 12, 1], "clip_message": 0.01}),  # padded steps, clipped deltas
    ("elman", 30, 1, 1, {"lengths": [9]}),
]


def _problem_name(problem):
    return f"{problem[0]}-T{problem[1]}-B{problem[2]}-L{problem[3]}-{problem[4]}"


def _net_and_data(cell, n_steps, n_batch, layers, dtype=np.float64):
    rng = np.random.default_rng(n_steps)
    net = rn.RNN(cell, 3, 6, 2, num_layers=layers, dtype=dtype, seed=1)
    x = rng.normal(size=(n_steps, n_batch, 3)).astype(dtype)
    target = rng.normal(size=(n_steps, n_batch, 2)).astype(dtype)
    return net, x, target


def _gradient(cell, n_steps, n_batch, layers, kwargs, dtype=np.float64):
    net, x, target = _net_and_data(cell, n_steps, n_batch, layers, dtype)
    return net.backward(x, target, **kwargs)


@pytest.mark.parametrize("problem", PROBLEMS, ids=_problem_name)
def test_a_gradient_does_not_depend_on_what_the_buffers_held(problem):
    fresh = _gradient(*problem)
    for buffer in _workspace._pool().values():
        buffer[...] = 255  # NaN in either dtype
    for other in PROBLEMS:  # and leave them sized and filled by other problems
        _gradient(*other, dtype=np.float32)
    again = _gradient(*problem)
    assert np.array_equal(fresh.grad, again.grad) and np.array_equal(fresh.h, again.h)


@pytest.mark.parametrize("problem", PROBLEMS, ids=_problem_name)
def test_no_returned_array_is_a_view_of_a_work_buffer(problem):
    result = _gradient(*problem)
    returned = [result.grad, result.dh0, result.dc0, result.trajectory.y, result.dh_norms]
    returned += [a for layer in result.trajectory.layers for a in (layer.h, layer.c)]
    buffers = list(_workspace._pool().values())
    assert buffers
    for array in returned:
        if array is not None:
            assert not any(np.shares_memory(array, buffer) for buffer in buffers)


def test_gradients_computed_in_threads_at_once_equal_the_serial_ones():
    # Single sequences (one compiled call, no parallel region): Numba's fallback threading layer,
    # workqueue, may not launch parallel kernels from two threads at once.
    problems = [(cell, n_steps, 1, 1, {}) for cell in ("elman", "lstm", "gru") for n_steps in (20, 45)]
    serial = [_gradient(*problem).grad for problem in problems]
    with ThreadPoolExecutor(len(problems)) as pool:
        for _ in range(3):
            threaded = list(pool.map(lambda p: _gradient(*p).grad, problems))
            for a, b in zip(serial, threaded, strict=True):
                np.testing.assert_array_equal(a, b)


def test_requests_beyond_the_keep_limit_get_a_new_array_and_keep_nothing(monkeypatch):
    monkeypatch.setattr(_workspace, "KEEP_LIMIT", 800)
    kept = work_array("loss_gradient", (100,), np.float64)
    big = work_array("loss_gradient", (101,), np.float64)
    assert big.shape == (101,) and not np.shares_memory(kept, big)
    assert nbytes() == kept.nbytes
    assert np.shares_memory(work_array("loss_gradient", (10,), np.float64), kept)


def test_requests_of_any_size_are_kept_beyond_the_limit(monkeypatch):
    monkeypatch.setattr(_workspace, "KEEP_LIMIT", 800)
    kept = work_array("cache0", (101,), np.float64, any_size=True)
    assert np.shares_memory(work_array("cache0", (50,), np.float32, any_size=True), kept)
    assert nbytes() == kept.nbytes


def test_a_gradient_keeps_its_gate_activations_for_the_next_one():
    problem = ("lstm", 40, 3, 2, {})
    result = _gradient(*problem)
    cache = _workspace._pool()["cache"]
    assert cache.nbytes == 2 * 40 * 3 * 5 * 6 * 8  # layers, T, B, LSTM cache width x H, float64
    again = _gradient(*problem)
    assert _workspace._pool()["cache"] is cache
    np.testing.assert_array_equal(result.grad, again.grad)


@pytest.mark.parametrize("problem", PROBLEMS, ids=_problem_name)
def test_loss_and_grad_keeps_the_states_on_work_buffers_and_equals_backward(problem):
    cell, n_steps, n_batch, layers, kwargs = problem
    net, x, target = _net_and_data(cell, n_steps, n_batch, layers)
    expected = net.backward(x, target, **kwargs)
    for buffer in _workspace._pool().values():
        buffer[...] = 255  # NaN
    loss, grad = net.loss_and_grad(x, target, **kwargs)
    assert loss == expected.loss
    np.testing.assert_array_equal(grad, expected.grad)
    pool = _workspace._pool()
    states = pool["h"]
    assert states.nbytes >= layers * (n_steps + 1) * n_batch * 6 * 8
    net.loss_and_grad(x, target, **kwargs)
    assert pool["h"] is states
