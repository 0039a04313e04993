"""Plain-NumPy reference versions of rnn_numba's algorithms, written to be read.

One sequence at a time, one step at a time, no buffers shared between
algorithms. Kernels are tested against these.
"""

import numpy as np
from scipy.special import log_softmax, softmax

ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
}


def params(net):
    """The model's blocks as float64 copies."""
    return {name: np.array(v, dtype=np.float64) for name, v in net.params.items()}


def forward(net, x, h0=None, lengths=None):
    """States h (T+1, B, H), pre-activations z (T, B, H), readouts y (T, B, O)."""
    p = params(net)
    f, _ = ACTIVATIONS[net.nonlinearity]
    T, B, _ = x.shape
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    h = np.zeros((T + 1, B, net.n_hidden))
    if h0 is not None:
        h[0] = h0
    z = np.zeros((T, B, net.n_hidden))
    for b in range(B):
        for t in range(T):
            if t < lengths[b]:
                z[t, b] = x[t, b] @ p["W_xh"] + h[t, b] @ p["W_hh"] + p["b_h"]
                h[t + 1, b] = f(z[t, b])
            else:
                h[t + 1, b] = h[t, b]
    y = h[1:] @ p["W_hy"] + p["b_y"]
    return h, z, y


def loss_terms(loss, y, target):
    """Per-(t, b) loss terms and their gradients with respect to y."""
    if loss == "mse":
        err = y - target
        return np.mean(err**2, axis=-1), 2 * err / y.shape[-1]
    T, B = target.shape
    terms, dy = np.zeros((T, B)), softmax(y, axis=-1)
    for t in range(T):
        for b in range(B):
            c = target[t, b] if 0 <= target[t, b] < y.shape[-1] else 0
            terms[t, b] = -log_softmax(y[t, b])[c]
            dy[t, b, c] -= 1
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


def loss(net, x, target, loss="mse", weights=None, lengths=None, h0=None, reduction="mean"):
    """The loss L = sum_{t,b} w_tb l_tb / Z, computed directly."""
    _, _, y = forward(net, x, h0, lengths)
    terms, _ = loss_terms(loss, y, target)
    w = effective_weights(weights, lengths, x.shape[0], x.shape[1], reduction)
    return float(np.sum(w * terms))


def _backward_term(net, x, h, z, dh_t, t, steps, b, length, grads):
    """Backpropagate dL/dh_{t+1} of sequence b through `steps` steps (t, t-1, ...).

    Accumulates into ``grads`` and returns dL/dh at the state where it stops.
    """
    p = params(net)
    _, df = ACTIVATIONS[net.nonlinearity]
    dh = dh_t.copy()
    for s in range(t, t - steps, -1):
        if s < 0:
            break
        if s >= length:  # padded step: h_{s+1} = h_s, the message passes unchanged
            continue
        da = dh * df(z[s, b])
        grads["W_xh"] += np.outer(x[s, b], da)
        grads["W_hh"] += np.outer(h[s, b], da)
        grads["b_h"] += da
        dh = p["W_hh"] @ da
    return dh


def gradient(net, x, target, loss="mse", weights=None, lengths=None, h0=None, reduction="mean", horizon=None):
    """Full BPTT (horizon None) or fixed-horizon truncation, term by term.

    Every loss term L_{t,b} is backpropagated separately, ``horizon`` steps
    (all the way to h_0 when None). Returns (loss, flat grad, dL/dh0).
    """
    T, B, _ = x.shape
    h, z, y = forward(net, x, h0, lengths)
    p = params(net)
    terms, dy = loss_terms(loss, y, target)
    w = effective_weights(weights, lengths, T, B, reduction)
    grads = {name: np.zeros_like(v) for name, v in p.items()}
    dh0 = np.zeros((B, net.n_hidden))
    steps = T if horizon is None else horizon
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    for b in range(B):
        for t in range(T):
            if w[t, b] == 0:
                continue
            dy_tb = w[t, b] * dy[t, b]
            grads["W_hy"] += np.outer(h[t + 1, b], dy_tb)
            grads["b_y"] += dy_tb
            dh_start = _backward_term(net, x, h, z, p["W_hy"] @ dy_tb, t, steps, b, lengths[b], grads)
            if t - steps < 0:
                dh0[b] += dh_start
    flat = np.concatenate([grads[name].ravel() for name in net.layout.names])
    for name in net.frozen:
        flat[net.layout.slices[name]] = 0
    return float(np.sum(w * terms)), flat, dh0


def tbptt_windows(net, x, target, k1, k2, loss="mse", weights=None, reduction="mean"):
    """TBPTT(k1, k2) as Williams & Peng describe it, at fixed parameters.

    Returns a list of (start, stop, loss, grad): window ends every k1 steps
    (and at T); each window reruns steps stop - k2 .. stop - 1 from the held
    state and backpropagates the losses of its last k1 steps.
    """
    T, B, _ = x.shape
    h, _, _ = forward(net, x)
    windows, done = [], 0
    while done < T:
        stop = min(done + k1, T)
        start = max(0, stop - k2)
        w = np.ones((T, B)) if weights is None else np.array(weights, dtype=np.float64)
        w = w[start:stop].copy()
        w[: done - start] = 0
        value, grad, _ = gradient(net, x[start:stop], target[start:stop], loss, w, None, h[start], reduction)
        windows.append((start, stop, value, grad))
        done = stop
    return windows
