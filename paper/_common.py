"""Paths, scales and the command line shared by the figure scripts."""

import argparse
import hashlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures"
#: Sweep stores of the figures' training runs (not in git).
RUNS = HERE / "runs"

#: Problem sizes per scale: "default" runs in about a minute on 2 cores,
#: "paper" is what the paper's figures use.
SCALES = {
    "default": dict(
        n_hidden=64, n_steps=200, n_batch=16, n_seeds=4, bias_steps=100, bias_hidden=32,
        influence_steps=3000, cliff_grid=80, training_seeds=3, influence_seeds=5, influence_particles=100,
        adding=dict(n_steps=50, hidden=32, batch=32, held_out=256, lr=1e-2, batches=1200),
        copy=dict(delay=10, n_copy=5, hidden=64, batch=32, held_out=256, lr=1e-2, batches=2000),
        online=dict(steps=12000, block=600, seeds=5),
    ),
    "paper": dict(
        n_hidden=256, n_steps=1000, n_batch=64, n_seeds=16, bias_steps=400, bias_hidden=128,
        influence_steps=3000, cliff_grid=200, training_seeds=5, influence_seeds=8, influence_particles=1000,
        adding=dict(n_steps=200, hidden=64, batch=32, held_out=1000, lr=1e-2, batches=3000),
        copy=dict(delay=10, n_copy=5, hidden=64, batch=32, held_out=1000, lr=1e-2, batches=4000),
        online=dict(steps=100000, block=2000, seeds=8),
    ),
}  # fmt: skip


def save(fig, name):
    """Write ``fig`` to paper/figures/<name>.png and return the path."""
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"Software": None})
    return path


def store(name, scale, script):
    """The sweep store of figure ``name`` at ``scale``: paper/runs/<name>-<scale>-<digest>.

    The digest covers the package's sources, the figure's script and this
    module, so a rerun of unchanged code resumes (``make figures
    SCALE=paper`` continues where it stopped) and changed code starts anew.
    """
    from rnn_numba._kernels.cache import DIGEST

    digest = hashlib.sha256(DIGEST.encode())
    for path in (Path(script), Path(__file__)):
        digest.update(path.read_bytes())
    return RUNS / f"{name}-{scale}-{digest.hexdigest()[:12]}"


def cli(main, doc):
    """Run a figure script's ``main(scale)`` from the command line (``--scale``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="default")
    print(main(parser.parse_args().scale))
