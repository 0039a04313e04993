"""The LSTM cell with a forget gate.

Hochreiter & Schmidhuber (1997), Long short-term memory, Neural Computation
9(8), 1735-1780, doi:10.1162/neco.1997.9.8.1735; the forget gate of Gers,
Schmidhuber & Cummins (2000), doi:10.1162/089976600300015015. Gate order
i, f, g, o as in PyTorch, all four gates from one projection each::

    z_t = a_t + r_t = x_t @ W_xh + b_h + h_{t-1} @ W_hh     (B, 4H): [z_i | z_f | z_g | z_o]
    i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g), o = sigmoid(z_o)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

``b_h`` is PyTorch's ``bias_ih + bias_hh``. The forget-gate bias starts at
1.0 by default (Jozefowicz, Zaremba & Sutskever 2015, ICML).
"""

from .._kernels.jit import jit_step_kernel
from .._kernels.vmath import sigmoid, tanh
from .contract import Cell


def initialise(views, n_hidden, forget_bias):
    """Set the forget-gate bias (the second quarter of ``b_h``)."""
    if "b_h" in views:
        views["b_h"][n_hidden : 2 * n_hidden] = forget_bias


@jit_step_kernel
def forward(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t):
    """One LSTM step for rows b0:b1; ``cache_t`` (B, 5H) receives [i | f | g | o | tanh(c_t)].

    Written as short passes over contiguous row views, each from index 0
    (gates, then state), which LLVM vectorises better than one loop doing
    everything, or than loops over an offset range of the whole row.
    """
    c_prev = s_prev[1]
    h_next, c_next = s_next
    n_hidden = h_next.shape[1]
    for b in range(b0, b1):
        a_b, r_b, cache_b, c_prev_b, c_b, h_b = a_t[b], r_t[b], cache_t[b], c_prev[b], c_next[b], h_next[b]
        for j in range(2 * n_hidden):  # i, f
            cache_b[j] = sigmoid(a_b[j] + r_b[j])
        g_a, g_r, g = a_b[2 * n_hidden :], r_b[2 * n_hidden :], cache_b[2 * n_hidden : 3 * n_hidden]
        for j in range(n_hidden):
            g[j] = tanh(g_a[j] + g_r[j])
        o_a, o_r, o = a_b[3 * n_hidden :], r_b[3 * n_hidden :], cache_b[3 * n_hidden : 4 * n_hidden]
        for j in range(n_hidden):
            o[j] = sigmoid(o_a[j] + o_r[j])
        i, f, tanh_c = cache_b[:n_hidden], cache_b[n_hidden : 2 * n_hidden], cache_b[4 * n_hidden :]
        for j in range(n_hidden):
            c_b[j] = f[j] * c_prev_b[j] + i[j] * g[j]
        for j in range(n_hidden):
            tanh_c[j] = tanh(c_b[j])
        for j in range(n_hidden):
            h_b[j] = o[j] * tanh_c[j]


@jit_step_kernel
def backward(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev):
    """Backward through one LSTM step, for rows b0:b1.

    dc_t(total) = dc + dh o (1 - tanh(c_t)^2);
    dz_i = dc_t i (1 - i) g, dz_f = dc_t f (1 - f) c_{t-1}, dz_g = dc_t i (1 - g^2),
    dz_o = dh o (1 - o) tanh(c_t), written into ``da`` (B, 4H) (dL/da_t = dL/dr_t = dL/dz_t);
    dL/dc_{t-1} = dc_t(total) f into ``dc_prev``, which holds dc_t(total) meanwhile.

    One pass per output block: LLVM vectorises these, and not one loop
    writing all four blocks.
    """
    dh, dc = ds
    c_prev = s_prev[1]
    dc_prev = ds_prev[1]
    n_hidden = dh.shape[1]
    one = dh.dtype.type(1)
    for b in range(b0, b1):
        dh_b, cache_b, dz_b, dc_total = dh[b], cache_t[b], da[b], dc_prev[b]
        i, f = cache_b[:n_hidden], cache_b[n_hidden : 2 * n_hidden]
        g, o = cache_b[2 * n_hidden : 3 * n_hidden], cache_b[3 * n_hidden : 4 * n_hidden]
        tanh_c = cache_b[4 * n_hidden :]
        for j in range(n_hidden):
            dc_total[j] = dc[b, j] + dh_b[j] * o[j] * (one - tanh_c[j] * tanh_c[j])
        for j in range(n_hidden):
            dz_b[j] = dc_total[j] * g[j] * i[j] * (one - i[j])
        for j in range(n_hidden):
            dz_b[n_hidden + j] = dc_total[j] * c_prev[b, j] * f[j] * (one - f[j])
        for j in range(n_hidden):
            dz_b[2 * n_hidden + j] = dc_total[j] * i[j] * (one - g[j] * g[j])
        for j in range(n_hidden):
            dz_b[3 * n_hidden + j] = dh_b[j] * tanh_c[j] * o[j] * (one - o[j])
        for j in range(n_hidden):
            dc_total[j] *= f[j]


@jit_step_kernel
def jvp(cell, b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next):
    """Forward mode for sequence b, M directions (tangents of a_t, r_t and of (h, c)_{t-1}).

    dz = da + dr; di = i (1 - i) dz_i, df = f (1 - f) dz_f, dg = (1 - g^2) dz_g,
    do = o (1 - o) dz_o; dc_t = df c_{t-1} + f dc_{t-1} + di g + i dg;
    dh_t = do tanh(c_t) + o (1 - tanh(c_t)^2) dc_t.
    """
    c_prev, cache = s_prev[1][b], cache_t[b]
    dc_prev = ds_prev[1]
    dh, dc = ds_next
    n_hidden = c_prev.shape[0]
    one = c_prev.dtype.type(1)
    i, f = cache[:n_hidden], cache[n_hidden : 2 * n_hidden]
    g, o, tanh_c = cache[2 * n_hidden : 3 * n_hidden], cache[3 * n_hidden : 4 * n_hidden], cache[4 * n_hidden :]
    for m in range(dh.shape[0]):
        za, zr = a_dot[m], r_dot[m]
        for j in range(n_hidden):
            di = i[j] * (one - i[j]) * (za[j] + zr[j])
            df = f[j] * (one - f[j]) * (za[n_hidden + j] + zr[n_hidden + j])
            dg = (one - g[j] * g[j]) * (za[2 * n_hidden + j] + zr[2 * n_hidden + j])
            do = o[j] * (one - o[j]) * (za[3 * n_hidden + j] + zr[3 * n_hidden + j])
            dc_j = df * c_prev[j] + f[j] * dc_prev[m, j] + di * g[j] + i[j] * dg
            dc[m, j] = dc_j
            dh[m, j] = do * tanh_c[j] + o[j] * (one - tanh_c[j] * tanh_c[j]) * dc_j


LSTM = Cell(
    name="lstm",
    n_gates=4,
    forward=forward,
    backward=backward,
    jvp=jvp,
    state=("h", "c"),
    cell_state_gates=(0, 1, 2),
    cache_width=5,
    initialise=initialise,
    doc="LSTM with a forget gate, gates i, f, g, o (Hochreiter & Schmidhuber 1997; Gers et al. 2000)",
)
