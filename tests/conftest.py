import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, settings

from rnn_numba import _threads as threads

# deadline=None: the first example of a test pays Numba's compile time.
settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_sessionstart(session):
    """Compile the package's kernels into the cache in a second process while the tests run.

    Compiling takes most of a cold run and one core: the tests then load
    from the cache what the warm-up compiled first (in the reverse order of
    the cells the tests start with). RNN_NUMBA_NO_WARMUP=1 turns it off.
    """
    if os.environ.get("RNN_NUMBA_NO_WARMUP"):
        return
    command = [sys.executable, "-m", "rnn_numba", "warmup", "--quiet", "--cells", "gru", "lstm", "elman", "leaky_elman"]
    session.config.background_warmup = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pytest_sessionfinish(session):
    warmup = getattr(session.config, "background_warmup", None)
    if warmup is not None:
        warmup.kill()
        warmup.wait()


@pytest.fixture(autouse=True)
def parallel_kernels_at_every_batch_size(monkeypatch):
    """Every batch takes the parallel kernels, whatever its size and whatever else the machine runs.

    The tests' problems are small (below the work threshold every batch would
    run on one thread), and which kernels a test runs must not depend on the
    load (tests/test_threads.py tests both policies).
    """
    monkeypatch.setattr(threads, "MIN_PARALLEL_WORK", 0)
    monkeypatch.setattr(threads, "ADAPT_TO_LOAD", False)
