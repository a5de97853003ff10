"""Meniscus benchmark harness.

Each benchmark measures a figure and a baseline in the same run and prints both with their
ratio, so results compare across machines. Usage::

    python bench/run.py [--quick] [--json] [NAME ...]

``NAME`` is a benchmark (``load_20_viewers``) or a topic, which runs all of its benchmarks
(``python bench/run.py load``); no name runs every benchmark.

Benchmarks live in ``bench/<topic>.py`` modules (listed in :data:`MODULES`) that export
``BENCHMARKS``: a dict mapping a name to a function ``fn(quick: bool) -> dict`` returning at
least ``figure``, ``unit``, ``baseline``, ``ratio`` and ``target`` (text), plus ``ok`` (target
met) and free ``details``.
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

#: modules under bench/ that register benchmarks (the topics), in the order they run; ``load``
#: starts the app in a server process and browses it for about 40 s
MODULES = ["galvanostatic_batch", "irm", "sem", "dashboard", "engine", "load"]


def collect() -> dict[str, dict]:
    """Import every benchmark module: ``{topic: {name: function}}`` in run order."""
    return {topic: importlib.import_module(f"bench.{topic}").BENCHMARKS for topic in MODULES}


def select(topics: dict[str, dict], names: list[str]) -> dict:
    """``{name: function}`` to run, in run order: the benchmarks called ``names`` and every
    benchmark of a topic among ``names`` (all of them when ``names`` is empty). Raises
    ``ValueError`` naming what is neither a benchmark nor a topic."""
    known = {name for benchmarks in topics.values() for name in benchmarks}
    unknown = [name for name in names if name not in known and name not in topics]
    if unknown:
        raise ValueError(f"unknown benchmark(s) or topic(s) {unknown}; topics: "
                         f"{list(topics)}; benchmarks: {sorted(known)}")
    return {name: fn for topic, benchmarks in topics.items() for name, fn in benchmarks.items()
            if not names or name in names or topic in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="run only these benchmarks, or every benchmark of these topics")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    try:
        benchmarks = select(collect(), args.names)
    except ValueError as error:
        parser.error(str(error))
    results = {}
    for name, fn in benchmarks.items():
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
