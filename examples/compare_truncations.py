"""How far a truncated gradient is from the full one, and what that does to training.

Part 1 measures, at fixed weights, the cosine between the full-BPTT gradient
and the gradients of fixed-horizon truncation and TBPTT(k1, k2) on the
adding problem. Part 2 trains one LSTM per schedule from the same initial
weights on the same batches (the same number of them: with TBPTT a batch
makes one update per k1 steps that carry a loss, here only its last window)
and prints the held-out MSE beside the baseline 1/6 (predicting 1; Le,
Jaitly & Hinton 2015). At the defaults every schedule leaves the baseline
after about 500 batches; full BPTT ends lowest. For the spread over seeds
see the paper's training figure (``paper/fig_training.py``, a sweep).

    python examples/compare_truncations.py --steps 50 --batches 1200
"""

import argparse

import numpy as np

import rnn_numba as rn
from rnn_numba import tasks


def cosine(a, b):
    """Cos of the angle between two flat gradients."""
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main(argv=None):
    """Compare the schedules; returns the held-out MSE of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="sequence length T")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batches", type=int, default=1200)
    args = parser.parse_args(argv)
    T, k = args.steps, max(2, args.steps // 5)
    schedules = {"full BPTT": {}, f"horizon {k}": {"horizon": k}, f"TBPTT({k}, {2 * k})": {"tbptt": (k, 2 * k)}}

    net = rn.LSTM(2, args.hidden, 1, seed=0)
    batch = tasks.adding(T, 64, seed=1)
    full = net.backward(batch.x, batch.target, **batch.kwargs()).grad
    print("cosine(truncated gradient, full gradient) at the initial weights:")
    for name, schedule in schedules.items():
        print(
            f"  {name:14s} {cosine(net.backward(batch.x, batch.target, **schedule, **batch.kwargs()).grad, full):+.3f}"
        )

    held_out = tasks.adding(T, 512, seed=2)
    print(f"held-out MSE after {args.batches} batches (baseline {tasks.adding_baseline():.3f}):")
    results = {}
    for name, schedule in schedules.items():
        model = net.copy()
        trainer = rn.Trainer(
            model, rn.optim.Adam(1e-2), lambda rng: tasks.adding(T, 32, seed=rng), clip_norm=1.0, seed=3,
            progress=False, **schedule,
        )  # fmt: skip
        while trainer.batches < args.batches:
            trainer.run(1)  # one update, and the rest of its batch's
        results[name] = model.loss(held_out.x, held_out.target, **held_out.kwargs())
        print(f"  {name:14s} {results[name]:.4f}")
    return results


if __name__ == "__main__":
    main()
