"""Checkpointed full BPTT measured: time and peak memory against the stored states m, beside the prediction.

For an LSTM (n_in 32, H 256, B 32, float32, MSE on 8 outputs) at T = 1,000 and
10,000 steps, in one process:

- the machine's step costs from whole passes over the same T steps: a
  forward step (``net.forward``) and a step of the full-BPTT gradient
  (forward, readout, loss, backward), medians;
- for each m: the gradient's time (median), its forward steps, its peak
  memory (tracemalloc, the inputs excluded) and the prediction
  ``untaped steps x forward step + T x gradient step`` from the counted
  forward steps of the binomial schedule;
- full BPTT (every state, recompute=True: the same blocks) beside them, and
  the count of uniform sqrt(n) checkpointing (Chen et al. 2016) priced the
  same way;
- and, with ``--long``, one gradient at T = 100,000 within a 2 GB budget.

    python benchmarks/checkpointing.py --save        # benchmarks/results/peers_checkpointing_<date>_<machine>_<n>.json
"""

import argparse
import json
import math
import time
import tracemalloc

import numpy as np

import rnn_numba as rn
from rnn_numba import checkpointing

try:
    from benchmarks.common import problem
    from benchmarks.peers import machine, results_path
except ImportError:  # run as a script from benchmarks/
    from common import problem
    from peers import machine, results_path

SIZES = dict(n_batch=32, n_hidden=256, dtype="float32", cell="lstm")
BUDGETS = {1000: [2, 4, 8, 16, 32, 63], 10000: [4, 8, 16, 32, 64, 128, 625]}


def median_time(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def peak_bytes(run):
    """Peak bytes NumPy allocated during ``run`` (the work buffers released first, so that they count)."""
    rn.release_workspace()
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def uniform_units(n_units):
    """(untaped units, stored states) of uniform checkpointing with segments of about sqrt(n) units.

    The first pass stores every segment's start; each segment, last first, is
    run forward again storing its units' starts, then reversed unit by unit.
    """
    segment = max(1, round(math.sqrt(n_units)))
    n_segments = -(-n_units // segment)
    first_pass = (n_segments - 1) * segment
    again = sum(min(segment, n_units - s * segment) - 1 for s in range(n_segments))
    return first_pass + again, n_segments + segment - 1


def measure(n_steps, budgets, repeats):
    net, x, y = problem(n_steps, **SIZES)
    n_batch = SIZES["n_batch"]
    block = checkpointing.unit_steps(n_steps, n_batch)
    n_units = -(-n_steps // block)
    net.loss_and_grad(x[: 4 * block], y[: 4 * block], checkpoints=2)  # compiled
    # the machine's step costs, from whole passes over the same T steps: one forward step (with the readout),
    # one step of a full-BPTT gradient (forward, readout, loss, backward, the gates kept as a taped block keeps them)
    forward_step = median_time(lambda: net.forward(x), repeats) / n_steps
    gradient_step = median_time(lambda: net.loss_and_grad(x, y), repeats) / n_steps
    state = checkpointing.state_bytes(net, n_batch)
    work = checkpointing.work_bytes(net, n_batch, block, recompute=False)
    rows = []
    for m in budgets:
        result = net.backward(x, y, checkpoints=m)
        untaped_steps = result.forward_steps - n_steps
        rows.append({
            "checkpoints": m, "seconds": median_time(lambda m=m: net.loss_and_grad(x, y, checkpoints=m), repeats),
            "forward_steps": result.forward_steps, "peak_bytes": peak_bytes(lambda m=m: net.loss_and_grad(x, y, checkpoints=m)),
            "bound_bytes": min(m, n_units) * state + work,
            "predicted_seconds": untaped_steps * forward_step + n_steps * gradient_step,
        })  # fmt: skip
        print(f"T {n_steps} m {m}: {rows[-1]}", flush=True)
    full = {
        "seconds": median_time(lambda: net.loss_and_grad(x, y, recompute=True), repeats),
        "peak_bytes": peak_bytes(lambda: net.loss_and_grad(x, y, recompute=True)),
        "stored_states": n_steps + 1,
    }
    untaped, stored = uniform_units(n_units)
    uniform = {"stored_states": stored, "forward_steps": block * untaped + n_steps, "bound_bytes": stored * state + work,
               "predicted_seconds": block * untaped * forward_step + n_steps * gradient_step}  # fmt: skip
    print(f"T {n_steps} full BPTT: {full}\nuniform: {uniform}", flush=True)
    return {
        "T": n_steps, **SIZES, "n_in": 32, "n_out": 8, "unit_steps": block, "n_units": n_units,
        "state_bytes": state, "work_bytes": work, "forward_step_seconds": forward_step,
        "gradient_step_seconds": gradient_step, "checkpointed": rows, "full": full, "uniform": uniform,
    }  # fmt: skip


def long_run(budget="2 GB"):
    """One gradient at T = 100,000 within ``budget``: seconds, forward steps, stored states, peak bytes."""
    n_steps = 100_000
    net, x, y = problem(n_steps, **SIZES)
    m, block = checkpointing.checkpoints_for(net, n_steps, SIZES["n_batch"], memory=budget)
    rn.release_workspace()
    tracemalloc.start()
    start = time.perf_counter()
    result = net.backward(x, y, memory=budget)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    row = {"T": n_steps, "budget": budget, "checkpoints": m, "unit_steps": block, "seconds": seconds,
           "forward_steps": result.forward_steps, "peak_bytes": peak, "loss": result.loss,
           "inputs_bytes": x.nbytes + y.nbytes, "full_states_bytes": (n_steps + 1) * checkpointing.state_bytes(net, 32)}  # fmt: skip
    print(f"T 100,000 within {budget}: {row}", flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", nargs="+", type=int, default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long", action="store_true", help="also T = 100,000 within 2 GB")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/peers_checkpointing_*.json")
    args = parser.parse_args()
    info = machine()
    results = {"machine": info, "sweeps": [measure(t, BUDGETS.get(t, [2, 8, 32]), args.repeats) for t in args.steps]}
    if args.long:
        results["long"] = long_run()
    if args.save:
        path = results_path("checkpointing", info)
        path.write_text(json.dumps(results, indent=1))
        print(path)


if __name__ == "__main__":
    main()
