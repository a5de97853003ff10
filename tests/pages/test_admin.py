import pytest
from dash.exceptions import PreventUpdate
from flask import g

from core.auth.audit import ALLOWED, DENIED
from core.auth.guard import PermissionDenied
from core.auth.roles import Actor, Role
from core.auth.users import AccountError, add_user, list_users
from tests.components.tree import find, text


@pytest.fixture
def admin(dash_app, page):
    return page("admin")


def test_only_admins_see_the_page(admin, empty_database):
    assert find(admin.layout(), id="admin-add")
    g.meniscus_actor = Actor("olga", Role.OPERATOR)
    refused = admin.layout()
    assert "The Admin page is for admins." in text(refused) and not find(refused, id="admin-add")


def test_add_change_and_deactivate_accounts(admin, empty_database):
    assert admin.apply_change("admin-add", " ana ", "viewer", "long-enough", None, None) == (
        "Added ana as viewer.")
    assert admin.apply_change("admin-set-role", None, None, None, "ana", "operator") == (
        "ana is now operator.")
    assert "Deactivated ana" in admin.apply_change("admin-deactivate", None, None, None, "ana",
                                                   None)
    assert [(a.name, a.role, a.active) for a in list_users(empty_database)] == [
        ("ana", Role.OPERATOR, False)]
    with pytest.raises(AccountError, match="user name 'a b' is not allowed"):
        admin.apply_change("admin-add", "a b", "viewer", "long-enough", None, None)
    with pytest.raises(PreventUpdate):
        admin.apply_change("admin-set-role", None, None, None, None, "viewer")


def test_accounts_and_the_audit_log_are_listed(admin, empty_database):
    add_user(empty_database, "bo", "viewer", "long-enough")
    users, options, audit = admin.show_accounts_and_log(0, False)
    assert "bo" in text(users) and "viewer" in text(users) and "active" in text(users)
    assert options == [{"label": "bo", "value": "bo"}]
    assert "add user" in text(audit) and ALLOWED in text(audit)
    _, _, denied = admin.show_accounts_and_log(0, True)
    assert text(denied) == "No events."
    g.meniscus_actor = Actor("olga", Role.OPERATOR)
    with pytest.raises(PermissionDenied, match="olga is operator; this needs admin"):
        admin.show_accounts_and_log(0, False)
    g.meniscus_actor = Actor("root", Role.ADMIN)
    _, _, denied = admin.show_accounts_and_log(0, True)
    assert DENIED in text(denied) and "olga" in text(denied)
