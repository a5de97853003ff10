import pytest
from argon2 import PasswordHasher

from core.auth import passwords
from core.auth.passwords import (
    WeakPassword,
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_hash_is_salted_argon2id_with_the_default_cost(monkeypatch):
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher())  # undo the cheap conftest one
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert first != second
    assert verify_password(first, "correct horse") and verify_password(second, "correct horse")
    assert not verify_password(first, "correct horsE")
    assert not needs_rehash(first)


def test_a_hash_made_with_other_parameters_needs_rehash(monkeypatch):
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("pw-12345678")
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=2, memory_cost=1024,
                                                             parallelism=1))
    assert verify_password(old, "pw-12345678")
    assert needs_rehash(old)


def test_a_damaged_hash_never_verifies():
    assert not verify_password("not-a-hash", "anything")
    assert needs_rehash("not-a-hash")


def test_length_rules():
    check_password_rules("12345678")
    with pytest.raises(WeakPassword, match="password has 7 characters; it needs at least 8"):
        check_password_rules("1234567")
    with pytest.raises(WeakPassword, match="at most 1024"):
        check_password_rules("x" * 1025)
