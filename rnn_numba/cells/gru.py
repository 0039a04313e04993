"""The GRU cell in PyTorch's formulation.

Cho et al. (2014), arXiv:1406.1078, with the reset gate applied after the
recurrent product, as in PyTorch's ``torch.nn.GRU`` (and cuDNN), so that
weights map one to one. Gate order r, z, n::

    a_t = x_t @ W_xh + b_h                        (B, 3H): [a_r | a_z | a_n]
    r_t = h_{t-1} @ W_hh                          (B, 3H): [r_r | r_z | r_n]
    r = sigmoid(a_r + r_r),  z = sigmoid(a_z + r_z)
    n = tanh(a_n + r * (r_n + b_hn))
    h_t = (1 - z) * n + z * h_{t-1}

``b_h`` holds PyTorch's ``bias_ih`` plus the r and z parts of ``bias_hh``;
``b_hn``, the cell's inner parameter, is the n part of ``bias_hh``, which the
reset gate multiplies and which therefore cannot be merged.
"""

from .._kernels.jit import jit_step_kernel
from .._kernels.vmath import sigmoid, tanh
from .contract import Cell


def inner_blocks(n_hidden, bias):
    """The recurrent bias ``b_hn`` (H,), if the cell has biases."""
    return [("b_hn", (n_hidden,))] if bias else []


@jit_step_kernel
def forward(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t):
    """One GRU step for rows b0:b1; ``cache_t`` (B, 4H) receives [r | z | n | r_n + b_hn].

    Written as short passes over contiguous memory, which LLVM vectorises.
    """
    h_prev, h_next = s_prev[0], s_next[0]
    n_hidden = h_next.shape[1]
    has_bias = inner.shape[0] > 0
    for b in range(b0, b1):
        for j in range(2 * n_hidden):  # r, z
            cache_t[b, j] = sigmoid(a_t[b, j] + r_t[b, j])
        for j in range(n_hidden):
            rn = r_t[b, 2 * n_hidden + j]
            if has_bias:
                rn += inner[j]
            cache_t[b, 3 * n_hidden + j] = rn
            cache_t[b, 2 * n_hidden + j] = tanh(a_t[b, 2 * n_hidden + j] + cache_t[b, j] * rn)
        for j in range(n_hidden):
            n = cache_t[b, 2 * n_hidden + j]
            h_next[b, j] = n + cache_t[b, n_hidden + j] * (h_prev[b, j] - n)


@jit_step_kernel
def backward(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev):
    """Backward through one GRU step, for rows b0:b1.

    dn = dh (1 - z); da_n = dn (1 - n^2); dr_n = da_n r;
    da_r = dr_r = da_n (r_n + b_hn) r (1 - r); da_z = dr_z = dh (h_{t-1} - n) z (1 - z);
    the direct part of dL/dh_{t-1}, written into ``dh_prev``, is dh z. One
    pass per output block, which LLVM vectorises.
    """
    dh, h_prev, dh_prev = ds[0], s_prev[0], ds_prev[0]
    n_hidden = dh.shape[1]
    one = dh.dtype.type(1)
    for b in range(b0, b1):
        dh_b, h_prev_b, cache_b, da_b, dr_b = dh[b], h_prev[b], cache_t[b], da[b], dr[b]
        r, z = cache_b[:n_hidden], cache_b[n_hidden : 2 * n_hidden]
        n, rn = cache_b[2 * n_hidden : 3 * n_hidden], cache_b[3 * n_hidden :]
        da_r, da_z, da_n = da_b[:n_hidden], da_b[n_hidden : 2 * n_hidden], da_b[2 * n_hidden :]
        for j in range(n_hidden):
            da_n[j] = dh_b[j] * (one - z[j]) * (one - n[j] * n[j])
        for j in range(n_hidden):
            da_r[j] = da_n[j] * rn[j] * r[j] * (one - r[j])
        for j in range(n_hidden):
            da_z[j] = dh_b[j] * (h_prev_b[j] - n[j]) * z[j] * (one - z[j])
        for j in range(2 * n_hidden):
            dr_b[j] = da_b[j]
        for j in range(n_hidden):
            dr_b[2 * n_hidden + j] = da_n[j] * r[j]
        for j in range(n_hidden):
            dh_prev[b, j] = dh_b[j] * z[j]


@jit_step_kernel
def inner_gradient(cell, inner, h_prev, c_prev, cache, d_a, d_r, d_inner):
    """dL/db_hn += the column sums of dL/dr_n over the rows (b_hn enters n as r_n does)."""
    if inner.shape[0] == 0:
        return
    n_hidden = inner.shape[0]
    for row in range(d_r.shape[0]):
        dr_n = d_r[row, 2 * n_hidden :]
        for j in range(n_hidden):
            d_inner[j] += dr_n[j]


@jit_step_kernel
def jvp(cell, b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next):
    """Forward mode for sequence b, M directions (tangents of a_t, r_t, b_hn and h_{t-1}).

    dr = r (1 - r) (da_r + dr_r), dz = z (1 - z) (da_z + dr_z),
    dn = (1 - n^2) (da_n + dr (r_n + b_hn) + r (dr_n + db_hn)),
    dh_t = (1 - z) dn + dz (h_{t-1} - n) + z dh_{t-1}.
    """
    h_prev, cache = s_prev[0][b], cache_t[b]
    dh_prev, dh = ds_prev[0], ds_next[0]
    n_hidden = h_prev.shape[0]
    one = h_prev.dtype.type(1)
    has_bias = inner_dot.shape[1] > 0
    r, z = cache[:n_hidden], cache[n_hidden : 2 * n_hidden]
    n, rn = cache[2 * n_hidden : 3 * n_hidden], cache[3 * n_hidden :]
    for m in range(dh.shape[0]):
        za, zr = a_dot[m], r_dot[m]
        for j in range(n_hidden):
            dr = r[j] * (one - r[j]) * (za[j] + zr[j])
            dz = z[j] * (one - z[j]) * (za[n_hidden + j] + zr[n_hidden + j])
            drn = zr[2 * n_hidden + j]
            if has_bias:
                drn += inner_dot[m, j]
            dn = (one - n[j] * n[j]) * (za[2 * n_hidden + j] + dr * rn[j] + r[j] * drn)
            dh[m, j] = (one - z[j]) * dn + dz * (h_prev[j] - n[j]) + z[j] * dh_prev[m, j]


GRU = Cell(
    name="gru",
    n_gates=3,
    forward=forward,
    backward=backward,
    jvp=jvp,
    cache_width=4,
    separate_recurrent_delta=True,
    direct_path=True,
    inner_blocks=inner_blocks,
    inner_gradient=inner_gradient,
    doc="GRU in PyTorch's form, gates r, z, n (Cho et al. 2014)",
)
