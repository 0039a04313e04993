"""Hypothesis strategies for property-testing rnn_numba models and your own set-ups.

Sizes are small and values bounded so that tanh stays out of saturation and
finite differences stay accurate. Example::

    from hypothesis import given
    from rnn_numba.testing import problems

    @given(problems(dtypes=[np.float64]))
    def test_my_setup(problem):
        assert rn.check_grad(problem.model, problem.x, problem.target, **problem.options).passed
"""

from dataclasses import dataclass, field

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # an install without the testing extra
    raise ImportError(
        "rnn_numba.testing needs Hypothesis: pip install 'rnn_numba[testing]' (or pip install hypothesis)"
    ) from None

from . import cells as cell_registry
from .model import RNN

BUILT_IN_CELLS = ("elman", "lstm", "gru")


@dataclass
class Problem:
    """A model with a batch of data and the options of a loss.

    Attributes
    ----------
    model : RNN
    x : ndarray, shape (T, B, n_in)
    target : ndarray, shape (T, B, n_out) (MSE) or int (T, B) (cross-entropy)
    options : dict
        ``loss``, ``weights``, ``lengths``, ``h0``, ``c0``, ``reduction``:
        keyword arguments for :meth:`RNN.backward` and :func:`rnn_numba.check_grad`.
    """

    model: RNN
    x: np.ndarray
    target: np.ndarray
    options: dict = field(default_factory=dict)


def bounded(shape, dtype=np.float64, bound=1.0):
    """Arrays of the given shape with finite entries in [-bound, bound]."""
    return hnp.arrays(dtype, shape, elements=st.floats(-bound, bound, width=np.dtype(dtype).itemsize * 8))


@st.composite
def problems(
    draw,
    *,
    cells=None,
    dtypes=(np.float64, np.float32),
    nonlinearities=None,
    losses=("mse", "cross_entropy"),
    max_steps=6,
    max_batch=3,
    max_side=4,
    max_layers=2,
    variable_lengths=True,
    loss_weights=True,
    initial_state=True,
):
    """A random :class:`Problem`: cell, sizes, dtype, loss, lengths, weights, h0.

    Parameters
    ----------
    cells : sequence of str or rnn_numba.cells.Cell, optional
        Cells (or their names) to draw from; the built-in cells (Elman, LSTM,
        GRU) by default.
    dtypes, nonlinearities, losses : sequences to draw from
    max_steps, max_batch, max_side, max_layers : int
        Upper bounds of T, B, of n_in, H, n_out, and of the number of layers.
    variable_lengths, loss_weights, initial_state : bool
        Whether ``lengths``, ``weights`` and ``h0`` (with an LSTM's ``c0``)
        may be drawn (else None).
    """
    cell = cell_registry.get(draw(st.sampled_from(list(cells or BUILT_IN_CELLS)), label="cell"))
    nonlinearity = draw(st.sampled_from(nonlinearities or list(cell.nonlinearities)), label="nonlinearity")
    dtype = draw(st.sampled_from(dtypes), label="dtype")
    loss = draw(st.sampled_from(losses), label="loss")
    T = draw(st.integers(1, max_steps), label="T")
    B = draw(st.integers(1, max_batch), label="B")
    n_in, H = draw(st.integers(1, max_side), label="n_in"), draw(st.integers(1, max_side), label="H")
    n_out = draw(st.integers(2 if loss == "cross_entropy" else 1, max(2, max_side)), label="n_out")
    layers = draw(st.integers(1, max_layers), label="num_layers")
    bias = draw(st.sampled_from([True, True, False]), label="bias")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    model = RNN(cell, n_in, H, n_out, num_layers=layers, bias=bias, nonlinearity=nonlinearity, dtype=dtype, seed=seed)
    x = draw(bounded((T, B, n_in), dtype), label="x")
    if loss == "mse":
        target = draw(bounded((T, B, n_out), dtype), label="target")
    else:
        target = draw(hnp.arrays(np.int64, (T, B), elements=st.integers(0, n_out - 1)), label="target")
    lengths = None
    if variable_lengths and draw(st.booleans(), label="has lengths"):
        lengths = draw(hnp.arrays(np.int64, (B,), elements=st.integers(1, T)), label="lengths")
    weights = None
    if loss_weights and draw(st.booleans(), label="has weights"):
        weights = draw(hnp.arrays(dtype, (T, B), elements=st.sampled_from([0.0, 0.5, 1.0, 2.0])), label="weights")
    h0 = c0 = None
    if initial_state and draw(st.booleans(), label="has h0"):
        h0 = draw(bounded(model.state_shape(B), dtype, 0.5), label="h0")
        if model.cell.has_cell_state:
            c0 = draw(bounded(model.state_shape(B), dtype, 0.5), label="c0")
    reduction = draw(st.sampled_from(["mean", "sum"]), label="reduction")
    options = dict(loss=loss, weights=weights, lengths=lengths, h0=h0, c0=c0, reduction=reduction)
    return Problem(model, x, target, options)
