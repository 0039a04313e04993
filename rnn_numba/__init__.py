"""rnn_numba: Numba-accelerated recurrent networks, full and truncated BPTT."""

from .bptt import full_schedule, horizon_schedule, tbptt_schedule
from .gradcheck import GradCheck, central_differences, check_grad
from .model import RNN, Elman, Gradient
from .stream import Window, tbptt
from .unroll import Trajectory
from .warmup import warmup

__all__ = [
    "RNN",
    "Elman",
    "Gradient",
    "Trajectory",
    "Window",
    "GradCheck",
    "tbptt",
    "check_grad",
    "central_differences",
    "warmup",
    "full_schedule",
    "horizon_schedule",
    "tbptt_schedule",
]
__version__ = "0.1.0"
