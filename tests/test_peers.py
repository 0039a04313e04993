"""The peer comparison script: its timing protocol and a smoke run (PyTorch and JAX are optional)."""

import numpy as np

from benchmarks import peers


def test_median_times_takes_the_functions_in_turns_in_every_order():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    times = peers.median_times(fns, repeats=7, min_time=0)
    # One warm-up call each, then one call each per repeat, the repeats taking every order in turn.
    assert calls[:3] == list("abc")
    orders = ["".join(calls[i : i + 3]) for i in range(3, len(calls), 3)]
    assert orders == ["abc", "acb", "bac", "bca", "cab", "cba", "abc"]
    assert set(times) == {"a", "b", "c"} and all(t >= 0 for t in times.values())
    # Within the first 3! repeats, each function is timed right after each other one equally often.
    pairs = [(order[i], order[i + 1]) for order in orders[:6] for i in range(2)]
    assert {pairs.count((x, y)) for x in "abc" for y in "abc" if x != y} == {2}


def test_measure_reports_one_record_per_point():
    results = peers.measure(peers.QUICK_GRID[:1], ["elman"], ["float64"], repeats=1, peers=["rnn_numba"])
    (record,) = results["records"]
    assert (record["T"], record["B"], record["n_in"], record["H"]) == peers.QUICK_GRID[0]
    assert record["seconds"]["rnn_numba"] > 0
    assert 0 < record["gemm_fraction"]["rnn_numba"] < 1
    assert record["speedup_vs_fastest_peer"] is None and record["grad_rel_diff"] == {}
    assert np.isfinite(results["gemm_gflops"]["float64"])


def test_gemm_fractions_are_against_the_best_rate_of_the_run():
    def record(dtype, rate):
        return {"cell": "lstm", "dtype": dtype, "T": 10, "B": 2, "n_in": 3, "H": 5, "gemm_gflops": rate,
                "seconds": {"rnn_numba": 1e-3, "jax": 4e-3}}  # fmt: skip

    results = {"gemm_gflops_start": {"float32": 100.0, "float64": 50.0}}
    results["records"] = [record("float32", 80.0), record("float32", 120.0), record("float64", 40.0)]
    peers.set_gemm_fractions(results)
    assert results["gemm_gflops"] == {"float32": 120.0, "float64": 50.0}
    flops = 6 * 10 * 2 * 4 * 5 * (3 + 5)
    for r in results["records"]:
        best = 120e9 if r["dtype"] == "float32" else 50e9
        assert r["gemm_fraction"] == {"rnn_numba": flops / 1e-3 / best, "jax": flops / 4e-3 / best}


def test_the_rtrl_peers_compute_rnn_numbas_rtrl_gradient():
    # the NumPy RTRL (vanilla-rtrl's layout) and, where installed, the JAX one give our gradient to round-off
    found = ["rnn_numba", "numpy"] + [p for p in peers.available_peers() if p == "jax"]
    results = peers.measure_rtrl(peers.RTRL_QUICK_GRID, ["float64"], repeats=1, peers=found)
    (record,) = results["records"]
    assert set(record["grad_rel_diff"]) == set(found) - {"rnn_numba"}
    assert max(record["grad_rel_diff"].values()) < 1e-12
    assert all(t > 0 for t in record["seconds_per_step"].values())


def test_measure_estimators_times_every_estimator_against_bptt():
    results = peers.measure_estimators(peers.RTRL_QUICK_GRID, ["float64"], repeats=1)
    assert [r["cell"] for r in results["records"]] == list(peers.ESTIMATORS)
    for record in results["records"]:
        assert set(record["seconds_per_step"]) == {"bptt", *peers.ESTIMATORS[record["cell"]]}
        assert record["ratio_to_bptt"]["bptt"] == 1.0
    assert "| lstm | float64 | 4 | 2 |" in peers.estimators_markdown(results)
