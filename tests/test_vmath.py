"""The vectorisable tanh and sigmoid against long-double references, over the whole float range."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rnn_numba._kernels import vmath as _vmath

#: Stated accuracy (max error in units in the last place, measured below).
MAX_ULP = {("tanh", np.float64): 4, ("sigmoid", np.float64): 3, ("tanh", np.float32): 3, ("sigmoid", np.float32): 3}
FUNCTIONS = {"tanh": _vmath.tanh_array, "sigmoid": _vmath.sigmoid_array}


def reference(name, x):
    """The exact function in long double (64-bit significand on x86), finite inputs."""
    xl = x.astype(np.longdouble)
    if name == "tanh":
        return np.tanh(xl)
    e = np.exp(-np.abs(xl))
    return np.where(xl >= 0, 1 / (1 + e), e / (1 + e))


def ulp_error(name, x):
    out = np.empty_like(x)
    FUNCTIONS[name](x, out)
    ref = reference(name, x)
    rounded = ref.astype(x.dtype)
    spacing = np.spacing(np.abs(rounded)).astype(np.longdouble)
    return np.abs(out.astype(np.longdouble) - ref) / spacing


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=st.data())
def test_within_stated_ulps_over_the_whole_range(name, dtype, data):
    width = np.dtype(dtype).itemsize * 8
    x = data.draw(hnp.arrays(dtype, st.integers(1, 64), elements=st.floats(width=width, allow_nan=False)))
    assert ulp_error(name, x).max() <= MAX_ULP[name, dtype]


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_sweep_of_every_binade(name, dtype):
    rng = np.random.default_rng(0)
    finfo = np.finfo(dtype)
    magnitudes = np.exp2(rng.uniform(np.log2(finfo.smallest_subnormal), np.log2(finfo.max), 200_000))
    x = (magnitudes * rng.choice([-1, 1], magnitudes.size)).astype(dtype)
    x = np.concatenate([x, rng.uniform(-40, 40, 200_000).astype(dtype)])
    assert ulp_error(name, x).max() <= MAX_ULP[name, dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    t, s = np.empty_like(x), np.empty_like(x)
    _vmath.tanh_array(x, t)
    _vmath.sigmoid_array(x, s)
    np.testing.assert_array_equal(t, [0.0, -0.0, 1.0, -1.0, np.nan])
    assert np.signbit(t[1]) and not np.signbit(t[0])
    np.testing.assert_array_equal(s, [0.5, 0.5, 1.0, 0.0, np.nan])
    assert t.dtype == s.dtype == dtype
