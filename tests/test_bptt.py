"""Full BPTT and both truncations: finite differences, references, identities."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import rnn_numba as rn
from rnn_numba.testing import problems

from . import naive
from .threads import numba_threads

f64_problems = problems(dtypes=[np.float64])


def avoid_relu_kinks(problem):
    """Finite differences of relu are wrong within eps of a kink: skip such draws."""
    if problem.model.nonlinearity == "relu":
        opts = problem.options
        z = naive.preactivations(problem.model, problem.x, opts["h0"], opts["lengths"], opts["c0"])
        assume(np.min(np.abs(z)) > 1e-2)


def take_sequence(state, b):
    """Sequence b of a (B, H) or (L, B, H) state, keeping the batch axis."""
    return None if state is None else state[..., b : b + 1, :]


def max_rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


@given(f64_problems)
def test_full_bptt_matches_finite_differences(problem):
    avoid_relu_kinks(problem)
    report = rn.check_grad(problem.model, problem.x, problem.target, **problem.options)
    assert report.passed, report


@given(f64_problems, st.data())
def test_truncated_gradients_match_finite_differences_of_their_objective(problem, data):
    avoid_relu_kinks(problem)
    T = problem.x.shape[0]
    k1 = data.draw(st.integers(1, T), label="k1")
    k2 = data.draw(st.integers(k1, T + 1), label="k2")
    horizon = data.draw(st.integers(1, T + 1), label="horizon")
    for schedule in (dict(tbptt=(k1, k2)), dict(horizon=horizon)):
        report = rn.check_grad(problem.model, problem.x, problem.target, **problem.options, **schedule)
        assert report.passed, (schedule, report)


@given(f64_problems)
def test_full_bptt_matches_naive_reference(problem):
    net, opts = problem.model, problem.options
    result = net.backward(problem.x, problem.target, **opts)
    loss, grad, dh0, dc0 = naive.gradient(net, problem.x, problem.target, **opts)
    np.testing.assert_allclose(result.loss, loss, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result.grad, grad, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(np.reshape(result.dh0, dh0.shape), dh0, rtol=1e-10, atol=1e-13)
    if net.cell.has_cell_state:
        np.testing.assert_allclose(np.reshape(result.dc0, dc0.shape), dc0, rtol=1e-10, atol=1e-13)
    else:
        assert result.dc0 is None


@given(f64_problems, st.data())
def test_fixed_horizon_matches_naive_reference(problem, data):
    horizon = data.draw(st.integers(1, problem.x.shape[0]), label="horizon")
    net, opts = problem.model, problem.options
    result = net.backward(problem.x, problem.target, horizon=horizon, **opts)
    _, grad, dh0, dc0 = naive.gradient(net, problem.x, problem.target, horizon=horizon, **opts)
    np.testing.assert_allclose(result.grad, grad, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(np.reshape(result.dh0, dh0.shape), dh0, rtol=1e-10, atol=1e-13)
    if net.cell.has_cell_state:
        np.testing.assert_allclose(np.reshape(result.dc0, dc0.shape), dc0, rtol=1e-10, atol=1e-13)


@given(problems(dtypes=[np.float64], variable_lengths=False, initial_state=False), st.data())
def test_tbptt_sum_matches_naive_windows(problem, data):
    T = problem.x.shape[0]
    k1 = data.draw(st.integers(1, T), label="k1")
    k2 = data.draw(st.integers(k1, T + 2), label="k2")
    opts = dict(problem.options, reduction="sum")
    windows = naive.tbptt_windows(
        problem.model, problem.x, problem.target, k1, k2, loss=opts["loss"], weights=opts["weights"], reduction="sum"
    )
    result = problem.model.backward(problem.x, problem.target, tbptt=(k1, k2), **opts)
    np.testing.assert_allclose(result.grad, sum(w[3] for w in windows), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(result.loss, sum(w[2] for w in windows), rtol=1e-12)


@given(f64_problems, st.integers(0, 3))
def test_long_truncations_reproduce_full_bptt(problem, extra):
    T = problem.x.shape[0]
    full = problem.model.backward(problem.x, problem.target, **problem.options)
    for schedule in (dict(horizon=T + extra), dict(tbptt=(T, T + extra)), dict(tbptt=(T + extra, T + extra))):
        truncated = problem.model.backward(problem.x, problem.target, **problem.options, **schedule)
        np.testing.assert_allclose(truncated.grad, full.grad, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(truncated.dh0, full.dh0, rtol=1e-12, atol=1e-15)
        if full.dc0 is not None:
            np.testing.assert_allclose(truncated.dc0, full.dc0, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_short_truncation_differs_from_full_bptt(cell, num_layers):
    # The property above could pass with a schedule that ignores its argument.
    net = rn.RNN(cell, 2, 6, 1, num_layers=num_layers, seed=3, recurrent_init="orthogonal")
    x = np.random.default_rng(0).normal(size=(12, 2, 2))
    y = np.random.default_rng(1).normal(size=(12, 2, 1))
    full = net.loss_and_grad(x, y)[1]
    for schedule in (dict(horizon=2), dict(tbptt=(3, 3)), dict(tbptt=(1, 4))):
        assert max_rel(net.loss_and_grad(x, y, **schedule)[1], full) > 1e-3


@given(problems(dtypes=[np.float64]))
def test_float32_matches_float64(problem):
    net64 = problem.model
    net32 = net64.astype(np.float32)
    g64 = net64.backward(problem.x, problem.target, **problem.options)
    g32 = net32.backward(problem.x.astype(np.float32), problem.target, **problem.options)
    assert g32.grad.dtype == np.float32 and g32.y.dtype == np.float32
    # Stated tolerance: float32 round-off over <= 6 steps, relative to the gradient's scale.
    scale = max(np.max(np.abs(g64.grad)), 1.0)
    assert np.max(np.abs(g32.grad - g64.grad)) <= 1e-4 * scale
    assert abs(g32.loss - g64.loss) <= 1e-5 * max(abs(g64.loss), 1.0)


@given(problems(dtypes=[np.float64]))
def test_batch_gradient_is_sum_of_sequence_gradients(problem):
    opts = dict(problem.options, reduction="sum")
    whole = problem.model.backward(problem.x, problem.target, **opts)
    parts = []
    for b in range(problem.x.shape[1]):
        one = {k: take_sequence(opts[k], b) for k in ("h0", "c0")}
        one["lengths"] = None if opts["lengths"] is None else opts["lengths"][b : b + 1]
        w = None if opts["weights"] is None else opts["weights"][:, b : b + 1]
        parts.append(
            problem.model.backward(
                problem.x[:, b : b + 1],
                problem.target[:, b : b + 1],
                loss=opts["loss"],
                reduction="sum",
                weights=w,
                **one,
            )
        )
    np.testing.assert_allclose(whole.grad, sum(p.grad for p in parts), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(whole.loss, sum(p.loss for p in parts), rtol=1e-12, atol=1e-14)


@given(problems(dtypes=[np.float64], loss_weights=False), st.data())
def test_zero_weight_removes_exactly_that_term(problem, data):
    T, B = problem.x.shape[:2]
    t, b = data.draw(st.integers(0, T - 1), label="t"), data.draw(st.integers(0, B - 1), label="b")
    opts = dict(problem.options, reduction="sum")
    w_all = np.ones((T, B))
    w_without, w_only = w_all.copy(), np.zeros((T, B))
    w_without[t, b], w_only[t, b] = 0, 1
    all_, without, only = (
        problem.model.backward(problem.x, problem.target, **dict(opts, weights=w)) for w in (w_all, w_without, w_only)
    )
    np.testing.assert_allclose(without.grad, all_.grad - only.grad, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(without.loss, all_.loss - only.loss, rtol=1e-9, atol=1e-12)


@given(problems(dtypes=[np.float64], variable_lengths=False), st.data())
def test_padding_changes_nothing(problem, data):
    T, B = problem.x.shape[:2]
    pad = data.draw(st.integers(1, 3), label="pad")
    rng = np.random.default_rng(data.draw(st.integers(0, 1000), label="garbage seed"))
    x = np.concatenate([problem.x, rng.normal(size=(pad, B, problem.x.shape[2]))])
    tail = problem.target[:1].repeat(pad, axis=0)
    target = np.concatenate([problem.target, tail])
    opts = dict(problem.options)
    if opts["weights"] is not None:
        opts["weights"] = np.concatenate([opts["weights"], rng.uniform(size=(pad, B))])
    opts["lengths"] = np.full(B, T)
    padded = problem.model.backward(x, target, **opts)
    plain = problem.model.backward(problem.x, problem.target, **problem.options)
    np.testing.assert_allclose(padded.grad, plain.grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(padded.loss, plain.loss, rtol=1e-12)
    np.testing.assert_allclose(padded.h_final, plain.h_final, rtol=1e-13, atol=1e-16)  # GEMM blocking may differ


@given(problems(dtypes=[np.float64], loss_weights=False), st.data())
def test_dh0_chains_segments(problem, data):
    """Full BPTT over [0, T) = BPTT over [m, T) from the state at m, then a VJP over [0, m)."""
    net, x, target, opts = problem.model, problem.x, problem.target, problem.options
    T = x.shape[0]
    assume(T >= 2)
    m = data.draw(st.integers(1, T - 1), label="m")
    lengths = opts["lengths"]
    head_len = None if lengths is None else np.clip(lengths, 1, m)
    tail_len = None if lengths is None else np.clip(lengths - m, 1, T - m)
    # Sequences that end before m get all-zero tail weights, so their tail adds nothing.
    tail_w = np.ones((T - m, x.shape[1])) if lengths is None else (np.arange(m, T)[:, None] < lengths[None, :]) * 1.0
    sums = dict(loss=opts["loss"], reduction="sum")
    full = net.backward(x, target, **dict(opts, reduction="sum"))
    head = net.forward(x[:m], opts["h0"], head_len, c0=opts["c0"])
    tail = net.backward(x[m:], target[m:], weights=tail_w, lengths=tail_len, h0=head.h_final, c0=head.c_final, **sums)
    head_loss = net.backward(x[:m], target[:m], lengths=head_len, h0=opts["h0"], c0=opts["c0"], **sums)
    back = net.vjp(x[:m], dh_final=tail.dh0, dc_final=tail.dc0, h0=opts["h0"], c0=opts["c0"], lengths=head_len)
    np.testing.assert_allclose(tail.grad + head_loss.grad + back.grad, full.grad, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(head_loss.dh0 + back.dh0, full.dh0, rtol=1e-10, atol=1e-13)
    if net.cell.has_cell_state:
        np.testing.assert_allclose(head_loss.dc0 + back.dc0, full.dc0, rtol=1e-10, atol=1e-13)


@given(problems(dtypes=[np.float64], loss_weights=False))
def test_vjp_matches_finite_differences_of_a_state_loss(problem):
    net, x, opts = problem.model, problem.x, problem.options
    avoid_relu_kinks(problem)
    c = np.random.default_rng(0).normal(size=(x.shape[0], x.shape[1], net.n_hidden))
    states = dict(h0=opts["h0"], c0=opts["c0"], lengths=opts["lengths"])
    grad = net.vjp(x, c, **states).grad

    def state_loss(theta):
        return np.sum(c * net.forward(x, theta=theta, **states).h[1:])

    fd = rn.central_differences(state_loss, net.theta.copy(), np.arange(net.n_params), 1e-4)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


@given(problems(dtypes=[np.float64], variable_lengths=False, max_layers=1))
def test_gradient_norms_are_norms_of_state_gradients(problem):
    net, x, target, opts = problem.model, problem.x, problem.target, problem.options
    result = net.backward(x, target, **opts, grad_norms=True)
    w = naive.effective_weights(opts["weights"], None, *x.shape[:2], opts["reduction"])
    T = x.shape[0]
    # dL/dh_t = (the readout's own term at h_t) + dL/dh_0 of the suffix run from h_t.
    _, dy = rn.losses.loss_and_dy(opts["loss"], result.y, target, w, "sum")
    direct = np.concatenate([np.zeros((1,) + result.dh0.shape), dy @ net.params["W_hy"].T])
    for t in range(T + 1):
        later = 0
        if t < T:
            c_t = None if result.trajectory.c is None else result.trajectory.c[t]
            later = net.backward(
                x[t:], target[t:], loss=opts["loss"], weights=w[t:], reduction="sum", h0=result.h[t], c0=c_t
            ).dh0
        expected = np.linalg.norm(direct[t] + later, axis=1)
        np.testing.assert_allclose(result.dh_norms[t], expected, rtol=1e-10, atol=1e-13)


def test_frozen_blocks_get_zero_gradient_and_others_do_not_change():
    net = rn.Elman(3, 5, 2, seed=1)
    x = np.random.default_rng(0).normal(size=(6, 2, 3))
    y = np.random.default_rng(1).normal(size=(6, 2, 2))
    free = net.loss_and_grad(x, y)[1]
    net.freeze("W_hh", "b_h")
    frozen = net.loss_and_grad(x, y)[1]
    for name, sl in net.layout.slices.items():
        if name in ("W_hh", "b_h"):
            assert np.all(frozen[sl] == 0) and np.any(free[sl] != 0)
        else:
            np.testing.assert_array_equal(frozen[sl], free[sl])
    assert rn.check_grad(net, x, y).skipped == ["W_hh", "b_h"]
    net.unfreeze()
    np.testing.assert_array_equal(net.loss_and_grad(x, y)[1], free)


@pytest.mark.parametrize(
    "cell, nonlinearity",
    [("elman", "tanh"), ("elman", "relu"), ("elman", "identity"), ("lstm", "tanh"), ("gru", "tanh")],
)
def test_float32_stays_float32(cell, nonlinearity):
    net = rn.RNN(cell, 2, 4, 3, num_layers=2, nonlinearity=nonlinearity, dtype=np.float32, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 2, 2)).astype(np.float32)
    out = net.forward(x)
    g = net.backward(x, np.zeros((5, 2), dtype=int), loss="cross_entropy", grad_norms=True)
    assert out.h.dtype == out.y.dtype == g.grad.dtype == g.dh0.dtype == g.dh_norms.dtype == np.float32
    if cell == "lstm":
        assert out.c.dtype == g.dc0.dtype == np.float32


one_layer_problems = problems(
    dtypes=[np.float64], max_layers=1, variable_lengths=False, loss_weights=False, initial_state=False
)


@given(one_layer_problems, st.floats(1e-3, 1.0))
def test_clipped_message_matches_naive_reference(problem, clip):
    net, opts = problem.model, problem.options
    result = net.backward(problem.x, problem.target, loss=opts["loss"], reduction=opts["reduction"], clip_message=clip)
    expected = naive.clipped_gradient(net, problem.x, problem.target, clip, opts["loss"], opts["reduction"])
    np.testing.assert_allclose(result.grad, expected, rtol=1e-10, atol=1e-13)


@given(f64_problems)
def test_inactive_message_clipping_is_the_gradient(problem):
    # Deltas of these small, bounded problems stay far below 1e3: the clipped
    # gradient must be exactly BPTT's, and BPTT's passes the finite-difference check.
    avoid_relu_kinks(problem)
    net, opts = problem.model, problem.options
    clipped = net.backward(problem.x, problem.target, clip_message=1e3, **opts)
    np.testing.assert_array_equal(clipped.grad, net.backward(problem.x, problem.target, **opts).grad)
    report = rn.check_grad(net, problem.x, problem.target, **opts)
    assert report.passed, report


def test_active_message_clipping_bounds_the_recurrent_gradient():
    # An exploding linear RNN: with every delta clipped to c, each W_hh entry's
    # gradient is a sum of T*B terms h_{t-1,i} * delta_{t,j}, so at most c * sum |h|.
    net = rn.Elman(2, 4, 1, nonlinearity="identity", spectral_radius=1.5, seed=1)
    x = np.random.default_rng(0).normal(size=(30, 2, 2))
    y = np.zeros((30, 2, 1))
    free = net.backward(x, y, reduction="sum")
    clipped = net.backward(x, y, reduction="sum", clip_message=0.01)
    bound = 0.01 * np.abs(free.trajectory.h[:-1]).sum()
    assert np.abs(free.grad).max() > 100 * bound
    assert np.abs(net.layout.views(clipped.grad)["W_hh"]).max() <= bound


@pytest.mark.parametrize("clip", [0, -1.0, np.inf, np.nan])
def test_message_clip_must_be_positive(clip):
    net = rn.Elman(1, 2, 1, seed=0)
    with pytest.raises(ValueError, match="clip_message"):
        net.backward(np.zeros((3, 1, 1)), np.zeros((3, 1, 1)), clip_message=clip)


@given(f64_problems, st.data())
def test_blocks_of_any_size_give_the_same_full_bptt(problem, data):
    # Full BPTT runs in blocks of time steps (forward and backward), with the
    # gates kept or recomputed; neither the block size nor recomputing may
    # change anything but round-off, including lengths, dh0 and norms.
    net, opts = problem.model, problem.options
    whole = net.backward(problem.x, problem.target, grad_norms=True, **opts)
    size = data.draw(st.integers(1, problem.x.shape[0]), label="block")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rn.unroll, "block_steps", lambda *args, **kwargs: size)
        mp.setattr(rn.bptt, "block_steps", lambda *args, **kwargs: size)
        blocked = net.backward(problem.x, problem.target, grad_norms=True, **opts)
        recomputed = net.backward(problem.x, problem.target, grad_norms=True, recompute=True, **opts)
    np.testing.assert_allclose(recomputed.grad, whole.grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(blocked.grad, whole.grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(blocked.dh0, whole.dh0, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(blocked.dh_norms, whole.dh_norms, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(blocked.h, whole.h, rtol=1e-13, atol=1e-15)  # GEMMs of other sizes round differently


def test_long_sequences_in_many_blocks_match_the_segment_driver():
    # T = 100 and B = 64 make blocks of 32 steps; horizon = T runs the same
    # gradient through the other driver (one segment per loss term).
    rng = np.random.default_rng(0)
    for cell in ("elman", "lstm", "gru"):
        net = rn.RNN(cell, 3, 5, 2, num_layers=2, seed=1)
        x, y = rng.normal(size=(100, 64, 3)), rng.normal(size=(100, 64, 2))
        lengths = rng.integers(1, 101, size=64)
        full = net.backward(x, y, lengths=lengths)
        other = net.backward(x, y, lengths=lengths, horizon=100)
        recomputed = net.backward(x, y, lengths=lengths, recompute=True)
        np.testing.assert_allclose(full.grad, other.grad, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(recomputed.grad, full.grad, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(full.dh0, other.dh0, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_truncations_skip_segments_without_loss_exactly(cell):
    # Segments that carry no loss gradient are skipped: with one loss term per
    # sequence (the adding problem's layout) and with none at all.
    net = rn.RNN(cell, 2, 3, 1, num_layers=2, seed=0)
    x = np.random.default_rng(1).normal(size=(12, 2, 2))
    y = np.random.default_rng(2).normal(size=(12, 2, 1))
    last_only = np.zeros((12, 2))
    last_only[-1] = 1.0
    for horizon in (1, 4):
        result = net.backward(x, y, weights=last_only, horizon=horizon)
        _, expected, _, _ = naive.gradient(net, x, y, weights=last_only, horizon=horizon)
        np.testing.assert_allclose(result.grad, expected, rtol=1e-10, atol=1e-13)
    nothing = net.backward(x, y, weights=np.zeros((12, 2)), tbptt=(3, 6))
    assert nothing.loss == 0 and not np.any(nothing.grad)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize(("n_batch", "n_threads"), [(1, 1), (2, 1), (3, 1), (3, 2), (5, 2), (9, 2)])
@pytest.mark.parametrize("horizon", [None, 4])
def test_step_products_in_every_block_shape_give_the_reference_gradient(cell, n_batch, n_threads, horizon):
    # Every step's product runs on a packed W_hh (rnn_numba._kernels.packed): 1, 2, 3 or 4+ rows per thread take blocks
    # of 1 row x up to 4 panels, 2 x 2, 3 x 1 and 4 x 1; these widths leave short last panels of W_hh and W_hh.T
    # (panels of 16 or 8 columns with AVX2, 32 or 16 with AVX-512).
    # Full BPTT and a truncation (the segment driver), one layer on one thread and two layers on two.
    n_hidden = {"elman": 20, "lstm": 32, "gru": 37}[cell]
    net = rn.RNN(cell, 3, n_hidden, 2, num_layers=n_threads, seed=4, recurrent_init="orthogonal")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(9, n_batch, 3)), rng.normal(size=(9, n_batch, 2))
    opts = dict(lengths=np.maximum(9 - 2 * np.arange(n_batch), 1), horizon=horizon)
    with numba_threads(n_threads):
        grad64 = net.backward(x, y, **opts).grad
        grad32 = net.astype(np.float32).backward(x.astype(np.float32), y.astype(np.float32), **opts).grad
    _, expected, _, _ = naive.gradient(net, x, y, **opts)
    np.testing.assert_allclose(grad64, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grad32, expected, rtol=0, atol=1e-4 * np.max(np.abs(expected)))


def test_a_loss_that_overflows_float32_warns():
    net = rn.Elman(2, 3, 1, dtype=np.float32, seed=0)
    net.params["W_hy"][...] = 1e30
    x, y = np.ones((4, 2, 2), np.float32), np.zeros((4, 2, 1), np.float32)
    with pytest.warns(RuntimeWarning, match="overflowed in float32"):
        loss, _ = net.loss_and_grad(x, y)
    assert not np.isfinite(loss)
    with pytest.warns(RuntimeWarning, match="overflowed in float32"):
        net.loss(x, y)
