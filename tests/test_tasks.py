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
