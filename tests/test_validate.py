"""Bad input gets a TypeError/ValueError naming the argument, before any kernel runs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnn_numba as rn
from rnn_numba import _validate as check

T, B, N_IN, H, N_OUT = 5, 3, 2, 4, 3


@pytest.fixture
def net():
    return rn.Elman(N_IN, H, N_OUT, seed=0)


def data(dtype=np.float64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(T, B, N_IN)).astype(dtype), rng.normal(size=(T, B, N_OUT)).astype(dtype)


@pytest.fixture(autouse=True)
def no_kernel_runs(monkeypatch):
    """Any kernel call during a test of bad input is a failure."""
    from rnn_numba import bptt
    from rnn_numba._kernels import engine

    def forbidden(*args):
        raise AssertionError("a kernel ran on bad input")

    for name in ("gradient", "forward", "readout", "readout_loss"):
        monkeypatch.setattr(engine, name, forbidden)
    monkeypatch.setattr(bptt, "backward_recursion", forbidden)


x0, y0 = data()
CASES = [
    # (description, call kwargs override, exception, words the message must contain)
    ("x of rank 2", dict(x=x0[0]), ValueError, ["x", "(T, B, n_in)"]),
    ("x with wrong n_in", dict(x=x0[..., :1]), ValueError, ["x", "axis 2"]),
    ("integer x", dict(x=np.ones((T, B, N_IN), dtype=int)), TypeError, ["x", "astype(np.float64)"]),
    ("float16 x", dict(x=x0.astype(np.float16)), TypeError, ["x", "float16"]),
    ("NaN in x", dict(x=np.where(x0 > 1, np.nan, x0)), ValueError, ["x", "NaN"]),
    ("Inf in target", dict(target=np.where(y0 > 1, np.inf, y0)), ValueError, ["target", "NaN or Inf"]),
    ("T = 0", dict(x=x0[:0], target=y0[:0]), ValueError, ["x", "T=0"]),
    ("B = 0", dict(x=x0[:, :0], target=y0[:, :0]), ValueError, ["x", "B=0"]),
    (
        "batch-first x (h0 tells)",
        dict(x=x0.transpose(1, 0, 2), h0=np.zeros((T, H))),
        ValueError,
        ["x", "batch-first", "transpose"],
    ),
    ("batch-first target", dict(target=y0.transpose(1, 0, 2)), ValueError, ["target", "batch-first"]),
    ("lengths too long", dict(lengths=[T, T + 1, 2]), ValueError, ["lengths", "[1, 5]"]),
    ("lengths zero", dict(lengths=[0, 1, 2]), ValueError, ["lengths"]),
    ("float lengths", dict(lengths=[1.0, 2.0, 3.0]), TypeError, ["lengths", "integers"]),
    ("lengths of wrong size", dict(lengths=[1, 2]), ValueError, ["lengths"]),
    ("h0 of wrong shape", dict(h0=np.zeros((B, H + 1))), ValueError, ["h0"]),
    ("NaN in h0", dict(h0=np.full((B, H), np.nan)), ValueError, ["h0", "NaN"]),
    ("negative weights", dict(weights=-np.ones((T, B))), ValueError, ["weights", "non-negative"]),
    ("weights of wrong shape", dict(weights=np.ones((T, B, 1))), ValueError, ["weights"]),
    ("unknown loss", dict(loss="l1"), ValueError, ["loss", "mse"]),
    ("float class targets", dict(loss="cross_entropy", target=np.zeros((T, B))), TypeError, ["targets", "integer"]),
    (
        "class out of range",
        dict(loss="cross_entropy", target=np.full((T, B), N_OUT)),
        ValueError,
        ["target", "class 3"],
    ),
    ("k1 > k2", dict(tbptt=(3, 2)), ValueError, ["k1", "k2"]),
    ("k1 < 1", dict(tbptt=(0, 2)), ValueError, ["k1", ">= 1"]),
    ("non-integer k2", dict(tbptt=(1, 2.5)), TypeError, ["k2", "integer"]),
    ("horizon 0", dict(horizon=0), ValueError, ["horizon"]),
    ("horizon and tbptt", dict(horizon=2, tbptt=(1, 2)), ValueError, ["horizon", "tbptt"]),
    ("unknown reduction", dict(reduction="max"), ValueError, ["reduction"]),
    ("grad_norms with truncation", dict(horizon=2, grad_norms=True), ValueError, ["grad_norms"]),
    ("theta of wrong length", dict(theta=np.zeros(3)), ValueError, ["theta"]),
    ("a string for x", dict(x="abc"), TypeError, ["x"]),
]


@pytest.mark.parametrize("case, override, exc, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(net, case, override, exc, words):
    kwargs = dict(x=x0, target=y0)
    kwargs.update(override)
    x, target = kwargs.pop("x"), kwargs.pop("target")
    with pytest.raises(exc) as info:
        net.backward(x, target, **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_values_that_overflow_the_models_dtype_are_refused():
    # Finite in float64, Inf once converted to a float32 model's dtype: refused, not silently Inf.
    net = rn.Elman(N_IN, H, N_OUT, seed=0, dtype=np.float32)
    x, y = data()
    x[2, 1, 0] = 1e300
    with pytest.raises(
        ValueError, match=r"x contains NaN or Inf \(first at index \(2, 1, 0\); 1e\+300 overflows float32"
    ):
        net.backward(x, y)


def test_nan_in_parameters_names_the_block(net):
    net.params["W_hh"][1, 2] = np.nan
    with pytest.raises(ValueError, match="W_hh"):
        net.forward(x0)


def test_model_construction_errors():
    with pytest.raises(TypeError, match="dtype"):
        rn.Elman(2, 3, 1, dtype=np.float16)
    with pytest.raises(TypeError, match="dtype"):
        rn.Elman(2, 3, 1, dtype=int)
    with pytest.raises(ValueError, match="nonlinearity"):
        rn.Elman(2, 3, 1, nonlinearity="softplus")
    with pytest.raises(ValueError, match="n_hidden"):
        rn.Elman(2, 0, 1)
    with pytest.raises(TypeError, match="n_in"):
        rn.Elman(2.5, 3, 1)
    with pytest.raises(ValueError, match="recurrent_init"):
        rn.Elman(2, 3, 1, recurrent_init="xavier")
    with pytest.raises(ValueError, match="spectral_radius"):
        rn.Elman(2, 3, 1, spectral_radius=np.nan)
    with pytest.raises(ValueError, match="cell"):
        rn.RNN("transformer", 2, 3, 1)
    with pytest.raises(ValueError, match="unknown parameter block"):
        rn.Elman(2, 3, 1).freeze("W_ih")


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(forget_bias=np.nan), ValueError, ["forget_bias", "finite"]),
        (dict(forget_bias=np.inf), ValueError, ["forget_bias", "finite"]),
        (dict(forget_bias=None), TypeError, ["forget_bias", "number"]),
        (dict(forget_bias="1"), TypeError, ["forget_bias", "number"]),
        (dict(spectral_radius=1e308), ValueError, ["spectral_radius", "overflow", "below"]),
        (dict(spectral_radius=1e30, dtype=np.float32), ValueError, ["spectral_radius", "float32"]),
        (dict(spectral_radius=-1.0), ValueError, ["spectral_radius", ">= 0"]),
    ],
)
def test_initialisation_settings_that_would_break_the_first_call_are_refused(kwargs, error, words):
    # Accepted before, and the first call then blamed the learning rate.
    with pytest.raises(error) as info:
        rn.LSTM(2, 4, 1, seed=0, **kwargs)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_vjp_and_stream_errors(net):
    with pytest.raises(ValueError, match="dh"):
        net.vjp(x0, np.zeros((T, B, H + 1)))
    with pytest.raises(ValueError, match="k1"):
        next(rn.tbptt(net, x0, y0, k1=4, k2=2))
    # k1 > 2 T: no window runs before the second chunk is checked.
    with pytest.raises(ValueError, match="targets ended"):
        list(rn.tbptt(net, [x0, x0], [y0], k1=20, k2=20))
    with pytest.raises(ValueError, match="batch size"):
        list(rn.tbptt(net, [x0, x0[:, :1]], [y0, y0[:, :1]], k1=20, k2=20))
    # Weights that end before the stream: refused like targets (they counted as ones before).
    with pytest.raises(ValueError, match="weights ended"):
        list(rn.tbptt(net, [x0, x0], [y0, y0], k1=20, k2=20, weights=[np.ones((T, B))]))
    with pytest.raises(ValueError, match="empty"):
        list(rn.tbptt(net, [], [], k1=2, k2=2))


def test_non_contiguous_and_float32_inputs_are_converted(monkeypatch):
    monkeypatch.undo()  # kernels may run here
    net = rn.Elman(N_IN, H, N_OUT, seed=0)
    wide = np.random.default_rng(0).normal(size=(T, B, 2 * N_IN))
    x = wide[:, :, ::2]
    assert not x.flags.c_contiguous
    np.testing.assert_array_equal(net.forward(x).h, net.forward(np.ascontiguousarray(x)).h)
    np.testing.assert_array_equal(
        net.forward(x.astype(np.float32)).h, net.forward(x.astype(np.float32).astype(float)).h
    )
    np.testing.assert_array_equal(net.forward(x.tolist()).h, net.forward(x).h)


def test_state_errors_for_cells_and_layers():
    x, y = data()
    with pytest.raises(ValueError, match="c0"):
        rn.Elman(N_IN, H, N_OUT).forward(x, c0=np.zeros((B, H)))
    lstm = rn.LSTM(N_IN, H, N_OUT, num_layers=2)
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 3, 4\)"):
        lstm.forward(x, h0=np.zeros((B, H)))
    with pytest.raises(ValueError, match="c0"):
        lstm.backward(x, y, c0=np.zeros((2, B, H + 1)))
    with pytest.raises(ValueError, match="x looks batch-first"):
        lstm.forward(x.transpose(1, 0, 2), h0=np.zeros((2, B, H)))
    with pytest.raises(ValueError, match="nonlinearity"):
        rn.GRU(N_IN, H, N_OUT, nonlinearity="relu")
    with pytest.raises(ValueError, match="num_layers"):
        rn.LSTM(N_IN, H, N_OUT, num_layers=0)
    with pytest.raises(ValueError, match="dc_final"):
        rn.GRU(N_IN, H, N_OUT).vjp(x, dc_final=np.zeros((B, H)))


@settings(deadline=None, max_examples=40)
@given(
    size=st.sampled_from([1, 7, check.SUM_CHECK_SIZE - 1, check.SUM_CHECK_SIZE, 3 * check.SUM_CHECK_SIZE + 5]),
    dtype=st.sampled_from([np.float32, np.float64]), draw_from=st.data(),
)  # fmt: skip
def test_all_finite_finds_any_bad_entry_and_accepts_sums_that_overflow(size, dtype, draw_from):
    huge = np.finfo(dtype).max / 2  # finite entries whose sum overflows to Inf: the sum alone would refuse them
    values = np.full(size, huge, dtype=dtype) * draw_from.draw(st.sampled_from([1, -1]))
    assert check._all_finite(values)
    bad = draw_from.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    values[draw_from.draw(st.integers(0, size - 1))] = bad
    assert not check._all_finite(values)
