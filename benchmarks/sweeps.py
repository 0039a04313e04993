"""Runs per minute of a sweep on one-thread workers against the same runs one after another in one process.

Sixteen small training runs (:func:`rnn_numba.experiments.train_task`: an
Elman net, H = 32, on the adding problem with T = 50, B = 16, 200 Adam
updates, and again with 1000; two learning rates times eight seeds), timed
three ways in this one process, in turn, ``--repeats`` times:

- ``serial``: one after another in this process, with the package's default
  threads;
- ``sweep_first``: :func:`rnn_numba.sweep` on its default pool (``--workers``
  processes, one thread each) as the first sweep of a session pays it: in a
  fresh process that has imported the package and loaded its kernels, the
  clock started just before the sweep (which starts the fork server, then
  the workers);
- ``sweep``: the same in this process, where the fork server is up: a later
  sweep of a session (the pool's workers are still started each time);
- ``sweep_warm``: the same on a pool whose workers have started and loaded
  their kernels before the clock starts (the lower bound).

Reports the medians and each sweep's runs per minute as a multiple of
serial's. A pool's start-up (a Python process importing the package and
loading its kernels, about a second) is paid once per sweep, so it matters
for short runs and not for long ones: hence two run lengths. The kernels
are compiled (into the cache) before anything is timed.

    python benchmarks/sweeps.py                      # 3 repeats, 2 workers
    python benchmarks/sweeps.py --out results.json
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402  (describes the machine)

import rnn_numba as rn  # noqa: E402
from rnn_numba.experiments import train_task  # noqa: E402

SEEDS = 8


def grid(updates):
    """Two learning rates of the one small problem, ``updates`` updates each."""
    return {
        "task": ["adding"],
        "task_args": [{"n_steps": 50}],
        "cell": ["elman"],
        "hidden": [32],
        "batch": [16],
        "updates": [updates],
        "evaluations": [1],
        "lr": [1e-2, 3e-3],
    }


def serial(grid):
    """Every run in this process, one after another."""
    for config in rn.experiments.grid_configs(grid):
        for seed in range(SEEDS):
            train_task(config, seed)


def sweep(grid, executor=None, workers=None):
    results = rn.sweep(train_task, grid, SEEDS, executor=executor, workers=workers, progress=False)
    if results.failed:
        raise RuntimeError(results.failed[0].error)


FIRST_SWEEP = """
import sys, time
sys.path.insert(0, {here!r})
import sweeps
sweeps.serial(sweeps.grid(1))  # the kernels loaded, as in a session that has trained before
start = time.perf_counter()
sweeps.sweep(sweeps.grid({updates}), None, {workers})
print(time.perf_counter() - start)
"""


def first_sweep(updates, workers):
    """Seconds of a session's first sweep, measured in a fresh process."""
    code = FIRST_SWEEP.format(here=str(Path(__file__).resolve().parent), updates=updates, workers=workers)
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--updates", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    context = multiprocessing.get_context("spawn")
    report = {"machine": peers.machine(), "date": time.strftime("%Y-%m-%d"), "workers": args.workers, "results": []}
    with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context) as warm:
        for updates in args.updates:
            g = grid(updates)
            n_runs = len(rn.experiments.grid_configs(g)) * SEEDS
            train_task(rn.experiments.grid_configs(g)[0], 0)  # compile (or load) the kernels
            sweep(g, warm)  # every worker has started and loaded its kernels
            times = {"serial": [], "sweep_first": [], "sweep": [], "sweep_warm": []}
            for _ in range(args.repeats):
                times["serial"].append(timed(serial, g))
                times["sweep_first"].append(first_sweep(updates, args.workers))
                times["sweep"].append(timed(sweep, g, None, args.workers))
                times["sweep_warm"].append(timed(sweep, g, warm))
            medians = {name: float(np.median(values)) for name, values in times.items()}
            per_minute = {name: 60 * n_runs / seconds for name, seconds in medians.items()}
            print(f"{n_runs} runs of {updates} updates:")
            for name in times:
                ratio = per_minute[name] / per_minute["serial"]
                print(f"  {name:>10}: {medians[name]:6.2f} s, {per_minute[name]:7.1f} runs/min, {ratio:.2f}x serial")
            report["results"].append(
                {"updates": updates, "runs": n_runs, "grid": g, "seconds": times, "runs_per_minute": per_minute}
            )
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
