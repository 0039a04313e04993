"""Compilation you can see: the one-line notice of a first compilation, warmup, and the command line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import rnn_numba as rn
from rnn_numba._kernels.jit import jit_step_kernel
from rnn_numba.cells import Cell

ROOT = Path(__file__).resolve().parent.parent


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


#: Two gradients of the linear cell in a process with an empty cache: the notices logged, and the cache's folder.
NOTICES = """
import json, logging, numpy as np, rnn_numba as rn
from tests.test_compiling import LINEAR
notices = []
handler = logging.Handler()
handler.emit = lambda record: notices.append(record.getMessage())
logging.getLogger("rnn_numba").addHandler(handler)
logging.getLogger("rnn_numba").setLevel(logging.INFO)
net = rn.RNN(LINEAR, 2, 3, 1, seed=0)
x, y = np.ones((4, 1, 2)), np.ones((4, 1, 1))
net.loss_and_grad(x, y)
net.loss_and_grad(x, y)
print(json.dumps({"notices": notices, "cache": str(rn.cache.path())}))
"""


def test_a_first_compilation_is_announced_once_with_where_it_is_cached(tmp_path):
    # In a process of its own with an empty cache: in this one, the kernels may have been loaded from the cache.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", NOTICES], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=1800)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    notices = [message for message in result["notices"] if "compiling" in message]
    assert len(set(notices)) == len(notices), notices  # once each, though the second gradient compiles nothing
    cell = [message for message in notices if "linear_for_notices" in message]
    assert len(cell) == 1, notices
    assert "float64" in cell[0] and "one thread" in cell[0]
    assert result["cache"].startswith(str(tmp_path)) and all(result["cache"] in message for message in notices)


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
    assert any("online" in label for label in labels)  # RTRL and UORO: the forward-mode kernels
