"""Forward + full-BPTT gradient in rnn_numba, PyTorch (CPU) and JAX, side by side, in one process.

The same work in all three: a one-layer cell (Elman tanh, LSTM or GRU) over
time-major inputs (T, B, n_in), a linear readout to one output, the mean
squared error over all T*B steps, and the gradient of every parameter; the
same weights and data. For each point the script reports the median time
over repeats (the peers timed in turns within each repeat, every order in
turn, so that they share the machine's state), the ratio to the faster
peer, the fraction of the machine's GEMM rate (NumPy's, the best measured
during the run),
and checks that the three gradients agree. PyTorch and JAX are optional: a
missing peer is reported as such.

Usage::

    python benchmarks/peers.py                 # the grid of the speed issue
    python benchmarks/peers.py --sweep         # time against T and against H (the paper's speed figure)
    python benchmarks/peers.py --quick         # a smoke run: small points, few repeats

FLOPs of forward plus backward are counted as 6 T B G H (n_in + H), G = 1, 4, 3
for Elman, LSTM, GRU (the GEMMs only; elementwise work is not counted).
"""

import argparse
import datetime
import itertools
import json
import os
import platform
import re
import subprocess
import time
from pathlib import Path

import numpy as np

import rnn_numba as rn

GATES = {"elman": 1, "lstm": 4, "gru": 3}
GRID = [(100, 1, 32, 32), (1000, 1, 64, 64), (100, 32, 32, 128), (1000, 32, 64, 128), (200, 64, 256, 512)]
QUICK_GRID = [(50, 1, 8, 16), (50, 8, 8, 32)]
RESULTS = Path(__file__).resolve().parent / "results"


def one_repeat(fn, min_time):
    """Mean wall time of ``fn()`` over as many calls as fill ``min_time`` (at most 1000)."""
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or n >= 1000:
            return elapsed / n


def median_times(fns, repeats, min_time=0.1):
    """Median wall time of each ``fns[name]()`` over ``repeats`` repeats, taken in turns.

    Each function is called once first (compilation, caches); then every
    repeat times each function once, in turn, so that all of them see the
    same state of a noisy machine and their ratios stay fair. The repeats
    take the orders of :func:`itertools.permutations` in turn, so that each
    function follows each other one equally often (over every n! repeats): a
    library's worker threads keep spinning for a while after it returns
    (measured here: rnn_numba's float32 LSTM gradient at T = 1000, B = 32
    took 10% longer right after a JAX call than after its own), and a
    rotated order still has each function follow the same one in most
    repeats.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for order, _ in zip(itertools.cycle(itertools.permutations(fns)), range(repeats)):
        for name in order:
            times[name].append(one_repeat(fns[name], min_time))
    return {name: float(np.median(t)) for name, t in times.items()}


def gemm_rate(dtype, n=2048, repeats=5, min_time=0.5):
    """FLOP/s of a NumPy n x n GEMM in ``dtype`` on this machine (median)."""
    a = np.random.default_rng(0).normal(size=(n, n)).astype(dtype)
    out = np.empty_like(a)
    seconds = median_times({"gemm": lambda: np.matmul(a, a, out=out)}, repeats, min_time)["gemm"]
    return 2 * n**3 / seconds


def problem(cell, T, B, n_in, H, dtype, seed=0):
    net = rn.RNN(cell, n_in, H, 1, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, n_in)).astype(dtype)
    y = rng.normal(size=(T, B, 1)).astype(dtype)
    return net, x, y


# --------------------------------------------------------------------------- rnn_numba
def numba_runner(net, x, y):
    def run():
        return net.loss_and_grad(x, y)

    return run, lambda: run()[1].astype(np.float64)


# --------------------------------------------------------------------------- PyTorch
def torch_runner(net, x, y):
    import torch

    module, linear = rn.to_torch(net)
    params = list(module.parameters()) + list(linear.parameters())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run():
        for p in params:
            p.grad = None
        out, _ = module(xt)
        loss = ((linear(out) - yt) ** 2).mean()
        loss.backward()
        return loss

    def grad():
        run()
        flat = np.zeros(net.n_params)
        views = net.layout.views(flat)
        H = net.n_hidden
        views["W_xh"][...] = module.weight_ih_l0.grad.double().numpy().T
        views["W_hh"][...] = module.weight_hh_l0.grad.double().numpy().T
        views["b_h"][...] = module.bias_ih_l0.grad.double().numpy()
        if "b_hn" in views:
            views["b_hn"][...] = module.bias_hh_l0.grad.double().numpy()[2 * H :]
        views["W_hy"][...] = linear.weight.grad.double().numpy().T
        views["b_y"][...] = linear.bias.grad.double().numpy()
        return flat

    return run, grad


# --------------------------------------------------------------------------- JAX
def jax_runner(net, x, y):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    cell, H = net.cell.name, net.n_hidden
    p = {k: jnp.asarray(v) for k, v in net.params.items()}

    def step(params, h_c, a_t):
        h, c = h_c
        if cell == "elman":
            h = jnp.tanh(a_t + h @ params["W_hh"])
        elif cell == "lstm":
            z = a_t + h @ params["W_hh"]
            i, f = jax.nn.sigmoid(z[:, :H]), jax.nn.sigmoid(z[:, H : 2 * H])
            g, o = jnp.tanh(z[:, 2 * H : 3 * H]), jax.nn.sigmoid(z[:, 3 * H :])
            c = f * c + i * g
            h = o * jnp.tanh(c)
        else:
            q = h @ params["W_hh"]
            r = jax.nn.sigmoid(a_t[:, :H] + q[:, :H])
            zz = jax.nn.sigmoid(a_t[:, H : 2 * H] + q[:, H : 2 * H])
            n = jnp.tanh(a_t[:, 2 * H :] + r * (q[:, 2 * H :] + params["b_hn"]))
            h = (1 - zz) * n + zz * h
        return (h, c), h

    def loss_fn(params, xs, ys):
        a = xs @ params["W_xh"] + params["b_h"]  # the input projection, one GEMM over all T*B rows
        h0 = jnp.zeros((xs.shape[1], H), dtype=xs.dtype)
        _, hs = jax.lax.scan(lambda carry, a_t: step(params, carry, a_t), (h0, h0), a)
        out = hs @ params["W_hy"] + params["b_y"]
        return jnp.mean((out - ys) ** 2)

    value_and_grad = jax.jit(jax.value_and_grad(loss_fn))
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def run():
        loss, grads = value_and_grad(p, xj, yj)
        loss.block_until_ready()
        return grads

    return run, lambda: flat_gradient(net, run())


def flat_gradient(net, grads):
    """A dict of gradients by parameter name (a peer's) as a float64 vector in ``net.theta``'s layout."""
    flat = np.zeros(net.n_params)
    views = net.layout.views(flat)
    for k in views:
        views[k][...] = np.asarray(grads[k], dtype=np.float64)
    return flat


PEERS = {"rnn_numba": numba_runner, "pytorch": torch_runner, "jax": jax_runner}


# --------------------------------------------------------------------------- RTRL (python benchmarks/peers.py --rtrl)
# The same work in all three: an Elman tanh layer, a linear readout to one output, the mean squared error over
# T B steps, and RTRL's gradient (the influence J_t = D_t J_{t-1} + M_t carried forward, dL_t/dh_t J_t summed);
# time per step = time of the T steps / T.
RTRL_GRID = [(20, B, 8, H) for H in (16, 32, 64) for B in (1, 16)]
RTRL_QUICK_GRID = [(5, 2, 3, 4)]


def numba_rtrl_runner(net, x, y):
    """rnn_numba: rn.rtrl over the sequence as one window (k = T)."""

    def run():
        return next(rn.rtrl(net, x, y, x.shape[0])).grad

    return run, lambda: run().astype(np.float64)


def numpy_rtrl_runner(net, x, y):
    """NumPy RTRL in the style of Marschall et al.'s vanilla-rtrl: one sequence at a time, W = [W_rec, W_in, b].

    Per step and sequence: a_hat = [h_{t-1}; x_t; 1], h_t = tanh(W a_hat),
    D_t = diag(phi') W_rec, M_t = a_hat^T (x) diag(phi') (np.kron), J = D_t J + M_t.
    """
    p = {k: v.astype(np.float64 if net.dtype == np.float64 else np.float32) for k, v in net.params.items()}
    n_steps, n_batch, n_in = x.shape
    H = net.n_hidden
    w = np.concatenate([p["W_hh"].T, p["W_xh"].T, p["b_h"][:, None]], axis=1)  # (H, m), m = H + n_in + 1
    w_out, b_out = p["W_hy"].T, p["b_y"]  # (n_out, H)
    scale = x.dtype.type(2 / y.size)

    def run():
        grad_w, grad_out, grad_b = np.zeros_like(w), np.zeros_like(w_out), np.zeros_like(b_out)
        for b in range(n_batch):
            h = np.zeros(H, dtype=x.dtype)
            influence = np.zeros((H, w.size), dtype=x.dtype)
            for t in range(n_steps):
                a_hat = np.concatenate([h, x[t, b], np.ones(1, dtype=x.dtype)])
                h = np.tanh(w @ a_hat)
                slope = 1 - h**2
                jacobian = slope[:, None] * w[:, :H]
                immediate = np.kron(a_hat, np.diag(slope))
                influence = jacobian @ influence + immediate
                error = scale * (w_out @ h + b_out - y[t, b])
                q = error @ w_out
                grad_w += (q @ influence).reshape(w.shape[1], H).T
                grad_out += np.outer(error, h)
                grad_b += error
        return grad_w, grad_out, grad_b

    def grad():
        grad_w, grad_out, grad_b = run()
        flat = np.zeros(net.n_params)
        views = net.layout.views(flat)
        views["W_hh"][...] = grad_w[:, :H].T
        views["W_xh"][...] = grad_w[:, H : H + n_in].T
        views["b_h"][...] = grad_w[:, -1]
        views["W_hy"][...] = grad_out.T
        views["b_y"][...] = grad_b
        return flat

    return run, grad


def jax_rtrl_runner(net, x, y):
    """JAX RTRL: jacfwd of the step for D_t and M_t, under lax.scan, vmapped over the batch, jit."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    params = {k: jnp.asarray(v) for k, v in net.params.items()}
    inner = ("W_xh", "W_hh", "b_h")
    n_steps, n_batch, _ = x.shape
    scale = 2 / y.size

    def cell(q, h, x_t):
        return jnp.tanh(x_t @ q["W_xh"] + h @ q["W_hh"] + q["b_h"])

    def sequence(params, xs, ys):
        own = {k: params[k] for k in inner}

        def step(carry, xy):
            h, influence, grads = carry
            x_t, y_t = xy
            h_new = cell(own, h, x_t)
            jacobian = jax.jacfwd(cell, argnums=1)(own, h, x_t)  # (H, H)
            immediate = jax.jacfwd(cell, argnums=0)(own, h, x_t)  # each (H, *shape)
            influence = {k: jnp.tensordot(jacobian, influence[k], 1) + immediate[k] for k in inner}
            error = scale * (h_new @ params["W_hy"] + params["b_y"] - y_t)
            q = params["W_hy"] @ error
            grads = {k: grads[k] + jnp.tensordot(q, influence[k], 1) for k in inner} | {
                "W_hy": grads["W_hy"] + jnp.outer(h_new, error),
                "b_y": grads["b_y"] + error,
            }
            return (h_new, influence, grads), None

        H = params["W_hh"].shape[0]
        zeros = {k: jnp.zeros((H, *params[k].shape), xs.dtype) for k in inner}
        grads = {k: jnp.zeros_like(v) for k, v in params.items()}
        (_, _, grads), _ = jax.lax.scan(step, (jnp.zeros(H, xs.dtype), zeros, grads), (xs, ys))
        return grads

    batch = jax.jit(
        lambda params, xs, ys: jax.tree.map(
            lambda g: g.sum(axis=0), jax.vmap(sequence, in_axes=(None, 1, 1))(params, xs, ys)
        )
    )
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def run():
        grads = batch(params, xj, yj)
        jax.block_until_ready(grads)
        return grads

    return run, lambda: flat_gradient(net, run())


RTRL_PEERS = {"rnn_numba": numba_rtrl_runner, "numpy": numpy_rtrl_runner, "jax": jax_rtrl_runner}


def rtrl_flops(record):
    """FLOPs of the D_t J products of the T steps: 2 T B P H^2, P = H (n_in + H + 1) directions."""
    r = record
    return 2 * r["T"] * r["B"] * r["H"] * (r["n_in"] + r["H"] + 1) * r["H"] ** 2


def measure_rtrl(points, dtypes, repeats, peers):
    """One record per (point, dtype): time per step of each RTRL, speed-up, GEMM fraction of the D_t J products."""
    records = []
    for dt in dtypes:
        for T, B, n_in, H in points:
            net, x, y = problem("elman", T, B, n_in, H, np.dtype(dt).type)
            runs, grads = {}, {}
            for peer in peers:
                runs[peer], grad = RTRL_PEERS[peer](net, x, y)
                grads[peer] = grad()
            time.sleep(1.0)
            rate = gemm_rate(dt, repeats=5, min_time=0)
            # the slow peers take seconds a call: one call a repeat
            times = median_times(runs, repeats, min_time=0.05)
            ref = grads["rnn_numba"]
            others = [times[p] for p in peers if p != "rnn_numba"]
            record = {
                "estimator": "rtrl", "cell": "elman", "dtype": dt, "T": T, "B": B, "n_in": n_in, "H": H,
                "seconds": times, "seconds_per_step": {p: v / T for p, v in times.items()}, "gemm_gflops": rate / 1e9,
                "speedup_vs_fastest_peer": (min(others) / times["rnn_numba"]) if others else None,
                "grad_rel_diff": {p: float(np.linalg.norm(g - ref) / np.linalg.norm(ref))
                                  for p, g in grads.items() if p != "rnn_numba"},
            }  # fmt: skip
            record["gemm_fraction_dj"] = rtrl_flops(record) / times["rnn_numba"] / rate
            records.append(record)
            print(rtrl_row(record), flush=True)
    return {"machine": machine(), "records": records}


#: The estimators timed on each cell: every one on the leaky Elman cell that it runs on, and on the LSTM
#: those of O(B P) a step (RTRL's and KF-RTRL's are for the Elman cells' sizes).
ESTIMATORS = {"leaky_elman": ("rtrl", "uoro", "kf_rtrl", "snap1", "rflo"), "lstm": ("uoro", "snap1", "eprop")}


def measure_estimators(points, dtypes, repeats):
    """Time per step of every online estimator against one forward + backward step of BPTT, same size, same process.

    On the leaky Elman cell (alpha = 0.5) and the LSTM (:data:`ESTIMATORS`);
    each over one window of T steps (k = T), BPTT the full gradient of the
    same T steps of the same network (``loss_and_grad``); per step = per
    call / T.
    """
    records = []
    for dt in dtypes:
        for T, B, n_in, H in points:
            for cell, names in ESTIMATORS.items():
                options = {"alpha": 0.5} if cell == "leaky_elman" else None
                net = rn.RNN(cell, n_in, H, 1, dtype=np.dtype(dt).type, seed=0, cell_options=options)
                _, x, y = problem("elman", T, B, n_in, H, np.dtype(dt).type)
                times = median_times(estimator_runs(net, x, y, names), repeats, min_time=0.05)
                per_step = {name: v / T for name, v in times.items()}
                record = {"cell": cell, "dtype": dt, "T": T, "B": B, "n_in": n_in, "H": H,
                          "seconds_per_step": per_step,
                          "ratio_to_bptt": {name: v / per_step["bptt"] for name, v in per_step.items()}}  # fmt: skip
                records.append(record)
                cols = [f"{cell:11s} {dt:7s} H={H:3d} B={B:3d}"] + [
                    f"{name} {1e6 * v:8.1f} us ({record['ratio_to_bptt'][name]:.1f}x)" for name, v in per_step.items()
                ]
                print(" | ".join(cols), flush=True)
    return {"machine": machine(), "records": records}


def estimator_runs(net, x, y, names):
    """BPTT's gradient and each named estimator's over one window of the whole sequence, as functions to time."""
    runs = {"bptt": lambda: net.loss_and_grad(x, y)}
    for name in names:
        runs[name] = lambda name=name: next(getattr(rn, name)(net, x, y, x.shape[0])).grad
    return runs


def estimators_markdown(results):
    """Microseconds per step of each estimator, and its ratio to a step of BPTT, as a Markdown table."""
    names = ["bptt"] + list(dict.fromkeys(n for names in ESTIMATORS.values() for n in names))
    lines = [
        "| cell | dtype | H | B | " + " | ".join(names) + " |",
        "| --- | --- | --- | --- |" + " --- |" * len(names),
    ]
    for r in results["records"]:
        t, q = r["seconds_per_step"], r["ratio_to_bptt"]
        cells = [f"{1e6 * t[n]:.3g} ({q[n]:.1f}x)" if n in t else "-" for n in names]
        lines.append(
            f"| {r.get('cell', 'leaky_elman')} | {r['dtype']} | {r['H']} | {r['B']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def rtrl_row(r):
    cols = [f"rtrl {r['dtype']:7s} T={r['T']:3d} B={r['B']:3d} n_in={r['n_in']} H={r['H']:3d}"]
    cols += [f"{p} {1e6 * v:10.1f} us/step" for p, v in r["seconds_per_step"].items()]
    if r["speedup_vs_fastest_peer"] is not None:
        cols.append(f"x{r['speedup_vs_fastest_peer']:.1f} vs fastest peer")
    cols.append(f"D J at {100 * r['gemm_fraction_dj']:.0f}% of GEMM ({r['gemm_gflops']:.0f} GFLOP/s)")
    cols += [f"|dg|/|g| {p} {v:.1e}" for p, v in r["grad_rel_diff"].items()]
    return " | ".join(cols)


def rtrl_markdown(results):
    """The RTRL results as a Markdown table: microseconds per step, speed-up, GEMM fraction of the D_t J products."""
    lines = [
        "| dtype | H | B | rnn_numba us/step | NumPy us/step | JAX us/step | x faster peer | D_t J % of GEMM |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["records"]:
        t = r["seconds_per_step"]
        fmt = [f"{1e6 * t[p]:.3g}" if p in t else "-" for p in ("rnn_numba", "numpy", "jax")]
        speedup = r["speedup_vs_fastest_peer"]
        lines.append(
            f"| {r['dtype']} | {r['H']} | {r['B']} | " + " | ".join(fmt)
            + f" | {speedup:.1f} | {100 * r['gemm_fraction_dj']:.0f}% |"
        )  # fmt: skip
    return "\n".join(lines)


def available_peers():
    found = ["rnn_numba"]
    for name, module in (("pytorch", "torch"), ("jax", "jax")):
        try:
            __import__(module)
            found.append(name)
        except ImportError:
            print(f"# {name} is not installed: skipped (pip install -e '.[peers]')")
    return found


def measure(points, cells, dtypes, repeats, peers):
    """One record per (point, cell, dtype): medians, ratios, FLOP fraction, gradient agreement.

    The GEMM rate is measured at the start and again right before each point
    (:func:`gemm_rate`, median of 5 calls, after a pause so that other
    libraries' threads are idle); FLOP fractions are against the best of
    them (:func:`set_gemm_fractions`).
    """
    rates = {dt: gemm_rate(dt) for dt in dtypes}
    records = []
    for dt in dtypes:
        print(f"# NumPy GEMM rate at the start, {dt}: {rates[dt] / 1e9:.1f} GFLOP/s")
    for cell in cells:
        for dt in dtypes:
            for T, B, n_in, H in points:
                net, x, y = problem(cell, T, B, n_in, H, np.dtype(dt).type)
                runs, grads = {}, {}
                for peer in peers:
                    runs[peer], grad = PEERS[peer](net, x, y)
                    grads[peer] = grad()
                # After a pause: right after a JAX call, a float64 GEMM here ran at 43-50 GFLOP/s, 1 s later at 59-68.
                time.sleep(1.0)
                rate = gemm_rate(dt, repeats=5, min_time=0)
                times = median_times(runs, repeats)
                ref = grads["rnn_numba"]
                agree = {
                    peer: float(np.linalg.norm(g - ref) / max(np.linalg.norm(ref), 1e-300))
                    for peer, g in grads.items()
                    if peer != "rnn_numba"
                }
                others = [times[p] for p in peers if p != "rnn_numba"]
                record = {
                    "cell": cell, "dtype": dt, "T": T, "B": B, "n_in": n_in, "H": H,
                    "seconds": times, "gemm_gflops": rate / 1e9,
                    "speedup_vs_fastest_peer": (min(others) / times["rnn_numba"]) if others else None,
                    "grad_rel_diff": agree,
                }  # fmt: skip
                records.append(record)
                print(row(record), flush=True)
    start = {dt: r / 1e9 for dt, r in rates.items()}
    return set_gemm_fractions({"machine": machine(), "gemm_gflops_start": start, "records": records})


def flops(record):
    """FLOPs of forward plus backward: 6 T B G H (n_in + H)."""
    r = record
    return 6 * r["T"] * r["B"] * GATES[r["cell"]] * r["H"] * (r["n_in"] + r["H"])


def set_gemm_fractions(results):
    """Set each record's ``gemm_fraction`` against the best GEMM rate of its dtype measured in the run.

    The reference, ``results["gemm_gflops"]``, is the fastest of the rates
    measured at the start and next to each point: on this machine the rate
    moved by up to 1.5x within one run, and a slow moment's rate would
    flatter the points measured then (one reached 106% of it).
    """
    best = dict(results["gemm_gflops_start"])
    for r in results["records"]:
        best[r["dtype"]] = max(best[r["dtype"]], r["gemm_gflops"])
    for r in results["records"]:
        r["gemm_fraction"] = {p: flops(r) / t / (best[r["dtype"]] * 1e9) for p, t in r["seconds"].items()}
    results["gemm_gflops"] = best
    return results


def row(r):
    t = r["seconds"]
    cols = [f"{r['cell']:5s} {r['dtype']:7s} T={r['T']:5d} B={r['B']:3d} n_in={r['n_in']:3d} H={r['H']:3d}"]
    cols += [f"{p} {1e3 * v:9.3f} ms ({flops(r) / v / 1e9:6.1f} GFLOP/s)" for p, v in t.items()]
    cols.append(f"GEMM {r['gemm_gflops']:.0f} GFLOP/s")
    if r["speedup_vs_fastest_peer"] is not None:
        cols.append(f"x{r['speedup_vs_fastest_peer']:.2f} vs fastest peer")
    cols += [f"|dg|/|g| {p} {v:.1e}" for p, v in r["grad_rel_diff"].items()]
    return " | ".join(cols)


def markdown(results):
    """The results as a Markdown table: medians in ms, speed-up over the faster peer, GEMM fraction and rate."""
    lines = [
        "| cell | dtype | T | B | n_in | H | rnn_numba ms | PyTorch ms | JAX ms | x faster peer | rnn_numba % GEMM"
        " | GEMM GFLOP/s at the point |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["records"]:
        t = r["seconds"]
        fmt = [f"{1e3 * t[p]:.3g}" if p in t else "-" for p in ("rnn_numba", "pytorch", "jax")]
        speedup = r["speedup_vs_fastest_peer"]
        lines.append(
            f"| {r['cell']} | {r['dtype']} | {r['T']} | {r['B']} | {r['n_in']} | {r['H']} | "
            + " | ".join(fmt)
            + f" | {speedup:.2f} | {100 * r['gemm_fraction']['rnn_numba']:.0f}% | {r['gemm_gflops']:.0f} |"
        )
    return "\n".join(lines)


def machine():
    """The machine and software of a run, with its date, the commit of the code and the CPU's vector width."""
    import llvmlite.binding
    import numba

    info = {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}  # fmt: skip
    info["date"] = datetime.date.today().isoformat()
    info["avx512"] = bool(llvmlite.binding.get_host_cpu_features().get("avx512f", False))
    info["commit"] = _commit()
    for name in ("torch", "jax"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            pass
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def _commit():
    """The commit of the working tree (with "+changes" if it differs from it), or None outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "rnn_numba"], cwd=root, capture_output=True, text=True)
    except OSError:
        return None
    if head.returncode:
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def results_path(kind, info):
    """``benchmarks/results/peers_<kind>_<date>_<machine>[_<n>].json``, the first name not taken.

    Result files are named by date and machine (``amd-epyc-avx512``, ``intel-xeon-avx512``, ...): the
    commit is inside, under ``machine``.
    """
    words = re.findall(r"[a-z]+", re.sub(r"\(r\)|\(tm\)|processor|cpu|\bcore\b", "", info["cpu"].lower()))
    name = "-".join(words[:2] + ["avx512" if info.get("avx512") else "avx2"])
    base = RESULTS / f"peers_{kind}_{info['date']}_{name}"
    for n in itertools.count(1):
        path = Path(f"{base}_{n}.json")
        if not path.exists():
            return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small points, 3 repeats (a smoke run)")
    parser.add_argument("--sweep", action="store_true", help="time against T and against H (the paper's figure)")
    parser.add_argument("--rtrl", action="store_true", help="RTRL against a NumPy and a JAX RTRL (Elman)")
    parser.add_argument("--estimators", action="store_true", help="each online estimator against a step of BPTT")
    parser.add_argument("--cells", nargs="+", default=list(GATES), choices=list(GATES))
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the JSON results here")
    parser.add_argument("--save", action="store_true", help="write them to benchmarks/results/, by date and machine")
    parser.add_argument("--table", type=Path, help="print the Markdown table of a results JSON and exit")
    args = parser.parse_args()
    if args.table:
        results = json.loads(args.table.read_text())
        first = results["records"][0]
        table = estimators_markdown if "ratio_to_bptt" in first else rtrl_markdown if "estimator" in first else markdown
        print(table(results))
        return
    if args.estimators:
        results = measure_estimators(RTRL_QUICK_GRID if args.quick else RTRL_GRID, args.dtypes,
                                     3 if args.quick else args.repeats)  # fmt: skip
        out = results_path("estimators", results["machine"]) if args.save else args.out
        if out:
            out.write_text(json.dumps(results, indent=1))
            print(f"# wrote {out}")
        return
    peers = available_peers()
    if args.rtrl:
        peers = ["rnn_numba", "numpy"] + [p for p in peers if p == "jax"]  # PyTorch has no RTRL
        points = RTRL_QUICK_GRID if args.quick else RTRL_GRID
        results = measure_rtrl(points, args.dtypes, 3 if args.quick else args.repeats, peers)
        out = results_path("rtrl", results["machine"]) if args.save else args.out
        if out:
            out.write_text(json.dumps(results, indent=1))
            print(f"# wrote {out}")
        return
    if args.sweep:
        points = [(T, 32, 64, 128) for T in (100, 300, 1000, 3000, 10000)]
        points += [(200, 32, 64, H) for H in (32, 64, 256, 512)]
    else:
        points = QUICK_GRID if args.quick else GRID
    repeats = 3 if args.quick else args.repeats
    results = measure(points, args.cells, args.dtypes, repeats, peers)
    out = results_path("sweep" if args.sweep else "grid", results["machine"]) if args.save else args.out
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        print(f"# wrote {out}")


if __name__ == "__main__":
    main()
