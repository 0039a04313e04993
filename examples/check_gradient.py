"""Check a gradient against finite differences: full BPTT, a truncated objective, and clipping.

``rn.check_grad`` compares the package's gradient with fourth-order central
differences in float64, block by block. For truncated BPTT it checks the
gradient of the truncated objective (each window's losses as a function of
the weights, the incoming state held fixed), which is what TBPTT computes.

    python examples/check_gradient.py
"""

import argparse

import numpy as np

import rnn_numba as rn


def main(argv=None):
    """Run the checks and print their reports; returns them by name."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=["elman", "lstm", "gru"], default="lstm")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args(argv)

    net = rn.RNN(args.cell, n_in=3, n_hidden=5, n_out=2, num_layers=args.layers, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.steps, 4, 3))
    y = rng.normal(size=(args.steps, 4, 2))

    reports = {
        "full BPTT": rn.check_grad(net, x, y),
        "TBPTT(3, 6)": rn.check_grad(net, x, y, tbptt=(3, 6)),
        "horizon 4": rn.check_grad(net, x, y, horizon=4),
    }
    for name, report in reports.items():
        print(f"--- {name}\n{report}")

    # Clipping the backward message changes the gradient only where it clips:
    # far above every delta it is BPTT, bit for bit; well below, it is not.
    plain = net.backward(x, y).grad
    print(
        "message clip 1e3 leaves the gradient unchanged:",
        np.array_equal(net.backward(x, y, clip_message=1e3).grad, plain),
    )
    print("message clip 1e-3 changes it:", not np.allclose(net.backward(x, y, clip_message=1e-3).grad, plain))
    return reports


if __name__ == "__main__":
    main()
