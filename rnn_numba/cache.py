"""The on-disk cache of compiled kernels: where it is, how large, and clearing it.

Kernels are cached in a folder per version and digest of the package's
sources (:mod:`rnn_numba._kernels.cache`), under ``$NUMBA_CACHE_DIR/rnn_numba``
or the platform's user cache directory. A new version, or any edit to the
sources, starts a new folder; the old ones stay until cleared::

    >>> rn.cache.info()                       # doctest: +SKIP
    {'path': '/home/me/.cache/rnn_numba/0.2.0-1f2e...', 'bytes': 41943040, 'files': 212, 'others': {...}}
    >>> rn.cache.clear(every_version=True)    # doctest: +SKIP

From the command line: ``python -m rnn_numba cache [--clear] [--every-version]``.
"""

import shutil
from pathlib import Path

from ._kernels import cache as _cache


def path() -> Path | None:
    """The cache folder of this version, or None when kernels are not cached (no writable folder)."""
    return _cache.CACHE_DIR


def _size(folder):
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def info() -> dict:
    """The cache folder of this version and its size, and the other folders under the same root.

    Returns
    -------
    dict
        ``path`` (str or None), ``bytes`` and ``files`` of this version's
        folder, ``root`` (str), and ``others``: {folder name: bytes} of the
        folders of other versions or sources.
    """
    here = _cache.CACHE_DIR
    n_bytes, n_files = _size(here) if here is not None and here.exists() else (0, 0)
    root = _cache.cache_root()
    others = {}
    if root.exists():
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and folder != here:
                others[folder.name] = _size(folder)[0]
    return {
        "path": None if here is None else str(here),
        "bytes": n_bytes,
        "files": n_files,
        "root": str(root),
        "others": others,
    }


def clear(every_version: bool = False) -> int:
    """Delete this version's cached kernels (with ``every_version``, every folder under the root); returns bytes freed.

    Kernels are compiled again at their next first call.
    """
    root = _cache.cache_root()
    folders = [root] if every_version else [_cache.CACHE_DIR]
    freed = 0
    for folder in folders:
        if folder is not None and folder.exists():
            freed += _size(folder)[0]
            shutil.rmtree(folder, ignore_errors=True)
    if _cache.CACHE_DIR is not None:
        _cache.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return freed
