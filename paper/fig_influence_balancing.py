"""Figure 5: influence balancing -- truncated BPTT is biased enough to learn the wrong way.

The linear system of Tallec & Ollivier (2017) in the exact setup of Vicol,
Metz & Sohl-Dickstein (2021, arXiv:2112.13835): s_{t+1} = A s_t + theta c,
n = 23, A = 0.5 I + 0.5 (superdiagonal), c = +1 on 10 units and -1 on 13,
loss 1/2 (s_t[0] - 1)^2 at every step, online SGD with learning rate 1e-4
for 3000 steps from theta = 0.5 and s_0 = 1. The optimum is theta* = -1/6.
Every step's gradient is TBPTT(1, K): the newest loss term backpropagated K
steps from the state held K steps back (:func:`rnn_numba.tbptt`), with the
tied parameter's gradient dL/dtheta = grad(W_xh) . c.
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import SCALES, cli, save
from tqdm import tqdm

import rnn_numba as rn
from rnn_numba import tasks

TRUNCATIONS = (1, 10, 100)
LEARNING_RATE = 1e-4
THETA0 = 0.5


def theta_path(truncation, n_steps, lr=LEARNING_RATE, theta0=THETA0):
    """theta after each of ``n_steps`` online TBPTT(1, truncation) updates (array of n_steps + 1)."""
    net, c = tasks.influence_balancing(theta0)
    batch, h0 = tasks.influence_balancing_batch(n_steps)
    path = [theta0]
    theta = theta0
    for window in rn.tbptt(net, batch.x, batch.target, 1, truncation, h0=h0):
        # Our MSE is (y - 1)^2, twice the published 1/2 (s_t[0] - 1)^2: halve the step.
        theta -= 0.5 * lr * float(net.layout.views(window.grad)["W_xh"][0] @ c)
        if not np.isfinite(theta) or abs(theta) > 1e6:
            break  # diverged
        net.params["W_xh"][0] = theta * c
        path.append(theta)
    return np.array(path)


def main(scale="default"):
    n_steps = SCALES[scale]["influence_steps"]
    optimum = tasks.influence_balancing_optimum()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for k, color in zip(
        tqdm(TRUNCATIONS, desc="truncations", leave=False, disable=None), ("C3", "C1", "C0"), strict=True
    ):
        path = theta_path(k, n_steps)
        ax.plot(np.arange(len(path)), path, color=color, label=f"TBPTT(1, {k}): theta = {path[-1]:.3g}")
    ax.axhline(optimum, color="black", ls="--", lw=0.8, label="theta* = -1/6")
    # symmetric log: linear within |theta| < 1 (the optimum and the start), logarithmic beyond, so the
    # diverging runs stay in view to their last step
    ax.set_yscale("symlog", linthresh=1.0, linscale=2.0)
    ax.set_ylim(-1.0, None)
    ax.set(xlabel="online step", ylabel="theta (symmetric log scale)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"Influence balancing (n = 23, SGD lr {LEARNING_RATE:g}, {n_steps} steps)", fontsize=9)
    fig.tight_layout()
    return save(fig, "influence_balancing")


if __name__ == "__main__":
    cli(main, __doc__)
