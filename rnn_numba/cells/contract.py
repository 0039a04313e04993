"""The cell contract: one typed record per cell, and the Numba type the kernels see.

A cell is declared once, as a :class:`Cell`: its gate count, its state parts
(h, or h and c), its nonlinearities, what its forward step keeps for the
backward step, any parameters of its own beside the projections, and its
compiled step kernels, whose signatures are the same for every cell. The
drivers (forward unrolling, every BPTT schedule, the gradient checks) are
written once against this contract and never branch on the cell. Adding a
cell means writing one module that declares a :class:`Cell`; nothing else
changes (``tests/test_cells.py`` registers a cell defined only there and runs
every driver on it).

The projections are the drivers' work: for a layer with input x_t and state
h_{t-1}, every cell sees ::

    a_t = x_t @ W_xh + b_h          (B, G*H)   input projection, one GEMM over all rows
    r_t = h_{t-1} @ W_hh            (B, G*H)   recurrent projection, one product per step

and the driver forms the weight gradients from the deltas dL/da_t and dL/dr_t
that the cell's backward step writes. The step kernels act on rows
``b0:b1`` of the batch (one thread's share) and have these signatures::

    forward(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t)
        s_next = step(s_prev); cache_t (B, cache_width*H) receives what the
        backward step needs.
    backward(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev)
        From ds = dL/ds_t, write da = dL/da_t and, if the cell declares
        ``separate_recurrent_delta``, dr = dL/dr_t (else the driver uses da
        for both); write dc_prev, and, if the cell declares ``direct_path``,
        the part of dL/dh_{t-1} that bypasses W_hh into dh_prev (the driver
        then adds dr @ W_hh.T to it; else it writes dh_prev itself).
    inner_gradient(cell, inner, h_prev, c_prev, cache, d_a, d_r, d_inner)
        Only for a cell with ``inner_blocks``: add dL/d(inner) over M rows of
        steps to ``d_inner`` (the 2-D arrays are (M, .) views of a block).

States are tuples ``(h, c)``, each (B, H); a cell without a cell state gets a
``c`` of width 0. ``cell`` is the configured cell (:meth:`Cell.configure`),
whose nonlinearity (``cell.nonlinearity``, a compile-time constant) and
settings the step reads. ``inner`` is the
layer's own parameters of the cell (a GRU's ``b_hn``), a view of theta; empty
if it has none.

Forward mode, for the RTRL family of estimators, is one more step kernel,
for cells that provide it::

    jvp(cell, b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next)
        For sequence b and M directions at once: from the tangents of the
        projections a_dot, r_dot (M, G*H), of the cell's own parameters
        inner_dot (M, n_inner) and of the previous state ds_prev, write the
        tangent of the new state ds_next (tuples of (M, H), c of width 0
        without a cell state). The primal values are row b of s_prev, s_next
        and cache_t, as the forward step left them.

The tangent of a state in the directions of the parameters is everything the
estimators need from a cell: D_t v (the JVP in the state direction) is a
call with the tangent of r_t = h_{t-1} @ W_hh, v @ W_hh, and zero a_dot; the
immediate influence M_t of W_xh, W_hh and b_h enters through a_dot and
r_dot (a driver's work, the same for every cell), that of the cell's own
parameters through inner_dot.

How the kernels see a cell: :meth:`Cell.configure` returns a
:class:`CellSettings`, which Numba types as a :class:`CellType` keyed on the
cell's name, a digest of its step functions' source files and its settings.
A kernel compiled for one cell is cached under that key, so it is compiled
once per cell (and dtype) and never served for another cell or for an older
version of the same cell. In a kernel, ``cell.forward(...)``,
``cell.backward(...)`` and ``cell.inner_gradient(...)`` call the cell's step
kernels (inlined), and ``cell.separate_recurrent_delta``,
``cell.direct_path`` and ``cell.has_cell_state`` are compile-time constants.
"""

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from numba import types
from numba.core import cgutils
from numba.core.typing.templates import AttributeTemplate
from numba.extending import (
    NativeValue,
    infer_getattr,
    lower_getattr_generic,
    models,
    overload_attribute,
    overload_method,
    register_model,
    typeof_impl,
    unbox,
)

#: Kinds of a cell's settings and the Numba types they take in a kernel.
SETTING_TYPES = {int: types.int64, float: types.float64}

#: Every cell ever declared in this process, by (name, digest): what a compiling kernel looks its steps up in.
_BY_KEY = {}
#: Cells addressable by name (``RNN("gru", ...)``, and when a saved model is loaded).
_BY_NAME = {}


def no_inner_blocks(n_hidden, bias):
    """The parameter blocks of a cell that has none beside W_xh, W_hh and b_h."""
    return []


@dataclass(frozen=True, eq=False)
class Cell:
    """A recurrent cell: what its parameters are, what it stores, and its compiled steps.

    Parameters
    ----------
    name : str
        How models and saved files name the cell.
    n_gates : int
        G: the projections a_t and r_t have G blocks of width H.
    forward, backward : numba dispatcher
        The step kernels, with the signatures of :mod:`rnn_numba.cells.contract`.
    state : tuple of str
        The state parts: ``("h",)`` or ``("h", "c")`` (a cell state, as an LSTM's).
    cache_width : int
        What the forward step stores for the backward step, in units of H per row.
    nonlinearities : tuple of str
        The names the cell accepts as ``nonlinearity``; the first is the default.
        A cell with more than one reads its choice as ``cell.nonlinearity``,
        the index of the name in this tuple, a compile-time constant.
    settings : dict of str to type
        Further settings the step reads from ``cell`` (int or float), with no default.
    separate_recurrent_delta : bool
        dL/dr_t differs from dL/da_t (a GRU's reset gate multiplies q_n).
    direct_path : bool
        h_{t-1} reaches h_t other than through W_hh (a GRU's z * h_{t-1}).
    inner_blocks : callable
        ``inner_blocks(n_hidden, bias)``: names and shapes of the cell's own
        parameters (after W_xh, W_hh, b_h); these need ``inner_gradient``.
    inner_gradient : numba dispatcher, optional
    initialise : callable, optional
        ``initialise(views, n_hidden, forget_bias)`` after the default
        initialisation, on one layer's named views (an LSTM's forget bias).
    jvp : numba dispatcher, optional
        Forward mode, for the RTRL family of estimators.
    cell_state_gates : tuple of int
        The gates whose pre-activations reach the cell state c within a step
        (an LSTM's i, f, g; not o, which reaches h only): the pattern of the
        immediate influence on c that SnAp-1 keeps.
    check_settings : callable, optional
        ``check_settings(**settings)`` raises ValueError for values the cell
        cannot take (after the types are converted).
    doc : str
        One line for listings.
    """

    name: str
    n_gates: int
    forward: Callable
    backward: Callable
    state: tuple = ("h",)
    cache_width: int = 0
    nonlinearities: tuple = ("tanh",)
    settings: dict = field(default_factory=dict)
    separate_recurrent_delta: bool = False
    direct_path: bool = False
    inner_blocks: Callable = no_inner_blocks
    inner_gradient: Callable = None
    initialise: Callable = None
    jvp: Callable = None
    cell_state_gates: tuple = ()
    check_settings: Callable = None
    doc: str = ""

    def __post_init__(self):
        if self.state not in (("h",), ("h", "c")):
            raise ValueError(f"a cell's state is ('h',) or ('h', 'c'), got {self.state!r}")
        for name, kind in self.settings.items():
            if kind not in SETTING_TYPES or name in ("nonlinearity",):
                raise ValueError(f"setting {name!r} must be of type int or float and not be named 'nonlinearity'")
        if self.inner_blocks(4, True) and self.inner_gradient is None:
            raise ValueError(f"cell {self.name!r} has inner blocks but no inner_gradient kernel")
        object.__setattr__(self, "digest", _digest(self))
        _BY_KEY[(self.name, self.digest)] = self

    @property
    def has_cell_state(self):
        """bool: the state has a second part c (an LSTM's cell state)."""
        return len(self.state) == 2

    def blocks(self, n_in, n_hidden, bias=True):
        """Names and shapes of one layer's parameter blocks, in storage order."""
        width = self.n_gates * n_hidden
        out = [("W_xh", (n_in, width)), ("W_hh", (n_hidden, width))]
        if bias:
            out.append(("b_h", (width,)))
        return out + list(self.inner_blocks(n_hidden, bias))

    def configure(self, nonlinearity=None, **settings):
        """The configured cell that kernels take: nonlinearity and settings checked here.

        Raises
        ------
        ValueError
            For a nonlinearity the cell does not have, or a missing or unknown setting.
        """
        nonlinearity = self.nonlinearities[0] if nonlinearity is None else nonlinearity
        if nonlinearity not in self.nonlinearities:
            raise ValueError(
                f"nonlinearity must be one of {self.nonlinearities} for the {self.name} cell, got {nonlinearity!r}"
            )
        if set(settings) != set(self.settings):
            raise ValueError(f"the {self.name} cell takes the settings {sorted(self.settings)}, got {sorted(settings)}")
        try:
            values = {name: self.settings[name](value) for name, value in settings.items()}
        except (TypeError, ValueError):
            raise TypeError(f"the {self.name} cell's settings are {self.settings}, got {settings}") from None
        if self.check_settings is not None:
            self.check_settings(**values)
        return CellSettings(self, nonlinearity, values)

    def __repr__(self):
        return f"Cell({self.name!r}, n_gates={self.n_gates}, state={self.state})"


def _digest(cell):
    """A hash of the cell's declaration and of the source files of its kernels."""
    digest = hashlib.sha256(repr((cell.name, cell.n_gates, cell.state, cell.cache_width)).encode())
    files = set()
    for kernel in (cell.forward, cell.backward, cell.inner_gradient, cell.jvp):
        if kernel is None:
            continue
        func = getattr(kernel, "py_func", kernel)
        path = inspect.getsourcefile(func)
        if path is None:  # code given to exec: its compiled form stands for its source
            code = func.__code__
            digest.update(code.co_code + repr((code.co_consts, code.co_names)).encode())
        else:
            files.add(path)
    for path in sorted(files):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def register(cell):
    """Make ``cell`` available by name (to ``RNN(name, ...)`` and to :func:`rnn_numba.load`).

    Raises
    ------
    ValueError
        If another cell of that name is registered.
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"register takes a Cell, got {type(cell).__name__}")
    other = _BY_NAME.get(cell.name)
    if other is not None and other.digest != cell.digest:
        raise ValueError(f"a different cell named {cell.name!r} is registered; give yours another name")
    _BY_NAME[cell.name] = cell
    return cell


def get(cell):
    """The :class:`Cell` of a name, or ``cell`` itself if it is one."""
    if isinstance(cell, Cell):
        return cell
    if cell not in _BY_NAME:
        raise ValueError(f"cell must be one of {tuple(_BY_NAME)} or a rnn_numba.cells.Cell, got {cell!r}")
    return _BY_NAME[cell]


def registered():
    """The names of the registered cells."""
    return tuple(_BY_NAME)


class CellSettings:
    """A cell with its settings, as the kernels take it (see :meth:`Cell.configure`)."""

    def __init__(self, cell, nonlinearity, values):
        self.cell, self.nonlinearity_name, self.values = cell, nonlinearity, values
        self.nonlinearity = cell.nonlinearities.index(nonlinearity)
        self.__dict__.update(values)
        fields = tuple((k, SETTING_TYPES[type(v)]) for k, v in values.items())
        self._numba_type_ = CellType(cell.name, cell.digest, self.nonlinearity, fields)  # read by Numba's typeof

    @property
    def numba_type(self):
        """The :class:`CellType` kernels compiled for this cell are keyed on."""
        return self._numba_type_

    @property
    def separate_recurrent_delta(self):
        """As the cell's (the same constant a kernel sees)."""
        return self.cell.separate_recurrent_delta

    @property
    def direct_path(self):
        """As the cell's."""
        return self.cell.direct_path

    @property
    def has_cell_state(self):
        """As the cell's."""
        return self.cell.has_cell_state

    def __repr__(self):
        settings = "".join(f", {k}={v!r}" for k, v in self.values.items())
        return f"{self.cell.name}(nonlinearity={self.nonlinearity_name!r}{settings})"


class CellType(types.Type):
    """The Numba type of a configured cell: keyed on the cell's name and digest, its nonlinearity and settings.

    The nonlinearity is a compile-time constant (each compiles its own
    kernels); the settings are run-time values, fields of a struct.
    """

    def __init__(self, cell_name, digest, nonlinearity, fields):
        self.cell_name, self.digest, self.nonlinearity, self.fields = cell_name, digest, nonlinearity, fields
        super().__init__(name=f"Cell[{cell_name}:{digest}:{nonlinearity}]")

    @property
    def cell(self):
        """The :class:`Cell` this type stands for (while compiling)."""
        return _BY_KEY[(self.cell_name, self.digest)]


@typeof_impl.register(CellSettings)
def _typeof_cell(value, context):
    return value.numba_type


@register_model(CellType)
class _CellModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, list(fe_type.fields) or [("_none", types.int8)])


@unbox(CellType)
def _unbox_cell(typ, obj, c):
    struct = cgutils.create_struct_proxy(typ)(c.context, c.builder)
    for name, kind in typ.fields:
        attribute = c.pyapi.object_getattr_string(obj, name)
        if kind == types.int64:
            value = c.pyapi.long_as_longlong(attribute)
        else:
            value = c.pyapi.float_as_double(attribute)
        c.pyapi.decref(attribute)
        setattr(struct, name, value)
    if not typ.fields:
        struct._none = c.context.get_constant(types.int8, 0)
    is_error = cgutils.is_not_null(c.builder, c.pyapi.err_occurred())
    return NativeValue(struct._getvalue(), is_error=is_error)


@infer_getattr
class _CellAttributes(AttributeTemplate):
    key = CellType

    def generic_resolve(self, typ, attr):
        return dict(typ.fields).get(attr)


@lower_getattr_generic(CellType)
def _cell_getattr(context, builder, typ, value, attr):
    return getattr(cgutils.create_struct_proxy(typ)(context, builder, value=value), attr)


def _constant(name):
    @overload_attribute(CellType, name, inline="always")
    def attribute(cell):
        value = getattr(cell.cell, name)
        return lambda cell: value


for _name in ("separate_recurrent_delta", "direct_path", "has_cell_state"):
    _constant(_name)


@overload_attribute(CellType, "nonlinearity", inline="always")
def _nonlinearity(cell):
    code = cell.nonlinearity
    return lambda cell: code


@overload_method(CellType, "forward", inline="always")
def _forward(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t):
    step = cell.cell.forward

    def impl(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t):
        step(cell, b0, b1, a_t, r_t, inner, s_prev, s_next, cache_t)

    return impl


@overload_method(CellType, "backward", inline="always")
def _backward(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev):
    step = cell.cell.backward

    def impl(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev):
        step(cell, b0, b1, ds, inner, s_prev, s_next, cache_t, da, dr, ds_prev)

    return impl


@overload_method(CellType, "jvp", inline="always")
def _jvp(cell, b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next):
    step = cell.cell.jvp
    if step is None:
        raise TypeError(f"the {cell.cell_name} cell has no forward-mode step (jvp)")

    def impl(cell, b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next):
        step(cell, b, a_dot, r_dot, inner, inner_dot, s_prev, s_next, cache_t, ds_prev, ds_next)

    return impl


@overload_method(CellType, "inner_gradient", inline="always")
def _inner_gradient(cell, inner, h_prev, c_prev, cache, d_a, d_r, d_inner):
    kernel = cell.cell.inner_gradient
    if kernel is None:
        return lambda cell, inner, h_prev, c_prev, cache, d_a, d_r, d_inner: None

    def impl(cell, inner, h_prev, c_prev, cache, d_a, d_r, d_inner):
        kernel(cell, inner, h_prev, c_prev, cache, d_a, d_r, d_inner)

    return impl
