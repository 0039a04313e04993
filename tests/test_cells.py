"""The cell contract: a cell defined only here runs through every driver, and the built-in cells' records."""

import numpy as np
import pytest
from scipy.special import expit as np_sigmoid

import rnn_numba as rn
from rnn_numba._kernels.jit import jit_step_kernel
from rnn_numba._kernels.vmath import sigmoid, tanh
from rnn_numba.cells import Cell

# A minimal gated unit (Zhou, Wu, Zhang & Zhou 2016, arXiv:1603.09420) with its reset applied after the recurrent
# product, as PyTorch's GRU does, so that it fits the contract's projections. Gates f, n (G = 2):
#     f = sigmoid(a_f + r_f),  n = tanh(a_n + f * (r_n + b_n)),  h_t = (1 - f) h_{t-1} + f n
# It has what the contract allows beside the projections: a cache, a separate recurrent delta, a direct path from
# h_{t-1} to h_t, and a parameter of its own (b_n).


@jit_step_kernel
def toy_forward(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t):
    h_prev, h_next = s_prev[0], s_next[0]
    n_hidden = h_next.shape[1]
    for b in range(b0, b1):
        for j in range(n_hidden):
            f = sigmoid(a_t[b, j] + r_t[b, j])
            rn = r_t[b, n_hidden + j] + (inner[j] if inner.shape[0] else 0.0)
            n = tanh(a_t[b, n_hidden + j] + f * rn)
            cache_t[b, j], cache_t[b, n_hidden + j], cache_t[b, 2 * n_hidden + j] = f, n, rn
            h_next[b, j] = (1 - f) * h_prev[b, j] + f * n


@jit_step_kernel
def toy_backward(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev):
    dh, h_prev, dh_prev = ds[0], s_prev[0], ds_prev[0]
    n_hidden = dh.shape[1]
    for b in range(b0, b1):
        for j in range(n_hidden):
            f, n, rn = cache_t[b, j], cache_t[b, n_hidden + j], cache_t[b, 2 * n_hidden + j]
            da_n = dh[b, j] * f * (1 - n * n)
            da_f = (dh[b, j] * (n - h_prev[b, j]) + da_n * rn) * f * (1 - f)
            da[b, j], da[b, n_hidden + j] = da_f, da_n
            dr[b, j], dr[b, n_hidden + j] = da_f, da_n * f
            dh_prev[b, j] = dh[b, j] * (1 - f)


@jit_step_kernel
def toy_inner_gradient(cell, inner, h_prev, c_prev, cache, d_a, d_r, d_inner):
    n_hidden = inner.shape[0]
    for row in range(d_r.shape[0]):
        for j in range(n_hidden):
            d_inner[j] += d_r[row, n_hidden + j]


TOY = Cell(
    name="toy_mgu",
    n_gates=2,
    forward=toy_forward,
    backward=toy_backward,
    cache_width=3,
    separate_recurrent_delta=True,
    direct_path=True,
    inner_blocks=lambda n_hidden, bias: [("b_n", (n_hidden,))] if bias else [],
    inner_gradient=toy_inner_gradient,
    doc="a minimal gated unit, for the tests",
)


def naive_toy(net, x, h0, lengths):
    """The toy network's states and readouts, one sequence and one step at a time, in NumPy."""
    n_steps, n_batch, _ = x.shape
    H = net.n_hidden
    h = np.zeros((net.num_layers, n_steps + 1, n_batch, H))
    h[:, 0] = h0
    inputs = x
    for k, p in enumerate(net.layer_views()):
        for b in range(n_batch):
            for t in range(n_steps):
                if t >= lengths[b]:
                    h[k, t + 1, b] = h[k, t, b]
                    continue
                a = inputs[t, b] @ p["W_xh"] + p.get("b_h", 0)
                r = h[k, t, b] @ p["W_hh"]
                f = np_sigmoid(a[:H] + r[:H])
                n = np.tanh(a[H:] + f * (r[H:] + p.get("b_n", 0)))
                h[k, t + 1, b] = (1 - f) * h[k, t, b] + f * n
        inputs = h[k, 1:]
    y = h[-1, 1:] @ net.params["W_hy"] + net.params["b_y"]
    return h, y


def toy_problem(n_batch, num_layers=1, bias=True, seed=0, n_steps=7):
    net = rn.RNN(TOY, 3, 4, 2, num_layers=num_layers, bias=bias, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_steps, n_batch, 3))
    y = rng.normal(size=(n_steps, n_batch, 2))
    h0 = rng.normal(size=net.state_shape(n_batch)) * 0.5
    return net, x, y, h0


@pytest.mark.parametrize(("n_batch", "num_layers", "bias"), [(1, 1, True), (3, 2, True), (2, 1, False)])
def test_a_cell_defined_outside_the_package_unrolls_as_its_equations_say(n_batch, num_layers, bias):
    net, x, _, h0 = toy_problem(n_batch, num_layers, bias)
    lengths = np.arange(n_batch) % x.shape[0] + x.shape[0] - n_batch + 1
    out = net.forward(x, h0, lengths)
    h, y = naive_toy(net, x, np.reshape(h0, (num_layers, n_batch, -1)), lengths)
    np.testing.assert_allclose(out.h, h[-1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.y, y, rtol=1e-12, atol=1e-14)
    assert out.c is None and out.c_final is None


@pytest.mark.parametrize("n_batch", [1, 3])
@pytest.mark.parametrize("schedule", [{}, {"horizon": 3}, {"tbptt": (2, 4)}, {"recompute": True}])
def test_every_schedule_of_the_toy_cell_passes_the_gradient_check(n_batch, schedule):
    net, x, y, h0 = toy_problem(n_batch, num_layers=2)
    lengths = np.full(n_batch, x.shape[0])
    lengths[-1] = 4
    report = rn.check_grad(net, x, y, h0=h0, lengths=lengths, **schedule)
    assert report.passed, report
    assert set(report.errors) == set(net.layout.names) and "b_n_l1" in report.errors


def test_the_toy_cell_streams_by_tbptt_and_saves_by_name(tmp_path):
    net, x, y, h0 = toy_problem(2)
    windows = list(rn.tbptt(net, x, y, k1=3, k2=5, h0=h0))
    total = net.loss_and_grad(x, y, h0=h0, tbptt=(3, 5), reduction="sum")[1]
    summed = sum(w.grad for w in rn.tbptt(net, x, y, k1=3, k2=5, h0=h0, reduction="sum"))
    assert len(windows) == 3
    np.testing.assert_allclose(summed, total, rtol=1e-12, atol=1e-14)
    rn.cells.register(TOY)
    net.save(tmp_path / "toy.npz")
    back = rn.load(tmp_path / "toy.npz")
    assert back.cell is TOY and np.array_equal(back.theta, net.theta)


def test_each_cell_is_its_own_kernel_type():
    # A kernel compiled for one cell is keyed on its name, source digest and nonlinearity: never served to another.
    types = {rn.RNN(cell, 1, 2, 1).cell_settings.numba_type for cell in ("elman", "lstm", "gru")}
    types.add(rn.RNN("elman", 1, 2, 1, nonlinearity="relu").cell_settings.numba_type)
    types.add(rn.RNN(TOY, 1, 2, 1).cell_settings.numba_type)
    assert len(types) == 5


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(state=("h", "m")), ["state"]),
        (dict(inner_blocks=lambda n, bias: [("b", (n,))]), ["inner_gradient"]),
        (dict(settings={"alpha": complex}), ["alpha", "int or float"]),
    ],
)
def test_a_malformed_cell_is_refused_when_declared(kwargs, words):
    declaration = dict(name="bad", n_gates=1, forward=toy_forward, backward=toy_backward) | kwargs
    with pytest.raises(ValueError) as info:
        Cell(**declaration)
    assert all(word in str(info.value) for word in words)


def test_names_are_unique_and_lookups_say_what_exists():
    impostor = Cell(name="gru", n_gates=2, forward=toy_forward, backward=toy_backward, cache_width=3)
    with pytest.raises(ValueError, match="another name"):
        rn.cells.register(impostor)
    with pytest.raises(ValueError, match="elman"):
        rn.RNN("nope", 1, 2, 1)
    with pytest.raises(ValueError, match="nonlinearity"):
        rn.RNN("lstm", 1, 2, 1, nonlinearity="relu")


@pytest.mark.parametrize("name", ["elman", "lstm", "gru"])
def test_built_in_cells_declare_what_their_modules_say(name):
    cell = rn.cells.get(name)
    blocks = dict(cell.blocks(3, 4))
    assert blocks["W_xh"] == (3, cell.n_gates * 4) and blocks["W_hh"] == (4, cell.n_gates * 4)
    assert cell.has_cell_state == (name == "lstm")
    assert ("b_hn" in blocks) == (name == "gru") == cell.direct_path == cell.separate_recurrent_delta
