import hashlib
import re

from core.auth.sessions import create_session
from core.auth.token_hash import TOKEN_BYTES, find_by_token, new_token, token_sha256
from core.auth.tokens import create_token
from core.auth.users import add_user
from core.storage.db import session_scope
from core.storage.models import ApiToken, UserSession


def test_new_tokens_are_random_url_safe_text_with_the_prefix():
    tokens = {new_token("mnc_") for _ in range(50)}
    assert len(tokens) == 50
    assert all(re.fullmatch(r"mnc_[A-Za-z0-9_-]{43}", token) for token in tokens)
    assert TOKEN_BYTES == 32 and len(new_token()) == 43


def test_the_stored_form_is_the_hex_sha256_of_the_text():
    assert token_sha256("abc") == hashlib.sha256(b"abc").hexdigest()
    assert token_sha256("é") == hashlib.sha256("é".encode()).hexdigest()
    assert len(token_sha256(new_token())) == 64


def test_find_by_token_gives_the_stored_row_and_its_user(database_url):
    user_id = add_user(database_url, "ivy", "operator", "right-password")
    session_token = create_session(database_url, user_id, lifetime_h=1)
    api_token = create_token(database_url, "ivy", "notebook")
    with session_scope(database_url) as session:
        stored, user = find_by_token(session, UserSession, session_token)
        assert (type(stored), stored.user_id, user.name) == (UserSession, user_id, "ivy")
        stored, user = find_by_token(session, ApiToken, api_token)
        assert (stored.label, user.id) == ("notebook", user_id)
        assert find_by_token(session, ApiToken, session_token) is None  # not an API token
        assert find_by_token(session, UserSession, new_token()) is None
