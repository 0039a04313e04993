"""tanh, the logistic sigmoid and exp in a form LLVM can vectorise.

llvmlite from PyPI is built without a vector math library, so ``np.tanh``
and ``np.exp`` in a Numba loop are scalar libm calls (about 8 ns each here)
and keep the loop from being vectorised. These versions use only
arithmetic, one table load and selects, which LLVM turns into SIMD code.

exp(u) = 2^k exp(r), k = round(u / ln 2), r = u - k ln 2 with ln 2 split in
two (Cody & Waite 1980) so that k ln2_hi is exact; exp(r), |r| <= 0.35, is
its Taylor polynomial to degree 13 (truncation below 1e-17 relative); 2^k
comes from a table that includes the subnormal powers.

tanh(x) = sign(x) m / (m + 2) with m = expm1(2|x|), where expm1 is its
Taylor polynomial below 0.35 (no cancellation near 0) and exp(2|x|) - 1
above; |x| is capped at 20, beyond which tanh is 1 in both precisions.
sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, e = exp(-|x|).

Accuracy against NumPy's correctly rounded float64 results (and float64
results rounded to float32), measured over the whole float range by the
tests: see ``tests/test_vmath.py`` for the stated ulp bounds. Signed zeros,
+-Inf and NaN behave like NumPy's.
"""

import math

import numpy as np

from ._jit import jit_kernel

#: 2**k for k in [-1080, 79]: every power the clamped arguments can need, subnormals included.
_POW2 = np.ldexp(1.0, np.arange(-1080, 80))
_POW2_OFFSET = 1080
_LOG2E = 1.4426950408889634
_LN2_HI = 0.693145751953125  # 16 significant bits: k * _LN2_HI is exact for |k| < 2**11
_LN2_LO = 1.4286068203094173e-06  # ln 2 - _LN2_HI
_C = tuple(1.0 / math.factorial(n) for n in range(14))
_SMALL = 0.35  # below this, expm1 by its own polynomial; above, exp(u) - 1


@jit_kernel
def _poly_exp_reduced(r):
    """sum_{n=1}^{13} r^n / n!, i.e. expm1(r), for |r| <= 0.35 (Horner)."""
    T = type(r)
    p = T(_C[13])
    p = p * r + T(_C[12])
    p = p * r + T(_C[11])
    p = p * r + T(_C[10])
    p = p * r + T(_C[9])
    p = p * r + T(_C[8])
    p = p * r + T(_C[7])
    p = p * r + T(_C[6])
    p = p * r + T(_C[5])
    p = p * r + T(_C[4])
    p = p * r + T(_C[3])
    p = p * r + T(_C[2])
    p = p * r + T(_C[1])
    return p * r


@jit_kernel
def exp(u):
    """exp(u) for u in [-745, 40] (callers clamp; NaN must be handled by the caller)."""
    T = type(u)
    kf = np.floor(u * T(_LOG2E) + T(0.5))
    r = (u - kf * T(_LN2_HI)) - kf * T(_LN2_LO)
    return (_poly_exp_reduced(r) + T(1)) * T(_POW2[int(kf) + _POW2_OFFSET])


@jit_kernel
def tanh(x):
    """tanh(x), vectorisable, in x's precision."""
    T = type(x)
    u = T(2) * abs(x)
    u = u if u < T(40) else T(40)  # NaN -> 40, restored below
    big = exp(u) - T(1)
    small = _poly_exp_reduced(u if u < T(_SMALL) else T(_SMALL))
    m = small if u < T(_SMALL) else big
    t = np.copysign(m / (m + T(2)), x)
    return t if x == x else x


@jit_kernel
def sigmoid(x):
    """1 / (1 + exp(-x)), vectorisable, without overflow, in x's precision."""
    T = type(x)
    v = -abs(x)
    v = v if v > T(-745) else T(-745)  # NaN -> -745; the numerator carries the NaN
    e = exp(v)
    numerator = T(1) if x >= T(0) else e  # one division, no cancellation
    numerator = numerator if x == x else x  # (this form keeps the loop vectorisable)
    return numerator / (T(1) + e)


@jit_kernel
def tanh_array(x, out):
    """out[i] = tanh(x[i]) for 1-D arrays (for tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = tanh(x[i])


@jit_kernel
def sigmoid_array(x, out):
    """out[i] = sigmoid(x[i]) for 1-D arrays (for tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = sigmoid(x[i])
