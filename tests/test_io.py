"""Saving and loading models: round trips bit for bit, atomic writes, clear errors."""

import json

import numpy as np
import pytest

import rnn_numba as rn
from rnn_numba import _files, model


@pytest.mark.parametrize(
    "make",
    [
        lambda: rn.Elman(3, 5, 2, nonlinearity="relu", seed=1),
        lambda: rn.LSTM(2, 4, 3, num_layers=2, dtype=np.float32, seed=2),
        lambda: rn.GRU(2, 3, 1, bias=False, seed=3),
    ],
)
def test_round_trip_is_bit_for_bit(tmp_path, make):
    net = make()
    net.freeze("W_hh")
    net.save(tmp_path / "net.npz")
    back = rn.load(tmp_path / "net.npz")
    assert back.theta.dtype == net.theta.dtype
    np.testing.assert_array_equal(back.theta, net.theta)
    assert back.config() == net.config() and back.frozen == {"W_hh"}
    x = np.random.default_rng(0).normal(size=(4, 2, net.n_in)).astype(net.dtype)
    np.testing.assert_array_equal(back.forward(x).y, net.forward(x).y)


def test_a_failed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    rn.save(rn.Elman(1, 2, 1, seed=0), path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # a crash in the middle of writing

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        rn.save(rn.Elman(1, 2, 1, seed=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # no temporary file left


def test_newer_or_foreign_files_are_refused(tmp_path):
    net = rn.Elman(1, 2, 1, seed=0)
    newer = tmp_path / "newer.npz"
    arrays = {"format": model.MODEL_FORMAT, "version": model.MODEL_VERSION + 1, **model.model_arrays(net)}
    _files.atomic_savez(newer, arrays)
    with pytest.raises(ValueError, match="newer"):
        rn.load(newer)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, theta=net.theta)
    with pytest.raises(ValueError, match="not a rnn_numba.model file"):
        rn.load(foreign)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not an rnn_numba file"):
        rn.load(garbage)
    with pytest.raises(FileNotFoundError):
        rn.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="does not exist"):
        rn.save(net, tmp_path / "no" / "such" / "dir.npz")


def test_config_is_readable_json(tmp_path):
    rn.save(rn.GRU(2, 3, 1, seed=0), tmp_path / "g.npz")
    with np.load(tmp_path / "g.npz") as f:
        config = json.loads(str(f["model.config"]))
    assert config["cell"] == "gru" and config["n_hidden"] == 3
