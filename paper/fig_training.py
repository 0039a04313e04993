"""Figure 3: full BPTT against TBPTT(k1, k2) and fixed-horizon truncation, on the adding and copy tasks.

Held-out loss against the number of training batches for one LSTM per
schedule (same initial weights, same batches, Adam, gradient norm clipped to
1), with the published baselines drawn: MSE 1/6 for the adding problem (Le,
Jaitly & Hinton 2015: predicting 1) and 10 ln 8 / (T + 20) for the copy task
(Arjovsky, Shah & Bengio 2016: blanks, then a uniform guess). With TBPTT,
a batch makes one update per k1 steps that carry a loss; the x axis counts
batches, so every schedule sees the same data.
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import SCALES, cli, save
from tqdm import tqdm

import rnn_numba as rn
from rnn_numba import tasks


def schedules(n_steps):
    """Full BPTT and two truncations that cannot see the whole dependency."""
    k = max(2, n_steps // 5)
    return {
        "full BPTT": {},
        f"TBPTT({k}, {2 * k})": {"tbptt": (k, 2 * k)},
        f"horizon K = {k}": {"horizon": k},
    }


def curve(make_batch, n_in, n_out, schedule, cfg, baseline_seed=12345):
    """Held-out loss after every ``eval_batches`` batches (the first point before training)."""
    net = rn.LSTM(n_in, cfg["hidden"], n_out, seed=cfg["seed"])
    held_out = make_batch(cfg["held_out"], np.random.default_rng(baseline_seed))
    batches, losses = [0], [net.loss(held_out.x, held_out.target, **held_out.kwargs())]
    trainer = rn.Trainer(
        net,
        rn.optim.Adam(cfg["lr"]),
        lambda rng: make_batch(cfg["batch"], rng),
        clip_norm=1.0,
        seed=cfg["seed"],
        progress=False,
        **schedule,
    )
    for _ in range(cfg["n_batches"] // cfg["eval_batches"]):
        before = trainer.batches
        while trainer.batches < before + cfg["eval_batches"]:
            trainer.run(1)
        batches.append(trainer.batches)
        losses.append(net.loss(held_out.x, held_out.target, **held_out.kwargs()))
    return np.array(batches), np.array(losses)


def panel(ax, title, make_batch, n_in, n_out, n_steps, baseline, cfg, ylabel):
    for (label, schedule), color in zip(schedules(n_steps).items(), ("black", "C0", "C3"), strict=True):
        x, y = curve(make_batch, n_in, n_out, schedule, cfg)
        ax.plot(x, y, color=color, label=f"{label}: {y[-1]:.3g}")
    ax.axhline(baseline, color="grey", ls="--", lw=1, label=f"baseline {baseline:.3g}")
    ax.set(xlabel="training batches", ylabel=ylabel, title=title, yscale="log")
    ax.legend(frameon=False, fontsize=7)


def main(scale="default"):
    s = SCALES[scale]
    adding_cfg, copy_cfg = s["adding"], s["copy"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    jobs = tqdm(total=2, desc="tasks", leave=False, disable=None)
    T = adding_cfg["n_steps"]
    panel(
        axes[0],
        f"Adding problem, T = {T}, LSTM H = {adding_cfg['hidden']}",
        lambda n, rng: tasks.adding(T, n, seed=rng),
        2, 1, T, tasks.adding_baseline(), adding_cfg, "held-out MSE",
    )  # fmt: skip
    jobs.update()
    delay = copy_cfg["n_steps"]
    panel(
        axes[1],
        f"Copy task, T = {delay}, LSTM H = {copy_cfg['hidden']}",
        lambda n, rng: tasks.copy(delay, n, seed=rng),
        10, 10, delay + 20, tasks.copy_baseline(delay), copy_cfg, "held-out cross-entropy",
    )  # fmt: skip
    jobs.close()
    fig.tight_layout()
    return save(fig, "training")


if __name__ == "__main__":
    cli(main, __doc__)
