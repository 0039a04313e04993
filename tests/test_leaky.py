"""The leaky Elman cell through every schedule, RTRL, saving, and its limits."""

import numpy as np
import pytest

import rnn_numba as rn


def problem(seed=0, n_steps=9, n_batch=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_steps, n_batch, 2)), rng.normal(size=(n_steps, n_batch, 1)), rng.uniform(size=(9, 3))


def naive_leaky_states(net, x):
    """h_t = (1 - alpha) h_{t-1} + alpha tanh(x_t W_xh + h_{t-1} W_hh + b_h), one layer, in plain NumPy."""
    p, alpha = net.params, net.cell_options["alpha"]
    h = np.zeros((x.shape[1], net.n_hidden))
    out = [h]
    for x_t in x:
        h = (1 - alpha) * h + alpha * np.tanh(x_t @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])
        out.append(h)
    return np.array(out)


def test_leaky_states_follow_the_equation():
    x, _, _ = problem()
    net = rn.Elman(2, 4, 1, alpha=0.25, seed=1)
    assert net.cell.name == "leaky_elman"
    np.testing.assert_allclose(net.forward(x).h, naive_leaky_states(net, x), rtol=1e-13, atol=1e-15)


# Every nonlinearity on full BPTT, every schedule on tanh: each nonlinearity compiles its own kernels.
@pytest.mark.parametrize(
    "nonlinearity, schedule",
    [(f, {}) for f in ("tanh", "relu", "sigmoid", "identity")]
    + [("tanh", s) for s in ({"horizon": 3}, {"tbptt": (2, 4)}, {"recompute": True})],
)
def test_every_schedule_of_the_leaky_cell_passes_the_gradient_check(nonlinearity, schedule):
    x, y, w = problem()
    net = rn.Elman(2, 4, 1, alpha=0.3, nonlinearity=nonlinearity, num_layers=2, seed=1)
    report = rn.check_grad(net, x, y, weights=w, **schedule)
    assert report.passed, report


def test_leaky_rtrl_is_full_bptt_and_alpha_one_is_the_elman_cell():
    x, y, w = problem()
    net = rn.Elman(2, 4, 1, alpha=0.3, num_layers=2, seed=1)
    full = net.backward(x, y, weights=w, reduction="sum")
    g = sum(win.grad for win in rn.rtrl(net, x, y, 2, weights=w, reduction="sum"))
    assert np.abs(g - full.grad).max() < 1e-10 * np.abs(full.grad).max()
    leaky_one = rn.RNN("leaky_elman", 2, 4, 1, cell_options={"alpha": 1.0}, seed=3)
    elman = rn.Elman(2, 4, 1, seed=3)
    np.testing.assert_array_equal(leaky_one.backward(x, y).grad, elman.backward(x, y).grad)


def test_a_leaky_model_saves_and_loads_with_its_alpha(tmp_path):
    x, y, _ = problem()
    net = rn.Elman(2, 4, 1, alpha=0.3, seed=1)
    net.save(tmp_path / "leaky.npz")
    loaded = rn.load(tmp_path / "leaky.npz")
    assert loaded.cell.name == "leaky_elman" and loaded.cell_options == {"alpha": 0.3}
    np.testing.assert_array_equal(loaded.backward(x, y).grad, net.backward(x, y).grad)
    assert net.config()["cell_options"] == {"alpha": 0.3} and "cell_options" not in rn.Elman(2, 4, 1).config()


@pytest.mark.parametrize("alpha", [0.0, -0.5, 1.5])
def test_alpha_outside_zero_one_is_refused(alpha):
    with pytest.raises(ValueError, match=r"alpha.*\(0, 1\]"):
        rn.Elman(2, 4, 1, alpha=alpha)


def test_the_leaky_cell_needs_its_alpha_and_has_no_torch_twin():
    with pytest.raises(ValueError, match="alpha"):
        rn.RNN("leaky_elman", 2, 4, 1)
    with pytest.raises(TypeError, match="settings"):
        rn.RNN("leaky_elman", 2, 4, 1, cell_options={"alpha": "fast"})
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="PyTorch has no leaky_elman cell"):
        rn.to_torch(rn.Elman(2, 4, 1, alpha=0.5))
