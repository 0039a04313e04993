"""Speed and peak memory of forward unrolling and of every BPTT schedule, for each cell."""

import subprocess
import sys
import tracemalloc

try:
    import resource
except ImportError:  # not on Windows
    resource = None

import numpy as np

from .common import problem

SCHEDULES = {
    "full": {},
    "full_recompute": {"recompute": True},
    "horizon_10": {"horizon": 10},
    "tbptt_10_20": {"tbptt": (10, 20)},
}


CELLS = ["elman", "lstm", "gru"]


class Nonlinearities:
    """The vectorisable tanh and sigmoid over 10^6 elements: a loop that stops vectorising shows here first."""

    params = (["tanh", "sigmoid"], ["float32", "float64"])
    param_names = ["function", "dtype"]

    def setup(self, function, dtype):
        from rnn_numba._kernels import vmath as _vmath

        self.kernel = {"tanh": _vmath.tanh_array, "sigmoid": _vmath.sigmoid_array}[function]
        self.x = np.random.default_rng(0).uniform(-10, 10, 10**6).astype(dtype)
        self.out = np.empty_like(self.x)
        self.kernel(self.x, self.out)

    def time_million_elements(self, function, dtype):
        self.kernel(self.x, self.out)


class Forward:
    """Forward unrolling over T, B, H and dtype (n_in = 32, 8 outputs).

    H = 64 is where the cost per step is the kernels' overheads and the gate passes, H = 256 where the
    per-step products dominate.
    """

    params = (CELLS, [100, 1000], [1, 32], [64, 256], ["float32", "float64"])
    param_names = ["cell", "T", "B", "H", "dtype"]

    def setup(self, cell, n_steps, n_batch, n_hidden, dtype):
        self.net, self.x, _ = problem(n_steps, n_batch, n_hidden, dtype, cell)
        self.net.forward(self.x)  # compile, or load from cache

    def time_forward(self, cell, n_steps, n_batch, n_hidden, dtype):
        self.net.forward(self.x)

    def peakmem_forward(self, cell, n_steps, n_batch, n_hidden, dtype):
        self.net.forward(self.x)


class Gradient:
    """Loss and gradient by every schedule (full BPTT, with recomputed gates, horizon, TBPTT) over B, H and dtype.

    T = 1000 only: the time is linear in T (the README's sweep), and the schedules differ over long sequences.
    """

    params = (CELLS, list(SCHEDULES), [1000], [1, 32], [64, 256], ["float32", "float64"])
    param_names = ["cell", "schedule", "T", "B", "H", "dtype"]

    def setup(self, cell, schedule, n_steps, n_batch, n_hidden, dtype):
        self.net, self.x, self.y = problem(n_steps, n_batch, n_hidden, dtype, cell)
        self.kwargs = SCHEDULES[schedule]
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)

    def time_loss_and_grad(self, cell, schedule, n_steps, n_batch, n_hidden, dtype):
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)

    def peakmem_loss_and_grad(self, cell, schedule, n_steps, n_batch, n_hidden, dtype):
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)


class SmallGradient:
    """A single short sequence (T = 100, B = 1, n_in = H = 32), where the cost per call, not the kernels, decides.

    A one-layer full-BPTT gradient this size runs as one compiled call
    (:func:`rnn_numba._kernels.engine.gradient` on one thread); a regression of the Python layer shows here.
    """

    params = (CELLS, ["float32", "float64"])
    param_names = ["cell", "dtype"]

    def setup(self, cell, dtype):
        self.net, self.x, self.y = problem(100, 1, 32, dtype, cell, n_in=32)
        self.net.loss_and_grad(self.x, self.y)

    def time_loss_and_grad(self, cell, dtype):
        self.net.loss_and_grad(self.x, self.y)


class PageFaults:
    """Minor page faults per gradient: pages the call wrote to for the first time (Linux's ``ru_minflt``).

    Work arrays allocated afresh at every call faulted on every 4 KiB page:
    about 2300 faults per float32 LSTM gradient at T = 100, B = 32 here,
    none once they were kept between calls (:mod:`rnn_numba._workspace`).
    Counts depend on the C allocator's state, not on the machine's load.
    """

    params = (CELLS, [1, 32])
    param_names = ["cell", "B"]
    unit = "faults per call"

    def setup(self, cell, n_batch):
        if resource is None:
            raise NotImplementedError("ru_minflt needs the resource module (Unix)")
        self.net, self.x, self.y = problem(100, n_batch, 128, "float32", cell, n_in=32, n_out=1)
        for _ in range(3):  # compile, and let the allocator settle
            self.net.loss_and_grad(self.x, self.y)

    def track_minor_faults_per_gradient(self, cell, n_batch):
        calls = 10
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(calls):
            self.net.loss_and_grad(self.x, self.y)
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


class Memory:
    """Peak memory of a gradient as a multiple of the stored states and inputs.

    (x + the peak of NumPy's allocations during the call, traced by
    tracemalloc) / (x + h, and c for an LSTM), at T = 1000, B = 32,
    n_in = 64, H = 128, float64. The speed issue's target is 1.3 for full
    BPTT: met by default for the Elman cell, and with ``recompute=True`` for
    every cell (gated cells otherwise keep their gate activations).
    """

    params = (CELLS, list(SCHEDULES))
    param_names = ["cell", "schedule"]
    unit = "peak / (states + inputs)"

    def setup(self, cell, schedule):
        self.net, self.x, self.y = problem(1000, 32, 128, "float64", cell, n_in=64, n_out=1)
        self.kwargs = SCHEDULES[schedule]
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)

    def track_peak_over_stored(self, cell, schedule):
        import rnn_numba as rn

        rn.release_workspace()  # the work buffers kept from setup's call are allocated again, and counted
        tracemalloc.start()
        try:
            self.net.loss_and_grad(self.x, self.y, **self.kwargs)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        n_steps, n_batch, _ = self.x.shape
        states = (n_steps + 1) * n_batch * self.net.n_hidden * self.x.itemsize
        states *= 2 if self.net.cell.has_cell_state else 1
        return (self.x.nbytes + peak) / (self.x.nbytes + states)


class StackedGradient:
    """Full BPTT and TBPTT(10, 20) through stacked layers."""

    params = (CELLS, ["full", "tbptt_10_20"], [1, 2, 3])
    param_names = ["cell", "schedule", "layers"]

    def setup(self, cell, schedule, layers):
        self.net, self.x, self.y = problem(200, 16, 64, "float64", cell, num_layers=layers)
        self.kwargs = SCHEDULES[schedule]
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)

    def time_loss_and_grad(self, cell, schedule, layers):
        self.net.loss_and_grad(self.x, self.y, **self.kwargs)


class OnlineTBPTT:
    """Window-by-window TBPTT(k1, k2) over a stream, with an SGD update per window."""

    params = (CELLS, [(1, 10), (10, 20)], [1, 32])
    param_names = ["cell", "k1_k2", "B"]

    def setup(self, cell, k1_k2, n_batch):
        self.net, self.x, self.y = problem(1000, n_batch, 64, "float64", cell)
        self.run(k1_k2)

    def run(self, k1_k2):
        import rnn_numba as rn

        for w in rn.tbptt(self.net, self.x, self.y, *k1_k2):
            self.net.theta -= 1e-6 * w.grad

    def time_stream_1000_steps(self, cell, k1_k2, n_batch):
        self.run(k1_k2)


class ARTBP:
    """ARTBP over a stream (random windows, compensated messages), an SGD update per window: time and peak memory.

    Against OnlineTBPTT's TBPTT(10, 20) and the chunked TBPTT(k, k) of the same mean length: the cost of the
    random lengths and the per-step message factor. c = 0.05 (mean window 20) and 0.2 (mean 5).
    """

    params = (CELLS, [0.05, 0.2], [1, 32])
    param_names = ["cell", "truncation", "B"]

    def setup(self, cell, truncation, n_batch):
        self.net, self.x, self.y = problem(1000, n_batch, 64, "float64", cell)
        self.run(truncation)

    def run(self, truncation):
        import rnn_numba as rn

        for w in rn.artbp(self.net, self.x, self.y, truncation, seed=0):
            self.net.theta -= 1e-9 * w.grad

    def time_stream_1000_steps(self, cell, truncation, n_batch):
        self.run(truncation)

    def peakmem_stream_1000_steps(self, cell, truncation, n_batch):
        self.run(truncation)


class Checkpointed:
    """Full BPTT with at most m stored states (binomial schedule) against all states stored: time and peak memory.

    LSTM, T = 2000, B = 32, H = 128, float32; m = 4 and 32 stored states (the units are 16 steps, 125 of them),
    and None: plain full BPTT with recompute=True, the same blocks.
    """

    params = ([4, 32, None],)
    param_names = ["checkpoints"]
    timeout = 300  # a few seconds a run; room for a cold kernel cache

    def setup(self, checkpoints):
        self.net, self.x, self.y = problem(2000, 32, 128, "float32", "lstm")
        self.run(checkpoints)

    def run(self, checkpoints):
        self.net.loss_and_grad(self.x, self.y, recompute=True, checkpoints=checkpoints)

    def time_gradient(self, checkpoints):
        self.run(checkpoints)

    def peakmem_gradient(self, checkpoints):
        self.run(checkpoints)


class EvolutionStrategies:
    """ES and PES (antithetic, all particles as one batch) over 100 unrolls of one step, an update per unroll.

    The size of the influence-balancing experiment (23 units, one input, one output; Vicol et al. 2021):
    N = 100 and 1000 particles, the Elman cell.
    """

    params = (["es", "pes"], [100, 1000])
    param_names = ["estimator", "particles"]

    def setup(self, estimator, n_particles):
        import rnn_numba as rn

        self.estimator = getattr(rn, estimator)
        self.net, self.x, self.y = problem(100, 1, 23, "float64", "elman", n_in=1, n_out=1)
        self.run(n_particles)

    def run(self, n_particles):
        for w in self.estimator(self.net, self.x, self.y, 1, n_particles=n_particles, sigma=0.01, seed=0):
            self.net.theta -= 1e-9 * w.grad

    def time_100_unrolls(self, estimator, n_particles):
        self.run(n_particles)

    def peakmem_100_unrolls(self, estimator, n_particles):
        self.run(n_particles)


class OnlineEstimators:
    """The online estimators over 20 steps, an update every step: the time and peak memory per 20 steps.

    RTRL carries an influence of B x P x H numbers and costs O(P H G H) per
    step; SnAp-1, RFLO and e-prop keep one entry per parameter (O(B P), a
    compiled loop per window), UORO a rank-one factor (O(B P) plus a cell
    step); KF-RTRL (Elman cells) u (x) A, O(H^3) per step. Each on the cells
    it runs on (RFLO: the leaky Elman cell, alpha = 0.5; e-prop: the LSTM).
    n_in = 8, 8 outputs, float64.
    """

    params = (
        ["rtrl", "snap1", "uoro", "kf_rtrl", "rflo", "eprop"], ["elman", "leaky_elman", "lstm"], [16, 32], [1, 16]
    )  # fmt: skip
    param_names = ["estimator", "cell", "H", "B"]
    CELLS = {"kf_rtrl": ("elman", "leaky_elman"), "rflo": ("leaky_elman",), "eprop": ("lstm",)}

    def setup(self, estimator, cell, n_hidden, n_batch):
        import rnn_numba as rn

        if cell not in self.CELLS.get(estimator, (cell,)):
            raise NotImplementedError(f"{estimator} runs on {self.CELLS[estimator]}")  # asv skips the point
        self.estimator = getattr(rn, estimator)
        options = {"alpha": 0.5} if cell == "leaky_elman" else None
        self.net, self.x, self.y = problem(20, n_batch, n_hidden, "float64", cell, n_in=8, cell_options=options)
        self.run()

    def run(self):
        for w in self.estimator(self.net, self.x, self.y, 1):
            self.net.theta -= 1e-6 * w.grad

    def time_20_steps(self, estimator, cell, n_hidden, n_batch):
        self.run()

    def peakmem_20_steps(self, estimator, cell, n_hidden, n_batch):
        self.run()


FIRST_GRADIENT = """
import numpy as np
import rnn_numba as rn
net = rn.Elman(2, 8, 1, seed=0)
net.loss_and_grad(np.zeros((10, {n_batch}, 2)), np.zeros((10, {n_batch}, 1)))
"""

#: Run first in a cold benchmark: an empty Numba cache of its own.
COLD = """
import os, tempfile
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp()
"""


class Compile:
    """Compilation from an empty Numba cache, and a warm import + first call.

    Cold: a small Elman net's first gradient (float64) on one sequence and
    on a batch of 8 (both one compiled call with no parallel code: the
    batch's work is below the threshold for threads), each the compile time
    a user waits for at a first call; and
    every kernel of the package (``rn.warmup()``: three cells, two dtypes,
    both ways). Warm: a fresh process importing the package and taking a
    first gradient with the cache filled.
    """

    timeout = 1800

    def setup(self):
        # Fill the package's own cache, so that the warm benchmark is warm.
        subprocess.run([sys.executable, "-c", FIRST_GRADIENT.format(n_batch=1)], check=True)

    def timeraw_cold_first_gradient_one_sequence(self):
        return COLD + FIRST_GRADIENT.format(n_batch=1)

    def timeraw_cold_first_gradient_batch(self):
        return COLD + FIRST_GRADIENT.format(n_batch=8)

    def timeraw_cold_compile_everything(self):
        return COLD + "import rnn_numba\nrnn_numba.warmup()\n"

    def timeraw_warm_import_and_first_gradient(self):
        return FIRST_GRADIENT.format(n_batch=1)
