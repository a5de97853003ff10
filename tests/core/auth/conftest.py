"""Account tests hash with cheap argon2id parameters (the real cost is tested once, in
test_passwords.py), so that logging in a few times stays fast."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from core.auth import passwords


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(passwords, "_HASHER",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
