"""The thread policy: the work threshold, the spin count given to GNU OpenMP."""

import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest

from rnn_numba import _threads as threads

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def measured_threshold(monkeypatch):
    """The package's own threshold (the suite sets it to 0 everywhere else)."""
    monkeypatch.setattr(threads, "MIN_PARALLEL_WORK", 3_000_000)


def test_small_calls_stay_on_one_thread_and_large_ones_split(measured_threshold):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one Numba thread")
    assert threads.chunks_for(8, work=threads.MIN_PARALLEL_WORK - 1) == 1
    assert threads.chunks_for(8, work=threads.MIN_PARALLEL_WORK) == min(8, numba.get_num_threads())
    assert threads.chunks_for(1, work=1e12) == 1


PARALLEL_CALL = """
import os, numpy as np, rnn_numba as rn
from rnn_numba import _threads as threads
threads.MIN_PARALLEL_WORK = 0
net = rn.Elman(2, 3, 1, seed=0)
net.loss_and_grad(np.ones((4, 4, 2)), np.zeros((4, 4, 1)))
print(os.environ.get("GOMP_SPINCOUNT"), threads._launched)
"""


@pytest.mark.parametrize("user_value", [None, "50"])
def test_the_spin_count_is_set_only_while_the_threads_start_and_a_user_setting_is_kept(user_value):
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    if user_value is not None:
        env["GOMP_SPINCOUNT"] = user_value
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", PARALLEL_CALL], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(user_value), "True"]


def test_busy_processes_are_seen_and_the_calls_use_the_cores_they_leave(monkeypatch):
    import time

    monkeypatch.setattr(threads, "ADAPT_TO_LOAD", True)
    if not Path("/proc/loadavg").exists() or numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs Linux's /proc and two Numba threads")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(threads._CPUS)]
    try:
        deadline = time.monotonic() + 30
        while threads._others_running() < threads._CPUS and time.monotonic() < deadline:
            time.sleep(0.05)  # until they all run
        seen = threads._others_running()
        chunks = threads.chunks_for(64)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert seen >= threads._CPUS - 1
    assert chunks == 1  # every core is taken: the call stays on one thread


def test_an_idle_machine_gives_a_batch_every_thread(monkeypatch):
    monkeypatch.setattr(threads, "ADAPT_TO_LOAD", True)
    monkeypatch.setattr(threads, "_others_running", lambda: 0)
    assert threads.chunks_for(64) == min(64, numba.get_num_threads())
    monkeypatch.setattr(threads, "_others_running", lambda: threads._CPUS - 1)
    assert threads.chunks_for(64) == 1
