"""Speed and peak memory of forward unrolling and of every BPTT schedule."""

from .common import problem

SCHEDULES = {"full": {}, "horizon_10": {"horizon": 10}, "tbptt_10_20": {"tbptt": (10, 20)}}


class Forward:
    params = ([100, 1000], [1, 32], [32, 128], ["float32", "float64"])
    param_names = ["T", "B", "H", "dtype"]

    def setup(self, n_steps, n_batch, n_hidden, dtype):
        self.net, self.x, _ = problem(n_steps, n_batch, n_hidden, dtype)
        self.net.forward(self.x)  # compile, or load from cache

    def time_forward(self, n_steps, n_batch, n_hidden, dtype):
        self.net.forward(self.x)

    def peakmem_forward(self, n_steps, n_batch, n_hidden, dtype):
        self.net.forward(self.x)


class Gradient:
    params = (list(SCHEDULES), [100, 1000], [1, 32], [32, 128], ["float32", "float64"])
    param_names = ["schedule", "T", "B", "H", "dtype"]

    def setup(self, schedule, n_steps, n_batch, n_hidden, dtype):
        self.net, self.x, self.y = problem(n_steps, n_batch, n_hidden, dtype)
        self.kwargs = SCHEDULES[schedule]
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)

    def time_loss_and_grad(self, schedule, n_steps, n_batch, n_hidden, dtype):
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)

    def peakmem_loss_and_grad(self, schedule, n_steps, n_batch, n_hidden, dtype):
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)


class OnlineTBPTT:
    """Window-by-window TBPTT(k1, k2) over a stream, with an SGD update per window."""

    params = ([(1, 10), (10, 20), (50, 50)], [1, 32])
    param_names = ["k1_k2", "B"]

    def setup(self, k1_k2, n_batch):
        self.net, self.x, self.y = problem(1000, n_batch, 64, "float64")
        self.run(k1_k2)

    def run(self, k1_k2):
        import rnn_numba as rn

        for w in rn.tbptt(self.net, self.x, self.y, *k1_k2):
            self.net.theta -= 1e-6 * w.grad

    def time_stream_1000_steps(self, k1_k2, n_batch):
        self.run(k1_k2)


class Compile:
    """Cold compilation of every kernel (empty Numba cache), and a warm import + first call."""

    timeout = 300

    def timeraw_cold_compile(self):
        return """
import os, tempfile
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp()
import rnn_numba
rnn_numba.warmup()
"""

    def timeraw_warm_import_and_first_gradient(self):
        return """
import numpy as np
import rnn_numba as rn
net = rn.Elman(2, 8, 1, seed=0)
net.loss_and_grad(np.zeros((10, 1, 2)), np.zeros((10, 1, 1)))
"""
