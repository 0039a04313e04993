"""Plain-NumPy reference versions of rnn_numba's algorithms, written to be read.

One sequence at a time, one step at a time, one layer at a time, nothing
shared with the package but the parameter names. Kernels are tested
against these.
"""

import numpy as np
from scipy.special import expit as sigmoid
from scipy.special import log_softmax, softmax

ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z))),
}


def layer_params(net):
    """Per layer, float64 copies of its blocks under their cell names."""
    return [{k: np.array(v, dtype=np.float64) for k, v in p.items()} for p in net.layer_views(net.theta)]


def step(net, p, x, h, c):
    """One cell step for one sequence: returns h_new, c_new (c None unless LSTM)."""
    H = net.n_hidden
    b = p.get("b_h", 0)
    if net.cell.name == "elman":
        f, _ = ACTIVATIONS[net.nonlinearity]
        return f(x @ p["W_xh"] + h @ p["W_hh"] + b), None
    if net.cell.name == "lstm":
        z = x @ p["W_xh"] + h @ p["W_hh"] + b
        i, f, g, o = sigmoid(z[:H]), sigmoid(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), sigmoid(z[3 * H :])
        c_new = f * c + i * g
        return o * np.tanh(c_new), c_new
    a = x @ p["W_xh"] + b
    q = h @ p["W_hh"]
    r, z = sigmoid(a[:H] + q[:H]), sigmoid(a[H : 2 * H] + q[H : 2 * H])
    n = np.tanh(a[2 * H :] + r * (q[2 * H :] + p.get("b_hn", 0)))
    return (1 - z) * n + z * h, None


def step_backward(net, p, x, h, c, dh, dc, clip=np.inf):
    """Backward through :func:`step`: returns dx, dh_prev, dc_prev, {block: grad}.

    ``clip`` clips the pre-activation deltas elementwise (Lasagne's ``grad_clipping``).
    """
    H = net.n_hidden
    b = p.get("b_h", 0)
    if net.cell.name == "elman":
        _, df = ACTIVATIONS[net.nonlinearity]
        dz = np.clip(dh * df(x @ p["W_xh"] + h @ p["W_hh"] + b), -clip, clip)
        grads = {"W_xh": np.outer(x, dz), "W_hh": np.outer(h, dz), "b_h": dz}
        return p["W_xh"] @ dz, p["W_hh"] @ dz, None, grads
    if net.cell.name == "lstm":
        z = x @ p["W_xh"] + h @ p["W_hh"] + b
        i, f, g, o = sigmoid(z[:H]), sigmoid(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), sigmoid(z[3 * H :])
        c_new = f * c + i * g
        dc_total = dc + dh * o * (1 - np.tanh(c_new) ** 2)
        dz = np.concatenate(
            [dc_total * g * i * (1 - i), dc_total * c * f * (1 - f), dc_total * i * (1 - g**2),
             dh * np.tanh(c_new) * o * (1 - o)]
        )  # fmt: skip
        dz = np.clip(dz, -clip, clip)
        grads = {"W_xh": np.outer(x, dz), "W_hh": np.outer(h, dz), "b_h": dz}
        return p["W_xh"] @ dz, p["W_hh"] @ dz, dc_total * f, grads
    a = x @ p["W_xh"] + b
    q = h @ p["W_hh"]
    qn = q[2 * H :] + p.get("b_hn", 0)
    r, z = sigmoid(a[:H] + q[:H]), sigmoid(a[H : 2 * H] + q[H : 2 * H])
    n = np.tanh(a[2 * H :] + r * qn)
    da_n = dh * (1 - z) * (1 - n**2)
    da_r = da_n * qn * r * (1 - r)
    da_z = dh * (h - n) * z * (1 - z)
    da = np.clip(np.concatenate([da_r, da_z, da_n]), -clip, clip)
    dq = np.clip(np.concatenate([da_r, da_z, da_n * r]), -clip, clip)
    grads = {"W_xh": np.outer(x, da), "W_hh": np.outer(h, dq), "b_h": da, "b_hn": dq[2 * H :]}
    return p["W_xh"] @ da, p["W_hh"] @ dq + dh * z, None, grads


def initial(net, state, B):
    """An (L, B, H) float64 state from None, (B, H) or (L, B, H)."""
    if state is None:
        return np.zeros((net.num_layers, B, net.n_hidden))
    return np.asarray(state, dtype=np.float64).reshape(net.num_layers, B, net.n_hidden)


def forward(net, x, h0=None, lengths=None, c0=None):
    """States h and c of every layer, (L, T+1, B, H), and readouts y (T, B, O)."""
    T, B, _ = x.shape
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    L = net.num_layers
    h = np.zeros((L, T + 1, B, net.n_hidden))
    c = np.zeros((L, T + 1, B, net.n_hidden))
    h[:, 0], c[:, 0] = initial(net, h0, B), initial(net, c0, B)
    for k, p in enumerate(layer_params(net)):
        inputs = x if k == 0 else h[k - 1, 1:]
        for b in range(B):
            for t in range(T):
                if t < lengths[b]:
                    h[k, t + 1, b], c_new = step(net, p, inputs[t, b], h[k, t, b], c[k, t, b])
                    c[k, t + 1, b] = c[k, t, b] if c_new is None else c_new
                else:
                    h[k, t + 1, b], c[k, t + 1, b] = h[k, t, b], c[k, t, b]
    y = h[-1, 1:] @ np.asarray(net.params["W_hy"], float) + np.asarray(net.params["b_y"], float)
    return h, c, y


def preactivations(net, x, h0=None, lengths=None, c0=None):
    """Elman pre-activations (L, T, B, H) at valid steps (zero elsewhere): to avoid relu kinks."""
    h, _, _ = forward(net, x, h0, lengths, c0)
    T, B, _ = x.shape
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    z = np.zeros((net.num_layers, T, B, net.n_hidden)) + np.inf
    for k, p in enumerate(layer_params(net)):
        inputs = x if k == 0 else h[k - 1, 1:]
        for b in range(B):
            for t in range(lengths[b]):
                z[k, t, b] = inputs[t, b] @ p["W_xh"] + h[k, t, b] @ p["W_hh"] + p.get("b_h", 0)
    return z


def loss_terms(loss, y, target):
    """Per-(t, b) loss terms and their gradients with respect to y."""
    if loss == "mse":
        err = y - target
        return np.mean(err**2, axis=-1), 2 * err / y.shape[-1]
    T, B = target.shape
    terms, dy = np.zeros((T, B)), softmax(y, axis=-1)
    for t in range(T):
        for b in range(B):
            cls = target[t, b] if 0 <= target[t, b] < y.shape[-1] else 0
            terms[t, b] = -log_softmax(y[t, b])[cls]
            dy[t, b, cls] -= 1
    return terms, dy


def effective_weights(weights, lengths, T, B, reduction):
    """Weights with padding zeroed and the reduction's 1/Z folded in."""
    w = np.ones((T, B)) if weights is None else np.array(weights, dtype=np.float64)
    if lengths is not None:
        for b, n in enumerate(lengths):
            w[n:, b] = 0
    if reduction == "mean":
        w = w / w.sum() if w.sum() > 0 else w * 0
    return w


def loss(net, x, target, loss="mse", weights=None, lengths=None, h0=None, c0=None, reduction="mean"):
    """The loss L = sum_{t,b} w_tb l_tb / Z, computed directly."""
    _, _, y = forward(net, x, h0, lengths, c0)
    terms, _ = loss_terms(loss, y, target)
    return float(np.sum(effective_weights(weights, lengths, x.shape[0], x.shape[1], reduction) * terms))


def gradient(net, x, target, loss="mse", weights=None, lengths=None, h0=None, c0=None, reduction="mean", horizon=None,
             scale=None):  # fmt: skip
    """Full BPTT (horizon None) or fixed-horizon truncation, term by term.

    Every loss term L_{t,b} is backpropagated on its own through the
    (layer, time) graph, ``horizon`` steps back (to the start when None), top
    layer first at each step. With ``scale`` (T,), the message reaching the
    state before step s from step s is multiplied by scale[s] (ARTBP's
    compensation). Returns (loss, flat grad, dL/dh0, dL/dc0), the states as
    (L, B, H).
    """
    T, B, _ = x.shape
    L, H = net.num_layers, net.n_hidden
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    h, c, y = forward(net, x, h0, lengths, c0)
    params = layer_params(net)
    terms, dy = loss_terms(loss, y, target)
    w = effective_weights(weights, lengths, T, B, reduction)
    grads = [{name: np.zeros_like(v) for name, v in p.items()} for p in params]
    readout = {"W_hy": np.zeros(net.params["W_hy"].shape), "b_y": np.zeros(net.n_out)}
    dh0, dc0 = np.zeros((L, B, H)), np.zeros((L, B, H))
    steps = T if horizon is None else horizon
    W_hy = np.asarray(net.params["W_hy"], float)
    for b in range(B):
        for t in range(T):
            if w[t, b] == 0:
                continue
            dy_tb = w[t, b] * dy[t, b]
            readout["W_hy"] += np.outer(h[-1, t + 1, b], dy_tb)
            readout["b_y"] += dy_tb
            first = t - steps + 1  # earliest step the term reaches
            dh = np.zeros((L, T + 1, H))  # dL/dh[k, s] for this term
            dc = np.zeros((L, T + 1, H))
            dh[-1, t + 1] = W_hy @ dy_tb
            for s in range(t, max(first, 0) - 1, -1):
                for k in reversed(range(L)):
                    if s >= lengths[b]:  # padded: h_{s+1} = h_s
                        dh[k, s] += dh[k, s + 1]
                        dc[k, s] += dc[k, s + 1]
                        continue
                    inputs = x[s, b] if k == 0 else h[k - 1, s + 1, b]
                    dx, dh_prev, dc_prev, g = step_backward(
                        net, params[k], inputs, h[k, s, b], c[k, s, b], dh[k, s + 1], dc[k, s + 1]
                    )
                    for name in grads[k]:
                        grads[k][name] += g[name]
                    factor = 1.0 if scale is None else scale[s]
                    dh[k, s] += factor * dh_prev
                    if dc_prev is not None:
                        dc[k, s] += factor * dc_prev
                    if k > 0:
                        dh[k - 1, s + 1] += dx
            if first <= 0:
                dh0[:, b] += dh[:, 0]
                dc0[:, b] += dc[:, 0]
    flat = np.zeros(net.n_params)
    views = net.layout.views(flat)
    for names, g in zip(net.layout.layers, grads, strict=True):
        for name, value in g.items():
            views[names[name]][...] = value
    views["W_hy"][...], views["b_y"][...] = readout["W_hy"], readout["b_y"]
    for name in net.frozen:
        views[name][...] = 0
    return float(np.sum(w * terms)), flat, dh0, dc0


def tbptt_windows(net, x, target, k1, k2, loss="mse", weights=None, reduction="mean"):
    """TBPTT(k1, k2) as Williams & Peng describe it, at fixed parameters.

    Returns a list of (start, stop, loss, grad): window ends every k1 steps
    (and at T); each window reruns its steps from the held state of every
    layer k2 - k1 steps before its losses, and backpropagates the losses of
    its last (at most k1) steps.
    """
    T, B, _ = x.shape
    h, c, _ = forward(net, x)
    windows, done = [], 0
    while done < T:
        stop = min(done + k1, T)
        start = max(0, done - (k2 - k1))
        w = np.ones((T, B)) if weights is None else np.array(weights, dtype=np.float64)
        w = w[start:stop].copy()
        w[: done - start] = 0
        value, grad, _, _ = gradient(
            net, x[start:stop], target[start:stop], loss, w, None, h[:, start], c[:, start], reduction
        )
        windows.append((start, stop, value, grad))
        done = stop
    return windows


def clipped_gradient(net, x, target, clip, loss="mse", reduction="mean"):
    """Full BPTT of a one-layer net with the backward message clipped at every step.

    Clipping acts on the summed message, so this runs one backward sweep per
    sequence (not term by term). Returns the flat gradient.
    """
    T, B, _ = x.shape
    h, c, y = forward(net, x)
    (p,) = layer_params(net)
    _, dy = loss_terms(loss, y, target)
    dy = dy * effective_weights(None, None, T, B, reduction)[..., None]
    W_hy = np.asarray(net.params["W_hy"], float)
    grads = {name: np.zeros_like(v) for name, v in p.items()}
    for b in range(B):
        dh, dc = np.zeros(net.n_hidden), np.zeros(net.n_hidden)
        for t in reversed(range(T)):
            dh = dh + W_hy @ dy[t, b]
            _, dh, dc, g = step_backward(net, p, x[t, b], h[0, t, b], c[0, t, b], dh, dc, clip)
            dc = np.zeros(net.n_hidden) if dc is None else dc
            for name in grads:
                grads[name] += g[name]
    flat = np.zeros(net.n_params)
    views = net.layout.views(flat)
    for name, value in grads.items():
        views[name][...] = value
    views["W_hy"][...] = np.einsum("tbh,tbo->ho", h[0, 1:], dy)
    views["b_y"][...] = dy.sum(axis=(0, 1))
    return flat


def eligibility_gradient(net, x, target, loss="mse", weights=None, reduction="mean", feedback=None):
    """RFLO (leaky Elman) or e-prop (LSTM) of a one-layer net, per sequence and step, from the papers' equations.

    Murray (2019), eLife 8:e43299: B_t = (1 - alpha) B_{t-1} + alpha f'(z_t) u_t,
    with u_t = [x_t; h_{t-1}; 1]. Bellec et al. (2020), Nat. Commun.
    11:3625, LSTM: eps_t = f_t eps_{t-1} + dc_t/dW, e_t = o_t tanh'(c_t) eps_t
    + dh_t/dW. The gradient is sum_t L_t e_t with the learning signal
    L_t = dL_t/dy_t @ feedback (W_hy^T by default); the readout's is exact.
    Returns the flat gradient.
    """
    T, B, _ = x.shape
    (p,) = layer_params(net)
    H = net.n_hidden
    lstm = net.cell.name == "lstm"
    G = 4 if lstm else 1
    bias = "b_h" in p
    weights_in = np.vstack([p["W_xh"], p["W_hh"]] + ([p["b_h"][None, :]] if bias else []))
    W_hy = np.asarray(net.params["W_hy"], float)
    back = W_hy.T if feedback is None else np.asarray(feedback, float)
    w = effective_weights(weights, None, T, B, reduction)
    grad = np.zeros_like(weights_in)
    readout = {"W_hy": np.zeros_like(W_hy), "b_y": np.zeros(net.n_out)}
    for b in range(B):
        h, c = np.zeros(H), np.zeros(H)
        eps = np.zeros_like(weights_in)  # [input component, gate column]
        for t in range(T):
            u = np.concatenate([x[t, b], h] + ([[1.0]] if bias else []))
            z = u @ weights_in
            if lstm:
                i, f, g, o = sigmoid(z[:H]), sigmoid(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), sigmoid(z[3 * H :])
                c_new = f * c + i * g
                h_new = o * np.tanh(c_new)
                dc_dz = np.concatenate([g * i * (1 - i), c * f * (1 - f), i * (1 - g**2), np.zeros(H)])
                dh_dz_direct = np.concatenate([np.zeros(3 * H), np.tanh(c_new) * o * (1 - o)])
                eps = np.tile(f, G) * eps + np.outer(u, dc_dz)
                trace = np.tile(o * (1 - np.tanh(c_new) ** 2), G) * eps + np.outer(u, dh_dz_direct)
                h, c = h_new, c_new
            else:
                alpha = net.cell_options["alpha"]
                f, df = ACTIVATIONS[net.nonlinearity]
                eps = (1 - alpha) * eps + alpha * np.outer(u, df(z))
                trace = eps
                h = (1 - alpha) * h + alpha * f(z)
            y = h @ W_hy + np.asarray(net.params["b_y"], float)
            _, dy = loss_terms(loss, y[None, None], target[t : t + 1, b : b + 1])
            dy = w[t, b] * dy[0, 0]
            readout["W_hy"] += np.outer(h, dy)
            readout["b_y"] += dy
            grad += trace * np.tile(dy @ back, G)
    flat = np.zeros(net.n_params)
    views = net.layout.views(flat)
    names = net.layout.layers[0]
    n_in = p["W_xh"].shape[0]
    views[names["W_xh"]][...], views[names["W_hh"]][...] = grad[:n_in], grad[n_in : n_in + H]
    if bias:
        views[names["b_h"]][...] = grad[-1]
    views["W_hy"][...], views["b_y"][...] = readout["W_hy"], readout["b_y"]
    return flat


def checkpoint_cost(n_units, checkpoints):
    """The fewest forward units that reverse ``n_units`` with ``checkpoints`` stored states: dynamic programming.

    Reversing [0, n) from a stored state at 0 with s slots: store the state at
    j (one slot fewer for [j, n), except that a last single unit needs none),
    reverse [j, n), then [0, j) again from 0. A single unit costs one taped
    forward step. The recursion of Gruslys et al. (2016), over every j.
    """
    cost = {}
    for s in range(1, checkpoints + 1):
        cost[1, s] = 1
        for n in range(2, n_units + 1):
            options = []
            for j in range(1, n):
                if n - j == 1:
                    right = 1
                elif s >= 2:
                    right = cost[n - j, s - 1]
                else:
                    continue
                options.append(j + right + cost[j, s])
            cost[n, s] = min(options)
    return cost[n_units, checkpoints]
