"""Figure 5: influence balancing -- truncated gradients learn the wrong way, unbiased ones reach theta*.

The linear system of Tallec & Ollivier (2017) in the setup of Vicol, Metz &
Sohl-Dickstein (2021, arXiv:2112.13835; protocol read from their
`persistent_es/influence_balancing.py`): s_{t+1} = A s_t + theta c, n = 23,
A = 0.5 I + 0.5 (superdiagonal), c = +1 on 10 units and -1 on 13, s_0 = 1,
theta_0 = 0.5, 3000 SGD iterations. The optimum is theta* = -1/6.

Left, their protocol: each iteration unrolls K steps from the carried state
and takes the loss 1/2 (s_K[0] - 1)^2 at the unroll's end; TBPTT(K, K) for
K = 1, 10, 100, RTRL and UORO (K = 1; UORO at lr 1e-5 as in their
commands), ES and PES (K = 1, sigma 0.1, N particles), all at lr 1e-4 but
UORO; and ARTBP (ours beside theirs: truncation probability 0.05, a loss at
every step, an iteration being one of its windows, about 20 steps). The y axis is their evaluation loss: 1/2 (s_500[0] - 1)^2
after 500 steps from s_0 = 1 at the current theta. Stochastic estimators:
the median over seeds and the band from the smallest to the largest.

Right: our earlier panel, online TBPTT(1, K) with a loss at every step
(:func:`rnn_numba.tbptt`), theta itself.

Every estimator runs on the package's linear Elman net with W_xh = theta c
(the tie: dL/dtheta = grad(W_xh) . c) and W_hh = A^T, every other block
frozen. Our MSE is (y - 1)^2, twice their 1/2 (...)^2: each step is halved.
ES and PES perturb theta itself (``basis`` the unit vector along c, sigma
scaled by ||c||, so theta moves by sigma epsilon as in theirs).
"""

import itertools

import matplotlib.pyplot as plt
import numpy as np
from _common import SCALES, cli, save, store

import rnn_numba as rn
from rnn_numba import tasks

TRUNCATIONS = (1, 10, 100)
LEARNING_RATE = 1e-4
UORO_LEARNING_RATE = 1e-5
SIGMA = 0.1
THETA0 = 0.5
EVALUATION_STEPS = 500
ARTBP_TRUNCATION = 0.05


def evaluation_loss(theta, n_units=23, n_positive=10):
    """1/2 (s_500[0] - 1)^2 from s_0 = 1 at each theta (array): s_500 = A^500 1 + theta sum_k A^k c."""
    net, c = tasks.influence_balancing(0.0, n_units, n_positive)
    a = net.params["W_hh"].T  # A
    free, forced = np.ones(n_units), np.zeros(n_units)
    for _ in range(EVALUATION_STEPS):
        free, forced = a @ free, a @ forced + c
    return 0.5 * (free[0] + np.asarray(theta) * forced[0] - 1) ** 2


def run(method, n_iterations, seed=0, n_particles=100):
    """theta after each iteration of one method (array of at most n_iterations + 1; shorter if it diverged)."""
    kind, k = method
    net, c = tasks.influence_balancing(THETA0)
    unroll = {"tbptt": k, "artbp": round(3 / ARTBP_TRUNCATION)}.get(kind, 1)  # ARTBP: windows of mean 1/c steps
    batch, h0 = tasks.influence_balancing_batch(n_iterations * unroll)
    x, y = batch.x, batch.target
    lr = 0.5 * (UORO_LEARNING_RATE if kind == "uoro" else LEARNING_RATE)  # our MSE is twice theirs
    if kind == "tbptt":  # the loss at each unroll's end only
        weights = np.zeros((len(x), 1))
        weights[unroll - 1 :: unroll] = 1
        windows = rn.tbptt(net, x, y, unroll, unroll, weights=weights, h0=h0, reduction="sum")
    elif kind in ("rtrl", "uoro"):
        options = {"seed": seed} if kind == "uoro" else {}
        windows = getattr(rn, kind)(net, x, y, 1, h0=h0, reduction="sum", **options)
    elif kind in ("es", "pes"):  # perturb the scalar theta, as published: along c in W_xh, sigma on theta
        tie = np.zeros(net.n_params)
        tie[net.layout.slices["W_xh"]] = c / np.linalg.norm(c)
        windows = getattr(rn, kind)(net, x, y, 1, n_particles=n_particles, sigma=SIGMA * np.linalg.norm(c),
                                    seed=seed, h0=h0, basis=tie)  # fmt: skip
    else:  # ARTBP: a window every 1/c steps on average, one update per window (the stream outlasts the iterations)
        windows = rn.artbp(net, x, y, ARTBP_TRUNCATION, seed=seed, h0=h0)
    return descend(net, c, itertools.islice(windows, n_iterations), lr)


def influence_run(config, seed):
    """The sweep's run function: theta after each iteration of ``config["method"]`` (see :func:`run`)."""
    path = run((config["method"], config["k"]), config["n_iterations"], seed, config["n_particles"])
    return {"theta": path, "diverged": len(path) < config["n_iterations"] + 1}


def descend(net, c, windows, lr):
    """SGD on the tied theta, a step per window (dL/dtheta = grad(W_xh) . c); theta after each, until it diverges."""
    theta = float(net.params["W_xh"][0] @ c) / float(c @ c)
    path = [theta]
    for window in windows:
        theta -= lr * float(net.layout.views(window.grad)["W_xh"][0] @ c)
        if not np.isfinite(theta) or abs(theta) > 1e6:
            break  # diverged
        net.params["W_xh"][0] = theta * c
        path.append(theta)
    return np.array(path)


def theta_path(truncation, n_steps, lr=LEARNING_RATE, theta0=THETA0):
    """theta after each of ``n_steps`` online TBPTT(1, truncation) updates (array of n_steps + 1)."""
    net, c = tasks.influence_balancing(theta0)
    batch, h0 = tasks.influence_balancing_batch(n_steps)
    # Our MSE is (y - 1)^2, twice the published 1/2 (s_t[0] - 1)^2: halve the step.
    return descend(net, c, rn.tbptt(net, batch.x, batch.target, 1, truncation, h0=h0), 0.5 * lr)


#: (label, method, colour, stochastic)
PUBLISHED = [
    ("TBPTT(1, 1)", ("tbptt", 1), "C3", False),
    ("TBPTT(10, 10)", ("tbptt", 10), "C1", False),
    ("TBPTT(100, 100)", ("tbptt", 100), "C0", False),
    ("RTRL", ("rtrl", 1), "black", False),
    ("UORO (lr 1e-5)", ("uoro", 1), "C4", True),
    ("ES", ("es", 1), "C8", True),
    ("PES", ("pes", 1), "C2", True),
    ("ARTBP (ours)", ("artbp", 1), "C5", True),
]


def main(scale="default"):
    s = SCALES[scale]
    n_steps, n_seeds, n_particles = s["influence_steps"], s["influence_seeds"], s["influence_particles"]
    optimum = tasks.influence_balancing_optimum()
    fig, (ax_pub, ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    configs = [
        {"method": method[0], "k": method[1], "n_iterations": n_steps, "n_particles": n_particles}
        for _, method, _, _ in PUBLISHED
    ]
    stochastic = [entry[3] for entry in PUBLISHED]
    with rn.experiments.process_pool(2) as pool:  # the deterministic methods once, the stochastic over seeds
        where = store("influence_balancing", scale, __file__)
        once = rn.sweep(influence_run, [c for c, s in zip(configs, stochastic) if not s], [0], store=where,
                        executor=pool)  # fmt: skip
        seeded = rn.sweep(influence_run, [c for c, s in zip(configs, stochastic) if s], n_seeds, store=where,
                          executor=pool)  # fmt: skip
    for results in (once, seeded):
        if results.failed:
            raise RuntimeError(f"influence balancing: {len(results.failed)} runs failed:\n{results.failed[0].error}")
    records = [*once.records, *seeded.records]
    final = {}
    for (label, method, color, is_stochastic), config in zip(PUBLISHED, configs, strict=True):
        paths = [r.metric("theta") for r in records if r.config == config]
        length = min(len(p) for p in paths)
        losses = np.array([evaluation_loss(p[:length]) for p in paths])
        steps = np.arange(length)
        median = np.median(losses, axis=0)
        diverged = length < n_steps + 1
        final[label] = (np.median([p[length - 1] for p in paths]), diverged)
        tag = "diverged" if diverged else f"theta {final[label][0]:.3g}"
        ax_pub.plot(steps, median, color=color, lw=1.2, label=f"{label}: {tag}")
        if is_stochastic:
            ax_pub.fill_between(steps, losses.min(axis=0), losses.max(axis=0), color=color, alpha=0.2, lw=0)
    ax_pub.set_yscale("log")
    ax_pub.set(xlabel="iteration", ylabel="evaluation loss (500-step unroll)")
    ax_pub.set_title(f"As published: K-step unrolls, {n_seeds} seeds, N = {n_particles}", fontsize=9)
    ax_pub.legend(frameon=False, fontsize=7, loc="lower left")
    for k, color in zip(TRUNCATIONS, ("C3", "C1", "C0"), strict=True):
        path = theta_path(k, n_steps)
        ax.plot(np.arange(len(path)), path, color=color, label=f"TBPTT(1, {k}): theta = {path[-1]:.3g}")
    ax.axhline(optimum, color="black", ls="--", lw=0.8, label="theta* = -1/6")
    # symmetric log: linear within |theta| < 1 (the optimum and the start), logarithmic beyond, so the
    # diverging runs stay in view to their last step
    ax.set_yscale("symlog", linthresh=1.0, linscale=2.0)
    ax.set_ylim(-1.0, None)
    ax.set(xlabel="online step", ylabel="theta (symmetric log scale)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"Online TBPTT(1, K), a loss every step, SGD lr {LEARNING_RATE:g}", fontsize=9)
    fig.tight_layout()
    for label, (theta, diverged) in final.items():
        print(f"{label:18s} {'diverged' if diverged else f'theta = {theta:.4f}'}")
    return save(fig, "influence_balancing")


if __name__ == "__main__":
    cli(main, __doc__)
