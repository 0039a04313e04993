"""Figure 3: full BPTT against TBPTT(k1, k2) and fixed-horizon truncation, on the adding and copy tasks.

One sweep (:func:`rnn_numba.sweep`) of LSTM training runs per task:
three schedules times ``training_seeds`` seeds (a seed fixes the initial
weights, the training batches and the held-out batch, the same for every
schedule), Adam, gradient norm clipped to 1, every schedule given the same
number of training batches. The x axis counts the training time steps
processed (sequences times steps), the same data for every schedule; with
TBPTT(k1, k2) a batch makes one update per k1 steps that carry a loss, so
its number of updates is in the legend. Drawn: the held-out loss over
seeds as the geometric mean with the 95% Student-t interval of the mean
log loss, and the published baselines, MSE 1/6 for the adding problem (Le,
Jaitly & Hinton 2015: predicting 1) and n_copy ln 8 / (T + 2 n_copy) for the
copy task (Arjovsky, Shah & Bengio 2016: blanks, then a uniform guess).
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import SCALES, cli, save, store

import rnn_numba as rn
from rnn_numba.experiments import summarize, train_task


def schedules(n_steps):
    """Full BPTT and two truncations that cannot see the whole dependency (k = T / 5)."""
    k = max(2, n_steps // 5)
    return {"full BPTT": {}, f"TBPTT({k}, {2 * k})": {"tbptt": [k, 2 * k]}, f"horizon K = {k}": {"horizon": k}}


def configs(task, task_args, n_steps, cfg, n_out=None):
    """One training configuration per schedule (see :func:`rnn_numba.experiments.train_task`)."""
    common = dict(
        task=task, task_args=task_args, cell="lstm", hidden=cfg["hidden"], batch=cfg["batch"], lr=cfg["lr"],
        batches=cfg["batches"], held_out=cfg["held_out"], evaluations=24,
    )  # fmt: skip
    if n_out is not None:
        common["n_out"] = n_out
    return [{**common, "label": label, "schedule": schedule} for label, schedule in schedules(n_steps).items()]


def log_summary(frame, value, by):
    """Geometric mean over seeds with its 95% interval: the Student-t summary of log10(value), mapped back.

    On a log axis a loss that some seeds drive to 1e-3 while others stay at
    1e-1 has an arithmetic interval reaching below zero; the interval of the
    logarithm is the one that a log axis can draw.
    """
    frame = frame.assign(log10=np.log10(frame[value]))
    summary = summarize(frame, "log10", by=by)
    for column in ("mean", "ci_low", "ci_high"):
        summary[column] = 10 ** summary[column]
    return summary


def panel(ax, results, title, baseline, ylabel):
    summary = log_summary(results.curves("held_out_loss", x="time_steps"), "value", by=["label", "step"])
    finals = log_summary(results.frame(), "final_loss", by="label").set_index("label")
    updates = {r.config["label"]: int(r.arrays["updates"][-1]) for r in results.records if r.ok}
    for (label, group), color in zip(summary.groupby("label", sort=False), ("black", "C0", "C3"), strict=True):
        final = finals.loc[label]
        text = f"{label}: {final['mean']:.3g} [{final['ci_low']:.2g}, {final['ci_high']:.2g}], {updates[label]} updates"
        rn.experiments.plot_bands(ax, group, label=text, color=color)
    ax.axhline(baseline, color="grey", ls="--", lw=1, label=f"baseline {baseline:.3g}")
    ax.set(xlabel="training time steps processed (sequences x steps)", ylabel=ylabel, title=title, yscale="log")
    ax.legend(frameon=False, fontsize=7, loc="lower left")


def main(scale="default"):
    s = SCALES[scale]
    n_seeds = s["training_seeds"]
    adding, copy = s["adding"], s["copy"]
    copy_steps = copy["delay"] + 2 * copy["n_copy"]
    grid = configs("adding", {"n_steps": adding["n_steps"]}, adding["n_steps"], adding) + configs(
        "copy", {"delay": copy["delay"], "n_copy": copy["n_copy"]}, copy_steps, copy, n_out=10
    )
    results = rn.sweep(train_task, grid, seeds=n_seeds, store=store("training", scale, __file__))
    if results.failed:
        raise RuntimeError(f"{len(results.failed)} training runs failed; the first:\n{results.failed[0].error}")
    by_task = {
        task: rn.experiments.Results(r for r in results.records if r.config["task"] == task)
        for task in ("adding", "copy")
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    panel(
        axes[0], by_task["adding"], f"Adding problem, T = {adding['n_steps']}, LSTM H = {adding['hidden']}",
        rn.tasks.adding_baseline(), "held-out MSE",
    )  # fmt: skip
    panel(
        axes[1], by_task["copy"],
        f"Copy task, delay {copy['delay']}, {copy['n_copy']} symbols (T = {copy_steps}), LSTM H = {copy['hidden']}",
        rn.tasks.copy_baseline(copy["delay"], copy["n_copy"]), "held-out cross-entropy",
    )  # fmt: skip
    fig.suptitle(
        f"Held-out loss, geometric mean over {n_seeds} seeds with its 95% confidence band (Student t on log10 loss); "
        "final value [95% CI] in the legends",
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, "training")


if __name__ == "__main__":
    cli(main, __doc__)
