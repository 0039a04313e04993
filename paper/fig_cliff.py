"""Figure 4: the cliff -- gradient descent on an exploding-gradient wall, with and without clipping.

One sigmoid unit, x_t = w sigma(x_{t-1}) + b from x_0 = 0.5, with no input
and the loss (sigma(x_50) - 0.7)^2 (Pascanu, Mikolov & Bengio 2013,
arXiv:1211.5063, Fig. 6), written as the package's sigmoid Elman cell
(:func:`rnn_numba.tasks.cliff`). The loss surface over (w, b) and the
gradients of the descent paths both come from the package (full BPTT over
the 50 steps). The wall is thin: at w = 7 the gradient norm is 0.04 at
1e-6 from it and 1e13 on it, so descent paths step across it without
noticing unless a step lands on it. Both paths here start on the wall (b
found by root-finding on sigma(x_50) = 0.5, then 1e-9 below, where the
gradient norm is about 1e3): plain gradient descent and gradient descent
with the norm clipped to 1 (Pascanu et al.'s Algorithm 1), with the same
learning rate.
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import SCALES, cli, save
from scipy.optimize import brentq
from tqdm import tqdm

from rnn_numba import optim, tasks

START_W = 7.0
LEARNING_RATE = 1.0
N_UPDATES = 40
CLIP = 1.0


def final_state(w, b):
    """sigma(x_50) of the cliff unit at (w, b)."""
    net, batch, h0 = tasks.cliff(w, b)
    return float(net.forward(batch.x, h0).y[-1, 0, 0])


def on_the_wall(w=START_W, offset=1e-9):
    """A point ``offset`` below the wall at ``w``: where sigma(x_50) switches between its two attractors."""
    b = brentq(lambda b: final_state(w, b) - 0.5, -6.0, -2.0, xtol=1e-15)
    return w, b - offset


def surface(ws, bs):
    """The loss at every (w, b) of the grid, shape (len(bs), len(ws))."""
    net, batch, h0 = tasks.cliff(0.0, 0.0)
    theta = net.theta.copy()
    views = net.layout.views(theta)
    out = np.empty((len(bs), len(ws)))
    for i, b in enumerate(tqdm(bs, desc="loss surface", leave=False, disable=None)):
        for j, w in enumerate(ws):
            views["W_hh"][...], views["b_h"][...] = w, b
            out[i, j] = net.loss(batch.x, batch.target, h0=h0, theta=theta, **batch.kwargs())
    return out


def descent(start, clip=None, lr=LEARNING_RATE, n_updates=N_UPDATES):
    """(w, b) after each gradient step, shape (n_updates + 1, 2), and the gradient norms."""
    net, batch, h0 = tasks.cliff(*start)
    path, norms = [start], []
    for _ in range(n_updates):
        grad = net.backward(batch.x, batch.target, h0=h0, **batch.kwargs()).grad
        norms.append(float(np.linalg.norm(grad)))
        if clip is not None:
            grad, _ = optim.clip_grad_norm(grad, clip)
        net.theta -= lr * grad
        path.append((float(net.params["W_hh"][0, 0]), float(net.params["b_h"][0])))
    return np.array(path), np.array(norms)


def main(scale="default"):
    n = SCALES[scale]["cliff_grid"]
    ws, bs = np.linspace(-2.0, 12.0, n), np.linspace(-9.0, 3.0, n)
    loss = surface(ws, bs)
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    mesh = ax.pcolormesh(ws, bs, np.log10(loss + 1e-6), cmap="viridis", shading="auto")
    fig.colorbar(mesh, ax=ax, label="log10 loss")
    start = on_the_wall()
    for clip, color, label in ((None, "magenta", "plain GD"), (CLIP, "tab:red", f"GD, norm clipped to {CLIP:g}")):
        path, norms = descent(start, clip)
        jump = float(np.linalg.norm(path[1] - path[0]))
        end = f"ends at ({path[-1, 0]:.3g}, {path[-1, 1]:.3g})"
        inside = (path[:, 0] >= ws[0]) & (path[:, 0] <= ws[-1]) & (path[:, 1] >= bs[0]) & (path[:, 1] <= bs[-1])
        ax.plot(path[inside, 0], path[inside, 1], "o-", color=color, ms=2.5, lw=1,
                label=f"{label}: first step {jump:.3g}, {end}")  # fmt: skip
        if not inside[1]:  # thrown out of view: an arrow along the first step
            direction = (path[1] - path[0]) / jump
            ax.annotate("", xy=path[0] + 3 * direction, xytext=path[0],
                        arrowprops=dict(arrowstyle="->", color=color, lw=1.5))  # fmt: skip
    ax.plot(*start, "k*", ms=10, label=f"start on the wall, ||g|| = {norms[0]:.3g}")
    ax.set(xlabel="w", ylabel="b", xlim=(ws[0], ws[-1]), ylim=(bs[0], bs[-1]))
    # below the axes, on white: over the surface the legend's lines could not be read
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=1)
    ax.set_title(f"The cliff: (sigma(x_50) - 0.7)^2, lr {LEARNING_RATE:g}, {N_UPDATES} steps", fontsize=9)
    fig.tight_layout()
    return save(fig, "cliff")


if __name__ == "__main__":
    cli(main, __doc__)
