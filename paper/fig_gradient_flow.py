"""Figure 1: gradient flow, ||dL/dh_t|| against the lag T - t.

W_hh = rho * Q with Q random orthogonal (so every singular value is rho),
for rho below, at and above 1, tanh and linear (identity) cells. The loss
sits on the last step only, so ||dL/dh_t|| is the size of the signal that
reaches t from T. Pascanu, Mikolov & Bengio (2013, arXiv:1211.5063, Sec. 2.1):
lambda_1 < 1/gamma (gamma = 1 for tanh) suffices for vanishing gradients,
lambda_1 > 1/gamma is necessary for exploding ones.
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import SCALES, cli, save

import rnn_numba as rn

RHOS = (0.9, 1.0, 1.1)


def norms_against_lag(nonlinearity, rho, n_hidden, n_steps, n_batch, seed, n_in=8):
    """Median over the batch of ||dL/dh_t|| / ||dL/dh_T||, indexed by lag T - t."""
    net = rn.Elman(
        n_in, n_hidden, 1, nonlinearity=nonlinearity, recurrent_init="orthogonal", spectral_radius=rho, seed=seed
    )
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.5, size=(n_steps, n_batch, n_in))
    y = rng.normal(size=(n_steps, n_batch, 1))
    weights = np.zeros((n_steps, n_batch))
    weights[-1] = 1
    norms = net.backward(x, y, weights=weights, grad_norms=True).dh_norms
    relative = norms / norms[-1]
    return np.median(relative, axis=1)[::-1]  # lag 0 first


def main(scale="default"):
    s = SCALES[scale]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    lags = np.arange(s["n_steps"] + 1)
    for ax, nonlinearity in zip(axes, ("tanh", "identity"), strict=True):
        for rho, color in zip(RHOS, ("tab:blue", "black", "tab:red"), strict=True):
            curves = [
                norms_against_lag(nonlinearity, rho, s["n_hidden"], s["n_steps"], s["n_batch"], seed)
                for seed in range(s["n_seeds"])
            ]
            ax.semilogy(lags, np.median(curves, axis=0), color=color, label=f"rho = {rho}")
        ax.set_title(f"Elman, {nonlinearity}")
        ax.set_xlabel("lag T - t")
    axes[0].set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
    axes[0].legend(frameon=False)
    fig.suptitle(
        f"Gradient flow, W_hh = rho Q (H = {s['n_hidden']}, T = {s['n_steps']}, "
        f"median of {s['n_seeds']} nets x {s['n_batch']} sequences)",
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, "gradient_flow")


if __name__ == "__main__":
    cli(main, __doc__)
