"""The training loop: it learns, records, evaluates, clips, and resumes exactly from checkpoints."""

import numpy as np
import pytest

import rnn_numba as rn
from rnn_numba import tasks


def adding_data(rng):
    return tasks.adding(20, 16, seed=rng)


def make_trainer(schedule, **kwargs):
    net = rn.Elman(2, 8, 1, seed=0)
    return rn.Trainer(net, rn.optim.Adam(1e-2), adding_data, seed=5, progress=False, **schedule, **kwargs)


def test_training_lowers_the_loss_on_a_small_adding_problem():
    # Measured with this seed: held-out MSE 0.17, 0.16, 0.09, 0.06, 0.03, 0.02 every 100 updates.
    held_out = tasks.adding(10, 256, seed=99)
    net = rn.Elman(2, 16, 1, seed=0)
    data = lambda rng: tasks.adding(10, 32, seed=rng)  # noqa: E731
    trainer = rn.Trainer(net, rn.optim.Adam(1e-2), data, clip_norm=1.0, eval_data=held_out, eval_every=100, seed=5)
    start = net.loss(held_out.x, held_out.target, **held_out.kwargs())
    history = trainer.run(600)
    assert len(history.step) == 600 and history.eval_step == [100, 200, 300, 400, 500, 600]
    assert history.eval_loss[-1] < 0.25 * min(start, tasks.adding_baseline())
    assert np.all(np.isfinite(history.grad_norm)) and history.seconds == sorted(history.seconds)


@pytest.mark.parametrize(
    "schedule",
    [{}, {"horizon": 5}, {"horizon": "adaptive"}, {"tbptt": (5, 10)}, {"recompute": True}, {"checkpoints": 2}],
    ids=["full", "horizon", "adaptive", "tbptt", "recompute", "checkpoints"],
)
def test_resume_from_a_checkpoint_is_exact(tmp_path, schedule):
    straight = make_trainer(schedule, clip_norm=0.5)
    straight.run(16)
    first = make_trainer(schedule, clip_norm=0.5)
    first.run(8, checkpoint=tmp_path / "run.ckpt")
    # A new process: fresh model, optimiser and trainer, restored from the file.
    second = make_trainer(schedule, clip_norm=0.5)
    second.model.initialise(123)
    second.load_checkpoint(tmp_path / "run.ckpt")
    second.run(8)
    np.testing.assert_array_equal(second.model.theta, straight.model.theta)
    for name in ("step", "loss", "grad_norm"):
        assert getattr(second.history, name) == getattr(straight.history, name)
    for key, value in straight.optimizer.state.items():
        np.testing.assert_array_equal(second.optimizer.state[key], value)
    assert second.rng.bit_generator.state == straight.rng.bit_generator.state


def test_rerunning_after_a_crash_finishes_the_same_run(tmp_path):
    path = tmp_path / "run.ckpt"
    straight = make_trainer({})
    straight.run(12)

    def crash_at_9(trainer, record):
        if record["step"] == 9:
            raise RuntimeError("power cut")

    crashed = make_trainer({}, callbacks=[crash_at_9])
    with pytest.raises(RuntimeError, match="power cut"):
        crashed.run(12, checkpoint=path, checkpoint_every=4)  # saved after updates 4 and 8
    again = make_trainer({})
    again.run(12, checkpoint=path, resume=True)
    np.testing.assert_array_equal(again.model.theta, straight.model.theta)
    assert again.history.loss == straight.history.loss


def test_minibatches_from_arrays_and_tbptt_updates_per_window():
    data = tasks.copy(5, 32, seed=0)
    net = rn.LSTM(10, 6, 10, seed=0)
    trainer = rn.Trainer(net, rn.optim.SGD(0.1), data, batch_size=8, tbptt=(5, 10), seed=0, progress=False)
    history = trainer.run(3)
    # A batch of T = 25 steps gives 5 windows; the run finishes the batch.
    assert history.step == [1, 2, 3, 4, 5] and trainer.batches == 1


def test_callbacks_stop_and_metrics_are_recorded():
    held_out = tasks.adding(20, 64, seed=1)

    def mean_abs_error(model, batch):
        y = model.forward(batch.x).y[-1, :, 0]
        return float(np.mean(np.abs(y - batch.target[-1, :, 0])))

    seen = []
    trainer = make_trainer(
        {},
        eval_data=held_out,
        eval_every=2,
        metric=mean_abs_error,
        callbacks=[lambda t, r: seen.append(r) or r["step"] == 3],
    )
    history = trainer.run(10)
    assert [r["step"] for r in seen] == [1, 2, 3] and history.step == [1, 2, 3]
    assert history.eval_step == [2, 3] and history.eval_metric[0] != history.eval_loss[0]


def test_message_clipping_reaches_the_kernel():
    batch = tasks.adding(20, 4, seed=0)
    trainer = make_trainer({}, clip_message=1e-6)
    trainer.run(1)
    net = rn.Elman(2, 8, 1, seed=0)
    grad = net.backward(batch.x, batch.target, clip_message=1e-6, **batch.kwargs()).grad
    assert np.abs(net.layout.views(grad)["W_hh"]).max() < 1e-4


def test_a_checkpoint_for_another_model_or_optimiser_is_refused(tmp_path):
    path = tmp_path / "run.ckpt"
    make_trainer({}).run(1, checkpoint=path)
    other = rn.Trainer(rn.Elman(2, 9, 1), rn.optim.Adam(), adding_data, progress=False)
    with pytest.raises(ValueError, match="different model"):
        other.load_checkpoint(path)
    other = rn.Trainer(rn.Elman(2, 8, 1), rn.optim.SGD(0.1), adding_data, progress=False)
    with pytest.raises(ValueError, match="Adam"):
        other.load_checkpoint(path)
    with pytest.raises(ValueError, match="checkpoint"):
        rn.load(path)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(horizon=2, tbptt=(1, 2)), ValueError, "horizon or tbptt"),
        (dict(tbptt=(3, 2)), ValueError, "k1 <= k2"),
        (dict(clip_norm=0), ValueError, "clip_norm"),
        (dict(batch_size=4), ValueError, "batch_size"),
        (dict(eval_data=np.zeros(3)), TypeError, "eval_data"),
        (dict(checkpoints=0), ValueError, "checkpoints"),
        (dict(checkpoints=2, horizon=5), ValueError, "full BPTT"),
        (dict(checkpoints=2, memory="1 GB"), ValueError, "not both"),
        (dict(memory="lots"), ValueError, "2 GB"),
    ],
)
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        rn.Trainer(rn.Elman(2, 3, 1), rn.optim.SGD(0.1), adding_data, **kwargs)


def test_a_diverging_run_stops_with_a_clear_error():
    trainer = make_trainer({})
    trainer.optimizer = rn.optim.SGD(1e6)
    with pytest.raises(FloatingPointError, match="learning rate"):
        trainer.run(50)


def test_resuming_with_other_settings_is_refused_unless_asked_for(tmp_path):
    path = tmp_path / "run.ckpt"
    make_trainer({}, clip_norm=0.5).run(3, checkpoint=path)
    changed = make_trainer({}, clip_norm=2.0)
    with pytest.raises(ValueError, match="other settings.*clip_norm"):
        changed.run(6, checkpoint=path, resume=True)
    assert changed.step == 0  # a refused file changes nothing
    other_rate = make_trainer({}, clip_norm=0.5)
    other_rate.optimizer.lr = 0.5
    with pytest.raises(ValueError, match="optimizer"):
        other_rate.load_checkpoint(path)
    changed.load_checkpoint(path, check_settings=False)  # on purpose
    changed.run(3)
    assert changed.step == 6


def test_resuming_a_finished_run_says_so_and_changes_nothing(tmp_path):
    path = tmp_path / "run.ckpt"
    first = make_trainer({})
    first.run(5, checkpoint=path)
    written = path.read_bytes()
    again = make_trainer({})
    with pytest.warns(RuntimeWarning, match="has made 5 updates"):
        history = again.run(5, checkpoint=path, resume=True)
    assert history.loss == first.history.loss and path.read_bytes() == written


def test_a_version_1_checkpoint_without_settings_still_resumes(tmp_path):
    path = tmp_path / "run.ckpt"
    make_trainer({}).run(2, checkpoint=path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f if k != "trainer.settings"}
    arrays["version"] = np.int64(1)
    np.savez(path.with_suffix(".v1.npz"), **arrays)
    old = make_trainer({}, clip_norm=3.0)  # nothing to compare the settings with
    old.load_checkpoint(path.with_suffix(".v1.npz"))
    assert old.step == 2


def test_a_loss_that_is_not_finite_before_any_update_blames_the_set_up_not_the_learning_rate():
    trainer = make_trainer({})
    trainer.model.params["W_hy"][...] = 1e200
    with pytest.raises(FloatingPointError, match="initial parameters"):
        trainer.run(1)
