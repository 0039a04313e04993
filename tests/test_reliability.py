"""What held under attack, kept: killed saves and runs, damaged files, threads, forks, and fuzzed calls.

The fault-injection tests repeat ``RNN_NUMBA_TRIALS`` times (20 by default,
which CI runs; set it higher for a longer run, as the ``slow`` mark's name
says).
"""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnn_numba as rn

from . import naive

TRIALS = int(os.environ.get("RNN_NUMBA_TRIALS", "20"))
ROOT = Path(__file__).resolve().parent.parent


def child(script, *args):
    """A Python process running ``script`` with the package of this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def kill(process):
    """SIGKILL, then wait for it and close its pipes."""
    process.send_signal(signal.SIGKILL)
    process.communicate()


def finish(process):
    """Wait for the process to end; its stderr, asserting that it succeeded."""
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr


# --------------------------------------------------------------------------- killed saves
SAVER = """
import sys, itertools, numpy as np, rnn_numba as rn
path = sys.argv[1]
nets = [rn.LSTM(4, 32, 3, num_layers=2, seed=s) for s in (1, 2)]
print("ready", flush=True)
for i in itertools.count():
    nets[i % 2].save(path)
"""


@pytest.mark.slow
def test_a_save_killed_at_any_moment_leaves_a_whole_file_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "net.npz"
    expected = [rn.LSTM(4, 32, 3, num_layers=2, seed=s).theta for s in (1, 2)]
    rng = np.random.default_rng(0)
    for _ in range(TRIALS):
        saver = child(SAVER, path)
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.5))
        kill(saver)
        loaded = rn.load(path)  # the last whole save, never a torn one
        assert any(np.array_equal(loaded.theta, theta) for theta in expected)
    rn.save(loaded, path)  # the next save removes what killed saves left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


# --------------------------------------------------------------------------- killed training
TRAINER = """
import sys, numpy as np, rnn_numba as rn
path, n_updates = sys.argv[1], int(sys.argv[2])
net = rn.Elman(2, 8, 1, seed=0)
trainer = rn.Trainer(net, rn.optim.Adam(1e-2), lambda rng: rn.tasks.adding(12, 1, seed=rng), seed=3, progress=False)
print("ready", flush=True)
trainer.run(n_updates, checkpoint=path, checkpoint_every=1, resume=True)
np.save(sys.argv[3], net.theta)
"""


@pytest.mark.slow
def test_a_run_killed_at_any_moment_resumes_to_the_same_parameters_bit_for_bit(tmp_path):
    n_updates = 400
    reference = tmp_path / "reference.npy"
    done = child(TRAINER, tmp_path / "uninterrupted.ckpt", n_updates, reference)
    finish(done)
    rng = np.random.default_rng(1)
    for trial in range(TRIALS):
        path, result = tmp_path / f"run{trial}.ckpt", tmp_path / f"run{trial}.npy"
        killed = child(TRAINER, path, n_updates, result)
        assert killed.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
        kill(killed)
        finish(child(TRAINER, path, n_updates, result))
        assert np.array_equal(np.load(result), np.load(reference))


# --------------------------------------------------------------------------- damaged and foreign files
def saved_files(tmp_path):
    net = rn.GRU(2, 3, 1, num_layers=2, seed=0)
    model = tmp_path / "model.npz"
    net.save(model)
    trainer = rn.Trainer(net.copy(), rn.optim.SGD(0.1), lambda rng: rn.tasks.adding(5, 1, seed=rng), seed=0,
                         progress=False)  # fmt: skip
    checkpoint = tmp_path / "run.ckpt"
    trainer.run(2, checkpoint=checkpoint)
    return net, model, checkpoint


def load_either(path, net):
    """Load ``path`` as a model or, for a checkpoint, into a trainer like the one that wrote it."""
    if path.suffix == ".npz":
        return rn.load(path)
    trainer = rn.Trainer(net.copy(), rn.optim.SGD(0.1), lambda rng: rn.tasks.adding(5, 1, seed=rng), progress=False)
    trainer.load_checkpoint(path)
    return trainer


@pytest.mark.parametrize("kind", ["model", "checkpoint"])
def test_truncated_and_byte_flipped_files_give_a_value_error_naming_the_file(tmp_path, kind):
    net, model, checkpoint = saved_files(tmp_path)
    original = (model if kind == "model" else checkpoint).read_bytes()
    rng = np.random.default_rng(2)
    damaged = tmp_path / ("damaged.npz" if kind == "model" else "damaged.ckpt")
    cuts = sorted(set(np.linspace(0, len(original) - 1, 40).astype(int)))
    flips = rng.integers(0, len(original), size=60)
    for data in [original[:cut] for cut in cuts] + [_flip(original, i) for i in flips]:
        damaged.write_bytes(data)
        try:
            load_either(damaged, net)  # a flip inside padding or an unused field may leave a file that loads
        except ValueError as err:
            assert str(damaged) in str(err)
        # anything else (BadZipFile, EOFError, KeyError, ...) fails the test


def _flip(data, index):
    flipped = bytearray(data)
    flipped[index] ^= 0xFF
    return bytes(flipped)


def _npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


GOOD_CONFIG = {"cell": "elman", "n_in": 2, "n_hidden": 3, "n_out": 1, "num_layers": 1, "bias": True,
               "nonlinearity": "tanh", "dtype": "float64", "frozen": []}  # fmt: skip
N_PARAMS = rn.Elman(2, 3, 1).n_params


@pytest.mark.parametrize(
    ("arrays", "words"),
    [
        (dict(theta=np.zeros(3)), ["not a rnn_numba.model file"]),
        (dict(format="rnn_numba.model", version=2, **{"model.config": "{}"}), ["newer"]),
        (dict(format="rnn_numba.model", version=1.7), ["version", "not an integer"]),
        (dict(format="rnn_numba.model", version=1), ["no 'model.config' entry"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": "{not json"}), ["not JSON"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": json.dumps(GOOD_CONFIG | {"bias": "false"})}),
         ["bias", "not a bool"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": json.dumps(GOOD_CONFIG | {"n_in": True})}),
         ["n_in", "not a int"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": json.dumps(GOOD_CONFIG | {"cell": "nope"})}),
         ["bad configuration", "cell"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": json.dumps(GOOD_CONFIG)}),
         ["no 'model.theta' entry"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": json.dumps(GOOD_CONFIG),
                                                       "model.theta": np.full(N_PARAMS, np.nan)}), ["NaN"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": json.dumps(GOOD_CONFIG),
                                                       "model.theta": np.zeros(N_PARAMS, complex)}), ["real floats"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": json.dumps(GOOD_CONFIG),
                                                       "model.theta": np.zeros(N_PARAMS + 1)}), ["shape"]),
        (dict(format="rnn_numba.model", version=1, **{"model.config": json.dumps(GOOD_CONFIG),
                                                       "model.theta": np.zeros(N_PARAMS, np.float32)}), ["float32"]),
    ],
)  # fmt: skip
def test_hand_made_files_give_a_value_error_saying_what_is_wrong(tmp_path, arrays, words):
    path = _npz(tmp_path / "hand.npz", **arrays)
    with pytest.raises(ValueError) as info:
        rn.load(path)
    assert str(path) in str(info.value) and all(word in str(info.value) for word in words), str(info.value)


def test_other_files_and_a_directory_are_refused_clearly(tmp_path):
    path = tmp_path / "other.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="not a rnn_numba.model file"):
        rn.load(path)
    np.save(tmp_path / "array.npy", np.zeros(3))  # np.load would return an array, not an archive
    (tmp_path / "notes.txt").write_text("hello")
    for other in ("array.npy", "notes.txt"):
        with pytest.raises(ValueError, match="not an rnn_numba file.*not a zip archive"):
            rn.load(tmp_path / other)
    with pytest.raises(FileNotFoundError):
        rn.load(tmp_path)


def test_saved_files_get_the_permissions_of_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        rn.Elman(1, 2, 1).save(tmp_path / "a.npz")
        os.umask(0o077)
        rn.Elman(1, 2, 1).save(tmp_path / "b.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "a.npz").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.npz").stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- threads and forks
def test_gradients_from_threads_at_once_are_bit_identical_to_serial_ones():
    rng = np.random.default_rng(0)
    problems = [(rn.RNN(cell, 3, 6, 2, seed=s), rng.normal(size=(20, 1, 3)), rng.normal(size=(20, 1, 2)))
                for s, cell in enumerate(("elman", "lstm", "gru") * 2)]  # fmt: skip
    serial = [net.loss_and_grad(x, y)[1] for net, x, y in problems]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            threaded = list(pool.map(lambda p: p[0].loss_and_grad(p[1], p[2])[1], problems * 4))
            for a, b in zip(serial * 4, threaded, strict=True):
                assert np.array_equal(a, b)


def _child_gradient(seed):
    net = rn.GRU(3, 8, 1, seed=seed)
    x = np.random.default_rng(seed).normal(size=(30, 4, 3))
    return net.loss_and_grad(x, np.ones((30, 4, 1)))[1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
# JAX, when an earlier test (the peers') imported it, warns at every fork that its own threads may deadlock the child
@pytest.mark.filterwarnings(r"ignore:os\.fork\(\) was called:RuntimeWarning")
def test_a_fork_after_a_parallel_call_runs_its_children_on_one_thread():
    expected = [_child_gradient(seed) for seed in range(4)]  # batch-parallel kernels ran in this process
    with multiprocessing.get_context("fork").Pool(2) as pool:
        result = pool.map_async(_child_gradient, range(4))
        got = result.get(timeout=600)  # GNU OpenMP would stop the children; they run on one thread instead
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_the_package_threads_can_be_set_and_limited_in_a_block():
    assert rn.get_num_threads() >= 1
    with rn.threads(1):
        assert rn.get_num_threads() == 1
        with pytest.raises(ValueError, match="positive integer"):
            rn.set_num_threads(0)
    rn.set_num_threads(1)
    try:
        assert rn.get_num_threads() == 1
        one = _child_gradient(0)
    finally:
        rn.set_num_threads(None)
    np.testing.assert_allclose(one, _child_gradient(0), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- fuzzed calls
WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
    st.lists(st.floats(-2, 2), max_size=4), st.sampled_from([np.zeros(0), np.ones((2, 2)), np.full(3, np.nan)]),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzzed_calls_give_a_type_or_value_error_or_the_reference_result(data):
    net = rn.Elman(2, 3, 1, seed=0)
    x = np.linspace(-1, 1, 12).reshape(3, 2, 2)
    y = np.linspace(0, 1, 6).reshape(3, 2, 1)
    kwargs = {}
    for name in data.draw(
        st.lists(
            st.sampled_from(["weights", "lengths", "h0", "horizon", "tbptt", "clip_message", "reduction", "loss"]),
            max_size=3,
            unique=True,
        )
    ):
        kwargs[name] = data.draw(WEIRD, label=name)
    args = data.draw(st.sampled_from([(x, y), (data.draw(WEIRD, label="x"), y), (x, data.draw(WEIRD, label="y"))]))
    try:
        loss, grad = net.loss_and_grad(*args, **kwargs)
    except (TypeError, ValueError):
        return
    if kwargs.get("tbptt") is None and kwargs.get("clip_message") is None:  # what the reference computes
        reference = {k: v for k, v in kwargs.items() if k not in ("tbptt", "clip_message") and v is not None}
        expected_loss, expected, _, _ = naive.gradient(net, *args, **reference)
        np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(loss, expected_loss, rtol=1e-12, atol=1e-15)
