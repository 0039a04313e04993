"""Flat parameter vector, views, initialisers."""

import numpy as np
import pytest

import rnn_numba as rn
from rnn_numba import params


def test_views_share_memory_with_theta_and_tile_it():
    net = rn.Elman(3, 4, 2, seed=0)
    assert net.n_params == 3 * 4 + 4 * 4 + 4 + 4 * 2 + 2
    net.params["W_hh"][0, 1] = 7.0
    assert 7.0 in net.theta
    net.theta[:] = np.arange(net.n_params)
    flat = np.concatenate([net.params[n].ravel() for n in net.layout.names])
    np.testing.assert_array_equal(flat, np.arange(net.n_params))
    net.theta = np.zeros(net.n_params)  # assignment copies into the same buffer
    assert np.all(net.params["W_xh"] == 0)


def test_seeded_initialisation_is_reproducible_and_dtype_kept():
    a, b = rn.Elman(2, 5, 1, seed=4), rn.Elman(2, 5, 1, seed=4)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, rn.Elman(2, 5, 1, seed=5).theta)
    assert rn.Elman(2, 5, 1, dtype=np.float32, seed=4).theta.dtype == np.float32


def test_uniform_init_bound_is_one_over_sqrt_h():
    net = rn.Elman(2, 16, 1, seed=0)
    assert np.max(np.abs(net.theta)) <= 1 / np.sqrt(16)
    assert np.max(np.abs(net.theta)) > 0.8 / np.sqrt(16)


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.7])
def test_orthogonal_init_scaled_to_spectral_radius(rho):
    net = rn.Elman(2, 12, 1, seed=0, recurrent_init="orthogonal", spectral_radius=rho)
    w = net.params["W_hh"]
    np.testing.assert_allclose(params.spectral_radius(w), rho, rtol=1e-10)
    np.testing.assert_allclose(w @ w.T, rho**2 * np.eye(12), atol=1e-10)


def test_identity_init():
    net = rn.Elman(2, 6, 1, seed=0, recurrent_init="identity")
    np.testing.assert_array_equal(net.params["W_hh"], np.eye(6))


def test_zero_matrix_cannot_be_scaled():
    with pytest.raises(ValueError, match="spectral radius 0"):
        params.scale_to_spectral_radius(np.zeros((3, 3)), 1.0)


def test_copy_and_astype_are_independent():
    net = rn.Elman(2, 3, 1, seed=0)
    net.freeze("W_hh")
    other = net.astype(np.float32)
    other.theta[:] = 0
    assert np.any(net.theta != 0) and other.frozen == net.frozen and other.params["W_hh"].dtype == np.float32


def test_block_of_finds_each_coordinate():
    layout = params.ParamLayout([("a", (2, 3)), ("b", (4,))])
    assert [layout.block_of(i) for i in range(10)] == ["a"] * 6 + ["b"] * 4
    with pytest.raises(IndexError):
        layout.block_of(10)
