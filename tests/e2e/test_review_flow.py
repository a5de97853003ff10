"""One review session in a real browser: experiments → results → spot (movie) → trends."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.slow

#: page coordinates of the centre of the heatmap cell at (x_um, y_um), from Plotly's axes
CELL_CENTRE_JS = """
const plot = document.querySelector('#results-heatmap .js-plotly-plot');
const layout = plot._fullLayout;
const box = plot.querySelector('.nsewdrag').getBoundingClientRect();
return [layout.xaxis.l2p(arguments[0]) - box.width / 2,
        layout.yaxis.l2p(arguments[1]) - box.height / 2];
"""


def _wait(driver, condition, timeout_s: float = 20):
    return WebDriverWait(driver, timeout_s).until(condition)


def _click(driver, element):
    # instant: Bootstrap makes scrolling smooth, and a click mid-scroll misses
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def _settle(driver):
    """Wait until Dash has no callback in flight and no spinner shows."""
    _wait(driver, lambda d: d.execute_script(
        "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0"))
    time.sleep(0.3)


def test_review_a_demo_run_from_the_list_to_a_spot_movie(browser, demo_app, screenshot_dir):
    base, run_id = demo_app
    driver = browser

    driver.get(base + "/")
    link = _wait(driver, ec.element_to_be_clickable(
        (By.PARTIAL_LINK_TEXT, "Demo: 4 current densities")))
    _settle(driver)
    driver.save_screenshot(str(screenshot_dir / "experiments.png"))
    link.click()

    _wait(driver, ec.url_contains(f"/results/{run_id}"))
    _wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "#results-heatmap .hm")))
    _settle(driver)
    assert "metric=e_nuc_V" in driver.current_url
    driver.save_screenshot(str(screenshot_dir / "results.png"))

    # row 1, col 0 of the demo grid (x 0 µm, y 11 µm): a 0.78 mA/cm² spot with a movie
    drag = driver.find_element(By.CSS_SELECTOR, "#results-heatmap .nsewdrag")
    dx, dy = driver.execute_script(CELL_CENTRE_JS, 0.0, 11.0)
    ActionChains(driver).move_to_element_with_offset(drag, int(dx), int(dy)).click().perform()

    _wait(driver, ec.url_contains("/spot/"))
    image = _wait(driver, ec.presence_of_element_located((By.ID, "movie-image")))
    _wait(driver, lambda d: d.execute_script(
        "const i = document.getElementById('movie-image'); "
        "return i.complete && i.naturalWidth > 0"))
    _settle(driver)
    assert "0.78 mA/cm² × 5 s" in driver.find_element(By.TAG_NAME, "h3").text
    driver.save_screenshot(str(screenshot_dir / "spot.png"))

    first_src = image.get_attribute("src")
    _click(driver, driver.find_element(By.ID, "movie-play"))
    _wait(driver, lambda d: d.find_element(By.ID, "movie-image").get_attribute("src")
          != first_src, timeout_s=10)
    _wait(driver, ec.url_contains("frame="))
    assert "Pause" in driver.find_element(By.ID, "movie-play").text
    _click(driver, driver.find_element(By.ID, "movie-play"))
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "movie-play"), "Play"))
    src = driver.find_element(By.ID, "movie-image").get_attribute("src")
    assert src.split("/frames/")[1].endswith(".png?view=raw")

    _click(driver, driver.find_element(By.LINK_TEXT,
                                       "Demo: 4 current densities + CV (digital twin)"))
    _click(driver, _wait(driver, ec.element_to_be_clickable((By.LINK_TEXT, "Trends"))))
    _wait(driver, ec.url_contains(f"/trends/{run_id}"))
    _wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot .scatter")))
    _settle(driver)
    assert "j_lim" in driver.page_source
    driver.save_screenshot(str(screenshot_dir / "trends.png"))

    errors = [entry["message"] for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE"]
    assert errors == []
