"""Online gradient estimators of the RTRL family, one module each, on one driver (:mod:`.online`).

Each streams like :func:`rnn_numba.tbptt`: a window every k steps, its
gradient in the layout of ``theta``, the model's parameters free to change
between windows. A research script swaps one for another by name.
"""

from .eprop import eprop
from .kfrtrl import kf_rtrl
from .rflo import rflo
from .rtrl import rtrl
from .snap import snap1
from .uoro import uoro

__all__ = ["rtrl", "uoro", "kf_rtrl", "snap1", "rflo", "eprop"]
