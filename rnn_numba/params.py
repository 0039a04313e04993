"""One flat parameter vector per model, its named views, and initialisers.

All parameters of a model live in one contiguous vector ``theta``; every
block (``W_xh``, ``W_hh``, ...) is a reshaped view of a slice of it.
Gradients come back as a vector in the same layout, so global-norm
clipping, any optimiser, ``scipy.optimize.minimize(..., jac=True)`` and
finite differences work on them directly.
"""

import numpy as np


class ParamLayout:
    """Names, shapes and offsets of the blocks of a flat parameter vector.

    Parameters
    ----------
    blocks : list of (str, tuple of int)
        Block names and shapes, in storage order.
    """

    def __init__(self, blocks):
        self.shapes = dict(blocks)
        self.slices = {}
        offset = 0
        for name, shape in blocks:
            size = int(np.prod(shape))
            self.slices[name] = slice(offset, offset + size)
            offset += size
        self.size = offset

    @property
    def names(self):
        """List of str: the block names, in storage order."""
        return list(self.shapes)

    def views(self, theta):
        """Named views of ``theta`` (shape (size,)): dict of name -> reshaped view."""
        return {name: theta[sl].reshape(self.shapes[name]) for name, sl in self.slices.items()}

    def block_of(self, index):
        """Name of the block that holds flat coordinate ``index``."""
        for name, sl in self.slices.items():
            if sl.start <= index < sl.stop:
                return name
        raise IndexError(f"index {index} is outside a parameter vector of size {self.size}")


def uniform(rng, shape, bound):
    """U(-bound, bound) entries: PyTorch's default for RNN weights with bound 1/sqrt(H)."""
    return rng.uniform(-bound, bound, size=shape)


def orthogonal(rng, n):
    """A random orthogonal (n, n) matrix, Haar-distributed (Saxe et al. 2014, arXiv:1312.6120)."""
    from scipy.stats import ortho_group  # imported here: scipy.stats takes ~1.5 s to import

    if n == 1:
        return np.array([[rng.choice([-1.0, 1.0])]])
    return ortho_group.rvs(n, random_state=rng)


def identity(n):
    """The (n, n) identity: the IRNN recurrent initialisation (Le et al. 2015, arXiv:1504.00941)."""
    return np.eye(n)


def spectral_radius(w):
    """Largest absolute eigenvalue of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(w))))


def scale_to_spectral_radius(w, rho):
    """``w`` rescaled so that its spectral radius is ``rho`` (echo-state practice).

    Raises
    ------
    ValueError
        If ``w`` has spectral radius 0 (nilpotent or zero), which no scaling fixes.
    """
    current = spectral_radius(w)
    if current == 0.0:
        raise ValueError("W_hh has spectral radius 0; it cannot be scaled to a given radius")
    return w * (rho / current)
