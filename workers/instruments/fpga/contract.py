"""Does a bitfile (or an open session) provide what the configuration maps? Checked offline.

:func:`check_bitfile` reads the ``.lvbitx`` with :class:`nifpga.Bitfile` (no driver needed)
and lists every configured register that is missing or has another type or access role, and
every FIFO that is missing, is not I16, runs the other way or was compiled with another
depth: a wrong mapping is caught before anything moves. ``nifpga.Bitfile`` does not expose a
FIFO's direction or compiled depth, so those two are read from the same XML directly.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from workers.instruments.fpga.config import FifoSpec, FpgaConfig

#: direction text of a DMA channel in the .lvbitx, per configured FIFO role
FIFO_DIRECTIONS = {"waypoints": "HostToTarget", "samples": "TargetToHost"}
FIFO_ELEMENT_TYPE = "I16"


def check_bitfile(path: str | Path, config: FpgaConfig) -> list[str]:
    """Every way the bitfile at ``path`` disagrees with ``config``; empty when it matches.

    Each problem is one sentence naming the register or FIFO, what the config expects and
    what the bitfile has.
    """
    import nifpga

    path = Path(path)
    try:
        with warnings.catch_warnings(record=True) as skipped:
            warnings.simplefilter("always")
            bitfile = nifpga.Bitfile(str(path))
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError, AttributeError, ValueError, TypeError) as error:
        # nifpga raises AttributeError on a well-formed XML that lacks its elements
        return [f"{path}: not a readable .lvbitx bitfile ({type(error).__name__}: {error})"]
    problems = [f"{path}: nifpga skipped an element ({w.message})" for w in skipped]
    for logical, spec in config.registers:
        register = bitfile.registers.get(spec.name)
        if register is None:
            problems.append(f"register {spec.name!r} ({logical}) is not in the bitfile")
            continue
        actual = str(register.datatype)
        if actual != spec.type:
            problems.append(
                f"register {spec.name!r} ({logical}) is {actual}, the config expects {spec.type}"
            )
        if register.is_indicator != spec.indicator:
            problems.append(
                f"register {spec.name!r} ({logical}) is "
                f"{_role(register.is_indicator)}, the config expects {_role(spec.indicator)}"
            )
    channels = _dma_channels(root)
    for logical, spec in config.fifos:
        problems += _fifo_problems(logical, spec, bitfile.fifos.get(spec.name),
                                   channels.get(spec.name))
    return problems


def check_session(session, config: FpgaConfig) -> list[str]:
    """Names the configuration maps that an open session lacks (types need the bitfile)."""
    problems = [f"register {spec.name!r} ({logical}) is not in the session"
                for logical, spec in config.registers if spec.name not in session.registers]
    problems += [f"FIFO {spec.name!r} ({logical}) is not in the session"
                 for logical, spec in config.fifos if spec.name not in session.fifos]
    return problems


def _role(indicator: bool) -> str:
    return "an indicator" if indicator else "a control"


def _dma_channels(root) -> dict[str, ElementTree.Element]:
    return {channel.attrib.get("name", ""): channel
            for channel in root.iter("Channel") if "name" in channel.attrib}


def _fifo_problems(logical: str, spec: FifoSpec, fifo, channel) -> list[str]:
    label = f"FIFO {spec.name!r} ({logical})"
    if fifo is None:
        return [f"{label} is not in the bitfile"]
    problems = []
    if str(fifo.datatype) != FIFO_ELEMENT_TYPE:
        problems.append(f"{label} carries {fifo.datatype}, expected {FIFO_ELEMENT_TYPE}")
    direction = (channel.findtext("Direction") or "").strip() if channel is not None else ""
    expected = FIFO_DIRECTIONS[logical]
    if direction != expected:
        problems.append(f"{label} runs {direction or 'in an unstated direction'}, "
                        f"expected {expected}")
    if spec.target_depth is not None and channel is not None:
        depth = (channel.findtext("NumberOfElements") or "").strip()
        if depth != str(spec.target_depth):
            problems.append(f"{label} was compiled with {depth or 'an unstated number of'} "
                            f"elements, the config expects {spec.target_depth}")
    return problems
