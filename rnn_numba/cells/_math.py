"""Scalar functions shared by the cells' step kernels."""

import numpy as np

from .._jit import jit_kernel


@jit_kernel
def sigmoid(z):
    """1 / (1 + exp(-z)), without overflow for large |z|, in z's precision."""
    one = type(z)(1)
    if z >= 0:
        return one / (one + np.exp(-z))
    e = np.exp(z)
    return e / (one + e)
