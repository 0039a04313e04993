"""rnn_numba: Numba-accelerated recurrent networks, full and truncated BPTT."""

from . import cache, cells, checkpointing, estimators, experiments, optim, tasks
from ._threads import get_num_threads, set_num_threads, threads
from ._workspace import release_workspace
from .bptt import Gradient
from .compiling import warmup
from .estimators import eprop, kf_rtrl, rflo, rtrl, snap1, uoro
from .evolution import es, pes
from .experiments import sweep
from .gradcheck import GradCheck, central_differences, check_grad
from .interop import from_torch, to_torch
from .io import load, save
from .model import GRU, LSTM, RNN, Elman
from .schedules import full_schedule, horizon_schedule, tbptt_schedule
from .stream import Window, tbptt
from .train import History, Trainer
from .truncation import artbp
from .unroll import LayerTrajectory, Trajectory

__all__ = [
    "RNN",
    "Elman",
    "LSTM",
    "GRU",
    "Gradient",
    "Trajectory",
    "LayerTrajectory",
    "Window",
    "Trainer",
    "History",
    "save",
    "load",
    "GradCheck",
    "optim",
    "tasks",
    "cells",
    "checkpointing",
    "cache",
    "experiments",
    "sweep",
    "tbptt",
    "artbp",
    "es",
    "pes",
    "rtrl",
    "uoro",
    "kf_rtrl",
    "snap1",
    "rflo",
    "eprop",
    "estimators",
    "from_torch",
    "to_torch",
    "check_grad",
    "central_differences",
    "warmup",
    "release_workspace",
    "set_num_threads",
    "get_num_threads",
    "threads",
    "full_schedule",
    "horizon_schedule",
    "tbptt_schedule",
]
__version__ = "0.2.0.dev0"
