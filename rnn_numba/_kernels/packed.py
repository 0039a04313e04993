"""Per-step products on a weight packed once: a register-blocked GEMM micro-kernel.

Each step of a recursion multiplies a thread's few rows of the state (or of
the deltas) by the same weight, out[b0:b1] = x[b0:b1] @ w with w (K, N). A
BLAS call repacks ``w`` at every step, which for 16 rows costs about as much
as the product. Here ``w`` is packed once per driver call into panels of
``NR`` columns, (ceil(N / NR), K, NR) zero-padded (:func:`pack`), and each
step runs a micro-kernel over them (:func:`packed_matmul`): a block of up to
``MR`` = 4 rows (8 with AVX-512) times one panel, its MR x NR results held
in 2 MR vector registers while k runs, one broadcast of x and two vector
loads of the panel per k (Goto & van de Geijn 2008, "Anatomy of high-performance matrix
multiplication", ACM TOMS 34(3); the micro-kernel of BLIS, Van Zee & van de
Geijn 2015, ACM TOMS 41(3)). With one or two rows per thread a block spans
four or two panels instead, so that it still has 8 independent accumulators:
one row times one panel would be two chains of dependent multiply-adds,
bound by their latency. K is split into blocks of ``K_BLOCK``.

NR is two of the CPU's vectors: 16 float32 or 8 float64 columns with AVX2,
32 or 16 with AVX-512 (:func:`vector_bytes`). Numba has no vector type to
keep such accumulators in registers (hand-written Numba loops for these
products stayed below OpenBLAS), so :func:`_panel_block` is written in LLVM
IR; LLVM lowers the vectors to whatever the CPU has. What each choice here
measured against OpenBLAS, and on which machine, is in benchmarks/HISTORY.md.
"""

import llvmlite.binding
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import jit_kernel, jit_step_kernel


def vector_bytes():
    """Bytes per vector register of the CPU Numba compiles for: 64 with AVX-512, else 32 (AVX2).

    LLVM lowers the kernel's vectors to what the target has; on a CPU without
    AVX2 they are split into smaller registers (slower, still correct).
    """
    host = numba.config.CPU_NAME in (None, "host")
    return 64 if host and llvmlite.binding.get_host_cpu_features().get("avx512f", False) else 32


VECTOR_BYTES = vector_bytes()
#: Rows per block: 2 * MR accumulators + 2 panel vectors + 1 broadcast. With AVX2, 4 rows use 11 of the 16
#: registers (6 would fit, and measured no faster); AVX-512 has 32, and 8 rows (19) measured faster than 4.
MR = 8 if VECTOR_BYTES == 64 else 4
#: Panels per block for one row (two rows take half as many): 8 accumulators, as for MR rows on AVX2.
MAX_PANELS = 4
#: K per pass over the panels. A panel of 512 x NR values (32 KB) no longer fits the L1 cache beside the rows of
#: x, but 512 measured as fast as 256 and 128 or faster: the streams prefetch well.
K_BLOCK = 512
#: The (rows, panels) blocks :func:`_panel_block` compiles: powers of two, at most MR rows x panels, 2 accumulators
#: per panel and row. Other counts are split into these (7 rows as 4 + 2 + 1): each block is a loop of its own, and
#: their code is most of a recursion kernel's, which Numba compiles again in every kernel that calls it.
BLOCKS = ((1, 1), (1, 2), (1, 4), (2, 1), (2, 2)) + tuple((rows, 1) for rows in (4, 8) if rows <= MR)


@jit_kernel
def pack(w):
    """Panels of NR columns of ``w`` (K, N): shape (ceil(N / NR), K, NR), zero-padded.

    NR is two vectors: 16 float32 or 8 float64 columns with AVX2, twice as many with AVX-512.
    """
    n_rows, n_cols = w.shape
    width = 2 * VECTOR_BYTES // w.itemsize
    n_panels = (n_cols + width - 1) // width
    packed = np.zeros((n_panels, n_rows, width), dtype=w.dtype)
    for p in range(n_panels):
        for k in range(n_rows):
            for j in range(min(width, n_cols - p * width)):
                packed[p, k, j] = w[k, p * width + j]
    return packed


@jit_step_kernel
def packed_matmul(x, w_packed, out, b0, b1, accumulate):
    """out[b0:b1] (+)= x[b0:b1] @ w for C-contiguous x (B, K), out (B, N) and w packed by :func:`pack`.

    Added to ``out`` if ``accumulate``, else written. Blocks of up to MR rows
    times one panel; with one or two rows, times up to four or two panels
    (one of :data:`BLOCKS` in every case).
    """
    n_inner, n_cols = x.shape[1], out.shape[1]
    n_panels, width = w_packed.shape[0], w_packed.shape[2]
    group = max(1, MAX_PANELS // max(b1 - b0, 1))  # panels per block
    for k0 in range(0, max(n_inner, 1), K_BLOCK):  # at least one pass: K = 0 writes zeros
        k1 = min(k0 + K_BLOCK, n_inner)
        p = 0
        while p < n_panels:
            n_group = _power_of_two_at_most(min(group, n_panels - p))
            last_cols = min(width, n_cols - (p + n_group - 1) * width)
            r = b0
            while r < b1:
                n_rows = _power_of_two_at_most(min(MR, b1 - r))
                _panel_block(x, out, w_packed, r, n_rows, p, n_group, k0, k1, last_cols, accumulate or k0 > 0)
                r += n_rows
            p += n_group


@jit_step_kernel
def _power_of_two_at_most(n):
    """The largest power of two <= n (n >= 1)."""
    power = 1
    while power * 2 <= n:
        power *= 2
    return power


@intrinsic
def _panel_block(typingctx, x, out, w_packed, row0, n_rows, panel, n_panels, k0, k1, last_cols, accumulate):
    """out[rows, cols] (+)= x[rows, k0:k1] @ w[k0:k1, cols] for a block of n_rows rows and n_panels panels.

    rows = row0 .. row0 + n_rows - 1; cols = the columns of panels
    ``panel`` .. ``panel + n_panels - 1``, of which the last has
    ``last_cols`` (<= NR: the last panel of ``w`` may be short). Added to
    ``out`` if ``accumulate``, else written. (n_rows, n_panels) must be one
    of :data:`BLOCKS`, each compiled as its own loop, so that no row or
    panel is computed twice.
    """
    arrays = (x, out, w_packed)
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in arrays):
        return None
    if len({a.dtype for a in arrays}) != 1 or x.dtype not in (types.float32, types.float64):
        return None
    sig = types.void(x, out, w_packed, types.intp, types.intp, types.intp, types.intp, types.intp, types.intp,
                     types.intp, types.boolean)  # fmt: skip

    def codegen(context, builder, signature, args):
        x_arr, out_arr, w_arr = (
            context.make_array(a)(context, builder, v) for a, v in zip(arrays, args[:3], strict=True)
        )
        row0, n_rows, panel, n_panels, k0, k1, last_cols, accumulate = args[3:]
        scalar = context.get_value_type(x.dtype)
        lanes = VECTOR_BYTES // context.get_abi_sizeof(scalar)
        width = 2 * lanes
        vector = ir.VectorType(scalar, lanes)
        name = f"llvm.fmuladd.v{lanes}{'f32' if lanes == 8 else 'f64'}"  # a * b + c, fused where the CPU can
        fmuladd = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector] * 3), name)
        zero_lanes = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
        x_stride = cgutils.unpack_tuple(builder, x_arr.strides, 2)[0]
        out_stride = cgutils.unpack_tuple(builder, out_arr.strides, 2)[0]
        w_stride = cgutils.unpack_tuple(builder, w_arr.strides, 3)[0]

        def row_pointer(array, stride, row, offset):
            """Pointer to element ``offset`` of row ``row`` of a C-contiguous 2-D array."""
            start = builder.gep(builder.bitcast(array.data, cgutils.int8_t.as_pointer()), [builder.mul(row, stride)])
            return builder.gep(builder.bitcast(start, scalar.as_pointer()), [offset])

        def vector_at(pointer, lane_offset):
            return builder.bitcast(builder.gep(pointer, [cgutils.intp_t(lane_offset)]), vector.as_pointer())

        def panel_pointer(index):
            offset = builder.mul(builder.add(panel, cgutils.intp_t(index)), w_stride)
            return builder.bitcast(
                builder.gep(builder.bitcast(w_arr.data, cgutils.int8_t.as_pointer()), [offset]), scalar.as_pointer()
            )

        def store(target, value):
            """Write ``value`` at ``target``, or add it if ``accumulate``."""
            value = builder.select(accumulate, builder.fadd(builder.load(target, align=1), value), value)
            builder.store(value, target, align=1)

        def store_panel(out_rows, totals):
            """Store each row's two accumulators (lo, hi) into its NR columns."""
            for out_r, halves in zip(out_rows, totals, strict=True):
                for half, total in enumerate(halves):
                    store(vector_at(out_r, half * lanes), builder.load(total))

        def store_columns(out_rows, totals, n_cols):
            """Store the first ``n_cols`` lanes of each row's accumulators, element by element."""
            for out_r, (lo_total, hi_total) in zip(out_rows, totals, strict=True):
                with cgutils.for_range(builder, n_cols) as loop:
                    j = loop.index
                    in_hi = builder.icmp_signed(">=", j, cgutils.intp_t(lanes))
                    lane = builder.select(in_hi, builder.sub(j, cgutils.intp_t(lanes)), j)
                    lane = builder.trunc(lane, cgutils.int32_t)
                    lo = builder.extract_element(builder.load(lo_total), lane)
                    hi = builder.extract_element(builder.load(hi_total), lane)
                    store(builder.gep(out_r, [j]), builder.select(in_hi, hi, lo))

        done = builder.append_basic_block("panel_block.done")
        # One case per block, keyed 8 * rows + panels (panels <= 4); a block not in BLOCKS would write nothing.
        switch = builder.switch(builder.add(builder.mul(n_rows, cgutils.intp_t(8)), n_panels), done)
        for m, q in BLOCKS:
            case = builder.append_basic_block(f"panel_block.rows{m}.panels{q}")
            switch.add_case(cgutils.intp_t(8 * m + q), case)
            builder.position_at_end(case)
            rows = [builder.add(row0, cgutils.intp_t(r)) for r in range(m)]
            x_rows = [row_pointer(x_arr, x_stride, row, cgutils.intp_t(0)) for row in rows]
            panels = [panel_pointer(i) for i in range(q)]
            # sums[r][2 * i + half]: row r, panel i, vector half
            sums = [
                [cgutils.alloca_once_value(builder, ir.Constant(vector, None)) for _ in range(2 * q)] for _ in range(m)
            ]
            with cgutils.for_range(builder, builder.sub(k1, k0)) as loop:
                k = builder.add(k0, loop.index)
                w_vectors = []
                for pointer in panels:
                    w_k = builder.gep(pointer, [builder.mul(k, cgutils.intp_t(width))])
                    w_vectors += [
                        builder.load(vector_at(w_k, 0), align=1),
                        builder.load(vector_at(w_k, lanes), align=1),
                    ]
                for r in range(m):  # sums[r] += x[row r, k] * w_packed[panels, k, :]
                    x_rk = builder.insert_element(ir.Constant(vector, None), builder.load(builder.gep(x_rows[r], [k])),
                                                  cgutils.int32_t(0))  # fmt: skip
                    x_rk = builder.shuffle_vector(x_rk, ir.Constant(vector, ir.Undefined), zero_lanes)
                    for total, w_vector in zip(sums[r], w_vectors, strict=True):
                        builder.store(builder.call(fmuladd, [x_rk, w_vector, builder.load(total)]), total)
            for i in range(q):
                col0 = builder.mul(builder.add(panel, cgutils.intp_t(i)), cgutils.intp_t(width))
                out_rows = [row_pointer(out_arr, out_stride, row, col0) for row in rows]
                totals = [(sums[r][2 * i], sums[r][2 * i + 1]) for r in range(m)]
                if i < q - 1:  # only a block's last panel can be the short last panel of w
                    store_panel(out_rows, totals)
                    continue
                with builder.if_else(builder.icmp_signed("==", last_cols, cgutils.intp_t(width))) as (whole, short):
                    with whole:
                        store_panel(out_rows, totals)
                    with short:  # the columns beyond N are padding
                        store_columns(out_rows, totals, last_cols)
            builder.branch(done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return sig, codegen
