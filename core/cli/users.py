"""``python -m core users add|list|set-role|passwd|deactivate|token``: accounts from a shell.

A shell on the machine that holds the database is trusted as an admin (it could open the
database anyway); changes are audited as made by ``local-shell``. Passwords are asked twice
on a terminal, or read from ``MENISCUS_PASSWORD`` when stdin is not a terminal (scripts).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from core.cli.command import PROG, Command, CommandError
from core.cli.formatting import table

ROLES = ("viewer", "operator", "admin")
#: where a script gives the password when stdin is not a terminal
PASSWORD_VARIABLE = "MENISCUS_PASSWORD"


def settings_database_url() -> str:
    """The settings' database (``DATABASE_URL`` or the SQLite file), brought up to date."""
    from core.settings import get_settings
    from core.storage.db import upgrade_database

    url = get_settings().resolved_database_url
    upgrade_database(url)
    return url


def read_new_password(name: str) -> str:
    """The new password of ``name``: typed twice on a terminal, else ``MENISCUS_PASSWORD``."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            raise CommandError("the two passwords differ; nothing changed")
        return first
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        raise CommandError(f"no password: stdin is not a terminal and {PASSWORD_VARIABLE} "
                           "is not set")
    return password


def _name(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="user name")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    _name(parser)
    parser.add_argument("--role", choices=ROLES, required=True, help="what the user may do")


def _set_role_arguments(parser: argparse.ArgumentParser) -> None:
    _name(parser)
    parser.add_argument("role", choices=ROLES, metavar="ROLE", help=" | ".join(ROLES))


def _token_arguments(parser: argparse.ArgumentParser) -> None:
    _name(parser)
    parser.add_argument("--label", default="", help="what the token is for (shown in lists)")


def run_add(args: argparse.Namespace) -> int:
    from core.auth.users import add_user

    url = settings_database_url()
    add_user(url, args.name, args.role, read_new_password(args.name))
    print(f"added {args.name} ({args.role})")
    return 0


def run_list(_args: argparse.Namespace) -> int:
    from core.auth.users import list_users

    accounts = list_users(settings_database_url())
    if not accounts:
        print(f"no accounts yet: {PROG} users add NAME --role admin")
        return 0
    print(table(("user", "role", "status", "created"),
                [(a.name, str(a.role), "active" if a.active else "deactivated",
                  f"{a.created_at:%Y-%m-%d}") for a in accounts], align="llll"))
    return 0


def run_set_role(args: argparse.Namespace) -> int:
    from core.auth.users import set_role

    set_role(settings_database_url(), args.name, args.role)
    print(f"{args.name} is now {args.role}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    from core.auth.users import AccountError, list_users, set_password

    url = settings_database_url()
    if args.name not in {a.name for a in list_users(url)}:
        raise AccountError(f"no user named {args.name!r}")
    set_password(url, args.name, read_new_password(args.name))
    print(f"changed the password of {args.name}; their browser sessions are ended")
    return 0


def run_deactivate(args: argparse.Namespace) -> int:
    from core.auth.users import deactivate

    deactivate(settings_database_url(), args.name)
    print(f"deactivated {args.name}; their browser sessions are ended")
    return 0


def run_token(args: argparse.Namespace) -> int:
    from core.auth.tokens import create_token

    token = create_token(settings_database_url(), args.name, args.label)
    print(token)
    print(f"(API token for {args.name}: shown once, keep it secret; send it as "
          "'Authorization: Bearer <token>')", file=sys.stderr)
    return 0


COMMANDS = (
    Command(("users", "add"), "add an account (password asked twice, or MENISCUS_PASSWORD)",
            f"Add an account.\n\nexamples:\n  {PROG} users add ana --role operator\n"
            f"  MENISCUS_PASSWORD=... {PROG} users add ci-bot --role viewer < /dev/null",
            _add_arguments, run_add),
    Command(("users", "list"), "list the accounts", "List every account with its role.",
            lambda parser: None, run_list),
    Command(("users", "set-role"), "give an account another role",
            f"Change a user's role.\n\nexample:\n  {PROG} users set-role ana admin",
            _set_role_arguments, run_set_role),
    Command(("users", "passwd"), "set a new password (ends the user's browser sessions)",
            f"Set a user's password.\n\nexample:\n  {PROG} users passwd ana", _name, run_passwd),
    Command(("users", "deactivate"), "stop an account from logging in",
            f"Deactivate an account (kept for the audit log).\n\nexample:\n"
            f"  {PROG} users deactivate ana", _name, run_deactivate),
    Command(("users", "token"), "print a new API token for a user (shown once)",
            f"Create an API token for the JSON API.\n\nexample:\n"
            f"  {PROG} users token ana --label 'analysis notebook'",
            _token_arguments, run_token),
)
