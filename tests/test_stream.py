"""Online TBPTT(k1, k2) over streams: windows, carried state, chunking."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import rnn_numba as rn
from rnn_numba.inputs import public_state
from rnn_numba.testing import problems

from . import naive

stream_problems = problems(dtypes=[np.float64], variable_lengths=False, max_steps=9)


def split(array, cuts):
    """Cut a time-major array into chunks at the given steps."""
    return [array[a:b] for a, b in zip([0, *cuts], [*cuts, len(array)], strict=True)]


@given(stream_problems, st.data())
def test_each_window_matches_finite_differences_with_held_state(problem, data):
    net, x, target, opts = problem.model, problem.x, problem.target, problem.options
    if net.nonlinearity == "relu":
        assume(np.min(np.abs(naive.preactivations(net, x, opts["h0"], None, opts["c0"]))) > 1e-2)
    T = x.shape[0]
    k1 = data.draw(st.integers(1, T), label="k1")
    k2 = data.draw(st.integers(k1, T + 1), label="k2")
    held = net.forward(x, h0=opts["h0"], c0=opts["c0"])
    coords = np.arange(net.n_params)
    weights = np.ones(x.shape[:2]) if opts["weights"] is None else opts["weights"]
    kw = dict(loss=opts["loss"], weights=opts["weights"], h0=opts["h0"], c0=opts["c0"])
    for w in rn.tbptt(net, x, target, k1, k2, **kw):
        window_weights = weights[w.start : w.stop].copy()
        window_weights[: w.loss_start - w.start] = 0
        h_start, c_start = (public_state(net, s) for s in held.state_at(w.start))

        def objective(theta, w=w, window_weights=window_weights, h_start=h_start, c_start=c_start):
            return net.loss(
                x[w.start : w.stop],
                target[w.start : w.stop],
                loss=opts["loss"],
                weights=window_weights,
                h0=h_start,
                c0=c_start,
                theta=theta,
            )

        fd = rn.central_differences(objective, net.theta.copy(), coords, 1e-4)
        np.testing.assert_allclose(w.grad, fd, rtol=1e-6, atol=1e-9)
        assert w.stop - w.loss_start <= k1 and w.stop - w.start <= k2


@given(stream_problems, st.data())
def test_windows_follow_williams_and_peng_and_sum_to_the_schedule(problem, data):
    net, x, target, opts = problem.model, problem.x, problem.target, dict(problem.options, reduction="sum")
    T = x.shape[0]
    k1 = data.draw(st.integers(1, T), label="k1")
    k2 = data.draw(st.integers(k1, T + 1), label="k2")
    windows = list(
        rn.tbptt(net, x, target, k1, k2, **{k: opts[k] for k in ("loss", "weights", "h0", "c0", "reduction")})
    )
    ends = [w.stop for w in windows]
    assert ends == sorted(set(list(range(k1, T + 1, k1)) + [T]))
    assert [w.loss_start for w in windows] == [0] + ends[:-1]
    assert [w.start for w in windows] == [max(0, w.loss_start - (k2 - k1)) for w in windows]
    summed = net.backward(x, target, tbptt=(k1, k2), **{k: v for k, v in opts.items() if k != "lengths"})
    np.testing.assert_allclose(sum(w.grad for w in windows), summed.grad, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(sum(w.loss for w in windows), summed.loss, rtol=1e-10, atol=1e-13)
    whole = net.forward(x, opts["h0"], c0=opts["c0"])
    np.testing.assert_allclose(windows[-1].h_final, whole.h_final, rtol=1e-12, atol=1e-15)
    if net.cell.has_cell_state:
        np.testing.assert_allclose(windows[-1].c_final, whole.c_final, rtol=1e-12, atol=1e-15)


@given(stream_problems, st.data())
def test_chunked_stream_equals_whole_stream(problem, data):
    net, x, target, opts = problem.model, problem.x, problem.target, problem.options
    T = x.shape[0]
    k1 = data.draw(st.integers(1, T), label="k1")
    k2 = data.draw(st.integers(k1, T + 1), label="k2")
    cuts = sorted(data.draw(st.sets(st.integers(1, T - 1), max_size=4), label="cuts")) if T > 1 else []
    kw = dict(loss=opts["loss"], h0=opts["h0"], c0=opts["c0"])
    weights = opts["weights"]
    whole = list(rn.tbptt(net, x, target, k1, k2, weights=weights, **kw))
    chunked = list(
        rn.tbptt(
            net,
            split(x, cuts),
            split(target, cuts),
            k1,
            k2,
            weights=None if weights is None else split(weights, cuts),
            **kw,
        )
    )
    assert [(w.start, w.stop) for w in chunked] == [(w.start, w.stop) for w in whole]
    for a, b in zip(chunked, whole, strict=True):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(a.h_final, b.h_final, rtol=1e-12, atol=1e-15)
        if net.cell.has_cell_state:
            np.testing.assert_allclose(a.c_final, b.c_final, rtol=1e-12, atol=1e-15)


@given(stream_problems, st.data())
def test_forward_in_chunks_with_carried_state_equals_whole(problem, data):
    net, x = problem.model, problem.x
    T = x.shape[0]
    cuts = sorted(data.draw(st.sets(st.integers(1, T - 1), max_size=4), label="cuts")) if T > 1 else []
    whole = net.forward(x, problem.options["h0"], c0=problem.options["c0"])
    h, c, hs, cs = problem.options["h0"], problem.options["c0"], [], []
    for chunk in split(x, cuts):
        out = net.forward(chunk, h, c0=c)
        hs.append(out.h[1:])
        cs.append(None if out.c is None else out.c[1:])
        h, c = out.h_final, out.c_final
    np.testing.assert_allclose(np.concatenate(hs), whole.h[1:], rtol=1e-12, atol=1e-15)
    if net.cell.has_cell_state:
        np.testing.assert_allclose(np.concatenate(cs), whole.c[1:], rtol=1e-12, atol=1e-15)


def test_updates_between_windows_are_used_by_the_next_window():
    net = rn.Elman(1, 4, 1, seed=0)
    x = np.random.default_rng(0).normal(size=(8, 1, 1))
    y = np.random.default_rng(1).normal(size=(8, 1, 1))
    frozen = [w.grad for w in rn.tbptt(net.copy(), x, y, 2, 4)]
    updated = []
    for w in rn.tbptt(net, x, y, 2, 4):
        updated.append(w.grad)
        net.theta -= 0.5 * w.grad
    np.testing.assert_array_equal(updated[0], frozen[0])
    assert not np.allclose(updated[1], frozen[1])


def test_long_stream_from_a_generator():
    """10^5 steps arrive in chunks of 1000 from a generator, never as one array."""
    net = rn.Elman(2, 8, 1, seed=0)
    rng = np.random.default_rng(0)

    def chunks():
        for _ in range(100):
            yield rng.normal(size=(1000, 1, 2))

    count, stop = 0, 0
    for w in rn.tbptt(net, chunks(), (np.zeros((1000, 1, 1)) for _ in range(100)), k1=50, k2=100):
        count += 1
        stop = w.stop
    assert count == 2000 and stop == 100_000


def test_k1_equal_k2_equal_T_is_full_bptt():
    net = rn.Elman(2, 3, 1, seed=0)
    x = np.random.default_rng(0).normal(size=(7, 2, 2))
    y = np.random.default_rng(1).normal(size=(7, 2, 1))
    (only,) = rn.tbptt(net, x, y, 7, 7)
    np.testing.assert_allclose(only.grad, net.loss_and_grad(x, y)[1], rtol=1e-13)
