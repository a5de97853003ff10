"""``python -m core users ...`` as a subprocess, on a fresh data folder's SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.auth.tokens import resolve_token
from core.auth.users import authenticate, list_users
from tests.core.cli.conftest import ROOT


@pytest.fixture
def users_cli(tmp_path):
    """``users_cli(*args, password=None) -> CompletedProcess`` on a fresh data folder; stdin
    is not a terminal, so a password comes from ``MENISCUS_PASSWORD`` when given."""
    def run(*args, password: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MENISCUS_DATA_DIR": str(tmp_path)}
        for key in ("DATABASE_URL", "MENISCUS_DATABASE_URL", "MENISCUS_PASSWORD"):
            env.pop(key, None)
        if password is not None:
            env["MENISCUS_PASSWORD"] = password
        return subprocess.run([sys.executable, "-m", "core", "users", *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    run.url = f"sqlite:///{(tmp_path / 'meniscus.db').resolve()}"
    return run


def test_add_list_set_role_passwd_deactivate(users_cli):
    added = users_cli("add", "ana", "--role", "operator", password="first-pass")
    assert (added.returncode, added.stdout, added.stderr) == (0, "added ana (operator)\n", "")
    assert authenticate(users_cli.url, "ana", "first-pass", "127.0.0.1").role == "operator"
    assert users_cli("set-role", "ana", "admin").stdout == "ana is now admin\n"
    changed = users_cli("passwd", "ana", password="second-pass")
    assert changed.returncode == 0 and "changed the password of ana" in changed.stdout
    assert authenticate(users_cli.url, "ana", "second-pass", "127.0.0.1").role == "admin"
    listed = users_cli("list").stdout.splitlines()
    assert listed[0].split() == ["user", "role", "status", "created"]
    assert listed[1].split()[:3] == ["ana", "admin", "active"]
    assert users_cli("deactivate", "ana").returncode == 0
    assert [(a.name, a.active) for a in list_users(users_cli.url)] == [("ana", False)]


def test_without_terminal_or_variable_there_is_no_password(users_cli):
    result = users_cli("add", "bo", "--role", "viewer")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("error: no password: stdin is not a terminal and "
                             "MENISCUS_PASSWORD is not set\n")


@pytest.mark.parametrize(("args", "password", "message"), [
    (("add", "has space", "--role", "viewer"), "long-enough",
     "error: user name 'has space' is not allowed: use 1 to 64 characters"),
    (("add", "cy", "--role", "viewer"), "short",
     "error: password has 5 characters; it needs at least 8"),
    (("set-role", "nobody", "admin"), None, "error: no user named 'nobody'"),
])
def test_bad_input_is_one_line_and_exit_2(users_cli, args, password, message):
    result = users_cli(*args, password=password)
    assert result.returncode == 2 and result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_a_token_is_printed_once_and_resolves_to_the_user(users_cli):
    users_cli("add", "dee", "--role", "viewer", password="long-enough")
    result = users_cli("token", "dee", "--label", "notebook")
    assert result.returncode == 0 and "shown once" in result.stderr
    token = result.stdout.strip()
    assert resolve_token(users_cli.url, token).name == "dee"


def test_audit_prune_from_the_shell_keeps_activity(users_cli, tmp_path):
    import subprocess as sp

    from core.auth.audit import ALLOWED, DENIED, list_events, record_event

    users_cli("list")  # creates the database
    record_event(users_cli.url, None, "request", DENIED)
    record_event(users_cli.url, None, "comment", ALLOWED, run_id=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MENISCUS_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    pruned = sp.run([sys.executable, "-m", "core", "audit", "prune", "--older-than-days",
                     "0.0000001"], cwd=ROOT, env=env, capture_output=True, text=True,
                    timeout=120)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("deleted 1 refused or failed events")
    assert [e.outcome for e in list_events(users_cli.url)] == [ALLOWED]
    refused = sp.run([sys.executable, "-m", "core", "audit", "prune", "--older-than-days",
                      "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "must be above 0" in refused.stderr
