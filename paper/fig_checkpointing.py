"""Figure: full BPTT within a memory budget -- time against memory as the stored states m vary.

An LSTM (n_in 32, H 256, B 32, float32) at T = 1,000 and 10,000 steps. Dots:
the checkpointed gradient (``checkpoints=m``, binomial schedule), its median
time against its peak memory (tracemalloc, inputs excluded), labelled by m.
Line: the prediction for every m, the untaped forward steps of the optimal
schedule (Griewank & Walther 2000) times the cost of a forward step plus T
times the cost of a full-BPTT gradient step (both measured in the same
process on whole passes), against m states plus one unit's work buffers plus
the call's temporaries (the measured peaks' median excess over those two).
Square: full BPTT storing every state (``recompute=True``, the same blocks).
Open diamond: uniform sqrt(n) checkpointing (Chen et al. 2016), priced the
same way (its count, not a run).

The numbers are measured by ``benchmarks/checkpointing.py --save`` and stored
in ``benchmarks/results/peers_checkpointing_<date>_<machine>_<n>.json``; this
script draws the newest.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import cli, save
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from rnn_numba.checkpointing import optimal_forward_steps

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
MB = 1e6


def newest():
    """The newest results file (names sort by date: ``peers_checkpointing_<YYYY-MM-DD>_...``)."""
    return max(RESULTS.glob("peers_checkpointing_*.json"), key=lambda p: (p.name.split("_")[2], p.stat().st_mtime))


def panel(ax, sweep):
    n_units, state, work = sweep["n_units"], sweep["state_bytes"], sweep["work_bytes"]
    forward_step, gradient_step = sweep["forward_step_seconds"], sweep["gradient_step_seconds"]
    m = np.unique(np.geomspace(1, n_units, 200).astype(int))
    untaped = [(optimal_forward_steps(n_units, k) - n_units) * sweep["unit_steps"] for k in m]
    predicted = [u * forward_step + sweep["T"] * gradient_step for u in untaped]
    rows = sweep["checkpointed"]
    # the measured peaks exceed m states plus one unit's buffers by a constant: the call's temporaries
    # (packed weights, the GEMMs' per-thread partial sums, the gradient), the same whatever m
    extra = np.median([r["peak_bytes"] - r["bound_bytes"] for r in rows])
    ax.loglog((m * state + work + extra) / MB, predicted, color="C0", lw=1.2,
              label=f"binomial optimum (predicted; + {extra / MB:.1f} MB temporaries)")  # fmt: skip
    peaks = [r["peak_bytes"] / MB for r in rows]
    ax.loglog(peaks, [r["seconds"] for r in rows], "o", color="black", ms=4, label="checkpoints=m (measured)")
    for r, peak in zip(rows, peaks, strict=True):
        ax.annotate(f"m={r['checkpoints']}", (peak, r["seconds"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    full, uniform = sweep["full"], sweep["uniform"]
    ax.loglog(full["peak_bytes"] / MB, full["seconds"], "s", color="C3", ms=5, label="full BPTT, every state")
    ax.loglog((uniform["bound_bytes"] + extra) / MB, uniform["predicted_seconds"], "D", mfc="none", color="C2", ms=6,
              label=f"uniform sqrt(n), {uniform['stored_states']} states (predicted)")  # fmt: skip
    times = [r["seconds"] for r in rows] + [full["seconds"]]
    ax.set_ylim(0.7 * min(times), 2.0 * max(times))  # the prediction climbs steeply below the smallest m measured
    ax.set(xlabel="peak memory (MB)", ylabel="seconds per gradient")
    for axis in (ax.xaxis, ax.yaxis):  # plain numbers at 1, 2, 5 x 10^k on the log axes
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_title(f"T = {sweep['T']:,}: {n_units} units of {sweep['unit_steps']} steps", fontsize=9)


def main(scale="default"):
    data = json.loads(newest().read_text())
    sweeps = data["sweeps"]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(5.2 * len(sweeps), 3.8), squeeze=False)
    for ax, sweep in zip(axes[0], sweeps, strict=True):
        panel(ax, sweep)
    axes[0, 0].legend(frameon=False, fontsize=7)
    info = data["machine"]
    fig.suptitle(f"LSTM, H 256, B 32, float32; {info['cpu']}, {info['cores']} cores, {info['date']}, "
                 f"commit {info['commit']}", fontsize=8)  # fmt: skip
    fig.tight_layout()
    return save(fig, "checkpointing")


if __name__ == "__main__":
    cli(main, __doc__)
