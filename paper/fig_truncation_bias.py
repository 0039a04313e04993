"""Figure 2: bias of fixed-horizon truncated gradients against full BPTT.

Each loss term is backpropagated exactly K steps (the estimator studied by
Aicher, Foti & Fox 2019, arXiv:1905.07473). We plot the cosine similarity and
the relative error ||g_K - g|| / ||g|| against K, for W_hh = rho Q (Q a
random orthogonal matrix, so rho is W_hh's spectral radius), on a
sequence-to-sequence MSE loss whose targets are the inputs 10 steps back: a
horizon K >= 11 reaches the input a target copies (the dotted line). Each
marker is the median over nets, its bar the range; markers only, since the
horizons between them were not measured.
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
    fig, (ax_cos, ax_err) = plt.subplots(1, 2, figsize=(9, 3.6))
    for shift, rho, color in zip((0.94, 1.0, 1.06), RHOS, ("tab:blue", "black", "tab:red"), strict=True):
        runs = np.array(
            [bias_against_horizon(rho, horizons, n_hidden, n_steps, s["n_batch"], seed) for seed in range(s["n_seeds"])]
        )  # (nets, 2, horizons)
        x = horizons * shift  # side by side, not on top of each other
        for ax, values in ((ax_cos, runs[:, 0]), (ax_err, runs[:, 1])):
            median = np.median(values, axis=0)
            spread = [median - values.min(axis=0), values.max(axis=0) - median]
            # markers only: a line would claim values at the horizons not measured
            ax.errorbar(x, median, yerr=spread, fmt="o", ms=3, color=color, elinewidth=0.8, label=f"rho = {rho}")
    for ax in (ax_cos, ax_err):
        ax.axvline(DELAY + 0.5, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
    ax_err.set_yscale("log")
    ax_cos.set(xlabel="horizon K", ylabel="cosine(g_K, g)")
    ax_err.set(xlabel="horizon K", ylabel="||g_K - g|| / ||g||")
    ax_cos.legend(frameon=False, loc="lower right")
    fig.suptitle(
        f"Fixed-horizon truncation bias: tanh net, H = {n_hidden}, T = {n_steps}, W_hh = rho Q (Q random orthogonal, "
        f"rho its spectral radius);\ntarget = input {DELAY} steps back; dotted: between K = {DELAY} and "
        f"K = {DELAY + 1}, the least horizon that reaches that input; median and range over {s['n_seeds']} nets",
        fontsize=8.5,
    )
    fig.tight_layout()
    return save(fig, "truncation_bias")


if __name__ == "__main__":
    cli(main, __doc__)
