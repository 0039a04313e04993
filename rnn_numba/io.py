"""Saving and loading models: one ``.npz`` file, written atomically, with a format version.

A model file holds the parameters, the configuration that rebuilds the
model, and ``format`` / ``version`` entries. Files are written to a
temporary file in the target's directory, flushed to disk and then renamed
over the target (``os.replace``, atomic on POSIX and Windows), so a crash
mid-save leaves the previous file intact, never a truncated one. Loading
reads nothing with pickle.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np

#: Bumped whenever the layout of a file changes; newer files are refused.
MODEL_FORMAT, MODEL_VERSION = "rnn_numba.model", 1


def atomic_savez(path, arrays):
    """Write ``arrays`` (a dict of name -> array) to ``path`` as ``.npz``, atomically.

    Parameters
    ----------
    path : str or Path
        The target; its directory must exist. Written as given (no ``.npz``
        is appended).
    arrays : dict of str to array_like
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot save to {str(path)!r}: the directory {str(path.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_npz(path, kind, version):
    """The arrays of an ``.npz`` file written by this package, checked for its format and version.

    Parameters
    ----------
    path : str or Path
    kind : str
        The expected ``format`` entry (``MODEL_FORMAT`` or a checkpoint's).
    version : int
        The newest version this code reads.

    Returns
    -------
    dict of str to ndarray
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = dict(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {str(path)!r}") from None
    except (ValueError, OSError) as err:
        raise ValueError(f"{str(path)!r} is not an rnn_numba file (not a readable .npz: {err})") from None
    found = str(arrays["format"]) if "format" in arrays else None
    if found != kind:
        raise ValueError(f"{str(path)!r} is not a {kind} file (its format entry is {found!r})")
    found_version = int(arrays["version"])
    if found_version > version:
        raise ValueError(
            f"{str(path)!r} has {kind} format version {found_version}, newer than this rnn_numba reads "
            f"({version}); upgrade rnn_numba"
        )
    if found_version < 1:
        raise ValueError(f"{str(path)!r} has an unknown {kind} format version {found_version}")
    return arrays


def model_config(model):
    """The constructor arguments that rebuild ``model`` (without its parameters), JSON-ready."""
    return {
        "cell": model.cell.NAME,
        "n_in": model.n_in,
        "n_hidden": model.n_hidden,
        "n_out": model.n_out,
        "num_layers": model.num_layers,
        "bias": model.bias,
        "nonlinearity": model.nonlinearity,
        "dtype": np.dtype(model.dtype).name,
        "frozen": sorted(model.frozen),
    }


def model_arrays(model):
    """What a file needs to rebuild ``model``: its configuration (JSON) and parameters."""
    return {"model.config": json.dumps(model_config(model)), "model.theta": model.theta}


def model_from_arrays(arrays):
    """The model stored by :func:`model_arrays`."""
    from .model import RNN

    config = json.loads(str(arrays["model.config"]))
    frozen = config.pop("frozen")
    config["dtype"] = np.dtype(config["dtype"]).type
    model = RNN(config.pop("cell"), config.pop("n_in"), config.pop("n_hidden"), config.pop("n_out"), **config)
    model.theta = arrays["model.theta"]
    if frozen:
        model.freeze(*frozen)
    return model


def save(model, path):
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
    atomic_savez(path, {"format": MODEL_FORMAT, "version": MODEL_VERSION, **model_arrays(model)})


def load(path):
    """Load a model saved by :func:`save`: same class of cell, configuration and parameters, bit for bit.

    Raises
    ------
    ValueError
        If the file is not an rnn_numba model file, or was written by a newer
        format version than this code reads.
    """
    return model_from_arrays(read_npz(path, MODEL_FORMAT, MODEL_VERSION))
