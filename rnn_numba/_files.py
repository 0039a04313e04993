"""Files written atomically and read back with their format checked: the storage under models and checkpoints.

Files are written to a temporary file in the target's directory, flushed to
disk and then renamed over the target (``os.replace``, atomic on POSIX and
Windows), so a crash mid-save leaves the previous file intact, never a
truncated one. Reading uses no pickle.
"""

import os
import tempfile
from pathlib import Path

import numpy as np


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
