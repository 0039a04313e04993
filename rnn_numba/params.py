"""One flat parameter vector per model, its named views, and initialisers.

All parameters of a model live in one contiguous vector ``theta``; every
block (``W_xh``, ``W_hh``, ...) is a reshaped view of a slice of it.
Gradients come back as a vector in the same layout, so global-norm
clipping, any optimiser, ``scipy.optimize.minimize(..., jac=True)`` and
finite differences work on them directly.
"""

import numpy as np

from ._kernels.engine import B_H, B_Y, INNER, W_HH, W_HY, W_XH


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

    def entry(self, name):
        """(offset, rows, columns) of a block, a vector of length n as n rows of one column; zeros if absent."""
        if name not in self.shapes:
            return (0, 0, 0)
        shape = self.shapes[name]
        return (self.slices[name].start, shape[0], shape[1] if len(shape) == 2 else 1)


class NetworkLayout(ParamLayout):
    """The parameters of stacked layers of one cell and a linear readout, in one flat vector.

    Layer 0's blocks carry the cell's names (``W_xh``, ``W_hh``, ``b_h``,
    then the cell's own blocks, such as a GRU's ``b_hn``); layer k > 0's
    carry the suffix ``_l{k}``; then the readout's ``W_hy`` (H, n_out) and
    ``b_y`` (n_out,).

    Parameters
    ----------
    cell : rnn_numba.cells.Cell
    n_in, n_hidden, n_out, num_layers : int
    bias : bool
        Whether the cells have biases (the readout always has ``b_y``).

    Attributes
    ----------
    layers : list of dict
        Per layer, the full name of each of its blocks under the cell's name.
    inner : list of str
        The names of the cell's own blocks (in storage order, after ``b_h``).
    table : ndarray of int64, shape (L + 1, 4, 3)
        The offsets the compiled kernels read theta with (see
        :mod:`rnn_numba._kernels.engine`): per layer ``W_xh``, ``W_hh``,
        ``b_h`` and the cell's own blocks (as one vector), then the readout.
    """

    def __init__(self, cell, n_in, n_hidden, n_out, num_layers, bias):
        blocks, self.layers = [], []
        for k in range(num_layers):
            suffix = f"_l{k}" if k else ""
            layer_blocks = cell.blocks(n_in if k == 0 else n_hidden, n_hidden, bias)
            self.layers.append({name: name + suffix for name, _ in layer_blocks})
            blocks += [(name + suffix, shape) for name, shape in layer_blocks]
        blocks += [("W_hy", (n_hidden, n_out)), ("b_y", (n_out,))]
        super().__init__(blocks)
        self.inner = [name for name, _ in cell.inner_blocks(n_hidden, bias)]
        table = np.zeros((num_layers + 1, 4, 3), dtype=np.int64)
        for k, names in enumerate(self.layers):
            for role, name in ((W_XH, "W_xh"), (W_HH, "W_hh"), (B_H, "b_h")):
                table[k, role] = self.entry(names.get(name, ""))
            if self.inner:  # the cell's own blocks are contiguous: one vector
                first, last = self.slices[names[self.inner[0]]], self.slices[names[self.inner[-1]]]
                table[k, INNER] = (first.start, last.stop - first.start, 1)
        table[num_layers, W_HY], table[num_layers, B_Y] = self.entry("W_hy"), self.entry("b_y")
        self.table = table

    def layer_views(self, theta):
        """Per layer, a dict of that layer's blocks of ``theta`` under their cell names (``W_xh``, ...)."""
        views = self.views(theta)
        return [{name: views[full] for name, full in names.items()} for names in self.layers]


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
