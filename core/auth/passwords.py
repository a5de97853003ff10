"""Password hashing: argon2id (RFC 9106) through argon2-cffi, stored as PHC strings.

    stored = hash_password("correct horse")
    verify_password(stored, "correct horse")   # True
    needs_rehash(stored)                        # True once the cost parameters are raised

The cost parameters are argon2-cffi's defaults (RFC 9106 "low memory" profile: 3 passes,
64 MiB, 4 lanes; about 50 ms per hash on a desktop CPU), so an old hash is upgraded at the
next login when they change.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import MeniscusError

#: the shortest password accepted, characters
MIN_PASSWORD_LENGTH = 8
#: the longest password accepted, characters (argon2 takes any length; this bounds the work)
MAX_PASSWORD_LENGTH = 1024

_HASHER = PasswordHasher()


class WeakPassword(MeniscusError):
    """A new password breaks the length rule."""


def check_password_rules(password: str) -> None:
    """Raise :class:`WeakPassword` unless ``password`` has 8 to 1024 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password has {len(password)} characters; it needs at least "
                           f"{MIN_PASSWORD_LENGTH}")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password has {len(password)} characters; at most "
                           f"{MAX_PASSWORD_LENGTH} are accepted")


def hash_password(password: str) -> str:
    """The argon2id PHC string of ``password`` (random salt: two calls never match)."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; False for a mismatch or a bad hash."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when ``stored_hash`` was made with other cost parameters than the current ones."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so that an unknown name costs
    the same time as a wrong password (no user enumeration by timing)."""
    return hash_password("meniscus-no-such-user")
