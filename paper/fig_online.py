"""Figure 7: online estimators on Marschall et al.'s add task with lags, loss and gradient alignment.

The protocol of Marschall, Cho & Savin (2020, JMLR 21, arXiv:1907.02649,
Section 5): one long stream of the add task (x_t ~ Bernoulli(1/2), label
drawn with P(y_t = 1) = 0.5 + 0.5 x_{t-5} - 0.25 x_{t-9}), an RNN of 32 tanh
units (the leaky Elman cell at alpha = 1, for every estimator), softmax
cross-entropy over two classes, batch 1, an SGD update at every step with the
estimator's gradient (:func:`rnn_numba.experiments.train_online`). The
estimators: truncated BPTT (TBPTT(1, 10)), RTRL, UORO, KF-RTRL, SnAp-1 and
RFLO (its traces decay by 1 - alpha = 0 here: the immediate influence only).
RTRL runs beside each and gives the exact gradient of the same step at the
same parameters: the alignment is the cosine of the two gradients below the
readout. Reference lines: the cross-entropy of predicting nothing (0.66),
of knowing the first lag only (0.52) and of the true probability (0.45).
Curves: the mean over seeds of each block's mean training loss, with the 95%
Student-t band.
"""

import matplotlib.pyplot as plt
from _common import SCALES, cli, save, store

import rnn_numba as rn
from rnn_numba.experiments import summarize, train_online

#: The estimators: label, SGD learning rate, colour. One rate for the exact and the deterministic ones; the
#: stochastic ones, whose noise an update at every step feeds into the weights, at a fifth of it (at 5e-3 both
#: ended above the nothing-learned line, 0.69-0.71, on two seeds of 20,000 steps; at 1e-3, 0.66).
ESTIMATORS = {
    "tbptt": ("TBPTT(1, 10)", 5e-3, "C7"), "rtrl": ("RTRL", 5e-3, "black"), "uoro": ("UORO", 1e-3, "C0"),
    "kf_rtrl": ("KF-RTRL", 1e-3, "C1"), "snap1": ("SnAp-1", 5e-3, "C2"), "rflo": ("RFLO", 5e-3, "C3"),
}  # fmt: skip


def configs(s):
    common = {"task": "add_with_lags", "task_args": {"lags": [5, 9]}, "hidden": 32, "n_steps": s["steps"],
              "block": s["block"]}  # fmt: skip
    return [{**common, "estimator": name, "label": label, "lr": lr} for name, (label, lr, _) in ESTIMATORS.items()]


def main(scale="default"):
    s = SCALES[scale]["online"]
    results = rn.sweep(train_online, configs(s), seeds=s["seeds"], store=store("online", scale, __file__))
    if results.failed:
        raise RuntimeError(f"{len(results.failed)} online runs failed; the first:\n{results.failed[0].error}")
    lines = rn.tasks.add_with_lags_baselines()
    finals = summarize(results.frame(), "final_loss", by="label").set_index("label")
    fig, (loss_ax, align_ax) = plt.subplots(1, 2, figsize=(11.5, 5.2))
    style = {label: (lr, color) for label, lr, color in ESTIMATORS.values()}
    for y, ax in (("loss", loss_ax), ("alignment", align_ax)):
        summary = summarize(results.curves(y, x="steps"), "value", by=["label", "step"])
        for label, group in summary.groupby("label", sort=False):
            if y == "alignment" and label == "RTRL":
                continue  # 1 by construction
            final = finals.loc[label]
            lr, color = style[label]
            text = f"{label} (lr {lr:g}): {final['mean']:.3f} ± {final['ci_high'] - final['mean']:.3f}"
            rn.experiments.plot_bands(ax, group, label=text if y == "loss" else label, color=color)
    for value, name, style in ((lines["nothing"], "nothing learned", ":"), (lines["first_lag"], "first lag only", "--"),
                               (lines["optimum"], "optimum", "-.")):  # fmt: skip
        loss_ax.axhline(value, color="grey", ls=style, lw=1, label=f"{name}: {value:.3f}")
    loss_ax.set(xlabel="time step (one update each)", ylabel=f"training cross-entropy, mean over {s['block']} steps",
                title="Add task, lags 5 and 9, 32 tanh units, online (batch 1)", ylim=(0.42, 0.72))  # fmt: skip
    loss_ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    align_ax.set(xlabel="time step", ylabel="cosine with RTRL's gradient (below the readout)",
                 title="Gradient alignment with RTRL along each run", ylim=(-0.1, 1.05))  # fmt: skip
    align_ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    fig.suptitle(
        f"Mean over {s['seeds']} seeds with its 95% band (Student t); final value = mean of the last fifth ± half "
        "its 95% interval",
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, "online")


if __name__ == "__main__":
    cli(main, __doc__)
