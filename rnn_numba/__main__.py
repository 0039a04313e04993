"""``python -m rnn_numba``: compile the kernels up front, or look at and clear their cache.

python -m rnn_numba warmup [--cells elman lstm gru] [--dtypes float64 float32]
python -m rnn_numba cache [--clear] [--every-version]
"""

import argparse
import sys

import numpy as np


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m rnn_numba", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    warm = commands.add_parser("warmup", help="compile (or load) every kernel of the given cells and dtypes")
    warm.add_argument("--cells", nargs="+", default=["elman", "lstm", "gru"])
    warm.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    warm.add_argument("--quiet", action="store_true", help="no progress bar")
    store = commands.add_parser("cache", help="where the compiled kernels are cached, and how much")
    store.add_argument("--clear", action="store_true", help="delete this version's cached kernels")
    store.add_argument("--every-version", action="store_true", help="with --clear: every version's")
    args = parser.parse_args(argv)

    import rnn_numba as rn

    if args.command == "warmup":
        unknown = sorted(set(args.cells) - set(rn.cells.registered()))
        if unknown:
            parser.error(f"unknown cell(s) {unknown}; cells are {list(rn.cells.registered())}")
        dtypes = tuple(getattr(np, name) for name in args.dtypes)
        rn.warmup(dtypes=dtypes, cells=tuple(args.cells), progress=not args.quiet)
        print(f"compiled or loaded; cached in {rn.cache.path()}")
        return 0
    if args.clear:
        freed = rn.cache.clear(every_version=args.every_version)
        print(f"freed {freed / 2**20:.1f} MiB")
        return 0
    info = rn.cache.info()
    print(f"this version's kernels: {info['path']} ({info['bytes'] / 2**20:.1f} MiB in {info['files']} files)")
    for name, size in info["others"].items():
        print(f"  other version or sources: {name} ({size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
