"""The online driver: the estimators give one gradient whatever the threads."""

import numpy as np
import pytest

import rnn_numba as rn

from .threads import numba_threads

CASES = [
    ("rtrl", lambda: rn.LSTM(2, 4, 1, num_layers=2, seed=1)),
    ("rtrl", lambda: rn.GRU(2, 4, 1, seed=1)),
    ("snap1", lambda: rn.GRU(2, 4, 1, seed=1)),
    ("snap1", lambda: rn.LSTM(2, 4, 1, seed=1)),
    ("rflo", lambda: rn.Elman(2, 4, 1, alpha=0.4, seed=1)),
    ("eprop", lambda: rn.LSTM(2, 4, 1, seed=1)),
    ("uoro", lambda: rn.LSTM(2, 4, 1, seed=1)),
]


@pytest.mark.parametrize(("name", "make"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_estimators_give_the_same_gradient_on_one_and_two_threads(name, make):
    rng = np.random.default_rng(0)
    x, y, w = rng.normal(size=(6, 5, 2)), rng.normal(size=(6, 5, 1)), rng.uniform(size=(6, 5))
    lengths = [6, 2, 5, 0, 3]
    options = {"weights": w, "lengths": lengths} | ({"seed": 3} if name == "uoro" else {})
    estimator = getattr(rn, name)
    with numba_threads(1):
        serial = [win.grad for win in estimator(make(), x, y, 4, **options)]
    with numba_threads(2):  # chunks of sequences (RTRL: of its tiles), each window's own gradient, summed
        threaded = [win.grad for win in estimator(make(), x, y, 4, **options)]
    np.testing.assert_allclose(threaded, serial, rtol=1e-12, atol=1e-15)
    assert all(np.isfinite(g).all() and g.any() for g in serial)
