"""Run functions for the sweep tests, importable by the workers of a process pool or a dask cluster."""

import os
import time
from pathlib import Path

import numpy as np

import rnn_numba as rn
from rnn_numba import tasks


def train(config, seed):
    """A small real training run: an Elman net on the adding problem, its History and final held-out loss."""
    net = rn.Elman(2, config["hidden"], 1, seed=seed)
    held_out = tasks.adding(10, 16, seed=1000 + seed)
    trainer = rn.Trainer(
        net,
        rn.optim.Adam(config["lr"]),
        lambda rng: tasks.adding(10, 4, seed=rng),
        seed=seed,
        progress=False,
        eval_data=held_out,
        eval_every=5,
    )
    history = trainer.run(config["updates"])
    return {"history": history, "final": float(history.eval_loss[-1]), "theta": net.theta.copy(), "pid": os.getpid()}


def counted(config, seed):
    """Leaves one file per call in config["calls"] (to count calls across processes); fails where config says."""
    calls = Path(config["calls"])
    (calls / f"{config['name']}-{seed}-{os.getpid()}-{time.monotonic_ns()}").touch()
    time.sleep(config.get("sleep", 0.0))
    if config.get("fail"):
        raise RuntimeError(f"run {config['name']} fails on purpose")
    return {"value": float(seed) + config.get("offset", 0.0), "curve": np.arange(4.0) * (seed + 1)}


def bad_metric(config, seed):
    """Returns a metric that cannot be stored."""
    return {"model": object()}


def dies(config, seed):
    """Kills its worker process, as a crash in native code would."""
    if config.get("die"):
        os._exit(3)
    return {"value": 1.0}
