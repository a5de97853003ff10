"""The audit log: recording, the run activity feed, and pruning old refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.auth.audit import (
    ALLOWED,
    DENIED,
    FAILED,
    list_events,
    prune_refusals,
    record_event,
    run_activity,
)
from core.auth.roles import Actor, Role
from core.storage.db import session_scope, upgrade_database
from core.storage.models import AuditEvent, utcnow

ANA = Actor("ana", Role.OPERATOR, ip="10.0.0.5")


@pytest.fixture
def url(database_url):
    upgrade_database(database_url)
    return database_url


def _age(url: str, days: float) -> None:
    """Move every event ``days`` into the past."""
    with session_scope(url) as session:
        for event in session.query(AuditEvent):
            event.at = utcnow() - timedelta(days=days)


def test_events_record_who_what_and_feed_the_run_activity(url):
    record_event(url, ANA, "exclude", ALLOWED, target="spot 3", run_id=7, spot_id=3,
                 detail={"reason": "bubble"})
    record_event(url, None, "request", DENIED, target="GET /results/7", ip="203.0.113.9")
    record_event(url, ANA, "launch", DENIED, target="grid x", run_id=7)
    (allowed,) = run_activity(url, 7)
    assert (allowed.actor, allowed.role, allowed.action, allowed.ip, allowed.detail) == (
        "ana", "operator", "exclude", "10.0.0.5", {"reason": "bubble"})
    anonymous = list_events(url, outcome=DENIED)[-1]
    assert (anonymous.actor, anonymous.ip) == ("", "203.0.113.9")


def test_pruning_deletes_old_refusals_and_keeps_every_allowed_event(url):
    record_event(url, ANA, "comment", ALLOWED, run_id=1)
    record_event(url, None, "request", DENIED)
    record_event(url, None, "login", FAILED)
    _age(url, 100)
    record_event(url, None, "request", DENIED)  # recent: kept
    assert prune_refusals(url, older_than_days=90) == 2
    left = sorted((e.action, e.outcome) for e in list_events(url))
    assert left == [("comment", ALLOWED), ("request", DENIED)]
    assert prune_refusals(url, older_than_days=90) == 0


@pytest.mark.parametrize("days", [0, -1, float("nan")])
def test_pruning_needs_a_positive_age(url, days):
    with pytest.raises(ValueError, match="must be above 0 days"):
        prune_refusals(url, older_than_days=days)
