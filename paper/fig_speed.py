"""Figure: time per forward + full-BPTT gradient against T and against H, beside PyTorch and JAX.

The numbers are measured by ``benchmarks/peers.py --sweep`` (all three in one
process, medians over repeats, same weights and loss) and stored in
``benchmarks/results/peers_sweep_<date>_<machine>_<n>.json``; this script
draws the newest, so ``make figures`` needs neither PyTorch nor JAX.
``make peers`` re-measures.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import cli, save

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def newest_sweep():
    """The newest sweep's result file: names sort by date (``peers_sweep_<YYYY-MM-DD>_...``)."""
    return max(RESULTS.glob("peers_sweep_*.json"), key=lambda p: (p.name.split("_")[2], p.stat().st_mtime))


STYLE = {"rnn_numba": ("black", "o"), "pytorch": ("tab:red", "s"), "jax": ("tab:blue", "^")}


def main(scale="default"):
    data = json.loads(newest_sweep().read_text())
    records = data["records"]
    cells = sorted({r["cell"] for r in records}, key=["elman", "lstm", "gru"].index)
    fig, axes = plt.subplots(2, len(cells), figsize=(4 * len(cells), 6.4), squeeze=False)
    for col, cell in enumerate(cells):
        rows = [r for r in records if r["cell"] == cell]
        by_t = sorted((r for r in rows if r["H"] == 128 and r["B"] == 32), key=lambda r: r["T"])
        by_h = sorted((r for r in rows if r["T"] == 200), key=lambda r: r["H"])
        for ax, series, key in ((axes[0, col], by_t, "T"), (axes[1, col], by_h, "H")):
            for peer, (color, marker) in STYLE.items():
                pts = [(r[key], r["seconds"][peer]) for r in series if peer in r["seconds"]]
                if pts:
                    xs, ys = np.array(pts).T
                    ax.loglog(xs, 1e3 * ys, marker=marker, color=color, ms=4, label=peer)
            ticks = sorted({r[key] for r in series})
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.minorticks_off()
            ax.set_xlabel(key)
        if len(by_t) >= 2:
            t, s = np.array([(r["T"], r["seconds"]["rnn_numba"]) for r in by_t]).T
            slope = np.polyfit(np.log(t), np.log(s), 1)[0]
            axes[0, col].set_title(f"{cell}: B = 32, H = 128 (slope {slope:.2f})")
        axes[1, col].set_title(f"{cell}: T = 200, B = 32")
        axes[0, col].set_ylabel("ms per forward + gradient")
        axes[1, col].set_ylabel("ms per forward + gradient")
    axes[0, 0].legend(frameon=False)
    m = data["machine"]
    fig.suptitle(
        f"float32, one process; {m['cpu']}, {m['cores']} cores; torch {m.get('torch', '-')}, "
        f"jax {m.get('jax', '-')}, numba {m['numba']}",
        fontsize=8,
    )
    fig.tight_layout()
    return save(fig, "speed")


if __name__ == "__main__":
    cli(main, __doc__)
