"""Login → Design → Launch → Run → Admin in a real browser, on embedded workers and the twin.

Opens /design, is sent to the login form and back after logging in as the first-run admin,
picks the article template, shrinks it to a 1 × 2 grid of 3 s measurements, launches it,
follows the run page while it runs and until it completes, opens its results, and ends on
the Admin page (accounts and the audit log of what just happened).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.conftest import LOGINS, _log_in_when_asked, app_environment, served_app

pytestmark = pytest.mark.slow

#: whether the Admin page's audit log lists an allowed launch by the user ``arguments[0]``
LAUNCH_AUDITED_JS = """
return [...document.querySelectorAll('#admin-audit tbody tr')].some(row =>
    row.cells.length > 4 && row.cells[1].innerText.trim() === arguments[0]
    && row.cells[3].innerText.trim() === 'launch'
    && row.cells[4].innerText.trim() === 'allowed');
"""


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory, browser):
    """Base URL of the app on an empty data folder; its embedded workers stopped after."""
    data_dir = tmp_path_factory.mktemp("launch-data")
    with served_app(data_dir, app_environment(), browser=browser) as base:
        yield base


def _wait(driver, condition, timeout_s: float = 20):
    return WebDriverWait(driver, timeout_s).until(condition)


def _settle(driver):
    _wait(driver, lambda d: d.execute_script(
        "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0"))
    time.sleep(0.4)


def _type(driver, element_id: str, value: str):
    field = driver.find_element(By.ID, element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(value, Keys.TAB)


def _click(driver, element):
    # instant: Bootstrap makes scrolling smooth, and a click mid-scroll misses
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def _edit_cell(driver, column: str, value: str):
    _click(driver, driver.find_element(
        By.CSS_SELECTOR, f'#design-conditions td[data-dash-column="{column}"]'))
    ActionChains(driver).send_keys(value, Keys.ENTER).perform()
    time.sleep(0.3)


def test_design_launch_and_follow_a_run(browser, fresh_app, screenshot_dir):
    driver = browser
    webdriver.Chrome.get(driver, fresh_app + "/design")  # no automatic login this time
    _wait(driver, ec.presence_of_element_located((By.ID, "login-submit")))
    assert urlsplit(driver.current_url).path == "/login"
    driver.save_screenshot(str(screenshot_dir / "login.png"))
    _log_in_when_asked(driver)
    assert urlsplit(driver.current_url).path == "/design"  # back where it was going
    _wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "#design-preview .scatter")))
    Select(driver.find_element(By.ID, "design-template")).select_by_value("article_screen")
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "design-estimate"), "63 spots"))
    _settle(driver)
    driver.save_screenshot(str(screenshot_dir / "design.png"))

    _type(driver, "design-rows", "1")
    _type(driver, "design-cols", "2")
    _type(driver, "design-approach_speed_um_s", "10")
    for _ in range(7):
        _click(driver, driver.find_elements(
            By.CSS_SELECTOR, "#design-conditions .dash-delete-cell")[-1])
        time.sleep(0.2)
    _edit_cell(driver, "duration_s", "3")  # long enough to see the run live
    _edit_cell(driver, "repeats", "2")
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "design-problems"),
                                                   "ready to launch"))
    assert "2 spots" in driver.find_element(By.ID, "design-estimate").text
    launch = _wait(driver, ec.element_to_be_clickable((By.ID, "design-launch")))
    _click(driver, launch)

    _wait(driver, ec.url_matches(r"/run/\d+$"))
    run_id = driver.current_url.rsplit("/", 1)[1]
    # live: the first spot is done and shown while the second one is measured
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "run-progress"), "1 / 2 spots"),
          timeout_s=120)
    assert "active" in driver.find_element(By.ID, "run-header").text.lower()
    _wait(driver, lambda d: d.execute_script(
        "const i = document.getElementById('run-latest-frame'); "
        "return i !== null && i.complete && i.naturalWidth > 0"))
    _settle(driver)
    driver.save_screenshot(str(screenshot_dir / "run.png"))
    # the state badge is capitalised by CSS, and Selenium reads rendered text
    _wait(driver, lambda d: "completed" in d.find_element(By.ID, "run-header").text.lower(),
          timeout_s=150)
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "run-progress"), "2 / 2 spots"))
    _wait(driver, lambda d: d.execute_script(
        "const i = document.getElementById('run-latest-frame'); "
        "return i !== null && i.complete && i.naturalWidth > 0"))
    _settle(driver)
    assert driver.find_element(By.ID, "run-abort-now").get_attribute("disabled")

    _click(driver, driver.find_element(By.LINK_TEXT, "Heatmaps"))
    _wait(driver, ec.url_contains(f"/results/{run_id}"))
    # 3 s at 0.22 mA/cm² is too short to nucleate: the spots are there, E_nuc is not
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "results-summary"), "of 2 spots"))

    driver.get(fresh_app + "/admin")
    admin = LOGINS[fresh_app][0]
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "admin-users"), admin))
    _wait(driver, lambda d: d.execute_script(LAUNCH_AUDITED_JS, admin))  # the audit log
    _settle(driver)
    driver.save_screenshot(str(screenshot_dir / "admin.png"))

    errors = [entry["message"] for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE"]
    assert errors == []
