"""Optimisers against hand-computed steps; clipping properties; saved state resumes exactly."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rnn_numba as rn
from rnn_numba import optim

THETA0 = np.array([1.0, -2.0])
G1, G2 = np.array([0.5, 1.0]), np.array([0.2, -0.4])

# Two steps from THETA0 with gradients G1 then G2, worked out by hand (see each rule in rnn_numba.optim).
CASES = [
    (lambda: optim.SGD(0.1), [0.95, -2.1], [0.93, -2.06]),
    (lambda: optim.SGD(0.1, momentum=0.9), [0.95, -2.1], [0.885, -2.15]),
    (lambda: optim.SGD(0.1, momentum=0.9, nesterov=True), [0.905, -2.19], [0.8265, -2.195]),
    (lambda: optim.Adagrad(0.1, eps=0.0), [0.9, -2.1], [0.8628609324, -2.0628609324]),
    (lambda: optim.RMSProp(0.01, decay=0.9, eps=0.0), [0.9683772234, -2.0316227766], None),
    (lambda: optim.Adam(0.1, eps=0.0), [0.9, -2.1], None),
]


@pytest.mark.parametrize("make, after_one, after_two", CASES)
def test_steps_match_hand_computation(make, after_one, after_two):
    opt, theta = make(), THETA0.copy()
    opt.step(theta, G1)
    np.testing.assert_allclose(theta, after_one, rtol=1e-10)
    if after_two is not None:
        opt.step(theta, G2)
        np.testing.assert_allclose(theta, after_two, rtol=1e-9)


@pytest.mark.parametrize("make", [c[0] for c in CASES])
def test_saved_state_resumes_bit_for_bit(make):
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(5, 4))
    opt, theta = make(), rng.normal(size=4)
    for g in grads[:3]:
        opt.step(theta, g)
    saved, theta_saved = opt.state_dict(), theta.copy()
    for g in grads[3:]:
        opt.step(theta, g)
    resumed = make()
    resumed.load_state_dict(saved)
    for g in grads[3:]:
        resumed.step(theta_saved, g)
    np.testing.assert_array_equal(theta_saved, theta)


finite = st.floats(-1e6, 1e6)


@given(hnp.arrays(np.float64, st.integers(1, 20), elements=finite), st.floats(1e-3, 1e3))
def test_clip_norm_bounds_the_norm_and_keeps_the_direction(grad, max_norm):
    clipped, norm = optim.clip_grad_norm(grad, max_norm)
    assert norm == pytest.approx(np.linalg.norm(grad))
    assert np.linalg.norm(clipped) <= max_norm * (1 + 1e-12)
    if norm <= max_norm:
        np.testing.assert_array_equal(clipped, grad)
    else:
        np.testing.assert_allclose(clipped * (norm / max_norm), grad, rtol=1e-12, atol=1e-300)


@given(hnp.arrays(np.float64, st.integers(1, 20), elements=finite), st.floats(0, 1e3))
def test_clip_value_bounds_each_component(grad, clip):
    clipped = optim.clip_grad_value(grad, clip)
    assert np.all(np.abs(clipped) <= clip)
    inside = np.abs(grad) <= clip
    np.testing.assert_array_equal(clipped[inside], grad[inside])


def test_adam_lowers_the_loss_of_a_small_network():
    net = rn.Elman(2, 8, 1, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 16, 2))
    y = np.cumsum(x[..., :1], axis=0) * 0.1
    opt = optim.Adam(1e-2)
    first = net.loss(x, y)
    for _ in range(100):
        opt.step(net.theta, net.loss_and_grad(x, y)[1])
    assert net.loss(x, y) < 0.5 * first


def test_bad_arguments():
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(-1)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(0.1, nesterov=True)
    with pytest.raises(ValueError, match="grad"):
        optim.Adam().step(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="theta"):
        optim.Adam().step([0.0, 1.0], np.zeros(2))
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm(np.ones(3), 0)


def test_scipy_lbfgs_lowers_the_loss_on_the_adding_problem():
    from scipy.optimize import minimize

    batch = rn.tasks.adding(20, 64, seed=0)
    net = rn.Elman(2, 8, 1, seed=0)
    fun = net.objective(batch.x, batch.target, **batch.kwargs())
    start = fun(net.theta.copy())[0]
    result = minimize(fun, net.theta.copy(), jac=True, method="L-BFGS-B", options={"maxiter": 50})
    assert result.fun < 0.5 * start
    assert result.fun < rn.tasks.adding_baseline()  # below the predict-1 baseline on these sequences
