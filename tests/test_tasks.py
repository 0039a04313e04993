"""Tasks: shapes, seeding, layout, and their baselines scored by the baseline predictors."""

import numpy as np
import pytest

import rnn_numba as rn
from rnn_numba import losses, tasks


def test_adding_layout_and_seeding():
    batch = tasks.adding(50, 64, seed=3)
    assert batch.x.shape == (50, 64, 2) and batch.target.shape == (50, 64, 1) and batch.weights.shape == (50, 64)
    marks = batch.x[:, :, 1]
    assert np.all(marks.sum(axis=0) == 2)
    assert np.all(marks[:25].sum(axis=0) == 1) and np.all(marks[25:].sum(axis=0) == 1)
    np.testing.assert_allclose(batch.target[-1, :, 0], (batch.x[:, :, 0] * marks).sum(axis=0))
    assert np.all(batch.target[:-1] == 0) and np.all(batch.weights[:-1] == 0) and np.all(batch.weights[-1] == 1)
    np.testing.assert_array_equal(tasks.adding(50, 64, seed=3).x, batch.x)
    assert not np.array_equal(tasks.adding(50, 64, seed=4).x, batch.x)


def test_adding_baseline_is_scored_by_predicting_one():
    batch = tasks.adding(10, 200_000, seed=0)
    prediction = np.ones_like(batch.target)
    value, _ = losses.loss_and_dy("mse", prediction, batch.target, batch.weights, "mean")
    sums = batch.target[-1, :, 0]
    standard_error = np.std((sums - 1) ** 2) / np.sqrt(sums.size)
    assert abs(value - tasks.adding_baseline()) < 4 * standard_error


@pytest.mark.parametrize("delay", [1, 5, 100])
def test_copy_layout(delay):
    batch = tasks.copy(delay, 16, seed=1)
    T = delay + 20
    assert batch.x.shape == (T, 16, 10) and batch.target.shape == (T, 16) and batch.target.dtype.kind == "i"
    inputs = batch.x.argmax(axis=-1)
    np.testing.assert_array_equal(batch.target[-10:], inputs[:10])
    assert np.all(inputs[:10] < 8) and np.all(inputs[10:] >= 8)
    assert np.all(inputs[10 + delay - 1] == tasks.COPY_DELIMITER)
    assert np.all(batch.target[:-10] == tasks.COPY_BLANK)


@pytest.mark.parametrize("delay, published", [(100, 0.173), (200, 0.095), (300, 0.065), (500, 0.040)])
def test_copy_baseline_is_scored_by_blanks_then_a_uniform_guess(delay, published):
    batch = tasks.copy(delay, 8, seed=2)
    logits = np.full(batch.target.shape + (10,), -1e9)
    logits[:-10, :, tasks.COPY_BLANK] = 0.0  # certain blanks: cross-entropy 0
    logits[-10:, :, : tasks.COPY_SYMBOLS] = 0.0  # uniform over the 8 symbols: ln 8
    value, _ = losses.loss_and_dy("cross_entropy", logits, batch.target, batch.weights, "mean")
    np.testing.assert_allclose(value, tasks.copy_baseline(delay), rtol=1e-12)
    assert round(tasks.copy_baseline(delay), 3) == published


def test_batches_train_with_the_models():
    batch = tasks.copy(3, 4, seed=0)
    net = rn.LSTM(10, 8, 10, seed=0)
    loss, grad = net.loss_and_grad(batch.x, batch.target, **batch.kwargs())
    assert np.isfinite(loss) and grad.shape == (net.n_params,)
    with pytest.raises(ValueError, match="n_steps"):
        tasks.adding(1, 4)


def within_sampling_error(samples, expected, n_se=4):
    samples = np.asarray(samples, dtype=np.float64)
    return abs(samples.mean() - expected) < n_se * samples.std() / np.sqrt(samples.size)


def test_adding_lstm_layout():
    batch = tasks.adding_lstm(100, 500, seed=0)
    T_max, B = 110, 500
    assert batch.x.shape == (T_max, B, 2) and batch.lengths.shape == (B,)
    assert batch.lengths.min() >= 100 and batch.lengths.max() <= 110
    assert np.all(np.abs(batch.x[:, :, 0]) <= 1)
    marks = batch.x[:, :, 1]
    assert np.all((marks == 1).sum(axis=0) == 2)
    assert np.all((marks[:10] == 1).sum(axis=0) >= 1) and np.all((marks[49:] == 1).sum(axis=0) == 0)
    columns = np.arange(B)
    last = batch.lengths - 1
    assert np.all(marks[last, columns] == -1)
    expected = 0.5 + (batch.x[:, :, 0] * (marks == 1)).sum(axis=0) / 4
    np.testing.assert_allclose(batch.target[last, columns, 0], expected)
    assert np.all(batch.weights.sum(axis=0) == 1) and np.all(batch.weights[last, columns] == 1)
    np.testing.assert_array_equal(tasks.adding_lstm(100, 500, seed=0).x, batch.x)


def test_adding_lstm_baseline_is_scored_by_predicting_one_half():
    batch = tasks.adding_lstm(22, 200_000, seed=1)
    columns = np.arange(batch.n_batch)
    error = batch.target[batch.lengths - 1, columns, 0] - 0.5
    mse, solved = tasks.adding_lstm_baseline()
    assert within_sampling_error(error**2, mse)
    assert within_sampling_error(np.abs(error) < tasks.ADDING_LSTM_TOLERANCE, solved)


def test_temporal_order_layout_and_chance():
    batch = tasks.temporal_order(100, 4000, seed=2)
    symbols = batch.x.argmax(axis=-1)
    assert batch.x.shape == (100, 4000, 8) and np.all(batch.x.sum(axis=-1) == 1)
    assert np.all(symbols[0] == 6) and np.all(symbols[-1] == 7)
    relevant = symbols >= 4
    relevant[[0, -1]] = False
    t1, t2 = relevant[:50].argmax(axis=0), 50 + relevant[50:].argmax(axis=0)
    assert np.all(relevant.sum(axis=0) == 2) and t1.min() >= 10 and t1.max() < 20 and t2.max() < 60
    columns = np.arange(4000)
    classes = 2 * (symbols[t1, columns] - 4) + (symbols[t2, columns] - 4)
    np.testing.assert_array_equal(batch.target[-1], classes)
    assert set(np.unique(classes)) == {0, 1, 2, 3}
    value, _ = losses.loss_and_dy("cross_entropy", np.zeros((100, 4000, 4)), batch.target, batch.weights, "mean")
    np.testing.assert_allclose(value, tasks.temporal_order_baseline()[0], rtol=1e-12)


def test_add_with_lags_baselines_are_scored_by_their_predictors():
    lags = (5, 9)
    batch = tasks.add_with_lags(20_000, 20, lags, seed=3)
    bits, y, w = batch.x[..., 0], batch.target, batch.weights
    assert np.all(w[:9] == 0) and np.all(w[9:] == 1)
    baselines = tasks.add_with_lags_baselines()
    T = bits.shape[0]
    optimum = 0.5 + 0.5 * bits[4 : T - 5] - 0.25 * bits[0 : T - 9]
    first_lag = 0.375 + 0.5 * bits[4 : T - 5]
    for name, p in (("nothing", np.full_like(optimum, 0.625)), ("first_lag", first_lag), ("optimum", optimum)):
        p = np.clip(p, 1e-12, 1 - 1e-12)
        ce = -np.where(y[9:] == 1, np.log(p), np.log(1 - p))
        assert within_sampling_error(ce, baselines[name]), name
    assert [round(baselines[k], 3) for k in ("nothing", "first_lag", "optimum")] == [0.662, 0.519, 0.454]


def test_influence_balancing_settles_at_zero_loss_for_theta_star():
    theta = tasks.influence_balancing_optimum()
    assert theta == -1 / 6
    net, c = tasks.influence_balancing(theta)
    batch, h0 = tasks.influence_balancing_batch(200)
    traj = net.forward(batch.x, h0)
    np.testing.assert_allclose(traj.y[-1, 0, 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(net.params["W_xh"][0], theta * c)
    # The linear recursion itself, s_{t+1} = A s_t + theta c.
    a = 0.5 * np.eye(23) + 0.5 * np.eye(23, k=1)
    s = np.ones(23)
    for _ in range(3):
        s = a @ s + theta * c
    np.testing.assert_allclose(traj.h[3, 0], s, rtol=1e-12)
    grad = net.backward(batch.x, batch.target, h0=h0).grad
    assert np.all(net.layout.views(grad)["W_hh"] == 0)


def test_cliff_is_the_published_recursion():
    w, b = 5.0, -2.5
    net, batch, h0 = tasks.cliff(w, b)
    x = 0.5
    for _ in range(50):
        x = w / (1 + np.exp(-x)) + b
    loss = net.loss(batch.x, batch.target, h0=h0, **batch.kwargs())
    np.testing.assert_allclose(loss, (1 / (1 + np.exp(-x)) - 0.7) ** 2, rtol=1e-12)
    report = rn.check_grad(net, batch.x, batch.target, h0=h0, **batch.kwargs())
    assert report.passed, report
