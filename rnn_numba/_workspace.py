"""Work buffers that outlive a call: the drivers' per-block arrays, kept per thread and reused.

The input projections of a block and its deltas are megabytes that never
leave a call. Allocated afresh at every call, they came back from the C
allocator as new pages more often than not, and the kernel's first writes
to them took a page fault every 4 KiB: measured here (float32 LSTM, T = 100,
B = 32, H = 128), 2300 faults and 36-41 ms per gradient, against none and
27-30 ms when glibc was told to keep its freed memory
(``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_``). Reusing the
buffers removes the faults of these arrays without touching the allocator:
none and 24-32 ms per gradient, in fresh processes as before.

Each thread keeps one buffer per *role*; a role's buffer grows to the
largest request it has seen and is reused for smaller ones. A role is held
by one array at a time: the caller is done with an array before it asks for
the same role again. Roles in use:

- ``"projection"``: a block's input projections ``a`` (forward pass, and
  the gate recomputation of ``recompute=True``), then its deltas ``dL/da``;
- ``"recurrent"``: the recurrent projections of the gate recomputation,
  then a GRU's deltas ``dL/dr``;
- ``"loss_gradient"``: the loss gradient dL/dh_{t+1} of the top layer's
  states, block by block (all steps at once for a truncated schedule);
- ``"cache0"``, ``"cache1"``, ...: layer k's gate activations, kept by the
  forward pass of a gradient for its backward pass (T * B * CACHE_WIDTH * H
  numbers; :func:`rnn_numba.unroll.unroll`);
- ``"h0"``, ``"c0"``, ``"h1"``, ...: layer k's states h and c in
  :meth:`rnn_numba.RNN.loss_and_grad`, which returns no trajectory.

The buffers stay allocated between calls, up to :data:`KEEP_LIMIT` bytes
per role and thread; larger requests (whole sequences of a truncated
schedule) get a new array each time, as before. The gate activations and
the states are the exception (``any_size=True``): they are the largest
arrays a gradient writes, every call of the same shape writes them again,
and fresh they cost as above: a float32 GRU at T = 200, B = 64, H = 512
keeps 105 MB of gate activations, and its forward recursion took 1.5x as
long writing them to new pages as to reused ones (21 against 14 ms per
block of 32 steps, measured here on the 2-core Intel Xeon). Full BPTT asks
for a block at a time (about ``rnn_numba.unroll.BLOCK_ROWS`` rows of G*H
numbers): 16 MiB of input projections at T = 200, B = 64, H = 512 for a
float32 LSTM.
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
        buffer = pool[role] = np.empty(n_bytes, dtype=np.uint8)
    return buffer[:n_bytes].view(dtype).reshape(shape)


def nbytes():
    """Bytes held by this thread's work buffers."""
    return sum(buffer.size for buffer in _pool().values())


def release_workspace():
    """Free this thread's work buffers (the next call allocates them again)."""
    _pool().clear()
