"""The Meniscus command line, ``python -m core``: batch analysis and simulation of trace files.

Adding a command
----------------
Each command is one module here that defines ``COMMAND``, a :class:`~core.cli.command.Command`
(its words, help, options and ``run``). List the module in :data:`COMMAND_MODULES`; a new
first word (``export``, ``users``) is either a stand-alone command (``path=("export",)``) or a
group, described once in :data:`GROUPS`. Commands keep to parsing, calling ``core`` functions
and formatting; they import heavy analysis code inside ``run`` so that ``--help`` stays fast.

Exit status: 0 on success; 2 for bad options (argparse's usage message) and for a file or
parameters that cannot be used (one line on stderr: ``error: <file>: <problem>``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from core.cli.command import PROG, Command
from core.errors import MeniscusError

#: modules defining ``COMMAND``, in the order they are listed in ``--help``
COMMAND_MODULES = (
    "core.cli.demo",
    "core.cli.analyse_galvanostatic",
    "core.cli.analyse_cv",
    "core.cli.analyse_movie",
    "core.cli.analyse_sem",
    "core.cli.export",
    "core.cli.simulate_galvanostatic",
    "core.cli.simulate_cv",
    "core.cli.simulate_movie",
    "core.cli.simulate_sem",
    "core.cli.users",
    "core.cli.audit",
)

#: first words that hold several commands: one-line help and the longer description
GROUPS = {
    "analyse": (
        "analyse a recorded or simulated file",
        "Analyse one file and print a table (or one JSON object with --json).",
    ),
    "simulate": (
        "write a simulated record and its ground truth",
        "Simulate one record with the digital twin; writes FILE and FILE.truth.json.",
    ),
    "audit": (
        "look after the audit log: prune",
        "Look after the web app's audit log in the settings' database.",
    ),
    "users": (
        "manage accounts: add, list, set-role, passwd, deactivate, token",
        "Manage the web app's accounts in the settings' database (a local shell acts as "
        "admin).",
    ),
}

DESCRIPTION = """\
Meniscus: analysis and simulation of SECCM lithium-plating records from the command line.

Trace files are CSV/TSV (or ';'-separated) tables with a header row naming time, potential
and current with units, e.g. time_s,potential_V,current_A or instrument exports such as
'Time (s)', 'WE(1).Potential (V)', 'WE(1).Current (A)' (Autolab NOVA) or 'time/s', 'Ewe/V',
'<I>/mA' (EC-Lab); units s/ms/min, V/mV, A/mA/µA/nA/pA. Leading '#' lines are comments.
"""

EPILOG = """\
examples:
  python -m core demo
  python -m core simulate galvanostatic --current-density 0.78 --duration 15 --out spot.csv
  python -m core analyse galvanostatic spot.csv --current-density 0.78
  python -m core simulate cv --seed 1 --out cv.csv
  python -m core analyse cv cv.csv --json
  python -m core simulate movie --current-density 0.78 --duration 6 --seed 1 --out spot.ome.tif
  python -m core analyse movie spot.ome.tif --tnuc-map tnuc.npy
  python -m core simulate galvanostatic --current-density 0.78 --duration 6 --seed 1 \\
      --footprint-um 10 --out spot.csv
  python -m core analyse movie spot.ome.tif --trace spot.csv --current-density 0.78 --json
  python -m core simulate sem --current-density 0.78 --duration 15 --out footprint.tif
  python -m core analyse sem footprint.tif --overlay footprint_qa.png

Movies are TIFF stacks (OME, Micro-Manager, ImageJ, camera) or AVI; SEM images are TIFF
(FEI/Thermo, Zeiss or a resolution tag). Each command's --help says more.

exit status: 0 done; 2 bad options, or a file that cannot be read or analysed (one line on
stderr naming the file and the problem).
"""


def load_commands() -> list[Command]:
    """The ``COMMAND`` (or the ``COMMANDS`` of a group) of every module in
    :data:`COMMAND_MODULES`."""
    commands = []
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        commands.extend(getattr(module, "COMMANDS", None) or (module.COMMAND,))
    return commands


def build_parser(commands: Sequence[Command] | None = None) -> argparse.ArgumentParser:
    """The argparse tree of ``commands`` (default: all of them)."""
    commands = load_commands() if commands is None else commands
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict = {}
    for command in commands:
        siblings = top
        if len(command.path) == 2:
            group = command.path[0]
            if group not in groups:
                help_line, description = GROUPS[group]
                group_parser = top.add_parser(group, help=help_line, description=description)
                groups[group] = group_parser.add_subparsers(
                    dest=f"{group}_command", metavar="KIND", required=True
                )
            siblings = groups[group]
        elif len(command.path) != 1:
            raise ValueError(f"command path {command.path} must have one or two words")
        sub = siblings.add_parser(
            command.path[-1],
            help=command.help,
            description=command.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run, parser=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m core`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except MeniscusError as exc:
        # One line, no traceback: the user can act on it (fix the file or the option).
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `... | head` closed the pipe. Point stdout at devnull so that the flush at exit does
        # not raise again (the recipe of the Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line(message: str) -> str:
    return " ".join(message.split("\n"))
