"""Forward unrolling against the naive reference."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from rnn_numba.testing import problems
from rnn_numba.unroll import BLOCK_ROWS, RECOMPUTE_BLOCK_ROWS, block_steps

from . import naive


@given(problems(dtypes=[np.float64]))
def test_forward_matches_naive(problem):
    opts = problem.options
    out = problem.model.forward(problem.x, opts["h0"], opts["lengths"], c0=opts["c0"])
    h, c, y = naive.forward(problem.model, problem.x, opts["h0"], opts["lengths"], opts["c0"])
    for k, layer in enumerate(out.layers):
        np.testing.assert_allclose(layer.h, h[k], rtol=1e-12, atol=1e-14)
        if problem.model.cell.has_cell_state:
            np.testing.assert_allclose(layer.c, c[k], rtol=1e-12, atol=1e-14)
        else:
            assert layer.c is None
    np.testing.assert_allclose(out.y, y, rtol=1e-12, atol=1e-14)


@given(problems(dtypes=[np.float64]))
def test_final_state_is_last_valid_state(problem):
    lengths, net = problem.options["lengths"], problem.model
    out = net.forward(problem.x, problem.options["h0"], lengths, c0=problem.options["c0"])
    if lengths is None:
        lengths = np.full(problem.x.shape[1], problem.x.shape[0])
    h_final = np.reshape(out.h_final, (net.num_layers, -1, net.n_hidden))
    for k, layer in enumerate(out.layers):
        for b, n in enumerate(lengths):
            np.testing.assert_array_equal(h_final[k, b], layer.h[n, b])
            if net.cell.has_cell_state:
                np.testing.assert_array_equal(np.reshape(out.c_final, h_final.shape)[k, b], layer.c[n, b])


@given(problems(dtypes=[np.float64]))
def test_loss_matches_naive(problem):
    value = problem.model.loss(problem.x, problem.target, **problem.options)
    expected = naive.loss(problem.model, problem.x, problem.target, **problem.options)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-15)


@example(n_steps=17, n_batch=1, recompute=True)
@example(n_steps=100, n_batch=32, recompute=False)
@given(n_steps=st.integers(1, 5000), n_batch=st.integers(1, 300), recompute=st.booleans())
def test_blocks_hold_about_the_configured_rows(n_steps, n_batch, recompute):
    steps = block_steps(n_steps, n_batch, recompute)
    rows = RECOMPUTE_BLOCK_ROWS if recompute else BLOCK_ROWS
    assert min(16, n_steps) <= steps <= n_steps
    if not recompute and n_steps * n_batch <= 2 * rows:
        assert steps == n_steps  # a problem of up to two blocks' rows is one block
    elif 16 < steps < n_steps:
        assert rows - n_batch < steps * n_batch <= rows  # as many whole steps as fit the rows
