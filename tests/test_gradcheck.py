"""check_grad itself: it must fail on a wrong gradient."""

import numpy as np
import pytest

import rnn_numba as rn
from rnn_numba import bptt


def problem():
    rng = np.random.default_rng(0)
    return rn.Elman(3, 5, 2, seed=0), rng.normal(size=(6, 2, 3)), rng.normal(size=(6, 2, 2))


def test_passes_on_the_true_gradient():
    net, x, y = problem()
    report = rn.check_grad(net, x, y)
    assert report.passed and report.max_error < 1e-8 and set(report.errors) == set(net.layout.names)


@pytest.mark.parametrize("block", ["W_xh", "W_hh", "b_h", "W_hy", "b_y"])
def test_flags_a_gradient_that_is_wrong_in_one_block(monkeypatch, block):
    net, x, y = problem()
    original = bptt.gradient

    def corrupted(model, *args, **kwargs):
        result = original(model, *args, **kwargs)
        result.grad[model.layout.slices[block].start] += 1e-3
        return result

    monkeypatch.setattr(bptt, "gradient", corrupted)
    report = rn.check_grad(net, x, y)
    assert not report.passed
    assert max(report.errors, key=report.errors.get) == block
    assert "FAILED" in str(report)


def test_flags_full_gradient_checked_against_truncated_objective():
    # The truncated objective's finite differences differ from the full gradient.
    net, x, y = problem()
    full = net.loss_and_grad(x, y)[1]
    report = rn.check_grad(net, x, y, horizon=1)
    assert report.passed
    assert not np.allclose(full, net.loss_and_grad(x, y, horizon=1)[1])


def test_subset_of_coordinates_and_float32_models():
    net, x, y = problem()
    report = rn.check_grad(net.astype(np.float32), x.astype(np.float32), y, max_coords=4, seed=1)
    assert report.passed
    assert report.n_checked == {"W_xh": 4, "W_hh": 4, "b_h": 4, "W_hy": 4, "b_y": 2}


def test_central_differences_are_fourth_order():
    coords = np.arange(2)
    got = rn.central_differences(lambda v: np.sin(v[0]) * np.exp(v[1]), np.array([0.3, 0.2]), coords, 1e-2)
    exact = np.array([np.cos(0.3) * np.exp(0.2), np.sin(0.3) * np.exp(0.2)])
    assert np.max(np.abs(got - exact)) < 1e-8  # a two-point formula errs by ~1e-5 here


def test_a_correct_gradient_of_a_large_loss_passes_where_round_off_hides_small_differences():
    # A loss of order 1e10 (large targets, summed) with the readout frozen: the finite differences themselves are
    # off by about u |L| / eps per coordinate, more than 1e-6 of these blocks' gradients. Failed before the
    # checks allowed for that round-off (relative errors 1e-6 to 2e-4 on gradients that match the reference).
    rng = np.random.default_rng(0)
    net = rn.LSTM(3, 4, 2, num_layers=3, seed=0)
    net.freeze("W_hh", "W_hy", "b_y")
    x, y = rng.normal(size=(6, 4, 3)), rng.normal(size=(6, 4, 2)) * 1e4
    report = rn.check_grad(net, x, y, reduction="sum")
    assert report.passed, report
    assert all(noise > 0 for noise in report.noise.values())


def test_a_wrong_gradient_of_a_large_loss_still_fails(monkeypatch):
    rng = np.random.default_rng(0)
    net = rn.LSTM(3, 4, 2, num_layers=3, seed=0)
    net.freeze("W_hh", "W_hy", "b_y")
    x, y = rng.normal(size=(6, 4, 3)), rng.normal(size=(6, 4, 2)) * 1e4
    original = bptt.gradient

    def corrupted(model, *args, **kwargs):
        result = original(model, *args, **kwargs)
        result.grad[model.layout.slices["W_xh_l1"]] *= 1.01  # 1% off: far above the round-off allowance
        return result

    monkeypatch.setattr(bptt, "gradient", corrupted)
    report = rn.check_grad(net, x, y, reduction="sum")
    assert not report.passed and max(report.errors, key=report.errors.get) == "W_xh_l1"
