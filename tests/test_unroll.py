"""Forward unrolling against the naive reference."""

import numpy as np
from hypothesis import given

from rnn_numba.testing import problems

from . import naive


@given(problems(dtypes=[np.float64]))
def test_forward_matches_naive(problem):
    out = problem.model.forward(problem.x, problem.options["h0"], problem.options["lengths"])
    h, _, y = naive.forward(problem.model, problem.x, problem.options["h0"], problem.options["lengths"])
    np.testing.assert_allclose(out.h, h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.y, y, rtol=1e-12, atol=1e-14)


@given(problems(dtypes=[np.float64]))
def test_final_state_is_last_valid_state(problem):
    lengths = problem.options["lengths"]
    out = problem.model.forward(problem.x, problem.options["h0"], lengths)
    if lengths is None:
        lengths = np.full(problem.x.shape[1], problem.x.shape[0])
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(out.h_final[b], out.h[n, b])


@given(problems(dtypes=[np.float64]))
def test_loss_matches_naive(problem):
    value = problem.model.loss(problem.x, problem.target, **problem.options)
    expected = naive.loss(problem.model, problem.x, problem.target, **problem.options)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-15)
