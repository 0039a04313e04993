"""Sweeps on a real process pool and a real dask LocalCluster, the store, resuming, summaries and plots."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

import rnn_numba as rn
from rnn_numba import experiments as ex

from . import sweep_runs

ROOT = Path(__file__).resolve().parents[1]
GRID = {"hidden": [4, 6], "lr": [1e-2], "updates": [12]}


def calls(folder):
    """The (name, seed) of every call counted.counted made, one per file."""
    return sorted(tuple(p.name.split("-")[:2]) for p in Path(folder).iterdir())


# ------------------------------------------------------------------ grids and seeds
def test_grid_of_lists_is_every_combination_in_order():
    configs = ex.grid_configs({"a": [1, 2], "b": ["x", "y", "z"]})
    assert configs == [{"a": a, "b": b} for a in (1, 2) for b in "xyz"]


def test_list_of_configs_is_taken_as_given():
    assert ex.grid_configs([{"k": 5}, {"k": 10, "lr": 0.1}]) == [{"k": 5}, {"k": 10, "lr": 0.1}]


@pytest.mark.parametrize(
    "grid, error, match",
    [
        ({"a": 3}, TypeError, "list of values"),
        ({"a": "abc"}, TypeError, "list of values"),
        ("lr=0.1", TypeError, "dict of lists"),
        ([], ValueError, "no configurations"),
        ([{"a": np.zeros(2)}], TypeError, "JSON values"),
        ([{"seed": 1}], ValueError, "reserved"),
        ([{1: 2}], TypeError, "string keys"),
        ({"a": [float("nan")]}, TypeError, "JSON"),
    ],
)
def test_bad_grid_is_refused_before_anything_runs(grid, error, match, tmp_path):
    with pytest.raises(error, match=match):
        rn.sweep(sweep_runs.counted, grid, seeds=1, store=tmp_path / "store")
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    "seeds, error", [(0, ValueError), ([1, 1], ValueError), ([], TypeError), ([0.5], TypeError), (True, TypeError)]
)
def test_bad_seeds_are_refused(seeds, error):
    with pytest.raises(error, match="seeds"):
        rn.sweep(sweep_runs.counted, {"a": [1]}, seeds=seeds)


def test_bad_executor_and_workers_are_refused():
    with pytest.raises(TypeError, match="Executor"):
        rn.sweep(sweep_runs.counted, {"a": [1]}, seeds=1, executor="dask")
    with pytest.raises(ValueError, match="workers"):
        rn.sweep(sweep_runs.counted, {"a": [1]}, seeds=1, workers=0)


def test_a_run_the_pool_cannot_send_is_refused_with_advice():
    with pytest.raises(TypeError, match="top level"):
        rn.sweep(lambda config, seed: {}, {"a": [1]}, seeds=1)


def test_the_default_pool_never_forks_the_calling_process():
    with ex.process_pool(1) as pool:
        assert pool._mp_context.get_start_method() in ("forkserver", "spawn")


def test_a_sweep_after_a_parallel_kernel_in_this_process_does_not_hang(tmp_path):
    # GNU OpenMP hangs a plain fork of a process whose threads have run: the pool must not fork this one
    net = rn.Elman(2, 8, 1, seed=0)
    with rn.threads(2):
        net.loss_and_grad(np.ones((5, 4, 2)), np.ones((5, 4, 1)))  # every batch is threaded in the tests
    folder = tmp_path / "calls"
    folder.mkdir()
    results = rn.sweep(sweep_runs.counted, [{"name": "a", "calls": str(folder)}], seeds=2, workers=2)
    assert not results.failed


def test_run_key_depends_on_config_and_seed_only():
    assert ex.run_key({"a": 1, "b": 2}, 0) == ex.run_key({"b": 2, "a": 1}, 0)
    assert ex.run_key({"a": 1}, 0) != ex.run_key({"a": 1}, 1)
    assert ex.run_key({"a": 1}, 0) != ex.run_key({"a": 1.5}, 0)


# ------------------------------------------------------------------ real training runs, two executors
@pytest.fixture(scope="module")
def pool_results(tmp_path_factory):
    store = tmp_path_factory.mktemp("pool")
    return rn.sweep(sweep_runs.train, GRID, seeds=2, store=store, workers=2, progress=False), store


def test_sweep_on_the_default_pool_records_every_run(pool_results):
    results, store = pool_results
    assert len(results) == 4 and not results.failed
    assert [(r.config["hidden"], r.seed) for r in results.records] == [(4, 0), (4, 1), (6, 0), (6, 1)]
    assert len({r.scalars["pid"] for r in results.records}) == 2  # two worker processes shared the runs
    assert all(r.scalars["pid"] != os.getpid() for r in results.records)
    record = results.records[0]
    assert set(record.environment) >= {"rnn_numba", "numpy", "numba", "python", "host"}
    assert record.wall_time > 0 and record.error == ""
    history = record.metric("history")
    assert isinstance(history, rn.History) and history.step == list(range(1, 13))
    # what the store holds is what the sweep returned
    assert len(list(Path(store).glob("*.npz"))) == 4
    loaded = ex.load(store)
    by_key = {r.key: r for r in loaded.records}
    for r in results.records:
        assert by_key[r.key].scalars == r.scalars
        np.testing.assert_array_equal(by_key[r.key].arrays["theta"], r.arrays["theta"])


def test_a_run_in_the_sweep_equals_the_same_run_in_this_process(pool_results):
    results, _ = pool_results
    record = results.records[3]
    with rn.threads(1):
        here = sweep_runs.train(record.config, record.seed)
    np.testing.assert_array_equal(here["theta"], record.arrays["theta"])
    assert here["final"] == record.scalars["final"]


def test_a_local_dask_cluster_gives_the_same_records_bit_for_bit(pool_results, tmp_path):
    distributed = pytest.importorskip("distributed")
    results, _ = pool_results
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = rn.sweep(sweep_runs.train, GRID, seeds=2, store=tmp_path, executor=client, progress=False)
    assert not on_dask.failed
    assert {r.scalars["pid"] for r in on_dask.records}.isdisjoint({r.scalars["pid"] for r in results.records})
    for a, b in zip(results.records, on_dask.records, strict=True):
        assert (a.config, a.seed) == (b.config, b.seed)
        assert a.scalars["final"] == b.scalars["final"]
        for name in ("theta", "history.loss", "history.grad_norm", "history.eval_loss"):
            np.testing.assert_array_equal(a.arrays[name], b.arrays[name], err_msg=name)


# ------------------------------------------------------------------ failures, reruns, interruption
def test_a_failing_run_does_not_stop_the_others_and_is_retried(tmp_path):
    folder = tmp_path / "calls"
    folder.mkdir()
    grid = [{"name": "good", "calls": str(folder)}, {"name": "bad", "calls": str(folder), "fail": True}]
    with ThreadPoolExecutor(2) as pool:
        results = rn.sweep(sweep_runs.counted, grid, seeds=2, store=tmp_path / "s", executor=pool, progress=False)
    assert [r.status for r in results.records] == ["ok", "ok", "failed", "failed"]
    assert "fails on purpose" in results.failed[0].error and "Traceback" in results.failed[0].error
    frame = results.frame()
    assert list(frame["status"]) == ["ok", "ok", "failed", "failed"]
    assert frame["error"].str.contains("RuntimeError").tolist() == [False, False, True, True]
    # the rerun retries the failed runs only (they fail again) and makes no call for the finished ones
    with ThreadPoolExecutor(2) as pool:
        rn.sweep(sweep_runs.counted, grid, seeds=2, store=tmp_path / "s", executor=pool, progress=False)
    assert calls(folder) == sorted([("good", "0"), ("good", "1")] + [("bad", "0"), ("bad", "1")] * 2)


def test_a_metric_that_cannot_be_stored_fails_its_run_with_a_clear_message():
    with ThreadPoolExecutor(1) as pool:
        results = rn.sweep(sweep_runs.bad_metric, {"a": [1]}, seeds=1, executor=pool, progress=False)
    assert results.records[0].status == "failed"
    assert "metric 'model' is a object" in results.records[0].error


def test_a_worker_that_dies_fails_its_run_and_the_sweep_returns(tmp_path):
    results = rn.sweep(sweep_runs.dies, [{"die": True}], seeds=1, store=tmp_path, workers=1, progress=False)
    assert results.records[0].status == "failed" and "BrokenProcessPool" in results.records[0].error


def test_a_store_of_another_run_function_is_refused(tmp_path):
    folder = tmp_path / "calls"
    folder.mkdir()
    with ThreadPoolExecutor(1) as pool:
        rn.sweep(sweep_runs.counted, [{"name": "a", "calls": str(folder)}], 1, store=tmp_path / "s", executor=pool)
        with pytest.raises(ValueError, match="another folder"):
            rn.sweep(sweep_runs.bad_metric, [{"name": "a", "calls": str(folder)}], 1, store=tmp_path / "s")


def test_a_damaged_record_is_a_value_error_naming_the_file(tmp_path):
    store = ex.Store(tmp_path)
    record = ex.execute(sweep_runs.counted, {"name": "a", "calls": str(tmp_path)}, 0)
    store.write(record)
    path = store.file(record.key)
    store.file("0" * 16).write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="another run"):
        store.read("0" * 16)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=f"{record.key}.npz.*truncated"):
        store.read(record.key)


KILLED_SWEEP = """
import sys
sys.path.insert(0, {root!r})
import rnn_numba as rn
from tests import sweep_runs
grid = [{{"name": str(i), "calls": {calls!r}, "sleep": 0.4}} for i in range(8)]
rn.sweep(sweep_runs.counted, grid, seeds=1, store={store!r}, workers=2, progress=False)
"""


def test_a_sweep_killed_halfway_reruns_only_the_missing_runs(tmp_path):
    folder, store = tmp_path / "calls", tmp_path / "store"
    folder.mkdir()
    script = KILLED_SWEEP.format(root=str(ROOT), calls=str(folder), store=str(store))
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(store.glob("*.npz"))) < 3 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)  # the sweep and its workers, as a lost node or a kill -9 would
    child.wait()
    finished = {p.stem for p in store.glob("*.npz")}
    assert 3 <= len(finished) < 8, "the kill came too late to test anything"
    before = calls(folder)
    grid = [{"name": str(i), "calls": str(folder), "sleep": 0.4} for i in range(8)]
    with ThreadPoolExecutor(2) as pool:
        results = rn.sweep(sweep_runs.counted, grid, seeds=1, store=store, executor=pool, progress=False)
    assert not results.failed and len(results) == 8
    new = [c for c in calls(folder) if c not in before or calls(folder).count(c) > before.count(c)]
    rerun = {ex.run_key(g, 0) for g in grid if (g["name"], "0") in new}
    assert rerun == {ex.run_key(g, 0) for g in grid} - finished


# ------------------------------------------------------------------ tables, summaries, plots
@pytest.fixture
def counted_results(tmp_path):
    grid = {"name": ["a", "b"], "calls": [str(tmp_path)], "offset": [0.0]}
    with ThreadPoolExecutor(2) as pool:
        return rn.sweep(sweep_runs.counted, grid, seeds=[0, 1, 5], executor=pool, progress=False)


def test_frame_has_one_row_per_run_and_curves_one_per_run_and_step(counted_results):
    frame = counted_results.frame()
    assert len(frame) == 6 and list(frame["seed"]) == [0, 1, 5] * 2 and list(frame["value"]) == [0.0, 1.0, 5.0] * 2
    curves = counted_results.curves("curve")
    assert len(curves) == 24 and list(curves.columns[:3]) == ["name", "calls", "offset"]
    row = curves[(curves["name"] == "b") & (curves["seed"] == 5) & (curves["step"] == 3)]
    assert row["value"].item() == 18.0


def test_summary_is_the_student_t_interval_over_seeds(counted_results):
    summary = ex.summarize(counted_results.curves("curve"), "value", by=["name", "step"])
    assert len(summary) == 8 and (summary["n"] == 3).all()
    row = summary[(summary["name"] == "a") & (summary["step"] == 2)].iloc[0]
    values = np.array([2.0, 4.0, 12.0])
    low, high = scipy.stats.t.interval(0.95, 2, loc=values.mean(), scale=scipy.stats.sem(values))
    assert row["mean"] == pytest.approx(values.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_summary_of_one_seed_has_no_interval_and_bad_columns_are_named(counted_results):
    one = counted_results.frame().query("seed == 0")
    summary = ex.summarize(one, "value", by="name")
    assert summary["ci_low"].isna().all() and (summary["n"] == 1).all()
    with pytest.raises(KeyError, match="lr"):
        ex.summarize(one, "value", by="lr")
    with pytest.raises(ValueError, match="confidence"):
        ex.summarize(one, "value", by="name", confidence=95)


def test_plot_bands_draws_the_mean_and_the_interval(counted_results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = ex.summarize(counted_results.curves("curve"), "value", by=["name", "step"])
    fig, ax = plt.subplots()
    b = summary[summary["name"] == "b"]
    line = ex.plot_bands(ax, b, label="b")
    np.testing.assert_array_equal(line.get_ydata(), b["mean"])
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2, 3])
    (band,) = ax.collections
    assert band.get_paths()[0].vertices[:, 1].max() == pytest.approx(b["ci_high"].max())
    assert band.get_paths()[0].vertices[:, 1].min() == pytest.approx(b["ci_low"].min())
    plt.close(fig)


def test_history_plot_draws_the_training_and_held_out_losses(pool_results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = pool_results[0].records[0].metric("history")
    ax = history.plot()
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["training loss", "held-out loss"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_xdata(), history.eval_step)
    plt.close(ax.figure)


# ------------------------------------------------------------------ the ready-made run function
SMALL_ADDING = {"task": "adding", "task_args": {"n_steps": 8}, "cell": "elman", "hidden": 6, "lr": 1e-2, "batch": 4}


def test_train_task_counts_updates_and_time_steps_per_schedule():
    # the copy task has a loss at every step: TBPTT(4, 4) makes an update per 4 of its 8 steps
    copy = {**SMALL_ADDING, "task": "copy", "task_args": {"delay": 4, "n_copy": 2}, "n_out": 10, "evaluations": 3}
    full = ex.train_task({**copy, "updates": 6}, seed=0)
    truncated = ex.train_task({**copy, "updates": 12, "schedule": {"tbptt": [4, 4]}}, 0)
    np.testing.assert_array_equal(full["updates"], [0, 2, 4, 6])
    np.testing.assert_array_equal(truncated["updates"], [0, 4, 8, 12])
    # two updates per batch of 8 steps: the same sequences as full BPTT's, 4 x 8 time steps per batch
    np.testing.assert_array_equal(full["time_steps"], truncated["time_steps"])
    np.testing.assert_array_equal(full["time_steps"], [0, 64, 128, 192])
    assert full["held_out_loss"][0] == truncated["held_out_loss"][0]  # same initial weights and held-out batch
    assert full["baseline"] == rn.tasks.copy_baseline(4, 2) and full["final_loss"] == full["held_out_loss"][-1]
    assert full["history"].step == list(range(1, 7))
    by_batches = ex.train_task({**copy, "batches": 6, "schedule": {"tbptt": [4, 4]}}, 0)
    np.testing.assert_array_equal(by_batches["time_steps"], full["time_steps"])
    np.testing.assert_array_equal(by_batches["held_out_loss"], truncated["held_out_loss"])


def test_train_task_learns_the_adding_problem():
    out = ex.train_task({**SMALL_ADDING, "hidden": 16, "batch": 16, "updates": 600, "evaluations": 2}, seed=0)
    assert out["final_loss"] < 0.5 * out["baseline"] < out["held_out_loss"][0]


@pytest.mark.parametrize(
    "change, match",
    [
        ({"task": "adding_baseline"}, "not a task"),
        ({"task": "_rng"}, "not a task"),
        ({"task": "copy", "task_args": {"delay": 3}}, "n_out"),
        ({"batches": 4}, "either updates or batches"),
    ],
)
def test_train_task_says_what_is_wrong_with_its_config(change, match):
    with pytest.raises(ValueError, match=match):
        ex.train_task({**SMALL_ADDING, "updates": 1, **change}, 0)


def test_train_online_aligns_rtrl_with_itself_and_seeds_the_stochastic_estimators():
    from rnn_numba.experiments import train_online

    config = {"task_args": {"lags": [2, 3]}, "hidden": 4, "lr": 1e-2, "n_steps": 60, "block": 20}
    exact = train_online({**config, "estimator": "rtrl"}, 0)
    np.testing.assert_allclose(exact["alignment"], 1.0, rtol=1e-10)
    assert exact["steps"].tolist() == [20, 40, 60] and np.isfinite(exact["loss"]).all()
    first, again = (train_online({**config, "estimator": "uoro"}, 1) for _ in range(2))
    np.testing.assert_array_equal(first["loss"], again["loss"])
    assert (first["alignment"] < 1 - 1e-6).all()
    with pytest.raises(ValueError, match="give one of"):
        train_online({**config, "estimator": "kernl"}, 0)
    with pytest.raises(ValueError, match=r"e-prop runs on the cells \['lstm'\]"):  # the task's cell is leaky Elman
        train_online({**config, "estimator": "eprop"}, 0)
