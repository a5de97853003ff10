"""``python -m core audit prune``: keep the audit log from growing without end.

Refused and failed requests are written to the audit log (anonymous ones too), so a server
facing the network gathers them fast. This deletes those older than a number of days; allowed
events, the runs' activity feeds, are never deleted.
"""

from __future__ import annotations

import argparse

from core.cli.command import PROG, Command, CommandError

#: default age, days, beyond which refusals are deleted
DEFAULT_REFUSALS_DAYS = 90.0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--older-than-days", type=float, default=DEFAULT_REFUSALS_DAYS,
                        metavar="DAYS",
                        help=f"delete refusals older than this (default {DEFAULT_REFUSALS_DAYS:g})")


def run_prune(args: argparse.Namespace) -> int:
    from core.auth.audit import prune_refusals
    from core.cli.users import settings_database_url

    if not args.older_than_days > 0:
        raise CommandError(f"--older-than-days {args.older_than_days:g}: it must be above 0")
    deleted = prune_refusals(settings_database_url(), older_than_days=args.older_than_days)
    print(f"deleted {deleted} refused or failed events older than {args.older_than_days:g} "
          "days; allowed events (activity feeds) are kept")
    return 0


COMMANDS = (
    Command(("audit", "prune"), "delete old refusals from the audit log (activity is kept)",
            f"Delete refused and failed events older than DAYS from the audit log.\n\n"
            f"example (e.g. weekly from cron):\n  {PROG} audit prune --older-than-days 90",
            _arguments, run_prune),
)
