"""The peer comparison script: its timing protocol and a smoke run (PyTorch and JAX are optional)."""

import numpy as np

from benchmarks import peers


def test_median_times_takes_the_functions_in_turns_in_a_rotating_order():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    times = peers.median_times(fns, repeats=4, min_time=0)
    # One warm-up call each, then one call each per repeat, the order rotated every repeat.
    assert calls == ["a", "b", "c"] + ["a", "b", "c"] + ["b", "c", "a"] + ["c", "a", "b"] + ["a", "b", "c"]
    assert set(times) == {"a", "b", "c"} and all(t >= 0 for t in times.values())


def test_measure_reports_one_record_per_point():
    results = peers.measure(peers.QUICK_GRID[:1], ["elman"], ["float64"], repeats=1, peers=["rnn_numba"])
    (record,) = results["records"]
    assert (record["T"], record["B"], record["n_in"], record["H"]) == peers.QUICK_GRID[0]
    assert record["seconds"]["rnn_numba"] > 0
    assert 0 < record["gemm_fraction"]["rnn_numba"] < 1
    assert record["speedup_vs_fastest_peer"] is None and record["grad_rel_diff"] == {}
    assert np.isfinite(results["gemm_gflops"]["float64"])
