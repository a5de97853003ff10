"""Writing what a ``simulate`` command produced: the trace file and its truth sidecar."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from core.cli.command import CommandError
from core.io.traces import write_trace
from core.simulate.records import SimulatedTrace


def write_simulation(path: Path, simulated: SimulatedTrace) -> Path:
    """Write ``simulated.trace`` to ``path`` and its truth to ``<path>.truth.json``.

    Metadata entries that repeat the truth are left out of the trace file.
    Both are written atomically (see :func:`core.io.traces.write_trace`); the folder is
    created if needed. Returns the trace file's path.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{path}: cannot create its folder: {exc.strerror or exc}") from exc
    # The file should hold what an instrument would record: answers belong in the sidecar,
    # not in comment lines of the very file an analysis is tested on.
    metadata = {k: v for k, v in simulated.trace.metadata.items() if k not in simulated.truth}
    trace = dataclasses.replace(simulated.trace, metadata=metadata)
    return write_trace(path, trace, truth=simulated.truth)
