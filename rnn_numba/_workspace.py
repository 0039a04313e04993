"""Work buffers that outlive a call: the arrays a pass works in, kept per thread and reused.

The input projections of a block, its deltas and messages, the gate
activations a gradient keeps for its backward pass and the states of
``loss_and_grad`` are megabytes that never leave a call. Allocated afresh at
every call, they come back from the C allocator as new pages more often than
not, and the first write to each 4 KiB page then costs a page fault
(benchmarks/HISTORY.md has the measurements; the asv ``PageFaults``
benchmark counts them).

Each thread keeps one buffer per *role*; a role's buffer grows to the
largest request it has seen and is reused for smaller ones. A role is held
by one array at a time: the caller is done with an array before it asks for
the same role again. The roles are those of
:func:`rnn_numba.unroll.work_arrays` (``"projection"``, ``"recurrent"``,
``"message"``, ``"dy"``, ``"cache"``, ``"block_cache"``, and for a pass that
returns no trajectory ``"h"``, ``"c"``, ``"y"``).

Buffers stay allocated between calls up to :data:`KEEP_LIMIT` bytes per role
and thread; larger requests get a new array each time, except where the
caller asks for any size (the gate activations and the states: the largest
arrays a gradient writes, written again by every call of the same shape).
:func:`release_workspace` (``rnn_numba.release_workspace``) frees them.
"""

import math
import threading

import numpy as np

#: The largest buffer kept for reuse, in bytes.
KEEP_LIMIT = 32 * 2**20

_local = threading.local()


def _pool():
    if not hasattr(_local, "buffers"):
        _local.buffers = {}
    return _local.buffers


def work_array(role, shape, dtype, any_size=False):
    """A C-contiguous array of ``shape`` and ``dtype`` on this thread's buffer for ``role``.

    Parameters
    ----------
    role : str
        Which buffer; see the module's docstring. The array is only valid
        until the same role is asked for again on this thread (unless it is
        larger than :data:`KEEP_LIMIT`: then it is a new array).
    shape : tuple of int
    dtype : np.float32 or np.float64
        The contents are whatever the buffer held: the caller writes every element it reads.
    any_size : bool
        Keep the buffer whatever its size (no :data:`KEEP_LIMIT`).

    Returns
    -------
    ndarray, shape ``shape``
    """
    dtype = np.dtype(dtype)
    n_bytes = math.prod(shape) * dtype.itemsize
    if n_bytes == 0 or (n_bytes > KEEP_LIMIT and not any_size):
        return np.empty(shape, dtype=dtype)
    pool = _pool()
    buffer = pool.get(role)
    if buffer is None or buffer.size < n_bytes:
        pool.pop(role, None)  # free the smaller buffer before allocating its successor
        _local.last_request = None  # which may hold views of it
        buffer = pool[role] = np.empty(n_bytes, dtype=np.uint8)
    return buffer[:n_bytes].view(dtype).reshape(shape)


def work_arrays(requests, dtype):
    """Several work arrays at once: ``{name: work_array(role, shape, dtype, any_size)}``.

    ``requests`` is a tuple of (name, role, shape, any_size). A request equal
    to this thread's last one gets the same arrays again without asking for
    each (a training loop repeats its calls): the arrays of the last request
    are the only ones remembered, and any other request replaces them.
    """
    last = getattr(_local, "last_request", None)
    if last is not None and last[0] == requests and last[1] == dtype:
        return last[2]
    arrays = {name: work_array(role, shape, dtype, any_size) for name, role, shape, any_size in requests}
    _local.last_request = (requests, dtype, arrays)
    return arrays


def nbytes():
    """Bytes held by this thread's work buffers."""
    return sum(buffer.size for buffer in _pool().values())


def release_workspace() -> None:
    """Free this thread's work buffers (the next call allocates them again)."""
    _pool().clear()
    _local.last_request = None
