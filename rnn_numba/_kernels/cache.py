"""Where compiled kernels are cached: a folder per version and digest of the package's sources.

Numba keys a cached kernel on its own source file (its modification time and
size), not on the files of the kernels it inlines: a driver kernel that
inlines a cell's step would be served from the cache after the cell's file
changed, with the old cell's code in it. So every kernel of the package is
cached under one folder named by the package's version and a digest of all
its source files::

    <user cache directory>/rnn_numba/<version>-<digest>/<subfolder of the kernel's file>/

with the digest also as each kernel's source stamp. Any change to any source
file (an edit, an upgrade that touches one file) gives a new folder, so a
kernel compiled from other sources, even by an older process still running
and writing into its own folder, can never be loaded. ``NUMBA_CACHE_DIR``
moves the root (``$NUMBA_CACHE_DIR/rnn_numba/...``); otherwise it is the
platform's user cache directory (``~/.cache`` on Linux), so nothing is
written into an installed package. When no such folder can be written
(a read-only home, say), kernels are compiled but not cached, with one
warning.
"""

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

from numba.core import caching
from numba.misc.appdirs import AppDirs

PACKAGE = Path(__file__).resolve().parent.parent


def sources_digest(package=PACKAGE):
    """A hash of every Python source below ``package`` (names and contents), 16 hex digits."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _version():
    text = (PACKAGE / "__init__.py").read_text()
    for line in text.splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "unknown"


DIGEST = sources_digest()
VERSION = _version()


def cache_root():
    """The folder that holds every version's cache: ``$NUMBA_CACHE_DIR/rnn_numba`` or the user cache directory's."""
    root = os.environ.get("NUMBA_CACHE_DIR")
    if root:
        return Path(root) / "rnn_numba"
    return Path(AppDirs(appname="rnn_numba", appauthor=False).user_cache_dir)


def _writable(folder):
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _cache_dir():
    folder = cache_root() / f"{VERSION}-{DIGEST}"
    if _writable(folder):
        return folder
    warnings.warn(
        f"rnn_numba cannot write its kernel cache to {folder} (set NUMBA_CACHE_DIR to a writable folder): "
        "kernels are compiled at every start instead of being loaded",
        RuntimeWarning,
        stacklevel=2,
    )
    return None


#: This version's cache folder, or None when none can be written.
CACHE_DIR = _cache_dir()


class PackageCacheLocator(caching._CacheLocator):
    """Numba's cache locator for the package's kernels: :data:`CACHE_DIR`, stamped with the sources' digest."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = CACHE_DIR / Path(py_file).resolve().parent.relative_to(PACKAGE)

    def ensure_cache_path(self):
        self._cache_path.mkdir(parents=True, exist_ok=True)

    def get_cache_path(self):
        return str(self._cache_path)

    def get_source_stamp(self):
        return DIGEST

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if CACHE_DIR is None or not Path(py_file).resolve().is_relative_to(PACKAGE):
            return None
        return cls(py_func, py_file)


class _PackageCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [PackageCacheLocator]


class PackageFunctionCache(caching.FunctionCache):
    """Numba's function cache with the package's locator (see :func:`rnn_numba._kernels.jit.jit_kernel`)."""

    _impl_class = _PackageCacheImpl


def in_package(func):
    """Whether ``func`` is defined in a source file of the package (its kernels are cached here)."""
    try:
        path = Path(func.__code__.co_filename).resolve()
    except (AttributeError, OSError):
        return False
    return path.suffix == ".py" and path.is_relative_to(PACKAGE) and path.exists()
