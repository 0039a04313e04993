"""The stated normalisation of the losses."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import log_softmax, softmax

import rnn_numba as rn
from rnn_numba import losses


def test_mean_reduction_is_mean_over_weighted_steps():
    y = np.array([[[1.0, 3.0]], [[0.0, 0.0]]])  # (T=2, B=1, n_out=2)
    target = np.zeros_like(y)
    weights = np.array([[1.0], [0.0]])
    value, dy = losses.loss_and_dy("mse", y, target, weights, "mean")
    assert value == (1 + 9) / 2  # mean over outputs of the one weighted step
    np.testing.assert_array_equal(dy[0, 0], [1.0, 3.0])  # 2 (y - d) / n_out
    np.testing.assert_array_equal(dy[1], 0)
    assert losses.loss_and_dy("mse", y, target, 2 * weights, "sum")[0] == 10


def test_cross_entropy_ignores_targets_of_unweighted_steps():
    y = np.zeros((2, 1, 4))
    value, dy = losses.loss_and_dy("cross_entropy", y, np.array([[3], [99]]), np.array([[1.0], [0.0]]), "sum")
    np.testing.assert_allclose(value, np.log(4))
    np.testing.assert_allclose(dy[0, 0], [0.25, 0.25, 0.25, -0.75])


def test_all_zero_weights_give_zero_loss_and_gradient():
    net = rn.Elman(1, 2, 1, seed=0)
    x, y = np.ones((3, 1, 1)), np.ones((3, 1, 1))
    loss, grad = net.loss_and_grad(x, y, weights=np.zeros((3, 1)))
    assert loss == 0 and not np.any(grad)


def test_sequence_to_one_is_a_weight_on_the_last_step():
    net = rn.Elman(2, 3, 1, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 2, 2)), rng.normal(size=(4, 2, 1))
    weights = np.zeros((4, 2))
    weights[-1] = 1
    out = net.forward(x)
    expected = np.mean((out.y[-1] - y[-1]) ** 2)
    np.testing.assert_allclose(net.loss(x, y, weights=weights), expected, rtol=1e-14)


@given(
    st.sampled_from([np.float64, np.float32]),
    hnp.arrays(np.float64, (5, 2, 4), elements=st.floats(-1e3, 1e3)),
    hnp.arrays(np.int64, (5, 2), elements=st.integers(0, 3)),
)
def test_cross_entropy_matches_scipy_for_large_logits(dtype, logits, classes):
    # Logits far apart overflow a naive exp; the kernel shifts by each row's maximum.
    y = logits.astype(dtype)
    value, dy = losses.loss_and_dy("cross_entropy", y, classes, np.ones((5, 2), dtype), "sum")
    logp = log_softmax(y.astype(np.float64), axis=-1)
    expected_dy = softmax(y.astype(np.float64), axis=-1)
    np.put_along_axis(expected_dy, classes[..., None], np.take_along_axis(expected_dy, classes[..., None], -1) - 1, -1)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert dy.dtype == dtype and np.all(np.isfinite(dy))
    np.testing.assert_allclose(value, -np.take_along_axis(logp, classes[..., None], -1).sum(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dy, expected_dy, rtol=rtol, atol=rtol)
