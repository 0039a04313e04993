"""The examples run, at a tiny scale, so they never go stale."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_copy_lstm_tbptt_trains_and_resumes(tmp_path, capsys):
    args = ["--delay", "5", "--hidden", "8", "--updates", "12", "--k1", "5", "--k2", "10", "--lr", "1e-2"]
    checkpoint = str(tmp_path / "copy.ckpt")
    history = example("copy_lstm_tbptt").main(args + ["--checkpoint", checkpoint])
    assert history.step[-1] >= 12 and "baseline" in capsys.readouterr().out
    # Rerunning the same command finds the finished run in its checkpoint, and says so.
    with pytest.warns(RuntimeWarning, match="nothing to do"):
        again = example("copy_lstm_tbptt").main(args + ["--checkpoint", checkpoint])
    assert again.loss == history.loss


def test_compare_truncations():
    results = example("compare_truncations").main(["--steps", "10", "--hidden", "4", "--batches", "3"])
    assert set(results) == {"full BPTT", "horizon 2", "TBPTT(2, 4)"}
    assert all(np.isfinite(v) for v in results.values())


def test_check_gradient(capsys):
    reports = example("check_gradient").main(["--cell", "gru", "--steps", "5", "--layers", "1"])
    assert all(report.passed for report in reports.values())
    out = capsys.readouterr().out
    assert "unchanged: True" in out and "changes it: True" in out


def test_scipy_lbfgs_lowers_the_loss():
    start, end = example("scipy_lbfgs").main(["--steps", "8", "--sequences", "32", "--iterations", "30"])
    assert end < 0.5 * start
