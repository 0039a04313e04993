"""The Elman cell (simple RNN).

Equations, with time-major rows and the row-vector convention ``x @ W``::

    a_t = x_t @ W_xh + b_h          (input projection, by the driver)
    r_t = h_{t-1} @ W_hh            (recurrent projection, by the driver)
    h_t = f(a_t + r_t)              f in {tanh, relu, identity, sigmoid}

Elman, J. L. (1990). Finding structure in time. Cognitive Science 14(2),
179-211. doi:10.1207/s15516709cog1402_1
"""

from .._kernels.jit import jit_step_kernel
from .._kernels.vmath import sigmoid, tanh
from .contract import Cell

#: The nonlinearities, in the order of their codes (``cell.nonlinearity``).
NONLINEARITIES = ("tanh", "relu", "identity", "sigmoid")
TANH, RELU, IDENTITY, SIGMOID = range(4)


@jit_step_kernel
def forward(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t):
    """Write h_t = f(a_t + r_t) for rows b0:b1."""
    h_next = s_next[0]
    zero = h_next.dtype.type(0)
    nonlinearity = cell.nonlinearity
    # One loop per nonlinearity, so that each is a plain loop LLVM vectorises.
    for b in range(b0, b1):
        if nonlinearity == TANH:
            for j in range(h_next.shape[1]):
                h_next[b, j] = tanh(a_t[b, j] + r_t[b, j])
        elif nonlinearity == RELU:
            for j in range(h_next.shape[1]):
                z = a_t[b, j] + r_t[b, j]
                h_next[b, j] = zero if z <= zero else z  # NaN stays NaN
        elif nonlinearity == SIGMOID:
            for j in range(h_next.shape[1]):
                h_next[b, j] = sigmoid(a_t[b, j] + r_t[b, j])
        else:
            for j in range(h_next.shape[1]):
                h_next[b, j] = a_t[b, j] + r_t[b, j]


@jit_step_kernel
def backward(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev):
    """Write da = dh_t * f'(a_t + r_t) for rows b0:b1, with f' written through h_t = f(.).

    tanh' = 1 - h_t**2; relu' = [h_t > 0]; sigmoid' = h_t (1 - h_t); identity' = 1.
    """
    dh, h_t = ds[0], s_next[0]
    one = h_t.dtype.type(1)
    zero = h_t.dtype.type(0)
    nonlinearity = cell.nonlinearity
    for b in range(b0, b1):
        if nonlinearity == TANH:
            for j in range(h_t.shape[1]):
                da[b, j] = dh[b, j] * (one - h_t[b, j] * h_t[b, j])
        elif nonlinearity == RELU:
            for j in range(h_t.shape[1]):
                da[b, j] = dh[b, j] if h_t[b, j] > zero else zero
        elif nonlinearity == SIGMOID:
            for j in range(h_t.shape[1]):
                da[b, j] = dh[b, j] * h_t[b, j] * (one - h_t[b, j])
        else:
            for j in range(h_t.shape[1]):
                da[b, j] = dh[b, j]


@jit_step_kernel
def jvp(cell, b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next):
    """Forward mode for sequence b, M directions: dh_t = f'(a_t + r_t) (da + dr), f' through h_t as in backward."""
    h_t, dh = s_next[0][b], ds_next[0]
    one = h_t.dtype.type(1)
    zero = h_t.dtype.type(0)
    nonlinearity = cell.nonlinearity
    for m in range(dh.shape[0]):
        if nonlinearity == TANH:
            for j in range(h_t.shape[0]):
                dh[m, j] = (a_dot[m, j] + r_dot[m, j]) * (one - h_t[j] * h_t[j])
        elif nonlinearity == RELU:
            for j in range(h_t.shape[0]):
                dh[m, j] = a_dot[m, j] + r_dot[m, j] if h_t[j] > zero else zero
        elif nonlinearity == SIGMOID:
            for j in range(h_t.shape[0]):
                dh[m, j] = (a_dot[m, j] + r_dot[m, j]) * h_t[j] * (one - h_t[j])
        else:
            for j in range(h_t.shape[0]):
                dh[m, j] = a_dot[m, j] + r_dot[m, j]


ELMAN = Cell(
    name="elman",
    n_gates=1,
    forward=forward,
    backward=backward,
    jvp=jvp,
    nonlinearities=NONLINEARITIES,
    doc="h_t = f(x_t W_xh + h_{t-1} W_hh + b_h) (Elman 1990)",
)
