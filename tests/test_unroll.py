"""Forward unrolling against the naive reference."""

import numpy as np
from hypothesis import given

from rnn_numba.testing import problems

from . import naive


@given(problems(dtypes=[np.float64]))
def test_forward_matches_naive(problem):
    opts = problem.options
    out = problem.model.forward(problem.x, opts["h0"], opts["lengths"], c0=opts["c0"])
    h, c, y = naive.forward(problem.model, problem.x, opts["h0"], opts["lengths"], opts["c0"])
    for k, layer in enumerate(out.layers):
        np.testing.assert_allclose(layer.h, h[k], rtol=1e-12, atol=1e-14)
        if problem.model.cell.HAS_CELL_STATE:
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
            if net.cell.HAS_CELL_STATE:
                np.testing.assert_array_equal(np.reshape(out.c_final, h_final.shape)[k, b], layer.c[n, b])


@given(problems(dtypes=[np.float64]))
def test_loss_matches_naive(problem):
    value = problem.model.loss(problem.x, problem.target, **problem.options)
    expected = naive.loss(problem.model, problem.x, problem.target, **problem.options)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-15)
