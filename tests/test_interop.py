"""PyTorch interop and cross-checks against PyTorch autograd, in float64.

Skipped, with the reason, when PyTorch is not installed (``make test``
installs its CPU build).
"""

import numpy as np
import pytest

import rnn_numba as rn

torch = pytest.importorskip("torch", reason="PyTorch is an optional peer; install torch==2.13.0 to cross-check")

MODULES = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
CASES = [
    (cell, layers, bias, nonlinearity)
    for cell in MODULES
    for layers in (1, 2, 3)
    for bias in (True, False)
    for nonlinearity in (("tanh", "relu") if cell == "elman" else ("tanh",))
]


def torch_pair(cell, layers, bias, nonlinearity, n_in=3, hidden=5, n_out=2, seed=0):
    torch.manual_seed(seed)
    kwargs = {"nonlinearity": nonlinearity} if cell == "elman" else {}
    module = MODULES[cell](n_in, hidden, num_layers=layers, bias=bias, dtype=torch.float64, **kwargs)
    linear = torch.nn.Linear(hidden, n_out, dtype=torch.float64)
    return module, linear


def data(T=9, B=4, n_in=3, n_out=2, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T, B, n_in)), rng.normal(size=(T, B, n_out)), np.array([9, 4, 7, 1])[:B]


def torch_grads(net, module, linear):
    """PyTorch's .grad tensors in rnn_numba's flat layout (biases: d/d(b_ih + b_hh) = d/db_ih)."""
    flat = np.zeros(net.n_params)
    views = net.layout.views(flat)
    H = net.n_hidden
    for k, names in enumerate(net.layout.layers):
        views[names["W_xh"]][...] = getattr(module, f"weight_ih_l{k}").grad.numpy().T
        views[names["W_hh"]][...] = getattr(module, f"weight_hh_l{k}").grad.numpy().T
        if net.bias:
            views[names["b_h"]][...] = getattr(module, f"bias_ih_l{k}").grad.numpy()
            if "b_hn" in names:
                views[names["b_hn"]][...] = getattr(module, f"bias_hh_l{k}").grad.numpy()[2 * H :]
    views["W_hy"][...] = linear.weight.grad.numpy().T
    views["b_y"][...] = linear.bias.grad.numpy()
    return flat


def torch_loss(module, linear, x, y, lengths, state=None):
    """Sum over valid steps of the mean squared error of the readout; returns (loss, final state)."""
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(x), torch.from_numpy(lengths), enforce_sorted=False
    )
    out, final = module(packed, state)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
    mask = torch.from_numpy((np.arange(x.shape[0])[:, None] < lengths[None, :]).astype(float))
    err = ((linear(out) - torch.from_numpy(y)) ** 2).mean(dim=-1)
    return (err * mask).sum(), final


@pytest.mark.parametrize("cell, layers, bias, nonlinearity", CASES)
def test_outputs_states_and_gradients_match_pytorch_autograd(cell, layers, bias, nonlinearity):
    module, linear = torch_pair(cell, layers, bias, nonlinearity)
    net = rn.from_torch(module, linear)
    x, y, lengths = data()
    loss, final = torch_loss(module, linear, x, y, lengths)
    loss.backward()
    ours = net.backward(x, y, lengths=lengths, reduction="sum")
    h_n = final[0] if cell == "lstm" else final
    np.testing.assert_allclose(ours.loss, loss.item(), rtol=1e-12)
    np.testing.assert_allclose(np.reshape(ours.h_final, h_n.shape), h_n.detach().numpy(), rtol=1e-12, atol=1e-14)
    if cell == "lstm":
        c_n = final[1].detach().numpy()
        np.testing.assert_allclose(np.reshape(ours.c_final, c_n.shape), c_n, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.grad, torch_grads(net, module, linear), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cell, layers", [(c, n) for c in MODULES for n in (1, 2)])
@pytest.mark.parametrize("k", [1, 3, 4])
def test_tbptt_matches_pytorch_chunked_detach_loop(cell, layers, k):
    """TBPTT(k, k) is PyTorch's loop over chunks with the carried state detached."""
    module, linear = torch_pair(cell, layers, True, "tanh")
    net = rn.from_torch(module, linear)
    x, y, _ = data(T=10)
    full_length = np.full(x.shape[1], 0)
    state = None
    for start in range(0, x.shape[0], k):
        stop = min(start + k, x.shape[0])
        full_length[:] = stop - start
        loss, state = torch_loss(module, linear, x[start:stop], y[start:stop], full_length, state)
        loss.backward()
        state = tuple(s.detach() for s in state) if cell == "lstm" else state.detach()
    ours = net.backward(x, y, tbptt=(k, k), reduction="sum")
    np.testing.assert_allclose(ours.grad, torch_grads(net, module, linear), rtol=1e-10, atol=1e-13)
    windows = list(rn.tbptt(net, x, y, k, k, reduction="sum"))
    np.testing.assert_allclose(sum(w.grad for w in windows), ours.grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell, layers, bias, nonlinearity", CASES)
def test_round_trip_through_pytorch_keeps_the_function(cell, layers, bias, nonlinearity):
    net = rn.RNN(cell, 3, 5, 2, num_layers=layers, bias=bias, nonlinearity=nonlinearity, seed=7)
    module, linear = rn.to_torch(net)
    back = rn.from_torch(module, linear)
    np.testing.assert_array_equal(back.theta, net.theta)  # biases land where they came from
    x, _, _ = data()
    out, _ = module(torch.from_numpy(x))
    np.testing.assert_allclose(linear(out).detach().numpy(), net.forward(x).y, rtol=1e-12, atol=1e-14)


def test_pytorch_biases_are_summed_exactly():
    module, linear = torch_pair("lstm", 1, True, "tanh")
    net = rn.from_torch(module, linear)
    expected = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()
    np.testing.assert_array_equal(net.params["b_h"], expected)
    gru, lin = torch_pair("gru", 1, True, "tanh")
    H = gru.hidden_size
    g = rn.from_torch(gru, lin)
    np.testing.assert_array_equal(g.params["b_hn"], gru.bias_hh_l0.detach().numpy()[2 * H :])


def test_unsupported_modules_get_clear_errors():
    with pytest.raises(ValueError, match="bidirectional"):
        rn.from_torch(torch.nn.GRU(2, 3, bidirectional=True))
    with pytest.raises(ValueError, match="proj_size"):
        rn.from_torch(torch.nn.LSTM(2, 4, proj_size=2))
    with pytest.raises(TypeError, match="torch.nn.RNN, LSTM or GRU"):
        rn.from_torch(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match="identity"):
        rn.to_torch(rn.Elman(2, 3, 1, nonlinearity="identity"))
