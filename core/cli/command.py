"""What a subcommand of ``python -m core`` is: its place in the tree, its options, its action."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import MeniscusError

#: how the command line is invoked, for usage lines and suggested commands
PROG = "python -m core"


class CommandError(MeniscusError):
    """A command cannot do what it was asked (bad input data, impossible parameters).

    ``main`` prints the message as one line on stderr and exits with status 2.
    """


@dataclass(frozen=True)
class Command:
    """One runnable subcommand.

    Attributes
    ----------
    path : tuple of str
        Words that select it: ``("analyse", "galvanostatic")`` or ``("demo",)``. A first word
        shared by several commands is a group (``analyse``, ``simulate``) listed in
        :data:`core.cli.GROUPS`.
    help : str
        One line shown in the parent's list of commands.
    description : str
        The command's own ``--help`` text, with examples.
    add_arguments : callable
        ``add_arguments(parser)`` declares the options on the command's parser.
    run : callable
        ``run(args) -> int`` does the work and returns the exit status. It may call
        ``args.parser.error(message)`` for a bad combination of options (exit 2, argparse
        style) and raise :class:`~core.errors.MeniscusError` for bad data (exit 2, one line).
    """

    path: tuple[str, ...]
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
