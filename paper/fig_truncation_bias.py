"""Figure 2: bias of fixed-horizon truncated gradients against full BPTT.

Each loss term is backpropagated exactly K steps (the estimator studied by
Aicher, Foti & Fox 2019, arXiv:1905.07473). We plot the cosine similarity and
the relative error ||g_K - g|| / ||g|| against K, for W_hh = rho Q, on a
sequence-to-sequence MSE loss whose targets depend on inputs 10 steps back.
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import SCALES, cli, save

import rnn_numba as rn

RHOS = (0.8, 1.0, 1.2)
DELAY = 10


def bias_against_horizon(rho, horizons, n_hidden, n_steps, n_batch, seed, n_in=4):
    """Cosine similarity and relative error of g_K against g, one value per K."""
    net = rn.Elman(n_in, n_hidden, 1, recurrent_init="orthogonal", spectral_radius=rho, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_steps, n_batch, n_in))
    y = np.zeros((n_steps, n_batch, 1))
    y[DELAY:, :, 0] = x[:-DELAY, :, 0]  # a target that needs memory
    full = net.loss_and_grad(x, y)[1]
    cosine, rel_error = [], []
    for k in horizons:
        g = net.loss_and_grad(x, y, horizon=k)[1]
        cosine.append(g @ full / (np.linalg.norm(g) * np.linalg.norm(full)))
        rel_error.append(np.linalg.norm(g - full) / np.linalg.norm(full))
    return np.array(cosine), np.array(rel_error)


def main(scale="default"):
    s = SCALES[scale]
    n_steps, n_hidden = s["bias_steps"], s["bias_hidden"]
    # The target needs DELAY + 1 steps of backpropagation: include both sides of it.
    horizons = np.unique(np.r_[np.geomspace(1, n_steps, 12).astype(int), DELAY, DELAY + 1])
    fig, (ax_cos, ax_err) = plt.subplots(1, 2, figsize=(9, 3.4))
    for rho, color in zip(RHOS, ("tab:blue", "black", "tab:red"), strict=True):
        runs = [
            bias_against_horizon(rho, horizons, n_hidden, n_steps, s["n_batch"], seed) for seed in range(s["n_seeds"])
        ]
        ax_cos.semilogx(
            horizons, np.median([r[0] for r in runs], axis=0), "o-", ms=3, color=color, label=f"rho = {rho}"
        )
        ax_err.loglog(horizons, np.median([r[1] for r in runs], axis=0), "o-", ms=3, color=color)
    ax_err.axvline(DELAY, color="grey", lw=0.8, ls=":")
    ax_cos.axvline(DELAY, color="grey", lw=0.8, ls=":")
    ax_cos.set(xlabel="horizon K", ylabel="cosine(g_K, g)")
    ax_err.set(xlabel="horizon K", ylabel="||g_K - g|| / ||g||")
    ax_cos.legend(frameon=False)
    fig.suptitle(
        f"Fixed-horizon truncation bias (tanh, H = {n_hidden}, T = {n_steps}, target delay {DELAY}, "
        f"median of {s['n_seeds']} nets)",
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, "truncation_bias")


if __name__ == "__main__":
    cli(main, __doc__)
