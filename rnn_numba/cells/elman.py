"""The Elman cell (simple RNN): its parameters and its step math, nothing else.

Equations, with time-major rows and the row-vector convention ``x @ W``::

    a_t = x_t @ W_xh + b_h          (input projection, one GEMM over all T*B rows)
    r_t = h_{t-1} @ W_hh            (recurrent projection, one GEMM per step)
    h_t = f(a_t + r_t)              f in {tanh, relu, identity, sigmoid}

Elman, J. L. (1990). Finding structure in time. Cognitive Science 14(2),
179-211. doi:10.1207/s15516709cog1402_1
"""

from .._jit import jit_step_kernel
from .._vmath import sigmoid, tanh

NAME = "elman"
#: Number of gate blocks of width H in the projections a_t and r_t.
N_GATES = 1
#: Width (in units of H) of what a step stores for its backward pass.
CACHE_WIDTH = 0
#: Whether the cell keeps a second state (an LSTM's c); the Elman cell does not.
HAS_CELL_STATE = False
#: True when dL/dr_t differs from dL/da_t (a GRU's reset gate); not here.
SEPARATE_RECURRENT_DELTA = False
#: True when h_{t-1} reaches h_t other than through W_hh (a GRU's z * h_{t-1}).
HAS_DIRECT_PATH = False
#: (name, gate) of a bias added to the recurrent projection inside the cell; none here.
RECURRENT_BIAS = None

TANH, RELU, IDENTITY, SIGMOID = 0, 1, 2, 3
NONLINEARITIES = {"tanh": TANH, "relu": RELU, "identity": IDENTITY, "sigmoid": SIGMOID}


def blocks(n_in, n_hidden, bias=True):
    """Names and shapes of the cell's parameter blocks, in storage order."""
    out = [("W_xh", (n_in, n_hidden)), ("W_hh", (n_hidden, n_hidden))]
    return out + [("b_h", (n_hidden,))] if bias else out


def initialise(views, n_hidden, forget_bias):
    """No cell-specific initialisation."""


@jit_step_kernel
def forward_step(nonlinearity, b0, b1, a_t, r_t, h_next):
    """Write h_next = f(a_t + r_t), all of shape (B, H)."""
    zero = h_next.dtype.type(0)
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
def backward_step(nonlinearity, b0, b1, dh, h_t, da):
    """Write da = dh * f'(a_t + r_t), with f' written through h_t = f(.), shape (B, H).

    tanh' = 1 - h_t**2; relu' = [h_t > 0]; sigmoid' = h_t (1 - h_t); identity' = 1.
    """
    one = h_t.dtype.type(1)
    zero = h_t.dtype.type(0)
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
