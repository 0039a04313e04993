"""The kernel cache: never a kernel compiled from other sources, never a file in the package, clearing it.

Each test runs the package from a copy in a temporary folder, in fresh
processes, with its own home and cache folders; a "new version" is the copy
with the Elman cell's tanh changed into tanh(2 z), which changes every
output. Run as root, the processes run without the capabilities that let
root ignore file permissions, so that a read-only folder is read-only to
them.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rnn_numba as rn

PACKAGE = Path(rn.__file__).resolve().parent
AS_ROOT = os.geteuid() == 0
#: Linux capabilities that let root read and write whatever the permissions say (capability.h).
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24


def _without_root_file_access():
    """In a child before ``exec``: drop root's power over file permissions from the bounding set."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


#: A small forward pass on one sequence: prints the outputs as JSON.
OUTPUTS = """
import json, sys, numpy as np
import rnn_numba as rn
assert rn.__file__.startswith(sys.argv[1]), rn.__file__
net = rn.Elman(2, 3, 1, seed=0)
print(json.dumps(net.forward(np.linspace(-1, 1, 6).reshape(3, 1, 2)).y.ravel().tolist()))
"""
ORIGINAL = "h_next[b, j] = tanh(a_t[b, j] + r_t[b, j])"
EDITED = "h_next[b, j] = tanh(2 * (a_t[b, j] + r_t[b, j]))"


def install(site):
    """A copy of the package's sources in ``site``, readable by everyone."""
    target = site / "rnn_numba"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    _chmod(site, writable=True)
    return target


def edit(package):
    """The new version: the Elman cell's f changed."""
    elman = package / "cells" / "elman.py"
    text = elman.read_text()
    assert ORIGINAL in text
    elman.chmod(0o644)
    elman.write_text(text.replace(ORIGINAL, EDITED))


def _chmod(folder, writable):
    for path in [folder, *folder.rglob("*")]:
        mode = 0o755 if path.is_dir() else 0o644
        path.chmod(mode if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def environment(tmp_path, site, cache_dir=None, home="home"):
    """The child processes' environment: their own home (a cache under it) or NUMBA_CACHE_DIR."""
    home = tmp_path / home
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CACHE", "XDG_"))}
    env.update(HOME=str(home), PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
    if cache_dir is not None:
        cache_dir.mkdir(exist_ok=True)
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    return env


def run(env, site, script=OUTPUTS, background=False):
    """Run ``script`` in a fresh process (bound by file permissions, even as root): its outputs, or the process."""
    command = [sys.executable, "-c", script, str(site)]
    options = dict(env=env, cwd=env["HOME"], text=True)
    if AS_ROOT:
        options["preexec_fn"] = _without_root_file_access
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)
    done = subprocess.run(command, capture_output=True, **options)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def reference(scale):
    """The outputs of :data:`OUTPUTS` computed with NumPy, for f(z) = tanh(scale z): 1 the original, 2 the edit."""
    net = rn.Elman(2, 3, 1, seed=0)
    p = net.params
    x = np.linspace(-1, 1, 6).reshape(3, 1, 2)
    h, outputs = np.zeros((1, 3)), []
    for t in range(3):
        h = np.tanh(scale * (x[t] @ p["W_xh"] + p["b_h"] + h @ p["W_hh"]))
        outputs.append(h @ p["W_hy"] + p["b_y"])
    return np.concatenate(outputs).ravel()


def same(outputs, scale):
    """Whether a child's outputs are those of f(z) = tanh(scale z) (to round-off: the kernels' tanh is their own)."""
    return np.allclose(outputs, reference(scale), rtol=1e-9, atol=1e-12)


def files_in(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc"))


def test_an_older_process_writing_after_an_upgrade_is_never_served(tmp_path):
    # A process of the old version compiles and writes its kernels after a process of the new one started.
    site = tmp_path / "site"
    package = install(site)
    env = environment(tmp_path, site)
    go = tmp_path / "go"
    wait = f"import os, time\nwhile not os.path.exists({str(go)!r}):\n    time.sleep(0.05)\n"
    waiting = OUTPUTS.replace("import rnn_numba as rn\n", "import rnn_numba as rn\n" + wait, 1)
    old = run(env, site, waiting, background=True)
    time.sleep(2)  # it has imported the old sources
    edit(package)
    run(env, site)  # a new process starts (and caches) with the new sources
    go.touch()
    old_outputs = json.loads(old.communicate(timeout=600)[0].strip().splitlines()[-1])
    new_outputs, _ = run(env, site)
    assert same(new_outputs, 2) and same(old_outputs, 1)


def test_an_edit_is_seen_with_numba_cache_dir_set(tmp_path):
    site = tmp_path / "site"
    package = install(site)
    env = environment(tmp_path, site, cache_dir=tmp_path / "numba-cache")
    before, _ = run(env, site)
    edit(package)
    after, _ = run(env, site)
    assert same(before, 1) and same(after, 2)


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_read_only_install_upgraded_in_one_file_gets_the_new_kernels_and_holds_no_cache(tmp_path):
    site = tmp_path / "site"
    package = install(site)
    _chmod(site, writable=False)
    env = environment(tmp_path, site)
    before, _ = run(env, site)
    _chmod(site, writable=True)
    edit(package)  # an upgrade that changes only the Elman cell's file
    _chmod(site, writable=False)
    after, _ = run(env, site)
    assert same(before, 1) and same(after, 2)
    assert files_in(site) == []  # nothing written into the installed package
    assert files_in(tmp_path / "home")  # the cache went under the home folder


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_an_unwritable_home_and_package_compile_without_a_cache_and_warn_once(tmp_path):
    site = tmp_path / "site"
    install(site)
    _chmod(site, writable=False)
    env = environment(tmp_path, site, home="locked")
    _chmod(tmp_path / "locked", writable=False)
    outputs, stderr = run(env, site)
    assert same(outputs, 1)
    assert stderr.count("cannot write its kernel cache") == 1 and "NUMBA_CACHE_DIR" in stderr


def test_the_cache_is_outside_the_package_and_can_be_cleared(tmp_path, monkeypatch):
    info = rn.cache.info()
    assert info["path"] is not None and not Path(info["path"]).is_relative_to(PACKAGE)
    site = tmp_path / "site"
    install(site)
    env = environment(tmp_path, site, cache_dir=tmp_path / "numba-cache")
    run(env, site)
    folder = tmp_path / "numba-cache" / "rnn_numba"
    assert files_in(folder) and files_in(site) == []  # nothing cached beside the sources
    script = "import sys, rnn_numba as rn\nprint(rn.cache.clear(every_version=True))\nprint('[0]')"
    run(env, site, script)
    assert files_in(folder) == []


def test_processes_compiling_into_one_cold_cache_at_once_all_compute_the_same(tmp_path):
    site = tmp_path / "site"
    install(site)
    env = environment(tmp_path, site, cache_dir=tmp_path / "shared")
    processes = [run(env, site, background=True) for _ in range(3)]
    outputs = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in processes]
    assert outputs[0] == outputs[1] == outputs[2] == run(env, site)[0]


def test_python_m_rnn_numba_reports_the_cache():
    done = subprocess.run([sys.executable, "-m", "rnn_numba", "cache"], capture_output=True, text=True)
    assert done.returncode == 0 and str(rn.cache.path()) in done.stdout


def test_the_folder_is_named_by_the_version_and_the_digest_of_every_source():
    from rnn_numba._kernels import cache

    assert cache.CACHE_DIR.name == f"{rn.__version__}-{cache.sources_digest()}"
