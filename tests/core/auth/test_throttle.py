from datetime import timedelta

from core.auth.throttle import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_NAME,
    WINDOW_S,
    record_attempt,
    retry_after_s,
)
from core.storage.models import utcnow


def test_five_failures_lock_the_name_for_the_window(database_url):
    for _ in range(MAX_FAILURES_PER_NAME - 1):
        record_attempt(database_url, "lee", "10.2.0.1", success=False)
    assert retry_after_s(database_url, "lee", "10.2.0.1") == 0
    record_attempt(database_url, "lee", "10.2.0.1", success=False)
    assert 0 < retry_after_s(database_url, "lee", "10.2.0.9") <= WINDOW_S  # any address
    assert retry_after_s(database_url, "other", "10.2.0.1") == 0  # other names may try
    later = utcnow() + timedelta(seconds=WINDOW_S + 1)
    assert retry_after_s(database_url, "lee", "10.2.0.1", now=later) == 0


def test_a_success_clears_the_name_count(database_url):
    for _ in range(MAX_FAILURES_PER_NAME - 1):
        record_attempt(database_url, "max", "10.2.0.2", success=False)
    record_attempt(database_url, "max", "10.2.0.2", success=True)
    record_attempt(database_url, "max", "10.2.0.2", success=False)
    assert retry_after_s(database_url, "max", "10.2.0.2") == 0


def test_twenty_failures_lock_the_address_for_every_name(database_url):
    for index in range(MAX_FAILURES_PER_ADDRESS):
        record_attempt(database_url, f"name{index}", "10.2.0.3", success=False)
    assert retry_after_s(database_url, "fresh-name", "10.2.0.3") > 0
    assert retry_after_s(database_url, "fresh-name", "10.2.0.4") == 0
