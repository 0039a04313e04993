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
    lengths : ndarray of int, shape (B,), or None
        Valid steps per sequence when sequences differ in length.
    """

    x: np.ndarray
    target: np.ndarray
    weights: np.ndarray
    loss: str
    lengths: np.ndarray = None

    def kwargs(self):
        """Keyword arguments for :meth:`rnn_numba.RNN.backward` (``loss``, ``weights``, ``lengths``)."""
        out = {"loss": self.loss, "weights": self.weights}
        return out if self.lengths is None else out | {"lengths": self.lengths}

    @property
    def n_batch(self):
        """int: the number of sequences B."""
        return self.x.shape[1]

    def take(self, index):
        """The sequences ``index`` (an int array or slice over B) as a new Batch."""
        lengths = None if self.lengths is None else self.lengths[index]
        return Batch(self.x[:, index], self.target[:, index], self.weights[:, index], self.loss, lengths)


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def adding(n_steps: int, n_batch: int, seed=None) -> Batch:
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


def adding_baseline() -> float:
    """MSE of always predicting 1 on :func:`adding`: the variance of a sum of two U[0, 1], 1/6."""
    return 1.0 / 6.0


#: Input/target classes of the copy task: symbols 0..7, then the blank and the delimiter.
COPY_SYMBOLS, COPY_BLANK, COPY_DELIMITER = 8, 8, 9


def copy(delay: int, n_batch: int, seed=None, n_copy: int = 10) -> Batch:
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


def copy_baseline(delay: int, n_copy: int = 10) -> float:
    """Mean cross-entropy of predicting blanks, then a uniform guess: n_copy ln 8 / (delay + 2 n_copy).

    For n_copy = 10 this is 10 ln 8 / (T + 20): 0.173, 0.095, 0.065, 0.040 for T = 100, 200, 300, 500.
    """
    return n_copy * np.log(COPY_SYMBOLS) / (delay + 2 * n_copy)


def adding_lstm(n_steps: int, n_batch: int, seed=None) -> Batch:
    """The adding problem as Hochreiter & Schmidhuber (1997, Neural Computation 9(8), Exp. 4) define it.

    Each step is a pair: a value drawn from U[-1, 1] and a marker. Sequence
    b has a random length in [T, T + T/10]. One of the first ten pairs is
    marked with 1 (its value X1), then one of the first T/2 - 1 pairs not yet
    marked (X2); the first and the last pair carry the marker -1 unless
    marked (X1 is set to zero when the first pair is marked). The target, at
    each sequence's last step only, is 0.5 + (X1 + X2) / 4; MSE. A sequence
    counts as solved when its absolute error is below 0.04
    (:data:`ADDING_LSTM_TOLERANCE`).

    Parameters
    ----------
    n_steps : int
        T >= 22 (so that the first T/2 - 1 pairs include the first ten).
    n_batch : int
    seed : int, Generator or None

    Returns
    -------
    Batch
        ``x`` (T_max, B, 2) with T_max = T + T // 10, ``target`` (T_max, B, 1),
        ``weights`` one at each sequence's last step, ``lengths`` (B,).
    """
    T = check.positive_int("n_steps", n_steps, minimum=22)
    B = check.positive_int("n_batch", n_batch)
    rng = _rng(seed)
    t_max = T + T // 10
    lengths = rng.integers(T, t_max + 1, size=B)
    x = np.zeros((t_max, B, 2))
    x[:, :, 0] = rng.uniform(-1.0, 1.0, size=(t_max, B))
    columns = np.arange(B)
    first = rng.integers(0, 10, size=B)
    # The second mark: uniform over the first T/2 - 1 pairs other than `first`.
    second = rng.integers(0, T // 2 - 2, size=B)
    second += second >= first
    x[0, :, 1] = -1.0
    x[lengths - 1, columns, 1] = -1.0
    x[first, columns, 1] = 1.0
    x[second, columns, 1] = 1.0
    x[0, first == 0, 0] = 0.0  # X1 = 0 when the first pair is marked
    target = np.zeros((t_max, B, 1))
    target[lengths - 1, columns, 0] = 0.5 + (x[first, columns, 0] + x[second, columns, 0]) / 4.0
    weights = np.zeros((t_max, B))
    weights[lengths - 1, columns] = 1.0
    return Batch(x, target, weights, "mse", lengths)


#: Absolute error under which :func:`adding_lstm` counts a sequence as solved.
ADDING_LSTM_TOLERANCE = 0.04


def adding_lstm_baseline() -> tuple:
    """Predicting the constant 0.5 on :func:`adding_lstm`: (MSE, fraction solved).

    The error is (X1 + X2) / 4 with X1, X2 ~ U[-1, 1], except that X1 = 0
    when the first pair is the one marked among the first ten (probability
    1/10). Var(X1 + X2) = 2/3 and Var(X2) = 1/3 give the MSE
    (0.9 (2/3) + 0.1 (1/3)) / 16 = 19/480 = 0.0396. The error is below 0.04
    when abs(X1 + X2) < 0.16, probability 0.16 - 0.16^2 / 4 = 0.1536 under the
    triangular density of the sum (or abs(X2) < 0.16, probability 0.16), so
    0.9 (0.1536) + 0.1 (0.16) = 0.1542 of the sequences count as solved.
    """
    a = 4 * ADDING_LSTM_TOLERANCE
    return (0.9 * 2 / 3 + 0.1 / 3) / 16, 0.9 * (a - a**2 / 4) + 0.1 * a


#: Symbols of the temporal order task: distractors a-d, the relevant X and Y,
#: the start symbol E and the trigger B, one-hot in this order.
TEMPORAL_SYMBOLS = ("a", "b", "c", "d", "X", "Y", "E", "B")


def temporal_order(n_steps: int, n_batch: int, seed=None) -> Batch:
    """The temporal order task of Hochreiter & Schmidhuber (1997, Exp. 6a), used by Pascanu et al. (2013).

    A sequence starts with E, ends with the trigger B, and otherwise holds
    random distractors a-d except at two positions t1 in [T/10, 2T/10) and
    t2 in [T/2, 6T/10), which hold X or Y (the original: T = 100, t1 in
    10..20, t2 in 50..60). The class, at the last step only, is the order of
    the two: XX, XY, YX, YY -> 0, 1, 2, 3; cross-entropy over 4 classes.

    Parameters
    ----------
    n_steps : int
        T >= 20.
    n_batch : int
    seed : int, Generator or None

    Returns
    -------
    Batch
        ``x`` (T, B, 8) one-hot over :data:`TEMPORAL_SYMBOLS`, integer
        ``target`` (T, B) (zero before the last step, where ``weights`` is 0).
    """
    T = check.positive_int("n_steps", n_steps, minimum=20)
    B = check.positive_int("n_batch", n_batch)
    rng = _rng(seed)
    symbols = rng.integers(0, 4, size=(T, B))
    symbols[0], symbols[-1] = 6, 7
    columns = np.arange(B)
    t1 = rng.integers(T // 10, 2 * T // 10, size=B)
    t2 = rng.integers(T // 2, 6 * T // 10, size=B)
    first, second = rng.integers(0, 2, size=B), rng.integers(0, 2, size=B)
    symbols[t1, columns] = 4 + first
    symbols[t2, columns] = 4 + second
    target = np.zeros((T, B), dtype=np.int64)
    target[-1] = 2 * first + second
    weights = np.zeros((T, B))
    weights[-1] = 1.0
    return Batch(np.eye(len(TEMPORAL_SYMBOLS))[symbols], target, weights, "cross_entropy")


def temporal_order_baseline() -> tuple:
    """Chance on :func:`temporal_order`: (cross-entropy ln 4, error rate 3/4) of the uniform guess."""
    return np.log(4.0), 0.75


def add_with_lags(n_steps: int, n_batch: int, lags: tuple = (5, 9), seed=None) -> Batch:
    """The add task with lags (Marschall, Cho & Savin 2020, JMLR 21, arXiv:1907.02649).

    x_t ~ Bernoulli(1/2); the label y_t in {0, 1} is drawn with
    P(y_t = 1) = 0.5 + 0.5 x_{t - t1} - 0.25 x_{t - t2}; softmax cross-entropy
    over two classes at every step from max(t1, t2) on (earlier steps have
    no defined label and weight 0).

    Parameters
    ----------
    n_steps : int
        T > max(lags).
    n_batch : int
        B; the published setting is online, B = 1.
    lags : (int, int)
        (t1, t2), each >= 1.
    seed : int, Generator or None

    Returns
    -------
    Batch
        ``x`` (T, B, 1), integer ``target`` (T, B), ``weights`` (T, B).
    """
    t1, t2 = (check.positive_int("lag", lag) for lag in lags)
    T = check.positive_int("n_steps", n_steps, minimum=max(t1, t2) + 1)
    B = check.positive_int("n_batch", n_batch)
    rng = _rng(seed)
    bits = rng.integers(0, 2, size=(T, B))
    start = max(t1, t2)
    p = np.zeros((T, B))
    p[start:] = 0.5 + 0.5 * bits[start - t1 : T - t1] - 0.25 * bits[start - t2 : T - t2]
    target = (rng.uniform(size=(T, B)) < p).astype(np.int64)
    weights = np.zeros((T, B))
    weights[start:] = 1.0
    return Batch(bits[..., None].astype(np.float64), target, weights, "cross_entropy")


def add_with_lags_baselines() -> dict:
    """Expected cross-entropies on :func:`add_with_lags`, from the label probabilities.

    Returns
    -------
    dict
        ``"nothing"``: the marginal P(y = 1) = 0.625 predicted at every step;
        ``"first_lag"``: the best predictor that knows x_{t - t1} only;
        ``"optimum"``: the true probability. About 0.662, 0.519 and 0.454 nats.
    """

    def entropy(p):
        p = np.asarray(p, dtype=np.float64)
        q = np.clip(p, 1e-300, 1.0)
        r = np.clip(1 - p, 1e-300, 1.0)
        return -(p * np.log(q) + (1 - p) * np.log(r))

    first_lag = [0.5 + 0.5 * a - 0.125 for a in (0, 1)]
    optimum = [0.5 + 0.5 * a - 0.25 * b for a in (0, 1) for b in (0, 1)]
    return {
        "nothing": float(entropy(0.625)),
        "first_lag": float(np.mean(entropy(first_lag))),
        "optimum": float(np.mean(entropy(optimum))),
    }


def influence_balancing(theta, n_units=23, n_positive=10, dtype=np.float64):
    """The influence-balancing system of Tallec & Ollivier (2017) as an Elman net.

    s_{t+1} = A s_t + theta c with A = 0.5 I + 0.5 (superdiagonal) and c = +1
    on the first ``n_positive`` units, -1 on the others; the loss is on
    s_t[0] against 1 at every step (setup of Vicol, Metz & Sohl-Dickstein
    2021, arXiv:2112.13835). Written as the package's linear Elman cell
    ``h_t = x_t W_xh + h_{t-1} W_hh`` with a constant input x_t = 1, so
    ``W_xh = theta c`` (one scalar tied across units: dL/dtheta =
    grad(W_xh) . c), ``W_hh = A^T``, and a readout y_t = h_t[0]. Every block
    but ``W_xh`` is frozen.

    Parameters
    ----------
    theta : float
    n_units, n_positive : int
        n = 23 and 10 in the published setup.
    dtype : np.float32 or np.float64

    Returns
    -------
    net : RNN
    c : ndarray, shape (n_units,)
        The tie: ``net.params["W_xh"][0] == theta * c``.

    Notes
    -----
    The state settles at s* = theta (I - A)^{-1} c, whose first unit is
    2 theta sum(c); the loss is zero at theta* = 1 / (2 sum(c)), -1/6 for the
    published sizes (:func:`influence_balancing_optimum`). Use MSE against
    :func:`influence_balancing_batch`; our MSE is (y - 1)^2, twice the
    published 1/2 (s_t[0] - 1)^2, so halve the learning rate to match.
    """
    from .model import Elman

    n = check.positive_int("n_units", n_units, minimum=2)
    k = check.positive_int("n_positive", n_positive)
    if k >= n:
        raise ValueError(f"n_positive must be < n_units, got {k} >= {n}")
    net = Elman(1, n, 1, nonlinearity="identity", bias=False, dtype=dtype)
    c = np.where(np.arange(n) < k, 1.0, -1.0)
    a = 0.5 * np.eye(n) + 0.5 * np.eye(n, k=1)
    net.params["W_hh"][...] = a.T
    net.params["W_xh"][0] = float(theta) * c
    net.params["W_hy"][...] = 0.0
    net.params["W_hy"][0, 0] = 1.0
    net.params["b_y"][...] = 0.0
    net.freeze("W_hh", "W_hy", "b_y")
    return net, c.astype(dtype)


def influence_balancing_batch(n_steps, n_units=23, dtype=np.float64):
    """Inputs, targets and initial state of :func:`influence_balancing`: x_t = 1, target 1, s_0 = 1.

    Returns
    -------
    batch : Batch
        ``x`` (T, 1, 1) ones, ``target`` (T, 1, 1) ones, ``weights`` ones.
    h0 : ndarray, shape (1, n_units)
    """
    T = check.positive_int("n_steps", n_steps)
    ones = np.ones((T, 1, 1), dtype=dtype)
    return Batch(ones, ones.copy(), np.ones((T, 1), dtype=dtype), "mse"), np.ones((1, n_units), dtype=dtype)


def influence_balancing_optimum(n_units: int = 23, n_positive: int = 10) -> float:
    """theta* = 1 / (2 sum(c)) of :func:`influence_balancing`: -1/6 for 23 units, 10 positive."""
    return 1.0 / (2 * (2 * n_positive - n_units))


def cliff(w, b, n_steps=50, x0=0.5, target=0.7):
    """The one-unit cliff of Pascanu, Mikolov & Bengio (2013, Fig. 6) as an Elman net.

    x_t = w sigma(x_{t-1}) + b from x_0 = 0.5, no input, loss
    (sigma(x_50) - 0.7)^2. With h_t = sigma(x_t) this is the package's
    sigmoid Elman cell h_t = sigma(h_{t-1} w + b) from h_0 = sigma(0.5), with
    readout y_t = h_t and the loss at the last step only.

    Parameters
    ----------
    w, b : float
        The recurrent weight (``W_hh``) and bias (``b_h``).
    n_steps, x0, target : as in the paper

    Returns
    -------
    net : RNN
        One sigmoid unit; ``W_xh`` and the readout are frozen, so the
        gradient lives in ``W_hh`` and ``b_h``.
    batch : Batch
        ``x`` zeros (T, 1, 1), ``target`` 0.7 at the last step.
    h0 : ndarray, shape (1, 1)
    """
    from .model import Elman

    T = check.positive_int("n_steps", n_steps)
    net = Elman(1, 1, 1, nonlinearity="sigmoid")
    net.params["W_xh"][...] = 0.0
    net.params["W_hh"][...] = float(w)
    net.params["b_h"][...] = float(b)
    net.params["W_hy"][...] = 1.0
    net.params["b_y"][...] = 0.0
    net.freeze("W_xh", "W_hy", "b_y")
    goal = np.zeros((T, 1, 1))
    goal[-1] = float(target)
    weights = np.zeros((T, 1))
    weights[-1] = 1.0
    h0 = np.full((1, 1), 1.0 / (1.0 + np.exp(-float(x0))))
    return net, Batch(np.zeros((T, 1, 1)), goal, weights, "mse"), h0
