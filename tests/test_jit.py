"""The Numba policy module: one place for options, and a cache that cannot go stale."""

import re
from pathlib import Path

from rnn_numba import _jit

PACKAGE = Path(_jit.__file__).resolve().parent


def test_numba_options_are_set_only_in_the_policy_module():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_jit.py":
            continue
        text = path.read_text()
        assert not re.search(r"\bnjit\b|numba\.jit|fastmath\s*=", text), path


def test_a_source_change_clears_cached_kernels(tmp_path):
    cache = PACKAGE / "__pycache__"
    cache.mkdir(exist_ok=True)
    stamp = cache / "numba_sources.sha256"
    probe = cache / "probe_for_test.nbi"
    saved = stamp.read_text() if stamp.exists() else None
    try:
        probe.write_text("stale")
        stamp.write_text("digest of other sources")
        _jit.invalidate_stale_cache()
        assert not probe.exists()
        assert stamp.read_text() == _jit._sources_digest()
        probe.write_text("fresh")
        _jit.invalidate_stale_cache()  # same sources: the cache stays
        assert probe.exists()
    finally:
        probe.unlink(missing_ok=True)
        if saved is not None:
            stamp.write_text(saved)
