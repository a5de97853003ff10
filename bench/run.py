"""Meniscus benchmark harness.

Each benchmark measures a figure and a baseline in the same run and prints both with their
ratio, so results compare across machines. Usage::

    python bench/run.py [--quick] [--json] [NAME ...]

Benchmarks live in ``bench/<topic>.py`` modules that export ``BENCHMARKS``: a dict mapping a
name to a function ``fn(quick: bool) -> dict`` returning at least ``figure``, ``unit``,
``baseline``, ``ratio`` and ``target`` (text), plus ``ok`` (target met) and free ``details``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: modules under bench/ that register benchmarks, in the order they run
MODULES = ["galvanostatic_batch", "irm", "sem", "dashboard", "engine"]


def collect() -> dict:
    """Import every benchmark module and return ``{name: function}`` in run order."""
    found: dict = {}
    for module_name in MODULES:
        module = importlib.import_module(f"bench.{module_name}")
        found.update(module.BENCHMARKS)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    benchmarks = collect()
    unknown = [n for n in args.names if n not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {sorted(benchmarks)}")
    results = {}
    for name, fn in benchmarks.items():
        if args.names and name not in args.names:
            continue
        started = time.perf_counter()
        result = fn(args.quick)
        result["wall_s"] = round(time.perf_counter() - started, 3)
        results[name] = result
        if not args.json:
            print(
                f"{name}: {result['figure']:.4g} {result['unit']} vs baseline "
                f"{result['baseline']:.4g} {result.get('baseline_unit', result['unit'])} "
                f"→ ratio {result['ratio']:.3g}; target {result['target']}: "
                f"{'met' if result.get('ok') else 'NOT met'}",
                flush=True,
            )
    if args.json:
        print(json.dumps(results, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
