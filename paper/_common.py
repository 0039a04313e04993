"""Paths, scales and the command line shared by the figure scripts."""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

FIGURES = Path(__file__).resolve().parent / "figures"

#: Problem sizes per scale: "default" runs in about a minute on 2 cores,
#: "paper" is what the paper's figures use.
SCALES = {
    "default": dict(
        n_hidden=64, n_steps=200, n_batch=16, n_seeds=4, bias_steps=100, bias_hidden=32,
        influence_steps=3000, cliff_grid=80,
        adding=dict(n_steps=50, hidden=32, batch=32, held_out=256, lr=1e-2, n_batches=600, eval_batches=25, seed=0),
        copy=dict(n_steps=20, hidden=40, batch=20, held_out=200, lr=1e-2, n_batches=600, eval_batches=25, seed=0),
    ),
    "paper": dict(
        n_hidden=256, n_steps=1000, n_batch=64, n_seeds=16, bias_steps=400, bias_hidden=128,
        influence_steps=3000, cliff_grid=200,
        adding=dict(n_steps=200, hidden=64, batch=32, held_out=1000, lr=1e-2, n_batches=3000, eval_batches=50, seed=0),
        copy=dict(n_steps=100, hidden=40, batch=20, held_out=500, lr=1e-3, n_batches=3000, eval_batches=50, seed=0),
    ),
}  # fmt: skip


def save(fig, name):
    """Write ``fig`` to paper/figures/<name>.png and return the path."""
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"Software": None})
    return path


def cli(main, doc):
    """Run a figure script's ``main(scale)`` from the command line (``--scale``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="default")
    print(main(parser.parse_args().scale))
