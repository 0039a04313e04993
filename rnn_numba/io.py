"""Saving and loading models: one ``.npz`` file, written atomically, with a format version.

A model file holds the parameters, the configuration that rebuilds the
model (:meth:`rnn_numba.RNN.config`), and ``format`` / ``version`` entries.
It is written to a temporary file, flushed and renamed over the target
(:mod:`rnn_numba._files`), so a crash mid-save leaves the previous file
intact. Loading reads nothing with pickle.
"""

import numpy as np

from ._files import float_entry, json_entry, read_npz
from .model import MODEL_FORMAT, MODEL_VERSION, RNN

#: The fields of a model file's configuration and their JSON types (ints are not bools, bools not strings).
CONFIG_FIELDS = {
    "cell": str,
    "n_in": int,
    "n_hidden": int,
    "n_out": int,
    "num_layers": int,
    "bias": bool,
    "nonlinearity": str,
    "dtype": str,
    "frozen": list,
}


def model_config(path, arrays: dict) -> dict:
    """The checked configuration entry of a model or checkpoint file (see :meth:`rnn_numba.RNN.config`).

    Raises
    ------
    ValueError
        Naming the file, if the entry is not JSON of the expected fields and types.
    """
    config = json_entry(path, arrays, "model.config")
    options = config.pop("cell_options", {}) if isinstance(config, dict) else {}  # only a cell with settings has it
    if not isinstance(options, dict) or not all(isinstance(v, (int, float)) and v is not True and v is not False
                                                for v in options.values()):  # fmt: skip
        raise ValueError(f"{str(path)!r} has a bad configuration field: cell_options={options!r}")
    if not isinstance(config, dict) or set(config) != set(CONFIG_FIELDS):
        fields = sorted(config) if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"{str(path)!r} is damaged: its model configuration has {fields}, not {sorted(CONFIG_FIELDS)}")
    for name, kind in CONFIG_FIELDS.items():
        value = config[name]
        if type(value) is not kind:  # exactly: True is not an int here, "false" not a bool
            raise ValueError(f"{str(path)!r} has a bad configuration field: {name}={value!r} is not a {kind.__name__}")
    if config["dtype"] not in ("float32", "float64"):
        raise ValueError(f"{str(path)!r} has a bad configuration field: dtype={config['dtype']!r}")
    if not all(isinstance(name, str) for name in config["frozen"]):
        raise ValueError(f"{str(path)!r} has a bad configuration field: frozen={config['frozen']!r}")
    if options:
        config["cell_options"] = options
    return config


def model_from_arrays(path, arrays: dict) -> RNN:
    """The model stored in a file's arrays by :func:`rnn_numba.model.model_arrays`, every entry checked.

    Raises
    ------
    ValueError
        Naming the file: a bad configuration (or one that names a cell this
        process does not have), or parameters of the wrong shape or dtype,
        complex, NaN or Inf.
    """
    config = model_config(path, arrays)
    frozen = config.pop("frozen")
    dtype = np.dtype(config.pop("dtype"))
    try:
        model = RNN(
            config.pop("cell"), config.pop("n_in"), config.pop("n_hidden"), config.pop("n_out"), dtype=dtype.type,
            **config,
        )  # fmt: skip
        if frozen:
            model.freeze(*frozen)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{str(path)!r} has a bad configuration: {err}") from None
    theta = float_entry(path, arrays, "model.theta", (model.n_params,))
    if theta.dtype != dtype:
        raise ValueError(f"{str(path)!r} is damaged: its parameters are {theta.dtype}, its configuration says {dtype}")
    model.theta = theta
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
    FileNotFoundError
        If there is no such file.
    ValueError
        Naming the file and what is wrong with it: not an rnn_numba model file,
        truncated or damaged, a newer format version than this code reads, a
        bad configuration, or parameters that are not finite real numbers.
    """
    return model_from_arrays(path, read_npz(path, MODEL_FORMAT, MODEL_VERSION))
