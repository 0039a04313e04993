"""Regenerate every figure of the paper: runs each paper/fig_*.py's main(scale)."""

import argparse
import importlib
import sys
import time
from pathlib import Path

from tqdm import tqdm

HERE = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=("default", "paper"), default="default")
    parser.add_argument("only", nargs="*", help="figure names (e.g. gradient_flow); all by default")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    scripts = sorted(HERE.glob("fig_*.py"))
    if args.only:
        scripts = [p for p in scripts if p.stem.removeprefix("fig_") in args.only]
    bar = tqdm(scripts, unit="figure", disable=None)
    for script in bar:
        bar.set_description(script.stem)
        start = time.perf_counter()
        path = importlib.import_module(script.stem).main(args.scale)
        tqdm.write(f"{path.relative_to(HERE.parent)}  ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
