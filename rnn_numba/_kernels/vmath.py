"""tanh, the logistic sigmoid and exp in a form LLVM can vectorise.

llvmlite from PyPI is built without a vector math library, so ``np.tanh``
and ``np.exp`` in a Numba loop are scalar libm calls and keep the loop
from being vectorised. These versions use only arithmetic, integer bit
operations and selects, which LLVM turns into SIMD code (the asv
``Nonlinearities`` benchmark times them; benchmarks/HISTORY.md has the
measurements).

exp(u) = 2^k exp(r), k = round(u / ln 2), r = u - k ln 2 with ln 2 split in
two (Cody & Waite 1980) so that k ln2_hi is exact; exp(r), |r| <= 0.35, is
its Taylor polynomial to degree 13 in float64 and 7 in float32 (truncation
below 1e-17 and 2e-8 relative); 2^k is built from its exponent bits
(:func:`_pow2`), as two normal powers whose product rounds once where the
result is subnormal. A table lookup here instead kept LLVM from vectorising
the loops.

tanh(x) = sign(x) m / (m + 2) with m = expm1(2|x|) = p(r) 2^k + (2^k - 1),
p(r) = exp(r) - 1 the polynomial: below ln(2)/2, k = 0 and m = p(u) with
no cancellation near 0. |x| is capped at 20, beyond which tanh is 1 in both
precisions. sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0,
e = exp(-|x|).

Accuracy against NumPy's correctly rounded float64 results (and float64
results rounded to float32), measured over the whole float range by the
tests: see ``tests/test_vmath.py`` for the stated ulp bounds. Signed zeros,
+-Inf and NaN behave like NumPy's.
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .jit import jit_kernel

_LOG2E = 1.4426950408889634
_LN2_HI = 0.693145751953125  # 16 significant bits: k * _LN2_HI is exact for |k| < 2**11
_LN2_LO = 1.4286068203094173e-06  # ln 2 - _LN2_HI
_C = tuple(1.0 / math.factorial(n) for n in range(14))


@jit_kernel
def _poly_exp_reduced(r):
    """sum_{n=1}^{N} r^n / n!, i.e. expm1(r), for |r| <= 0.35 (Horner); N = 13 in float64, 7 in float32.

    The first omitted term, 0.35^(N+1) / (N+1)!, is below 1e-17 relative
    for N = 13 and below 2e-8 (a third of float32's half ulp) for N = 7.
    """
    T = type(r)
    if T(1) + T(1e-10) == T(1):  # float32 (a constant that LLVM folds away)
        p = T(_C[7])
    else:
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


@intrinsic
def _pow2(typingctx, kf):
    """2**k for an integral float k, in k's type, from its exponent bits; k is clamped to the normal range.

    |k| must fit an int32 (the callers' clamped arguments keep it within a few thousand).
    """
    if kf not in (types.float32, types.float64):
        return None
    width, mantissa, bias = (64, 52, 1023) if kf == types.float64 else (32, 23, 127)

    def codegen(context, builder, signature, args):
        # Through a 32-bit integer in both precisions: AVX2 has packed float -> int32 conversions but none to
        # int64 (that takes AVX-512DQ), so this path vectorises on both.
        int32, int_type = ir.IntType(32), ir.IntType(width)
        k = builder.fptosi(args[0], int32)
        low, high = ir.Constant(int32, 1 - bias), ir.Constant(int32, bias)
        k = builder.select(builder.icmp_signed("<", k, low), low, k)
        k = builder.select(builder.icmp_signed(">", k, high), high, k)
        k = builder.sext(k, int_type) if width == 64 else k
        bits = builder.shl(builder.add(k, ir.Constant(int_type, bias)), ir.Constant(int_type, mantissa))
        return builder.bitcast(bits, context.get_value_type(signature.return_type))

    return kf(kf), codegen


@jit_kernel
def _reduce(u):
    """(k, r) with u = k ln 2 + r: k = round(u / ln 2), an integral float, and |r| <= 0.35 (Cody & Waite)."""
    T = type(u)
    kf = np.floor(u * T(_LOG2E) + T(0.5))
    return kf, (u - kf * T(_LN2_HI)) - kf * T(_LN2_LO)


@jit_kernel
def exp(u):
    """exp(u) for u in [-746, 40] (callers clamp; NaN must be handled by the caller)."""
    T = type(u)
    kf, r = _reduce(u)
    half = np.floor(kf * T(0.5))  # two normal powers, so that subnormal results round once
    return (_poly_exp_reduced(r) + T(1)) * _pow2(half) * _pow2(kf - half)


@jit_kernel
def tanh(x):
    """tanh(x), vectorisable, in x's precision."""
    T = type(x)
    u = T(2) * abs(x)
    u = u if u < T(40) else T(40)  # NaN -> 40, restored below
    kf, r = _reduce(u)
    scale = _pow2(kf)
    m = _poly_exp_reduced(r) * scale + (scale - T(1))  # expm1(u); for u < ln(2)/2, k = 0 and m = poly(u) exactly
    t = np.copysign(m / (m + T(2)), x)
    return t if x == x else x


@jit_kernel
def sigmoid(x):
    """1 / (1 + exp(-x)), vectorisable, without overflow, in x's precision."""
    T = type(x)
    v = -abs(x)
    v = v if v > T(-746) else T(-746)  # NaN -> -746; the numerator carries the NaN
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
