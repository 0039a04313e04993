"""Figure 1: gradient flow, ||dL/dh_t|| against the lag T - t.

W_hh = rho * Q with Q random orthogonal (so every singular value is rho),
for rho below, at and above 1, tanh and linear (identity) cells. The loss
sits on the last step only, so ||dL/dh_t|| is the size of the signal that
reaches t from T. Pascanu, Mikolov & Bengio (2013, arXiv:1211.5063, Sec. 2.1):
lambda_1 < 1/gamma (gamma = 1 for tanh) suffices for vanishing gradients,
lambda_1 > 1/gamma is necessary for exploding ones. A third panel shows the
LSTM, whose gradient reaches back through the cell state at a rate set by
the forget gate rather than by W_hh: lines for several initial forget-gate
biases b_f.
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import SCALES, cli, save

import rnn_numba as rn

RHOS = (0.9, 1.0, 1.1)
FORGET_BIASES = (1.0, 3.0, 5.0)


def norms_against_lag(net, n_steps, n_batch, seed):
    """Median over the batch of ||dL/dh_t|| / ||dL/dh_T||, indexed by lag T - t."""
    n_in = net.n_in
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.5, size=(n_steps, n_batch, n_in))
    y = rng.normal(size=(n_steps, n_batch, 1))
    weights = np.zeros((n_steps, n_batch))
    weights[-1] = 1
    norms = net.backward(x, y, weights=weights, grad_norms=True).dh_norms
    relative = norms / norms[-1]
    return np.median(relative, axis=1)[::-1]  # lag 0 first


def median_curve(make_net, s):
    """The median over seeds of :func:`norms_against_lag`."""
    runs = [norms_against_lag(make_net(seed), s["n_steps"], s["n_batch"], seed) for seed in range(s["n_seeds"])]
    return np.median(runs, axis=0)


def main(scale="default"):
    s = SCALES[scale]
    n_in, n_hidden = 8, s["n_hidden"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=True)
    lags = np.arange(s["n_steps"] + 1)
    colors = ("tab:blue", "black", "tab:red")
    for ax, nonlinearity in zip(axes, ("tanh", "identity"), strict=False):
        for rho, color in zip(RHOS, colors, strict=True):

            def elman(seed, rho=rho, nonlinearity=nonlinearity):
                return rn.Elman(n_in, n_hidden, 1, nonlinearity=nonlinearity, recurrent_init="orthogonal",
                                spectral_radius=rho, seed=seed)  # fmt: skip

            ax.semilogy(lags, median_curve(elman, s), color=color, label=f"rho = {rho}")
        ax.set_title(f"Elman, {nonlinearity}, W_hh = rho Q")
        ax.legend(frameon=False)
    for b_f, color in zip(FORGET_BIASES, colors, strict=True):

        def lstm(seed, b_f=b_f):
            return rn.LSTM(n_in, n_hidden, 1, forget_bias=b_f, seed=seed)

        axes[2].semilogy(lags, median_curve(lstm, s), color=color, label=f"b_f = {b_f:g}")
    axes[2].set_title("LSTM, default init, forget bias b_f")
    axes[2].legend(frameon=False)
    for ax in axes:
        ax.set_xlabel("lag T - t")
    axes[0].set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
    fig.suptitle(
        f"Gradient flow (H = {s['n_hidden']}, T = {s['n_steps']}, "
        f"median of {s['n_seeds']} nets x {s['n_batch']} sequences)",
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, "gradient_flow")


if __name__ == "__main__":
    cli(main, __doc__)
