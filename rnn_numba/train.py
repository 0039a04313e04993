"""A training loop: any model, task or array data, optimiser and BPTT schedule; checkpoints that resume exactly.

One *update* is one optimiser step. With full BPTT or a fixed horizon, an
update takes one batch. With TBPTT(k1, k2) every batch is streamed window by
window (:func:`rnn_numba.tbptt`): an update after every k1 steps, the state
carried between windows, each window run with the parameters current when
it starts (Williams & Peng 1990).

Exact resume: everything that decides the next updates -- parameters,
optimiser state, the trainer's random generator (which draws every batch or
minibatch) and the counters -- is in the checkpoint, so a run resumed from a
checkpoint makes the same updates, bit for bit, as one that never stopped.
Checkpoints are written between batches (with TBPTT, a batch is several
updates) and atomically.
"""

import contextlib
import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _validate as check
from ._files import atomic_savez, entry, float_entry, integer_entry, json_entry, read_npz, text_entry
from .io import model_config
from .model import RNN, model_arrays
from .checkpointing import parse_bytes
from .optim import Optimizer, clip_grad_norm, clip_grad_value
from .schedules import check_truncation
from .stream import tbptt as tbptt_windows
from .tasks import Batch

#: Bumped whenever the checkpoint layout changes; newer checkpoints are refused. Version 2 adds the trainer's settings.
CHECKPOINT_FORMAT, CHECKPOINT_VERSION = "rnn_numba.checkpoint", 2


@dataclass
class History:
    """What a run recorded, one entry per update and one per evaluation.

    Attributes
    ----------
    step : list of int
        The update's number (1, 2, ...).
    loss : list of float
        The training loss of the update's batch (or window), before the update.
    grad_norm : list of float
        ||grad|| before clipping.
    seconds : list of float
        Wall time since the run started (carried over a resume).
    eval_step, eval_loss, eval_metric : list
        The update after which each evaluation ran, the loss on the held-out
        data, and the metric (the loss again unless a metric was given).
    """

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    eval_loss: list = field(default_factory=list)
    eval_metric: list = field(default_factory=list)

    def arrays(self):
        """Each record as a NumPy array (a dict, for saving or plotting)."""
        return {name: np.asarray(values) for name, values in self.__dict__.items()}

    def plot(self, ax=None, log=True):
        """Draw the training loss per update and the held-out loss per evaluation; returns the axes.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            A new figure's by default.
        log : bool
            A logarithmic loss axis.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ax.plot(self.step, self.loss, lw=0.8, alpha=0.6, label="training loss")
        if self.eval_step:
            ax.plot(self.eval_step, self.eval_loss, marker=".", label="held-out loss")
        ax.set(xlabel="update", ylabel="loss", yscale="log" if log else "linear")
        ax.legend(frameon=False)
        return ax

    @classmethod
    def from_arrays(cls, arrays):
        """The history whose :meth:`arrays` these are."""
        return cls(**{name: np.asarray(arrays[name]).tolist() for name in cls.__dataclass_fields__})


class Trainer:
    """Train a model by gradient descent with BPTT, full or truncated.

    Parameters
    ----------
    model : RNN
        Trained in place (``model.theta``).
    optimizer : rnn_numba.optim.Optimizer
    data : Batch or callable
        A :class:`~rnn_numba.tasks.Batch` of arrays to draw minibatches of
        sequences from, or a function ``data(rng) -> Batch`` that makes a fresh
        batch from the trainer's random generator, such as
        ``lambda rng: rn.tasks.copy(100, 20, seed=rng)``.
    batch_size : int, optional
        With a Batch of arrays: sequences per update, drawn without
        replacement at random each update; all of them by default.
    horizon : int or "adaptive", optional
        Fixed-horizon truncation (every loss term backpropagated ``horizon``
        steps); ``"adaptive"``: picked for each update's batch to bound the
        relative bias by 0.1 (see :meth:`rnn_numba.RNN.backward`).
    tbptt : (int, int), optional
        ``(k1, k2)``: online TBPTT over each batch, an update every k1 steps
        that carry a loss (a window whose loss weights are all zero has a
        zero gradient and makes no update). Padded steps of variable-length
        batches are streamed too; their loss weights are zero.
    clip_norm : float, optional
        Rescale the gradient to at most this global norm (Pascanu et al. 2013).
    clip_value : float, optional
        Clip every gradient component to [-clip_value, clip_value].
    clip_message : float, optional
        Clip the backward message at every step, inside BPTT (see
        :meth:`RNN.backward`).
    recompute : bool
        Full BPTT keeps no gate activations and recomputes them (less
        memory, more time; see :meth:`RNN.backward`).
    checkpoints : int, optional
        Full BPTT keeps at most this many states and recomputes the rest on
        the optimal binomial schedule (see :meth:`RNN.backward`; these are
        stored states inside one gradient, not the files of :meth:`run`).
    memory : int, float or str, optional
        The same as a byte budget (``"2 GB"``).
    reduction : {"mean", "sum"}
    eval_data : Batch, optional
        Held-out data, evaluated every ``eval_every`` updates and at the end.
    eval_every : int, optional
        100 by default when ``eval_data`` is given.
    metric : callable, optional
        ``metric(model, batch) -> float`` recorded at each evaluation (for
        example an accuracy); the held-out loss by default.
    seed : int or None
        Seeds the generator that draws batches; saved in checkpoints.
    progress : bool, optional
        Show a tqdm progress bar with the loss; by default only when standard
        error is a terminal.
    callbacks : sequence of callable
        Each called as ``callback(trainer, record)`` after every update, with
        ``record`` a dict of ``step``, ``loss``, ``grad_norm``; returning True
        stops the run.

    Examples
    --------
    >>> net = rn.LSTM(10, 40, 10, seed=0)                               # doctest: +SKIP
    >>> trainer = rn.Trainer(net, rn.optim.RMSProp(1e-3), lambda rng: rn.tasks.copy(100, 20, seed=rng),
    ...                      tbptt=(20, 40), clip_norm=1.0, seed=0)     # doctest: +SKIP
    >>> history = trainer.run(1000, checkpoint="copy.ckpt")            # doctest: +SKIP
    """

    def __init__(
        self,
        model,
        optimizer,
        data,
        *,
        batch_size=None,
        horizon=None,
        tbptt=None,
        clip_norm=None,
        clip_value=None,
        clip_message=None,
        recompute=False,
        checkpoints=None,
        memory=None,
        reduction="mean",
        eval_data=None,
        eval_every=None,
        metric=None,
        seed=None,
        progress=None,
        callbacks=(),
    ):
        if not isinstance(model, RNN):
            raise TypeError(f"model must be an rnn_numba RNN, got {type(model).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an rnn_numba.optim optimiser, got {type(optimizer).__name__}")
        if not (isinstance(data, Batch) or callable(data)):
            raise TypeError("data must be a tasks.Batch of arrays or a function rng -> Batch")
        self.model, self.optimizer, self.data = model, optimizer, data
        self.batch_size = None if batch_size is None else check.positive_int("batch_size", batch_size)
        if self.batch_size is not None and not isinstance(data, Batch):
            raise ValueError("batch_size draws minibatches from a Batch of arrays; a data function makes its own")
        if isinstance(data, Batch) and self.batch_size is not None and self.batch_size > data.n_batch:
            raise ValueError(f"batch_size {self.batch_size} exceeds the {data.n_batch} sequences in data")
        self.horizon, self.tbptt = check_truncation(horizon, tbptt, adaptive=True)
        self.clip_norm = None if clip_norm is None else check.positive_float("clip_norm", clip_norm)
        self.clip_value = None if clip_value is None else check.positive_float("clip_value", clip_value)
        self.clip_message = None if clip_message is None else check.positive_float("clip_message", clip_message)
        self.recompute = bool(recompute)
        self.budget = {}  # checkpoints or memory for full BPTT, checked here rather than at the first update
        if checkpoints is not None or memory is not None:
            if self.horizon is not None or self.tbptt is not None:
                raise ValueError("checkpoints and memory are for full BPTT, which a truncation does not store; drop one")
            if checkpoints is not None and memory is not None:
                raise ValueError("give checkpoints (stored states) or memory (a byte budget), not both")
            if checkpoints is not None:
                self.budget["checkpoints"] = check.positive_int("checkpoints", checkpoints)
            else:
                parse_bytes(memory)
                self.budget["memory"] = memory
        self.reduction = reduction
        if eval_data is not None and not isinstance(eval_data, Batch):
            raise TypeError("eval_data must be a tasks.Batch (fixed held-out data)")
        self.eval_data, self.metric = eval_data, metric
        self.eval_every = None
        if eval_data is not None:
            self.eval_every = check.positive_int("eval_every", 100 if eval_every is None else eval_every)
        self.progress = progress
        self.callbacks = tuple(callbacks)
        self.rng = np.random.default_rng(seed)
        self.step = 0
        self.batches = 0
        self.history = History()
        self._elapsed = 0.0  # wall time of earlier runs (and of the run a checkpoint came from)
        self._run_started = None

    # ------------------------------------------------------------------ one batch
    def _next_batch(self):
        if isinstance(self.data, Batch):
            if self.batch_size is None:
                return self.data
            return self.data.take(np.sort(self.rng.choice(self.data.n_batch, self.batch_size, replace=False)))
        batch = self.data(self.rng)
        if not isinstance(batch, Batch):
            raise TypeError(f"the data function must return a tasks.Batch, got {type(batch).__name__}")
        return batch

    def _gradients(self, batch):
        """Yield (loss, grad) for every update the batch gives, each computed at the current parameters."""
        options = {"reduction": self.reduction}
        if self.clip_message is not None:
            options["clip_message"] = self.clip_message

        # A diverging run overflows: silenced here, reported once as an error by _update.
        @contextlib.contextmanager
        def quiet():
            with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*overflowed", category=RuntimeWarning)
                yield

        if self.tbptt is None:
            with quiet():
                loss, grad = self.model.loss_and_grad(
                    batch.x, batch.target, horizon=self.horizon, recompute=self.recompute, **self.budget,
                    **batch.kwargs(), **options,
                )
            yield loss, grad
            return
        k1, k2 = self.tbptt
        windows = tbptt_windows(
            self.model, batch.x, batch.target, k1, k2, loss=batch.loss, weights=batch.weights, **options
        )
        while True:
            with quiet():
                window = next(windows, None)
            if window is None:
                return
            if batch.weights[window.loss_start : window.stop].any():
                yield window.loss, window.grad

    def _seconds(self):
        """Wall time of all runs so far, the current one included."""
        current = 0.0 if self._run_started is None else time.perf_counter() - self._run_started
        return self._elapsed + current

    def _update(self, loss, grad):
        with np.errstate(over="ignore", invalid="ignore"):
            grad_norm = float(np.linalg.norm(grad))
        if not (np.isfinite(loss) and np.isfinite(grad_norm)):
            if self.step == 0:  # no update made yet: the set-up, not the learning rate
                advice = (
                    "at the initial parameters: check the initialisation (spectral_radius, forget_bias), the scale "
                    "of the inputs and targets, or use float64"
                )
            else:
                advice = "lower the learning rate or clip (clip_norm, clip_message)"
            raise FloatingPointError(
                f"the training loss is {loss} and the gradient norm {grad_norm} at update {self.step + 1}; {advice}"
            )
        if self.clip_norm is not None:
            grad, _ = clip_grad_norm(grad, self.clip_norm)
        if self.clip_value is not None:
            grad = clip_grad_value(grad, self.clip_value)
        self.optimizer.step(self.model.theta, grad)
        self.step += 1
        record = {"step": self.step, "loss": float(loss), "grad_norm": grad_norm}
        h = self.history
        h.step.append(self.step)
        h.loss.append(record["loss"])
        h.grad_norm.append(grad_norm)
        h.seconds.append(self._seconds())
        return record

    # ------------------------------------------------------------------ evaluation
    def evaluate(self):
        """Loss (and metric) on ``eval_data`` at the current parameters, recorded in the history."""
        if self.eval_data is None:
            raise ValueError("no eval_data was given to the Trainer")
        batch = self.eval_data
        loss = self.model.loss(batch.x, batch.target, reduction=self.reduction, **batch.kwargs())
        metric = loss if self.metric is None else float(self.metric(self.model, batch))
        self.history.eval_step.append(self.step)
        self.history.eval_loss.append(loss)
        self.history.eval_metric.append(metric)
        return loss, metric

    # ------------------------------------------------------------------ the loop
    def run(
        self, n_updates: int, *, checkpoint=None, checkpoint_every: int | None = None, resume: bool = False
    ) -> History:
        """Make ``n_updates`` more updates (with TBPTT, finishing the batch under way).

        Parameters
        ----------
        n_updates : int
        checkpoint : str or Path, optional
            Where to write checkpoints: every ``checkpoint_every`` updates (at
            the end of the batch in which they fall) and at the end of the run.
        checkpoint_every : int, optional
        resume : bool
            If ``checkpoint`` exists, first restore it (:meth:`load_checkpoint`,
            which refuses a checkpoint written with other settings) and count
            ``n_updates`` from the start of the original run, so rerunning the
            same command after a crash finishes the same run. A run that has
            already made its updates is left as it is, with a RuntimeWarning.

        Returns
        -------
        History
        """
        n_updates = check.positive_int("n_updates", n_updates)
        if checkpoint_every is not None:
            checkpoint_every = check.positive_int("checkpoint_every", checkpoint_every)
            if checkpoint is None:
                raise ValueError("checkpoint_every needs a checkpoint path")
        goal = self.step + n_updates
        if resume and checkpoint is not None and Path(checkpoint).exists():
            self.load_checkpoint(checkpoint)
            goal = n_updates
            if self.step >= goal:
                warnings.warn(
                    f"the run in {str(checkpoint)!r} has made {self.step} updates, which n_updates={n_updates} asks "
                    "for: nothing to do (ask for more updates to continue it)",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return self.history
        self._run_started = time.perf_counter()
        bar = self._progress_bar(goal)
        last_saved, stop = self.step, False
        try:
            while self.step < goal and not stop:
                for loss, grad in self._gradients(self._next_batch()):
                    record = self._update(loss, grad)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{record['loss']:.4g}", refresh=False)
                    if self.eval_every and self.step % self.eval_every == 0:
                        self.evaluate()
                    stop = any(callback(self, record) for callback in self.callbacks)
                    if stop or (self.tbptt is None and self.step >= goal):
                        break
                self.batches += 1
                if checkpoint_every and self.step - last_saved >= checkpoint_every:
                    self.save_checkpoint(checkpoint)
                    last_saved = self.step
        finally:
            if bar is not None:
                bar.close()
        if self.eval_data is not None and (not self.history.eval_step or self.history.eval_step[-1] != self.step):
            self.evaluate()
        if checkpoint is not None:
            self.save_checkpoint(checkpoint)
        self._elapsed, self._run_started = self._seconds(), None
        return self.history

    def _progress_bar(self, goal):
        show = sys.stderr.isatty() if self.progress is None else bool(self.progress)
        if not show:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=goal, initial=self.step, desc="training", unit="update", dynamic_ncols=True)

    # ------------------------------------------------------------------ checkpoints
    def settings(self) -> dict:
        """The trainer's settings that decide its updates (besides the model, optimiser and data), JSON-ready."""
        return {
            "batch_size": self.batch_size,
            "horizon": self.horizon,
            "tbptt": None if self.tbptt is None else list(self.tbptt),
            "clip_norm": self.clip_norm,
            "clip_value": self.clip_value,
            "clip_message": self.clip_message,
            "recompute": self.recompute,
            "reduction": self.reduction,
            "eval_every": self.eval_every,
            "optimizer": self.optimizer.settings(),
        } | self.budget  # only when set: checkpoints written before these settings existed still match

    def save_checkpoint(self, path):
        """Write everything that decides the next updates to one file, atomically.

        The file holds the model (configuration and parameters), the
        optimiser's class, settings and state, the trainer's settings, the
        random generator's state, the counters and the history.
        """
        opt_state = self.optimizer.state_dict()
        arrays = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            **model_arrays(self.model),
            "trainer.settings": json.dumps(self.settings()),
            "optimizer.class": type(self.optimizer).__name__,
            **{f"optimizer.{k}": v for k, v in opt_state.items()},
            "rng": json.dumps(self.rng.bit_generator.state),
            "counters": np.array([self.step, self.batches], dtype=np.int64),
            "elapsed": np.float64(self._seconds()),
            **{f"history.{k}": v for k, v in self.history.arrays().items()},
        }
        atomic_savez(path, arrays)

    def load_checkpoint(self, path, *, check_settings: bool = True):
        """Restore a checkpoint written by a trainer set up like this one.

        Everything is read and checked before anything of the trainer
        changes, so a refused file leaves it as it was.

        Parameters
        ----------
        path : str or Path
        check_settings : bool
            Refuse a checkpoint written with other trainer or optimiser
            settings (say, another learning rate or truncation). Set False to
            continue a run with changed settings on purpose.

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        ValueError
            Naming the file and what is wrong: not a checkpoint, truncated or
            damaged, a newer format, a different model or optimiser, other
            settings, or entries that are not what a checkpoint holds.
        """
        arrays = read_npz(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION)
        saved = model_config(path, arrays)
        ours = self.model.config()
        if saved != ours:
            differ = sorted(k for k in ours if saved.get(k) != ours[k])
            raise ValueError(f"checkpoint {str(path)!r} is for a different model (differs in {differ})")
        saved_class = text_entry(path, arrays, "optimizer.class")
        if saved_class != type(self.optimizer).__name__:
            raise ValueError(
                f"checkpoint {str(path)!r} holds {saved_class} state; this trainer's optimiser is "
                f"{type(self.optimizer).__name__}"
            )
        if "trainer.settings" in arrays and check_settings:  # (version 1 checkpoints have none)
            written = json_entry(path, arrays, "trainer.settings")
            now = json.loads(json.dumps(self.settings()))
            if written != now:
                differ = sorted(k for k in set(now) | set(written) if written.get(k) != now.get(k))
                details = ", ".join(f"{k}: {written.get(k)!r} there, {now.get(k)!r} here" for k in differ)
                raise ValueError(
                    f"checkpoint {str(path)!r} was written with other settings ({details}); to continue it with "
                    "these, call trainer.load_checkpoint(path, check_settings=False) and then run(...) without resume"
                )
        theta = float_entry(path, arrays, "model.theta", (self.model.n_params,))
        state = {k[len("optimizer.") :]: v for k, v in arrays.items() if k.startswith("optimizer.")}
        state.pop("class")
        for name in state:
            if name != "t":
                float_entry(path, state, name, (self.model.n_params,))
        integer_entry(path, state, "t")
        rng_state = json_entry(path, arrays, "rng")
        counters = entry(path, arrays, "counters")
        if counters.shape != (2,) or counters.dtype.kind not in "iu" or counters.min() < 0:
            raise ValueError(f"checkpoint {str(path)!r} is damaged: its counters are {counters!r}")
        elapsed = entry(path, arrays, "elapsed")
        if elapsed.ndim != 0 or elapsed.dtype.kind != "f" or not np.isfinite(elapsed) or elapsed < 0:
            raise ValueError(f"checkpoint {str(path)!r} is damaged: its elapsed time is {elapsed!r}")
        history_arrays = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("history.")}
        missing = set(History.__dataclass_fields__) - set(history_arrays)
        if missing:
            raise ValueError(f"checkpoint {str(path)!r} is damaged: its history has no {sorted(missing)}")
        try:
            history = History.from_arrays(history_arrays)
            generator = np.random.default_rng()
            generator.bit_generator.state = rng_state
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"checkpoint {str(path)!r} is damaged: {err}") from None
        self.model.theta = theta
        self.optimizer.load_state_dict(state)
        self.rng.bit_generator.state = rng_state
        self.step, self.batches = (int(v) for v in counters)
        self._elapsed = float(elapsed)
        self.history = history
