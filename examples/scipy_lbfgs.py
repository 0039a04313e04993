"""Train an RNN with SciPy's L-BFGS-B on the flat parameter vector.

``net.objective(x, y)`` is a function theta -> (loss, gradient) in the form
``scipy.optimize.minimize(..., jac=True)`` expects, so any SciPy optimiser
trains the network full-batch.

    python examples/scipy_lbfgs.py --iterations 200
"""

import argparse

from scipy.optimize import minimize

import rnn_numba as rn
from rnn_numba import tasks


def main(argv=None):
    """Fit with L-BFGS-B; returns the MSE before and after."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sequences", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args(argv)

    batch = tasks.adding(args.steps, args.sequences, seed=0)
    net = rn.Elman(2, 16, 1, seed=0)
    fun = net.objective(batch.x, batch.target, **batch.kwargs())
    start = fun(net.theta)[0]
    result = minimize(fun, net.theta.copy(), jac=True, method="L-BFGS-B", options={"maxiter": args.iterations})
    net.theta = result.x
    print(f"MSE {start:.4f} -> {result.fun:.4f} in {result.nit} iterations (baseline {tasks.adding_baseline():.4f})")
    return start, result.fun


if __name__ == "__main__":
    main()
