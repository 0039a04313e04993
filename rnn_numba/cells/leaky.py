"""The leaky Elman cell: a continuous-time rate network discretised with step alpha.

Equations, with time-major rows and the row-vector convention ``x @ W``::

    a_t = x_t @ W_xh + b_h          (input projection, by the driver)
    r_t = h_{t-1} @ W_hh            (recurrent projection, by the driver)
    u_t = f(a_t + r_t)              f in {tanh, relu, identity, sigmoid}
    h_t = (1 - alpha) h_{t-1} + alpha u_t,    0 < alpha <= 1

alpha = 1 is the Elman cell. The cell of Marschall, Cho & Savin (2020, JMLR
21, arXiv:1907.02649) and of Murray's RFLO (2019, eLife 8:e43299), on which
they compare the online learning rules. The backward step needs f'(a_t + r_t),
which h_t no longer gives: the forward step keeps u_t (one H-wide cache), and
h_{t-1} reaches h_t directly (the leak), besides through W_hh.
"""

from .._kernels.jit import jit_step_kernel
from .._kernels.vmath import sigmoid, tanh
from .contract import Cell
from .elman import NONLINEARITIES, RELU, SIGMOID, TANH


def check_settings(alpha):
    """ValueError unless 0 < alpha <= 1."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha, the leaky Elman cell's step, must be in (0, 1], got {alpha}")


@jit_step_kernel
def forward(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t):
    """Write u_t = f(a_t + r_t) into ``cache_t`` (B, H) and h_t = (1 - alpha) h_{t-1} + alpha u_t, rows b0:b1."""
    h_prev, h_next = s_prev[0], s_next[0]
    alpha = h_next.dtype.type(cell.alpha)
    keep = h_next.dtype.type(1) - alpha
    zero = h_next.dtype.type(0)
    nonlinearity = cell.nonlinearity
    for b in range(b0, b1):
        u = cache_t[b]
        if nonlinearity == TANH:
            for j in range(u.shape[0]):
                u[j] = tanh(a_t[b, j] + r_t[b, j])
        elif nonlinearity == RELU:
            for j in range(u.shape[0]):
                z = a_t[b, j] + r_t[b, j]
                u[j] = zero if z <= zero else z
        elif nonlinearity == SIGMOID:
            for j in range(u.shape[0]):
                u[j] = sigmoid(a_t[b, j] + r_t[b, j])
        else:
            for j in range(u.shape[0]):
                u[j] = a_t[b, j] + r_t[b, j]
        for j in range(u.shape[0]):
            h_next[b, j] = keep * h_prev[b, j] + alpha * u[j]


@jit_step_kernel
def slope(nonlinearity, u, one, zero):
    """f'(z) written through u = f(z): tanh' = 1 - u^2, relu' = [u > 0], sigmoid' = u (1 - u), identity' = 1."""
    if nonlinearity == TANH:
        return one - u * u
    if nonlinearity == RELU:
        return one if u > zero else zero
    if nonlinearity == SIGMOID:
        return u * (one - u)
    return one


@jit_step_kernel
def backward(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev):
    """Da = alpha dh_t f'(a_t + r_t); the leak's part of dL/dh_{t-1}, (1 - alpha) dh_t, into ``dh_prev``."""
    dh, dh_prev = ds[0], ds_prev[0]
    alpha = dh.dtype.type(cell.alpha)
    keep, one, zero = dh.dtype.type(1) - alpha, dh.dtype.type(1), dh.dtype.type(0)
    nonlinearity = cell.nonlinearity
    for b in range(b0, b1):
        u = cache_t[b]
        for j in range(dh.shape[1]):
            da[b, j] = alpha * dh[b, j] * slope(nonlinearity, u[j], one, zero)
        for j in range(dh.shape[1]):
            dh_prev[b, j] = keep * dh[b, j]


@jit_step_kernel
def jvp(cell, b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next):
    """Forward mode for sequence b, M directions: dh_t = (1 - alpha) dh_{t-1} + alpha f'(.) (da + dr)."""
    u, dh_prev, dh = cache_t[b], ds_prev[0], ds_next[0]
    alpha = u.dtype.type(cell.alpha)
    keep, one, zero = u.dtype.type(1) - alpha, u.dtype.type(1), u.dtype.type(0)
    nonlinearity = cell.nonlinearity
    for m in range(dh.shape[0]):
        for j in range(u.shape[0]):
            dh[m, j] = keep * dh_prev[m, j] + alpha * slope(nonlinearity, u[j], one, zero) * (a_dot[m, j] + r_dot[m, j])


LEAKY_ELMAN = Cell(
    name="leaky_elman",
    n_gates=1,
    forward=forward,
    backward=backward,
    jvp=jvp,
    cache_width=1,
    direct_path=True,
    nonlinearities=NONLINEARITIES,
    settings={"alpha": float},
    check_settings=check_settings,
    doc="h_t = (1 - alpha) h_{t-1} + alpha f(x_t W_xh + h_{t-1} W_hh + b_h) (Marschall et al. 2020)",
)
