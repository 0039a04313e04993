"""rnn_numba and PyTorch on a busy machine: each grid point alone, beside one busy process and beside two.

For every point of the peer grid (``benchmarks/peers.py``) the script times
the forward pass plus full-BPTT gradient of rnn_numba and of PyTorch (the
same work as there) with the machine otherwise idle, then with one and with
two busy processes running beside them (each a Python loop that never
sleeps, started and stopped by this script), and reports each library's time
under load as a multiple of its idle time. A library whose threads wait for
each other by spinning suffers far more than 2x when a busy process takes a
core from one of them.

    python benchmarks/load.py                    # the grid, 5 repeats
    python benchmarks/load.py --quick            # two small points
    python benchmarks/load.py --out results.json

Medians over repeats of the mean over calls that fill ``--min-time``; the
conditions run in turn for each point, all in this one process.
"""

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402  (the grid, the problems and the PyTorch runner)


def _busy():
    """A process that keeps one core busy until it is stopped."""
    while True:
        pass


class Busy:
    """``n`` busy processes for the duration of a ``with`` block."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        context = multiprocessing.get_context("spawn")
        self.processes = [context.Process(target=_busy, daemon=True) for _ in range(self.n)]
        for p in self.processes:
            p.start()
        time.sleep(0.5)  # the processes are running
        return self

    def __exit__(self, *exc):
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            p.join()
        time.sleep(0.5)  # the cores are free again


def median_time(fn, repeats, min_time):
    """Median over ``repeats`` of the mean time of ``fn()`` over calls that fill ``min_time`` (at least one)."""
    times = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            if time.perf_counter() - start >= min_time:
                break
        times.append((time.perf_counter() - start) / n)
    return float(np.median(times))


def measure(points, cells, dtypes, repeats, min_time, loads=(0, 1, 2)):
    """Per point, each library's median time under each load (number of busy processes)."""
    records = []
    for cell in cells:
        for dtype in dtypes:
            for T, B, n_in, H in points:
                net, x, y = peers.problem(cell, T, B, n_in, H, getattr(np, dtype))
                runners = {"rnn_numba": peers.numba_runner(net, x, y)[0], "pytorch": peers.torch_runner(net, x, y)[0]}
                for fn in runners.values():
                    fn()  # compile, warm up
                seconds = {name: {} for name in runners}
                for load in loads:
                    with Busy(load):
                        for name, fn in runners.items():
                            seconds[name][load] = median_time(fn, repeats, min_time)
                record = {"cell": cell, "dtype": dtype, "T": T, "B": B, "n_in": n_in, "H": H, "seconds": seconds}
                records.append(record)
                print(row(record), flush=True)
    return records


def row(record):
    """One line of the Markdown table: times alone, and the slowdowns under one and two busy processes."""
    cells = [str(record[k]) for k in ("cell", "dtype", "T", "B", "H")]
    for name in ("rnn_numba", "pytorch"):
        s = record["seconds"][name]
        cells.append(f"{1e3 * s[0]:.3g}")
        cells += [f"{s[load] / s[0]:.2f}x" for load in (1, 2)]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| cell | dtype | T | B | H | rnn_numba ms alone | 1 busy | 2 busy | PyTorch ms alone | 1 busy | 2 busy |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small points, 3 repeats")
    parser.add_argument("--cells", nargs="+", default=list(peers.GATES), choices=list(peers.GATES))
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--out", type=Path, help="write the JSON results here")
    args = parser.parse_args(argv)
    points = peers.QUICK_GRID if args.quick else peers.GRID
    print(HEADER, flush=True)
    records = measure(points, args.cells, args.dtypes, 3 if args.quick else args.repeats, args.min_time)
    worst = {
        name: {load: max(r["seconds"][name][load] / r["seconds"][name][0] for r in records) for load in (1, 2)}
        for name in ("rnn_numba", "pytorch")
    }
    print(f"\nworst slowdown: {json.dumps(worst)}")
    if args.out:
        args.out.write_text(json.dumps({"machine": peers.machine(), "records": records}, indent=1))
    return records


if __name__ == "__main__":
    main()
