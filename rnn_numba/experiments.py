"""Seeded sweeps: a function run over a grid of configurations times seeds, on any executor, into a store of records.

A sweep calls ``run(config, seed) -> dict of metrics`` once per
(configuration, seed) pair. Each call runs in a worker (a local process pool
by default, or any :class:`concurrent.futures.Executor`, such as a
``dask.distributed`` client's), with the package and BLAS held to
``threads_per_run`` threads, and becomes one :class:`Record`: the
configuration, the seed, the status, the metrics, the wall time, the
versions of the package, NumPy and Numba, and the traceback if it failed. A
record is written to the store (one ``.npz`` file per run, atomically) as
soon as its run ends, so a sweep that is stopped keeps what it finished, and
running it again skips the finished runs and retries the failed ones.

Why one thread per run: runs of a sweep are independent, so one per core
uses the machine fully, while a threaded kernel beside other busy processes
waits at its per-step barriers; one thread also makes a run's arithmetic, and
so its result, the same on every worker.

:func:`summarize` gives the mean over seeds with a 95% Student-t confidence
interval, and :func:`plot_bands` draws such summaries as curves with bands.
"""

import concurrent.futures
import hashlib
import itertools
import json
import multiprocessing
import os
import pickle
import platform
import socket
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np
import scipy.stats
from tqdm import tqdm

from . import _files
from ._kernels import cache as _cache
from ._threads import threads
from .train import History, Trainer

RECORD_FORMAT = "rnn_numba sweep record"
RECORD_VERSION = 1
#: Columns of :meth:`Results.frame` that a configuration key may not take.
RESERVED = ("key", "seed", "status", "wall_time", "step", "value", "error")
STATUSES = ("ok", "failed")


def _canonical(config, where):
    """``config`` as JSON text (sorted keys), or a TypeError naming what cannot be stored."""
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise TypeError(f"{where} must be a dict with string keys, got {config!r}")
    clash = sorted(set(config) & set(RESERVED))
    if clash:
        raise ValueError(f"{where} uses the reserved name(s) {clash}; rename them (reserved: {list(RESERVED)})")
    try:
        return json.dumps(config, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{where} must hold only JSON values (numbers, strings, booleans, None, lists, dicts): {err}"
        ) from None


def run_key(config, seed):
    """The name of a run in a store: a digest of its configuration and seed (16 hex digits)."""
    text = json.dumps({"config": json.loads(_canonical(config, "config")), "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def grid_configs(grid):
    """The configurations of a grid: every combination of a dict of lists, or a list of dicts as given.

    >>> grid_configs({"lr": [0.1, 0.01], "k": [5]})
    [{'lr': 0.1, 'k': 5}, {'lr': 0.01, 'k': 5}]
    """
    if isinstance(grid, dict):
        for name, values in grid.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise TypeError(f"grid[{name!r}] must be a list of values, got {values!r}")
        names = list(grid)
        configs = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    elif isinstance(grid, (list, tuple)):
        configs = [dict(c) if isinstance(c, dict) else c for c in grid]
    else:
        raise TypeError(f"grid must be a dict of lists or a list of dicts, got {type(grid).__name__}")
    if not configs:
        raise ValueError("the grid has no configurations")
    for i, config in enumerate(configs):
        _canonical(config, f"configuration {i}")
    return configs


def _seeds(seeds):
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive number of seeds or a list of seeds, got {seeds}")
        return list(range(int(seeds)))
    try:
        values = list(seeds)
    except TypeError:
        raise TypeError(f"seeds must be an int or a list of ints, got {seeds!r}") from None
    if not values or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in values):
        raise TypeError(f"seeds must be a non-empty list of ints, got {seeds!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"seeds has repeated values: {values}")
    return [int(s) for s in values]


@dataclass
class Record:
    """One run of a sweep: what went in, what came out, and where and how long.

    Attributes
    ----------
    config : dict
    seed : int
    status : {"ok", "failed"}
    scalars : dict of str to float, int, bool or str
        The run's scalar metrics.
    arrays : dict of str to ndarray
        The run's array metrics; a :class:`~rnn_numba.History` metric ``h``
        is stored as ``h.loss``, ``h.step``, ... (see :meth:`metric`).
    histories : list of str
        The names of the metrics that were a History.
    wall_time : float
        Seconds the run took in its worker.
    error : str
        The traceback if the run failed, else ``""``.
    function : str
        The run function's module and name.
    environment : dict
        Versions (rnn_numba and a digest of its sources, NumPy, Numba,
        Python), host and process id.
    """

    config: dict
    seed: int
    status: str
    scalars: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    histories: list = field(default_factory=list)
    wall_time: float = 0.0
    error: str = ""
    function: str = ""
    environment: dict = field(default_factory=dict)

    @property
    def key(self):
        """The run's name in a store (see :func:`run_key`)."""
        return run_key(self.config, self.seed)

    @property
    def ok(self):
        """Whether the run finished."""
        return self.status == "ok"

    def metric(self, name):
        """A metric as the run returned it: a scalar, an array or a :class:`~rnn_numba.History`."""
        if name in self.scalars:
            return self.scalars[name]
        if name in self.arrays:
            return self.arrays[name]
        if name in self.histories:
            prefix = name + "."
            return History.from_arrays({k[len(prefix) :]: v for k, v in self.arrays.items() if k.startswith(prefix)})
        raise KeyError(f"the run has no metric {name!r}; it has {sorted(self.scalars) + sorted(self.arrays)}")


def _split_metrics(metrics):
    """A run's returned dict as (scalars, arrays, histories); TypeError for anything that cannot be stored."""
    if not isinstance(metrics, dict) or not all(isinstance(k, str) for k in metrics):
        raise TypeError(f"a run must return a dict of metrics with string keys, got {type(metrics).__name__}")
    scalars, arrays, histories = {}, {}, []
    for name, value in metrics.items():
        if isinstance(value, History):
            histories.append(name)
            arrays.update({f"{name}.{k}": v for k, v in value.arrays().items()})
        elif isinstance(value, (bool, np.bool_, str)):
            scalars[name] = value if isinstance(value, str) else bool(value)
        elif isinstance(value, (int, float, np.integer, np.floating)):
            scalars[name] = value.item() if isinstance(value, np.generic) else value
        else:
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise TypeError(
                    f"metric {name!r} is a {type(value).__name__} of {array.dtype}; a run's metrics must be "
                    f"numbers, booleans, strings, numeric arrays or History objects"
                )
            arrays[name] = array
    return scalars, arrays, histories


def _environment():
    return {
        "rnn_numba": _cache.VERSION,
        "rnn_numba_sources": _cache.DIGEST,  # a digest of the package's sources: which code exactly ran
        "numpy": np.__version__,
        "numba": numba.__version__,
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def _function_name(run):
    return f"{getattr(run, '__module__', '?')}.{getattr(run, '__qualname__', type(run).__name__)}"


def execute(run, config, seed, threads_per_run=1):
    """Call ``run(config, seed)`` in this process and return its :class:`Record` (what a worker does).

    An exception in the run, or a result that cannot be stored, gives a
    failed record with the traceback; nothing is raised.
    """
    start = time.perf_counter()
    try:
        with threads(threads_per_run):
            metrics = run(dict(config), seed)
        scalars, arrays, histories = _split_metrics(metrics)
        status, error = "ok", ""
    except Exception:
        scalars, arrays, histories = {}, {}, []
        status, error = "failed", traceback.format_exc()
    return Record(
        dict(config), seed, status, scalars, arrays, histories, time.perf_counter() - start, error,
        _function_name(run), _environment(),
    )  # fmt: skip


class Store:
    """A folder of sweep records, one ``<key>.npz`` file per run (see :func:`run_key`), each written atomically.

    Parameters
    ----------
    path : str or Path
        Created if missing. On a cluster, a folder only the sweep's own
        process needs to reach: workers return records, the sweep writes them.
    """

    def __init__(self, path):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"the store {str(self.path)!r} is a file, not a folder")
        self.path.mkdir(parents=True, exist_ok=True)

    def __repr__(self):
        return f"Store({str(self.path)!r})"

    def file(self, key):
        """The path of run ``key``'s record."""
        return self.path / f"{key}.npz"

    def write(self, record):
        """Save ``record``, replacing an earlier record of the same run."""
        head = {name: getattr(record, name) for name in Record.__dataclass_fields__ if name != "arrays"}
        entries = {"format": RECORD_FORMAT, "version": RECORD_VERSION, "record": json.dumps(head)}
        entries.update({f"array/{name}": value for name, value in record.arrays.items()})
        _files.atomic_savez(self.file(record.key), entries)

    def read(self, key):
        """The record of run ``key``, or None if it has none."""
        path = self.file(key)
        if not path.is_file():
            return None
        entries = _files.read_npz(path, RECORD_FORMAT, RECORD_VERSION)
        head = _files.json_entry(path, entries, "record")
        if not isinstance(head, dict) or set(head) != set(Record.__dataclass_fields__) - {"arrays"}:
            raise ValueError(f"{str(path)!r} is damaged: its record entry is not a sweep record")
        arrays = {name[len("array/") :]: value for name, value in entries.items() if name.startswith("array/")}
        record = Record(arrays=arrays, **head)
        if record.key != key or record.status not in STATUSES:
            raise ValueError(f"{str(path)!r} is damaged: it holds another run's record or an unknown status")
        return record

    def records(self):
        """Every record in the store, in the order of their file names."""
        return [self.read(path.stem) for path in sorted(self.path.glob("*.npz"))]


class Results:
    """The records of a sweep, as tables.

    Attributes
    ----------
    records : list of Record
        In the sweep's order: configurations, then seeds.
    """

    def __init__(self, records):
        self.records = list(records)

    def __repr__(self):
        n_ok = sum(r.ok for r in self.records)
        return f"Results({len(self.records)} runs, {n_ok} ok, {len(self.records) - n_ok} failed)"

    def __len__(self):
        return len(self.records)

    @property
    def failed(self):
        """The failed records (their ``error`` holds the traceback)."""
        return [r for r in self.records if not r.ok]

    def frame(self):
        """One row per run: the configuration's keys, seed, status, wall_time, the scalar metrics and error.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        rows = [
            {**r.config, "seed": r.seed, "status": r.status, "wall_time": r.wall_time, **r.scalars, "error": r.error}
            for r in self.records
        ]
        return pd.DataFrame(rows)

    def curves(self, y, x=None):
        """One row per run and step of an array metric: the configuration's keys, seed, step and value.

        Parameters
        ----------
        y : str
            An array metric, e.g. ``"history.eval_loss"`` for a History
            returned as ``history``.
        x : str, optional
            An array metric of the same length giving each value's step,
            e.g. ``"history.eval_step"``; by default 0, 1, 2, ...

        Returns
        -------
        pandas.DataFrame
            Long (tidy) format, failed runs left out.
        """
        import pandas as pd

        frames = []
        for r in self.records:
            if not r.ok:
                continue
            if y not in r.arrays:
                raise KeyError(f"run {r.config} seed {r.seed} has no array metric {y!r}; it has {sorted(r.arrays)}")
            values = np.ravel(r.arrays[y])
            steps = np.arange(values.size) if x is None else np.ravel(r.arrays[x])
            if steps.size != values.size:
                raise ValueError(f"{x!r} has {steps.size} values and {y!r} {values.size}; they must match")
            frame = pd.DataFrame({"step": steps, "value": values})
            for name, value in reversed(list({**r.config, "seed": r.seed}.items())):
                frame.insert(0, name, [value] * len(frame) if isinstance(value, (list, dict)) else value)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def summarize(frame, value, by, confidence=0.95):
    """Mean over seeds with a Student-t confidence interval, per group.

    Parameters
    ----------
    frame : pandas.DataFrame
        E.g. :meth:`Results.frame` or :meth:`Results.curves`.
    value : str
        The column to summarise.
    by : list of str
        The columns that define a group (the configuration's keys, and
        ``"step"`` for a curve); every other column is averaged over.
    confidence : float

    Returns
    -------
    pandas.DataFrame
        ``by`` and ``n``, ``mean``, ``std``, ``sem``, ``ci_low``,
        ``ci_high``: mean -/+ t_{(1+confidence)/2, n-1} sem. With one seed
        the interval is NaN.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in [*by, value] if c not in frame.columns]
    if missing:
        raise KeyError(f"no column(s) {missing} in the frame; it has {list(frame.columns)}")
    groups = frame.groupby(by, sort=False, dropna=False)[value]
    out = groups.agg(n="count", mean="mean", std="std").reset_index()
    out["sem"] = out["std"] / np.sqrt(out["n"])
    with np.errstate(invalid="ignore"):
        half = scipy.stats.t.ppf((1 + confidence) / 2, out["n"] - 1) * out["sem"]
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out


def plot_bands(ax, summary, x="step", label=None, color=None, **line):
    """Draw a summary's mean as a line and its confidence interval as a band; returns the line.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    summary : pandas.DataFrame
        One group of :func:`summarize` (columns ``x``, ``mean``,
        ``ci_low``, ``ci_high``).
    x : str
    label, color, **line
        Passed to ``ax.plot``.
    """
    summary = summary.sort_values(x)
    (drawn,) = ax.plot(summary[x], summary["mean"], label=label, color=color, **line)
    ax.fill_between(summary[x], summary["ci_low"], summary["ci_high"], color=drawn.get_color(), alpha=0.2, linewidth=0)
    return drawn


OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSProp", "adagrad": "Adagrad"}
CELLS = {"elman": "Elman", "lstm": "LSTM", "gru": "GRU"}


def train_task(config, seed):
    """A ready-made run function: train a network on a task of :mod:`rnn_numba.tasks`, evaluating as it goes.

    Parameters
    ----------
    config : dict
        ``task``: a task's name (``"adding"``, ``"copy"``, ...);
        ``task_args``: its arguments besides ``n_batch`` and ``seed``
        (``{"n_steps": 50}``, ``{"delay": 10, "n_copy": 5}``);
        ``n_out``: outputs (classes, for a cross-entropy task; by default
        the target's width); ``cell`` (``"elman"``, ``"lstm"`` (default),
        ``"gru"``); ``hidden``; ``layers`` (1); ``optimizer`` (``"adam"``,
        ``"sgd"``, ``"rmsprop"``, ``"adagrad"``); ``lr``; ``batch``;
        ``updates``, or ``batches`` for a budget in training batches (the
        same data for every schedule: with TBPTT a batch makes several
        updates); ``schedule`` (``{}`` for full BPTT (default),
        ``{"tbptt": [k1, k2]}`` or ``{"horizon": K}``); ``clip_norm`` (1.0;
        None for none); ``held_out`` (sequences, 256); ``evaluations``
        (20, evenly spaced).
    seed : int
        Seeds the initial weights, the training batches and the held-out
        batch (``seed + 10**6``).

    Returns
    -------
    dict
        ``history`` (:class:`~rnn_numba.History`); ``updates``, ``time_steps``
        and ``held_out_loss``: arrays, one value per evaluation (the first at
        the initial weights) of the updates made, the training time steps
        processed (sequences times steps) and the held-out loss;
        ``final_loss`` and ``baseline`` (the task's ``<task>_baseline`` if
        it takes no other arguments than the task's, else NaN).
    """
    import inspect

    from . import model, optim, tasks

    name = config["task"]
    make = getattr(tasks, name, None)
    if name.startswith("_") or not callable(make) or "n_batch" not in inspect.signature(make).parameters:
        raise ValueError(f"config['task'] = {name!r} is not a task of rnn_numba.tasks")
    task_args = dict(config.get("task_args", {}))
    held_out = make(**task_args, n_batch=config.get("held_out", 256), seed=seed + 10**6)
    if "n_out" in config:
        n_out = config["n_out"]
    elif held_out.loss == "mse":
        n_out = held_out.target.shape[2]
    else:
        raise ValueError(f"config must give n_out (the number of classes) for the cross-entropy task {name!r}")
    make_net = getattr(model, CELLS[config.get("cell", "lstm")])
    net = make_net(held_out.x.shape[2], config["hidden"], n_out, num_layers=config.get("layers", 1), seed=seed)
    optimizer = getattr(optim, OPTIMIZERS[config.get("optimizer", "adam")])(config["lr"])
    schedule = {k: tuple(v) if isinstance(v, list) else v for k, v in config.get("schedule", {}).items()}
    trainer = Trainer(
        net, optimizer, lambda rng: make(**task_args, n_batch=config["batch"], seed=rng),
        clip_norm=config.get("clip_norm", 1.0), seed=seed, progress=False, **schedule,
    )  # fmt: skip
    n_steps = held_out.x.shape[0]
    if ("updates" in config) == ("batches" in config):
        raise ValueError("config must give the budget as either updates or batches")
    by_batches = "batches" in config
    budget = config["batches" if by_batches else "updates"]
    marks = np.unique(np.linspace(0, budget, config.get("evaluations", 20) + 1).round().astype(int))
    updates, time_steps, losses = [], [], []
    for mark in marks:
        if by_batches:
            while trainer.batches < mark:
                trainer.run(1)  # one update, and the rest of its batch's
        elif mark > trainer.step:
            trainer.run(int(mark - trainer.step))
        updates.append(trainer.step)
        time_steps.append(trainer.batches * config["batch"] * n_steps)
        losses.append(net.loss(held_out.x, held_out.target, **held_out.kwargs()))
    baseline = getattr(tasks, f"{name}_baseline", None)
    try:
        accepted = inspect.signature(baseline).parameters
        baseline = float(baseline(**{k: v for k, v in task_args.items() if k in accepted}))
    except (TypeError, ValueError):
        baseline = float("nan")
    return {
        "history": trainer.history, "updates": np.array(updates), "time_steps": np.array(time_steps),
        "held_out_loss": np.array(losses), "final_loss": float(losses[-1]), "baseline": baseline,
    }  # fmt: skip


def train_online(config, seed):
    """A ready-made run function: learn a task online, one sequence, with an estimator of rnn_numba, beside RTRL.

    The protocol of Marschall, Cho & Savin (2020, JMLR 21, arXiv:1907.02649):
    one long stream of a task, an SGD update every ``k`` steps with the
    estimator's gradient, the loss and the gradient's alignment with the
    exact one recorded as it goes. RTRL runs alongside on the same stream
    and parameters (it does not update them) and gives the exact gradient of
    the same steps: the alignment is the cosine between the two gradients
    of the parameters below the readout (the readout's is exact in all).

    Parameters
    ----------
    config : dict
        ``estimator``: ``"rtrl"``, ``"uoro"``, ``"kf_rtrl"``, ``"snap1"``,
        ``"rflo"`` or ``"tbptt"`` (TBPTT(k, ``truncation``)); ``task``
        (``"add_with_lags"``) and ``task_args`` (e.g. ``{"lags": [5, 9]}``);
        ``n_out`` (classes, 2); ``hidden``; ``alpha`` (the leaky Elman
        cell's step, 1.0: every estimator runs on that cell); ``lr``;
        ``n_steps`` of the stream; ``k`` (1); ``truncation`` (10, for
        TBPTT); ``block`` (steps per recorded value, 500); ``align`` (True).
    seed : int
        Seeds the initial weights, the stream and the estimator's draws.

    Returns
    -------
    dict
        ``steps`` (the end of each block), ``loss`` (the block's mean
        training loss), ``alignment`` (the block's mean cosine with RTRL, NaN
        without ``align``), ``final_loss`` (the last fifth's mean loss).
    """
    import inspect

    from . import estimators, tasks
    from .estimators.rtrl import Influence
    from .model import RNN
    from .stream import tbptt

    name, k = config["estimator"], config.get("k", 1)
    if name not in estimators.__all__ and name != "tbptt":
        raise ValueError(f"config['estimator'] = {name!r}: give one of {sorted([*estimators.__all__, 'tbptt'])}")
    task = getattr(tasks, config.get("task", "add_with_lags"))
    task_args = {key: tuple(v) if isinstance(v, list) else v for key, v in config.get("task_args", {}).items()}
    batch = task(config["n_steps"], 1, **task_args, seed=seed)
    net = RNN("leaky_elman", batch.x.shape[2], config["hidden"], config.get("n_out", 2), seed=seed,
              cell_options={"alpha": config.get("alpha", 1.0)})  # fmt: skip
    options = {"loss": batch.loss, "weights": batch.weights}
    if name == "tbptt":
        windows = tbptt(net, batch.x, batch.target, k, config.get("truncation", 10), **options)
    else:
        estimator = getattr(estimators, name)
        if "seed" in inspect.signature(estimator).parameters:  # UORO, KF-RTRL: their draws seeded by the run's
            options["seed"] = seed
        windows = estimator(net, batch.x, batch.target, k, **options)
    align = config.get("align", True)
    options.pop("seed", None)
    exact = estimators.rtrl(net, batch.x, batch.target, k, **options) if align else None
    below = Influence.layout(net)[1][-1]  # the parameters below the readout
    lr, block = config["lr"], config.get("block", 500)
    n_windows_max = -(-config["n_steps"] // k)
    losses, cosines = np.zeros(n_windows_max), np.full(n_windows_max, np.nan)
    n_windows = 0
    for window in windows:
        if align:
            reference = next(exact).grad[:below]
            estimate = window.grad[:below]
            norms = np.linalg.norm(estimate) * np.linalg.norm(reference)
            cosines[n_windows] = estimate @ reference / norms if norms > 0 else np.nan
        losses[n_windows] = window.loss
        n_windows += 1
        net.theta -= lr * window.grad
    # windows with no loss (the task's first steps have no label) count in no mean
    carries_loss = np.add.reduceat(batch.weights[:, 0], np.arange(0, config["n_steps"], k)) > 0
    losses = np.where(carries_loss, losses[:n_windows], np.nan)
    cosines = np.where(carries_loss, cosines[:n_windows], np.nan)
    per_block = max(1, block // k)
    n_blocks = n_windows // per_block

    def block_means(values):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a block of no loss is NaN
            return np.nanmean(values[: n_blocks * per_block].reshape(n_blocks, per_block), axis=1)

    loss_blocks = block_means(losses)
    return {
        "steps": (np.arange(1, n_blocks + 1) * per_block * k), "loss": loss_blocks,
        "alignment": block_means(cosines) if align else np.full(n_blocks, np.nan),
        "final_loss": float(np.nanmean(loss_blocks[-max(1, n_blocks // 5) :])),
    }  # fmt: skip


def _context():
    """How the default pool starts its workers: never by a plain fork.

    A forked child of a process that has run a parallel kernel hangs in GNU
    OpenMP. ``forkserver`` (POSIX) forks workers from a server process that
    has imported the package and run nothing, so a worker starts in
    milliseconds once the server is up (it stays up for the session);
    ``spawn`` elsewhere starts a fresh interpreter per worker.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["rnn_numba"])
    return context


def process_pool(workers=None):
    """The sweep's default pool: ``workers`` processes (one per core by default), never started by a plain fork.

    Start it once and pass it as ``executor`` to run many short sweeps
    without starting workers for each (a worker takes a fraction of a second
    to start and load its kernels)::

        with rn.experiments.process_pool(2) as pool:
            for grid in grids:
                rn.sweep(run, grid, seeds=5, executor=pool)

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    return concurrent.futures.ProcessPoolExecutor(workers or os.cpu_count(), mp_context=_context())


def _executor(executor, workers):
    """(executor, owned): the default process pool, a given Executor, or a dask Client's executor."""
    if executor is None:
        return process_pool(workers), True
    if workers is not None:
        raise ValueError("workers is for the default process pool; give an executor or workers, not both")
    if isinstance(executor, concurrent.futures.Executor):
        return executor, False
    if hasattr(executor, "get_executor"):  # a dask.distributed Client
        return executor.get_executor(), False
    raise TypeError(
        f"executor must be a concurrent.futures.Executor or a dask.distributed Client, got {type(executor).__name__}"
    )


def sweep(run, grid, seeds=3, *, store=None, executor=None, workers=None, threads_per_run=1, progress=None):
    """Run ``run(config, seed)`` for every configuration of a grid and every seed, in parallel.

    Parameters
    ----------
    run : callable
        ``run(config, seed) -> dict`` of metrics (numbers, booleans,
        strings, numeric arrays, :class:`~rnn_numba.History`). It must
        derive all of its randomness from ``seed`` for a run to be
        reproducible. With the default pool it must be importable by the
        workers: a function defined at the top level of a module or script
        (a dask client also ships closures).
    grid : dict of lists, or list of dicts
        The configurations: every combination of the lists, or each dict as
        given. Values must be JSON values; they name the run in the store.
    seeds : int or list of int
        ``n`` for seeds 0 .. n-1, or the seeds.
    store : str or Path or Store, optional
        A folder for the records. Runs with a record there are not run
        again unless they failed. Without a store nothing is written.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where the runs go. Default: a :func:`process_pool` of ``workers``
        processes (one per core by default), closed at the end.
    workers : int, optional
        The default pool's size.
    threads_per_run : int or None
        Threads of the package and of BLAS inside a run (None: leave them).
    progress : bool, optional
        A progress bar over runs (default: when the output is a terminal).

    Returns
    -------
    Results
        Every run's record, in the grid's order (configurations, then seeds).

    Raises
    ------
    TypeError, ValueError
        For a bad grid, seeds, store or executor, before any run starts.
        A run's own exception is never raised: its record is ``failed`` and
        holds the traceback (see :attr:`Results.failed`).

    Notes
    -----
    Each record is written as its run ends, so an interrupted sweep resumes
    where it stopped when called again with the same store. A store belongs
    to one run function: a store holding another function's records is
    refused.
    """
    if not callable(run):
        raise TypeError(f"run must be a function run(config, seed) -> dict, got {type(run).__name__}")
    configs, seeds = grid_configs(grid), _seeds(seeds)
    store = store if store is None or isinstance(store, Store) else Store(store)
    pairs = [(config, seed) for config in configs for seed in seeds]
    keys = [run_key(config, seed) for config, seed in pairs]
    records = dict.fromkeys(keys)
    if store is not None:
        for key in keys:
            record = store.read(key)
            if record is not None and record.function != _function_name(run):
                raise ValueError(
                    f"the store {str(store.path)!r} holds runs of {record.function}, not of {_function_name(run)}; "
                    "give this sweep another folder"
                )
            records[key] = record if record is not None and record.ok else None
    todo = [(key, pair) for key, pair in zip(keys, pairs, strict=True) if records[key] is None]
    if todo:
        if executor is None:
            try:
                pickle.dumps(run)
            except (pickle.PicklingError, AttributeError, TypeError) as err:
                raise TypeError(
                    f"the default process pool cannot send {_function_name(run)} to its workers ({err}); define it "
                    "at the top level of a module or script, or pass a dask Client as executor"
                ) from None
        pool, owned = _executor(executor, workers)
        disable = None if progress is None else not progress
        bar = tqdm(total=len(keys), initial=len(keys) - len(todo), unit="run", disable=disable)
        try:
            futures = {pool.submit(execute, run, config, seed, threads_per_run): key for key, (config, seed) in todo}
            for future in concurrent.futures.as_completed(futures):
                key = futures[future]
                try:
                    record = future.result()
                except Exception:  # the worker died, or the run could not be sent to it
                    config, seed = pairs[keys.index(key)]
                    error, function = traceback.format_exc(), _function_name(run)
                    record = Record(dict(config), seed, "failed", error=error, function=function)
                if store is not None:
                    store.write(record)
                records[key] = record
                bar.update()
                if not record.ok:
                    bar.set_postfix(failed=sum(r is not None and not r.ok for r in records.values()))
        finally:
            bar.close()
            if owned:
                pool.shutdown(wait=True, cancel_futures=True)
    return Results(records[key] for key in keys)


def load(store):
    """The records of a store, as :class:`Results` (every run it holds, in file order)."""
    path = store.path if isinstance(store, Store) else Path(store)
    if not path.is_dir():
        raise FileNotFoundError(f"no sweep store at {str(path)!r}")
    return Results(Store(path).records())


__all__ = [
    "sweep",
    "load",
    "summarize",
    "train_online",
    "plot_bands",
    "train_task",
    "process_pool",
    "Results",
    "Record",
    "Store",
    "run_key",
    "grid_configs",
]
