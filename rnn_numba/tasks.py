"""Synthetic sequence tasks, generated in code and seeded, as the arrays the models take.

Each generator returns a :class:`Batch` (time-major inputs, targets, loss
weights and the loss to use) and each task has its published baseline as a
function. Definitions follow ``shared/REFERENCES.md``.
"""

from dataclasses import dataclass

import numpy as np

from . import _validate as check


@dataclass
class Batch:
    """One batch of a task.

    Attributes
    ----------
    x : ndarray, shape (T, B, n_in)
    target : ndarray
        (T, B, n_out) floats for ``loss="mse"``, (T, B) integer classes for
        ``loss="cross_entropy"``.
    weights : ndarray, shape (T, B)
        Which steps carry a loss.
    loss : str
        ``"mse"`` or ``"cross_entropy"``.
    """

    x: np.ndarray
    target: np.ndarray
    weights: np.ndarray
    loss: str

    def kwargs(self):
        """Keyword arguments for :meth:`rnn_numba.RNN.backward` (``loss`` and ``weights``)."""
        return {"loss": self.loss, "weights": self.weights}


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def adding(n_steps, n_batch, seed=None):
    """The adding problem of Le, Jaitly & Hinton (2015, arXiv:1504.00941).

    Two input channels: channel 0 holds U[0, 1] values, channel 1 marks
    exactly two positions with 1, one in each half of the sequence. The
    target, at the last step only, is the sum of the two marked values; MSE.

    Parameters
    ----------
    n_steps : int
        T >= 2.
    n_batch : int
    seed : int, Generator or None

    Returns
    -------
    Batch
        ``x`` (T, B, 2), ``target`` (T, B, 1) (zero before the last step),
        ``weights`` (T, B), one on the last step.
    """
    T = check.positive_int("n_steps", n_steps, minimum=2)
    B = check.positive_int("n_batch", n_batch)
    rng = _rng(seed)
    x = np.zeros((T, B, 2))
    x[:, :, 0] = rng.uniform(0.0, 1.0, size=(T, B))
    half = T // 2
    first = rng.integers(0, half, size=B)
    second = rng.integers(half, T, size=B)
    columns = np.arange(B)
    x[first, columns, 1] = 1.0
    x[second, columns, 1] = 1.0
    target = np.zeros((T, B, 1))
    target[-1, :, 0] = x[first, columns, 0] + x[second, columns, 0]
    weights = np.zeros((T, B))
    weights[-1] = 1.0
    return Batch(x, target, weights, "mse")


def adding_baseline():
    """MSE of always predicting 1 on :func:`adding`: the variance of a sum of two U[0, 1], 1/6."""
    return 1.0 / 6.0


#: Input/target classes of the copy task: symbols 0..7, then the blank and the delimiter.
COPY_SYMBOLS, COPY_BLANK, COPY_DELIMITER = 8, 8, 9


def copy(delay, n_batch, seed=None, n_copy=10):
    """The copy task of Arjovsky, Shah & Bengio (2016, arXiv:1511.06464, Fig. 1).

    ``n_copy`` symbols drawn from an alphabet of 8, then ``delay - 1``
    blanks, a delimiter and ``n_copy`` blanks; total length delay + 2 n_copy.
    The target is the blank until the last ``n_copy`` steps, which repeat the
    symbols. Inputs are one-hot over 10 classes (8 symbols, blank, delimiter);
    cross-entropy at every step.

    Parameters
    ----------
    delay : int
        T in the paper, >= 1.
    n_batch : int
    seed : int, Generator or None
    n_copy : int

    Returns
    -------
    Batch
        ``x`` (delay + 2 n_copy, B, 10), integer ``target`` (delay + 2 n_copy, B),
        ``weights`` all ones.
    """
    delay = check.positive_int("delay", delay)
    B = check.positive_int("n_batch", n_batch)
    n_copy = check.positive_int("n_copy", n_copy)
    rng = _rng(seed)
    T = delay + 2 * n_copy
    symbols = rng.integers(0, COPY_SYMBOLS, size=(n_copy, B))
    inputs = np.full((T, B), COPY_BLANK)
    inputs[:n_copy] = symbols
    inputs[n_copy + delay - 1] = COPY_DELIMITER
    target = np.full((T, B), COPY_BLANK)
    target[-n_copy:] = symbols
    x = np.eye(COPY_SYMBOLS + 2)[inputs]
    return Batch(x, target, np.ones((T, B)), "cross_entropy")


def copy_baseline(delay, n_copy=10):
    """Mean cross-entropy of predicting blanks, then a uniform guess: n_copy ln 8 / (delay + 2 n_copy).

    For n_copy = 10 this is 10 ln 8 / (T + 20): 0.173, 0.095, 0.065, 0.040 for T = 100, 200, 300, 500.
    """
    return n_copy * np.log(COPY_SYMBOLS) / (delay + 2 * n_copy)
