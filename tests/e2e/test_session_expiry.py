"""assets/session_expiry.js in a real browser: a refused callback shows why, and a page whose
session has ended goes to the login page and comes back after it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.conftest import _log_in_when_asked, app_environment, served_app

pytestmark = pytest.mark.slow

#: a callback no page declares: the gate refuses it with 403 for everyone
UNDECLARED_CALLBACK = """
fetch("/_dash-update-component", {method: "POST", headers: {"Content-Type":
      "application/json"}, body: JSON.stringify({output: "nowhere.children"})});
"""


@pytest.fixture(scope="module")
def empty_app(tmp_path_factory, browser):
    """Base URL of the app on an empty data folder (its first-run admin logs in)."""
    data_dir = tmp_path_factory.mktemp("expiry-data")
    with served_app(data_dir, app_environment(), browser=browser) as base:
        yield base


def _wait(driver, condition, timeout_s: float = 20):
    return WebDriverWait(driver, timeout_s).until(condition)


def test_a_refused_callback_shows_why_until_dismissed(browser, empty_app):
    browser.get(empty_app + "/design")
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "design-estimate"), "spots"))
    browser.execute_script(UNDECLARED_CALLBACK)
    banner = _wait(browser, ec.visibility_of_element_located((By.ID, "meniscus-refusal")))
    assert banner.text == ("Not allowed: callback nowhere.children: declares no permission, "
                           "so nobody may run it")
    banner.find_element(By.CSS_SELECTOR, ".btn-close").click()
    _wait(browser, ec.invisibility_of_element_located((By.ID, "meniscus-refusal")))


def test_an_ended_session_sends_the_page_to_the_login_and_back(browser, empty_app):
    browser.get(empty_app + "/design?from=expiry")
    _wait(browser, ec.text_to_be_present_in_element((By.ID, "design-estimate"), "spots"))
    browser.delete_cookie("meniscus_session")  # as if the session had expired
    Select(browser.find_element(By.ID, "design-template")).select_by_value("constant_charge")
    _wait(browser, ec.url_contains("/login"))
    parts = urlsplit(browser.current_url)
    assert parts.path == "/login"
    assert parse_qs(parts.query) == {"next": ["/design?from=expiry"]}
    _log_in_when_asked(browser)
    assert browser.current_url == empty_app + "/design?from=expiry"
