"""Saving and loading models: one ``.npz`` file, written atomically, with a format version.

A model file holds the parameters, the configuration that rebuilds the
model (:meth:`rnn_numba.RNN.config`), and ``format`` / ``version`` entries.
It is written to a temporary file, flushed and renamed over the target
(:mod:`rnn_numba._files`), so a crash mid-save leaves the previous file
intact. Loading reads nothing with pickle.
"""

import json

import numpy as np

from ._files import read_npz
from .model import MODEL_FORMAT, MODEL_VERSION, RNN


def model_from_arrays(arrays: dict) -> RNN:
    """The model stored by :func:`rnn_numba.model.model_arrays`."""
    config = json.loads(str(arrays["model.config"]))
    frozen = config.pop("frozen")
    config["dtype"] = np.dtype(config["dtype"]).type
    model = RNN(config.pop("cell"), config.pop("n_in"), config.pop("n_hidden"), config.pop("n_out"), **config)
    model.theta = arrays["model.theta"]
    if frozen:
        model.freeze(*frozen)
    return model


def save(model: RNN, path) -> None:
    """Save a model to one file (parameters, configuration, format version), atomically.

    Parameters
    ----------
    model : RNN
    path : str or Path
        Written as given; ``.npz`` is the customary suffix.

    Examples
    --------
    >>> rn.save(net, "net.npz")                # doctest: +SKIP
    >>> same = rn.load("net.npz")              # doctest: +SKIP
    """
    model.save(path)


def load(path) -> RNN:
    """Load a model saved by :func:`save`: same class of cell, configuration and parameters, bit for bit.

    Raises
    ------
    ValueError
        If the file is not an rnn_numba model file, or was written by a newer
        format version than this code reads.
    """
    return model_from_arrays(read_npz(path, MODEL_FORMAT, MODEL_VERSION))
