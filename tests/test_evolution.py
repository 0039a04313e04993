"""ES and PES: the particles' batched losses, PES unbiased for the whole unroll where truncated ES is not."""

import numpy as np
import pytest

import rnn_numba as rn
from rnn_numba.evolution import particle_losses

from .test_cells import TOY

CELLS = ["elman", "lstm", "gru", "leaky_elman"]


def model(cell, num_layers=1, seed=1):
    if cell == "leaky_elman":
        return rn.Elman(2, 4, 3, alpha=0.4, num_layers=num_layers, seed=seed)
    return rn.RNN(cell, 2, 4, 3, num_layers=num_layers, seed=seed)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_each_particle_loss_is_the_models_loss_at_its_parameters(cell, loss):
    net = model(cell, num_layers=2)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(5, 3, 2)), rng.uniform(size=(5, 3))
    y = rng.normal(size=(5, 3, 3)) if loss == "mse" else rng.integers(0, 3, size=(5, 3))
    thetas = net.theta[None] * rng.uniform(0.8, 1.2, size=(4, net.n_params))  # four particles of their own
    h0 = rng.normal(size=(2, 3, 4))
    state = (np.tile(h0, (1, 4, 1)), np.zeros((2, 12, 4)))
    losses, _ = particle_losses(net, thetas, x, y, w, state, loss, "mean")
    for theta, value in zip(thetas, losses, strict=True):
        expected = net.loss(x, y, loss=loss, weights=w, h0=h0, theta=theta)
        assert value == pytest.approx(expected, rel=1e-12)


def credit_problem():
    """A linear net whose only loss, at the last of 6 steps, depends on the first input."""
    net = rn.Elman(1, 2, 1, nonlinearity="identity", seed=3)
    net.params["W_hh"][:] = [[0.9, 0.2], [-0.1, 0.8]]
    x, y, w = np.zeros((6, 1, 1)), np.ones((6, 1, 1)), np.zeros((6, 1))
    x[0], w[-1] = 1.0, 1.0
    return net, x, y, w


def seeded_mean(estimator, net, x, y, w, n_runs=400):
    runs = np.array([sum(win.grad for win in estimator(net, x, y, 1, n_particles=200, sigma=1e-3, weights=w, seed=s))
                     for s in range(n_runs)])  # fmt: skip
    return runs.mean(axis=0), runs.std(axis=0, ddof=1) / np.sqrt(n_runs)


def largest_z(mean, se, expected):
    spread = se > 1e-9
    return np.abs((mean - expected)[spread] / se[spread]).max()


def test_pes_is_unbiased_for_the_whole_unroll_where_truncated_es_is_not():
    # a linear net and sigma = 1e-3: the Gaussian-smoothed loss's gradient is full BPTT's up to O(sigma^2)
    net, x, y, w = credit_problem()
    full = net.backward(x, y, weights=w, reduction="sum").grad
    mean, se = seeded_mean(rn.pes, net, x, y, w)
    assert (se > 1e-9).sum() >= 8 and largest_z(mean, se, full) < 4
    assert largest_z(mean, se, 0.9 * full) > 4  # the test can fail
    truncated, truncated_se = seeded_mean(rn.es, net, x, y, w)
    assert largest_z(truncated, truncated_se, full) > 10  # one step of credit per unroll


def test_pes_is_es_on_the_first_unroll_and_both_are_reproducible():
    net, x, y, w = credit_problem()
    first_pes = next(rn.pes(net, x, y, 2, n_particles=6, seed=4, weights=w))
    first_es = next(rn.es(net, x, y, 2, n_particles=6, seed=4, weights=w))
    np.testing.assert_allclose(first_pes.grad, first_es.grad, rtol=1e-12)
    whole = [v.grad for v in rn.pes(net, x, y, 2, n_particles=6, seed=4, weights=w)]
    chunked = [v.grad for v in rn.pes(net, [x[:3], x[3:]], [y[:3], y[3:]], 2, n_particles=6, seed=4,
                                      weights=[w[:3], w[3:]])]  # fmt: skip
    np.testing.assert_array_equal(chunked, whole)
    assert len(whole) == 3 and not np.array_equal(whole[1], whole[2])


def test_a_basis_perturbs_its_span_only_and_estimates_the_projected_gradient():
    net, x, y, w = credit_problem()
    default = [v.grad for v in rn.pes(net, x, y, 1, n_particles=10, seed=2, weights=w)]
    identity = [v.grad for v in rn.pes(net, x, y, 1, n_particles=10, seed=2, weights=w, basis=np.eye(net.n_params))]
    np.testing.assert_array_equal(identity, default)  # the same draws, the same estimates
    # one direction, a tie of W_hh's four entries: the estimate is the gradient's projection on it
    u = np.zeros(net.n_params)
    u[net.layout.slices["W_hh"]] = 0.5
    full = net.backward(x, y, weights=w, reduction="sum").grad
    runs = np.array([sum(v.grad for v in rn.pes(net, x, y, 1, n_particles=200, sigma=1e-3, weights=w, seed=s,
                                                basis=u)) for s in range(200)])  # fmt: skip
    assert np.allclose(runs[:, u == 0], 0)  # nothing outside the span
    along = runs @ u
    se = along.std(ddof=1) / np.sqrt(len(along))
    assert abs(along.mean() - u @ full) < 4 * se and abs(0.9 * (u @ full) - along.mean()) > 4 * se


def test_es_and_pes_say_what_is_wrong():
    net, x, y, _ = credit_problem()
    with pytest.raises(ValueError, match="even"):
        rn.pes(net, x, y, n_particles=7)
    with pytest.raises(ValueError, match="sigma"):
        rn.es(net, x, y, sigma=0.0)
    with pytest.raises(ValueError, match=r"run on the cells \['elman', 'leaky_elman', 'lstm', 'gru'\]"):
        rn.pes(rn.RNN(TOY, 1, 2, 1), x, y)
    with pytest.raises(TypeError, match="rnn_numba RNN"):
        rn.es("net", x, y)
    with pytest.raises(ValueError, match="reduction"):
        rn.es(net, x, y, reduction="median")
    with pytest.raises(ValueError, match="orthonormal"):
        rn.es(net, x, y, basis=np.ones(net.n_params))
    with pytest.raises(ValueError, match=r"\(P, d\) = \(11, d\)"):
        rn.es(net, x, y, basis=np.eye(3))
