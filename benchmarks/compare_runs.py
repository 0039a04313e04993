"""Compare runs of the peer grid of two versions of rnn_numba, point by point, with the noise of each.

Give the result files of the runs of version A (``--before``) and version B
(``--after``), measured alternately on the same machine (A, B, A, B). For
every point it prints rnn_numba's time in each run, B's median over A's
median, and the noise: the spread of A's own runs and of B's
(max / min - 1). Two measures judge a point: rnn_numba's time, and its
speed-up over the faster peer taken within each run (a slow spell of the
machine moves every library, the ratio less). By each, a point is within
noise when B's range over its runs overlaps A's, else faster or slower; the
verdict is faster or slower only where both measures say so.

    python benchmarks/compare_runs.py --before a1.json a2.json --after b1.json b2.json
"""

import argparse
import json
from pathlib import Path

import numpy as np


def load(path):
    """The records of a result file, by point (cell, dtype, T, B, n_in, H)."""
    records = json.loads(Path(path).read_text())["records"]
    return {(r["cell"], r["dtype"], r["T"], r["B"], r["n_in"], r["H"]): r for r in records}


def compare(before, after):
    """Rows of the comparison: point, times of each run, B / A, noise, verdict, ratios to the faster peer."""
    runs_a, runs_b = [load(p) for p in before], [load(p) for p in after]
    rows = []
    for point in runs_a[0]:
        a = np.array([run[point]["seconds"]["rnn_numba"] for run in runs_a]) * 1e3
        b = np.array([run[point]["seconds"]["rnn_numba"] for run in runs_b]) * 1e3
        change = np.median(b) / np.median(a)
        noise = max(a.max() / a.min(), b.max() / b.min()) - 1
        peer_a = np.array([run[point]["speedup_vs_fastest_peer"] for run in runs_a])
        peer_b = np.array([run[point]["speedup_vs_fastest_peer"] for run in runs_b])
        by_time = _judge(a, b, lower_is_better=True)
        by_ratio = _judge(peer_a, peer_b, lower_is_better=False)
        verdict = by_time if by_time == by_ratio else "within noise"
        rows.append((point, a, b, change, noise, verdict, peer_a, peer_b))
    return rows


def _judge(a, b, lower_is_better):
    """Whether B's values beat A's, lose to them, or their ranges overlap."""
    if b.min() <= a.max() and a.min() <= b.max():
        return "within noise"
    better = b.max() < a.min() if lower_is_better else b.min() > a.max()
    return "faster" if better else "slower"


def markdown(rows):
    """The comparison as a Markdown table."""
    lines = [
        "| cell | dtype | T | B | H | before ms | after ms | after / before | noise | verdict | x faster peer before"
        " | after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (cell, dtype, T, B, _, H), a, b, change, noise, verdict, peer_a, peer_b in rows:
        times = [", ".join(f"{v:.3g}" for v in x) for x in (a, b)]
        peers = [", ".join(f"{v:.2f}" for v in x) for x in (peer_a, peer_b)]
        lines.append(
            f"| {cell} | {dtype} | {T} | {B} | {H} | {times[0]} | {times[1]} | {change:.3f} | {noise:.1%} | {verdict} "
            f"| {peers[0]} | {peers[1]} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", nargs="+", type=Path, required=True)
    parser.add_argument("--after", nargs="+", type=Path, required=True)
    args = parser.parse_args(argv)
    rows = compare(args.before, args.after)
    print(markdown(rows))
    changes = np.array([row[3] for row in rows])
    verdicts = [row[5] for row in rows]
    print(
        f"\n{len(rows)} points: {verdicts.count('within noise')} within noise, {verdicts.count('faster')} faster, "
        f"{verdicts.count('slower')} slower; after / before from {changes.min():.3f} to {changes.max():.3f} "
        f"(median {np.median(changes):.3f})"
    )
    return rows


if __name__ == "__main__":
    main()
