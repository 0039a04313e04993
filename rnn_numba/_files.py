"""Files written atomically and read back with their format checked: the storage under models and checkpoints.

A file is written to a temporary file in the target's directory, flushed to
disk and then renamed over the target (``os.replace``, atomic on POSIX and
Windows), so a crash mid-save leaves the previous file intact, never a
truncated one. The file gets the permissions the umask gives a new file. A
temporary file left by a save that was killed is removed by the next save to
the same path, once the process that wrote it is gone.

Reading uses no pickle, and every way a file can be wrong (missing entries,
a truncated or damaged zip, a foreign file, a newer format, an entry of the
wrong kind) is a ``ValueError`` that names the file and says what is wrong;
a missing file is a ``FileNotFoundError``.
"""

import json
import os
import secrets
import zipfile
import zlib
from pathlib import Path

import numpy as np


def _temporary_name(path):
    return path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _remove_stale_temporaries(path):
    """Delete the temporary files of earlier saves to ``path`` whose process has ended."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)  # its writer is gone: a save that was killed
        except OSError:
            continue  # alive (PermissionError: another user's), or not ours to judge


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
    _remove_stale_temporaries(path)
    tmp = _temporary_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the mode the umask allows a new file
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If it is not a readable ``.npz`` file, not a ``kind`` file, or of a
        newer or unknown version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    try:
        with open(path, "rb") as file:  # (np.load leaks a file it fails to read)
            if file.read(4) != b"PK\x03\x04":
                raise ValueError("it is not a zip archive")
            file.seek(0)
            with np.load(file, allow_pickle=False) as f:
                arrays = dict(f)
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{str(path)!r} is truncated or damaged ({type(err).__name__}: {err})") from None
    except (ValueError, OSError, KeyError, NotImplementedError, RuntimeError) as err:
        raise ValueError(f"{str(path)!r} is not an rnn_numba file (not a readable .npz: {err})") from None
    found = text_entry(path, arrays, "format") if "format" in arrays else None
    if found != kind:
        raise ValueError(f"{str(path)!r} is not a {kind} file (its format entry is {found!r})")
    found_version = integer_entry(path, arrays, "version")
    if found_version > version:
        raise ValueError(
            f"{str(path)!r} has {kind} format version {found_version}, newer than this rnn_numba reads "
            f"({version}); upgrade rnn_numba"
        )
    if found_version < 1:
        raise ValueError(f"{str(path)!r} has an unknown {kind} format version {found_version}")
    return arrays


def entry(path, arrays, name):
    """Entry ``name`` of a file's arrays; ValueError naming the file if it is missing."""
    if name not in arrays:
        raise ValueError(f"{str(path)!r} is damaged: it has no {name!r} entry")
    return arrays[name]


def text_entry(path, arrays, name):
    """A text entry (a 0-d string array)."""
    value = entry(path, arrays, name)
    if value.ndim != 0 or value.dtype.kind not in "US":
        raise ValueError(f"{str(path)!r} is damaged: its {name!r} entry is not a text")
    return str(value)


def json_entry(path, arrays, name):
    """A text entry holding JSON, decoded."""
    try:
        return json.loads(text_entry(path, arrays, name))
    except json.JSONDecodeError as err:
        raise ValueError(f"{str(path)!r} is damaged: its {name!r} entry is not JSON ({err})") from None


def integer_entry(path, arrays, name):
    """An integer entry (a 0-d integer array)."""
    value = entry(path, arrays, name)
    if value.ndim != 0 or value.dtype.kind not in "iu":
        raise ValueError(f"{str(path)!r} is damaged: its {name!r} entry is {value!r}, not an integer")
    return int(value)


def float_entry(path, arrays, name, shape):
    """A real floating-point array entry of the given shape, every value finite."""
    value = entry(path, arrays, name)
    if value.dtype.kind != "f":
        raise ValueError(f"{str(path)!r} is damaged: its {name!r} entry holds {value.dtype}, not real floats")
    if value.shape != tuple(shape):
        raise ValueError(f"{str(path)!r} is damaged: its {name!r} entry has shape {value.shape}, not {tuple(shape)}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{str(path)!r} is damaged: its {name!r} entry holds NaN or Inf")
    return value
