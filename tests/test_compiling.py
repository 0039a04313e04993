"""Compilation you can see: the one-line notice of a first compilation, warmup, and the command line."""

import logging
import subprocess
import sys

import numpy as np

import rnn_numba as rn
from rnn_numba._kernels.jit import jit_step_kernel
from rnn_numba.cells import Cell


@jit_step_kernel
def linear_forward(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t):
    h_next = s_next[0]
    for b in range(b0, b1):
        for j in range(h_next.shape[1]):
            h_next[b, j] = a_t[b, j] + r_t[b, j]


@jit_step_kernel
def linear_backward(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev):
    dh = ds[0]
    for b in range(b0, b1):
        for j in range(dh.shape[1]):
            da[b, j] = dh[b, j]


LINEAR = Cell(name="linear_for_notices", n_gates=1, forward=linear_forward, backward=linear_backward)


def test_a_first_compilation_is_announced_once_with_where_it_is_cached(caplog):
    net = rn.RNN(LINEAR, 2, 3, 1, seed=0)  # a cell no kernel was compiled for
    x, y = np.ones((4, 1, 2)), np.ones((4, 1, 1))
    with caplog.at_level(logging.INFO, logger="rnn_numba"):
        net.loss_and_grad(x, y)
        net.loss_and_grad(x, y)
    notices = [r.getMessage() for r in caplog.records if "compiling" in r.getMessage()]
    assert len(notices) == 1, notices
    assert "linear_for_notices" in notices[0] and "float64" in notices[0] and "one thread" in notices[0]
    assert str(rn.cache.path()) in notices[0]


def test_python_m_rnn_numba_warmup_compiles_what_it_is_asked_for():
    done = subprocess.run(
        [sys.executable, "-m", "rnn_numba", "warmup", "--cells", "elman", "--dtypes", "float64", "--quiet"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(rn.cache.path()) in done.stdout
    bad = subprocess.run([sys.executable, "-m", "rnn_numba", "warmup", "--cells", "nope"], capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode != 0 and "unknown cell" in bad.stderr


def test_warmup_covers_every_way_a_call_runs():
    labels = [label for label, *_ in rn.compiling.PATHS]
    assert any("recomputed" in label for label in labels) and any("batch" in label for label in labels)
    assert {n_batch for _, n_batch, _, _ in rn.compiling.PATHS} == {1, 2}
