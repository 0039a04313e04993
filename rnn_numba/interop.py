"""Weights to and from PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``.

PyTorch stays optional: it is imported only inside these functions.

Layout, for layer k (PyTorch's names on the right)::

    W_xh[_lk] = weight_ih_lk.T                      (n_in_k, G*H)
    W_hh[_lk] = weight_hh_lk.T                      (H, G*H)
    b_h[_lk]  = bias_ih_lk + bias_hh_lk             Elman, LSTM (G*H,)
    b_h[_lk]  = bias_ih_lk + [bias_hh_lk[r, z], 0]  GRU (3H,)
    b_hn[_lk] = bias_hh_lk[n]                       GRU (H,)

Gate orders are PyTorch's (LSTM i, f, g, o; GRU r, z, n). PyTorch's two
biases enter every gate as a sum, except the GRU's ``bias_hh`` n part, which
the reset gate multiplies; so the sum is exact, and :func:`to_torch` puts
the merged bias in ``bias_ih`` and zeros (or ``b_hn``) in ``bias_hh``.
"""

import numpy as np

from .model import RNN

_CELLS = {"RNN": "elman", "LSTM": "lstm", "GRU": "gru"}


def _cell_of(module):
    name = type(module).__name__
    if name not in _CELLS:
        raise TypeError(f"expected a torch.nn.RNN, LSTM or GRU, got {name}")
    if module.bidirectional:
        raise ValueError("bidirectional modules are not supported: rnn_numba runs forward in time only")
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTM with proj_size > 0 is not supported")
    return _CELLS[name]


def from_torch(module, linear=None, *, n_out: int = 1, dtype: type = np.float64, seed: int | None = None) -> RNN:
    """An rnn_numba model with the weights of a PyTorch recurrent module.

    Parameters
    ----------
    module : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        Unidirectional, any ``num_layers``, ``bias`` True or False, tanh or
        relu for ``nn.RNN``. ``batch_first`` does not affect the weights
        (rnn_numba is time-major); dropout between layers is not applied.
    linear : torch.nn.Linear, optional
        A readout (H -> n_out) whose weights become ``W_hy`` and ``b_y``;
        without one, the readout has ``n_out`` outputs, initialised with ``seed``.
    dtype : np.float32 or np.float64

    Returns
    -------
    RNN
    """
    cell = _cell_of(module)
    if linear is not None:
        n_out = linear.out_features
    net = RNN(
        cell,
        module.input_size,
        module.hidden_size,
        n_out,
        num_layers=module.num_layers,
        bias=module.bias,
        nonlinearity=getattr(module, "nonlinearity", "tanh"),
        dtype=dtype,
        seed=seed,
    )
    tensors = {name: t.detach().cpu().double().numpy() for name, t in module.named_parameters()}
    H = module.hidden_size
    for k, p in enumerate(net.layer_views()):
        p["W_xh"][...] = tensors[f"weight_ih_l{k}"].T
        p["W_hh"][...] = tensors[f"weight_hh_l{k}"].T
        if module.bias:
            b_ih, b_hh = tensors[f"bias_ih_l{k}"], tensors[f"bias_hh_l{k}"]
            if cell == "gru":
                p["b_h"][...] = b_ih + np.concatenate([b_hh[: 2 * H], np.zeros(H)])
                p["b_hn"][...] = b_hh[2 * H :]
            else:
                p["b_h"][...] = b_ih + b_hh
    if linear is not None:
        net.params["W_hy"][...] = linear.weight.detach().cpu().double().numpy().T
        if linear.bias is not None:
            net.params["b_y"][...] = linear.bias.detach().cpu().double().numpy()
        else:
            net.params["b_y"][...] = 0
    return net


def to_torch(net: RNN) -> tuple:
    """PyTorch modules with the weights of an rnn_numba model.

    Returns
    -------
    module : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        Time-major (``batch_first=False``), in the model's dtype.
    linear : torch.nn.Linear
        The readout, H -> n_out.
    """
    import torch

    kinds = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    if net.cell.name not in kinds:
        raise ValueError(f"PyTorch has no {net.cell.name} cell; to_torch converts {sorted(kinds)}")
    kwargs = {"nonlinearity": net.nonlinearity} if net.cell.name == "elman" else {}
    if net.cell.name == "elman" and net.nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"torch.nn.RNN has no {net.nonlinearity!r} nonlinearity; use tanh or relu")
    torch_dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    module = kinds[net.cell.name](
        net.n_in, net.n_hidden, num_layers=net.num_layers, bias=net.bias, dtype=torch_dtype, **kwargs
    )
    linear = torch.nn.Linear(net.n_hidden, net.n_out, dtype=torch_dtype)
    H = net.n_hidden
    with torch.no_grad():
        for k, p in enumerate(net.layer_views()):
            getattr(module, f"weight_ih_l{k}").copy_(torch.from_numpy(np.ascontiguousarray(p["W_xh"].T)))
            getattr(module, f"weight_hh_l{k}").copy_(torch.from_numpy(np.ascontiguousarray(p["W_hh"].T)))
            if net.bias:
                getattr(module, f"bias_ih_l{k}").copy_(torch.from_numpy(p["b_h"].copy()))
                b_hh = np.zeros_like(p["b_h"])
                if "b_hn" in p:
                    b_hh[2 * H :] = p["b_hn"]
                getattr(module, f"bias_hh_l{k}").copy_(torch.from_numpy(b_hh))
        linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(net.params["W_hy"].T)))
        linear.bias.copy_(torch.from_numpy(net.params["b_y"].copy()))
    return module, linear
