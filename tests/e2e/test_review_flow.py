"""One review session in a real browser: experiments → results → spot (movie, then flag,
exclude and comment in its review panel) → trends → the run's review page (a comment, the
flagged and excluded spots, the activity feed) → the heatmap again with the review marks."""

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


def _show(driver, element, block: str = "start"):
    """Scroll ``element`` to the top (``start``) or middle of the window and wait for Dash."""
    driver.execute_script(
        f"arguments[0].scrollIntoView({{block: '{block}', behavior: 'instant'}})", element)
    _settle(driver)


def _type(driver, element, value: str):
    _click(driver, element)
    element.send_keys(value)


def _review_the_spot(driver, screenshot_dir):
    """Flag the open spot, exclude it and comment on it in its review panel; the page-top
    alert follows the exclusion without a reload."""
    _type(driver, driver.find_element(By.ID, "review-flag-note"), "meniscus crept sideways")
    _click(driver, driver.find_element(
        By.XPATH, "//*[@id='spot-review-flags']/following::button[normalize-space()="
                  "'off-centre landing'][1]"))
    _wait(driver, ec.text_to_be_present_in_element(
        (By.ID, "spot-review-flags"), "meniscus crept sideways"))
    assert driver.find_element(By.ID, "review-exclusion-banner").text == ""
    _type(driver, driver.find_element(By.ID, "review-exclusion-reason"), "landed off-centre")
    _click(driver, driver.find_element(By.ID, "review-exclude"))
    _wait(driver, ec.text_to_be_present_in_element(
        (By.ID, "review-exclusion-banner"), "Excluded in review: landed off-centre"))
    assert driver.find_element(By.ID, "review-include").is_enabled()
    _type(driver, driver.find_element(By.CSS_SELECTOR, "textarea[placeholder='Write a comment']"),
          "Footprint is off-centre on the movie too.")
    _click(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Post']"))
    _wait(driver, ec.text_to_be_present_in_element(
        (By.ID, "spot-review-thread"), "Footprint is off-centre on the movie too."))
    _show(driver, driver.find_element(By.ID, "spot-review-flags"), "center")
    driver.save_screenshot(str(screenshot_dir / "spot_review.png"))
    _click(driver, driver.find_element(
        By.XPATH, "//button[contains(@class, 'accordion-button')][starts-with(normalize-space(),"
                  " 'galvanostatic (v')]"))
    rerun = _wait(driver, ec.visibility_of_element_located(
        (By.XPATH, "//button[normalize-space()='Re-run as a new version']")))
    assert rerun.is_enabled()  # operators may re-run with other parameters
    _show(driver, driver.find_element(By.XPATH, "//h5[normalize-space()='Analyses']"))
    driver.save_screenshot(str(screenshot_dir / "spot_analyses.png"))
    driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")


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
    spot_id = driver.current_url.split("/spot/")[1].split("?")[0]
    tnuc_map = driver.find_element(By.XPATH, "//h6[normalize-space()='t_nuc(IRM) map']/..")
    _wait(driver, lambda d: tnuc_map.find_elements(By.CSS_SELECTOR, ".heatmaplayer, .hm"))
    _show(driver, tnuc_map, "end")
    driver.save_screenshot(str(screenshot_dir / "spot_irm.png"))
    _review_the_spot(driver, screenshot_dir)

    _click(driver, driver.find_element(By.LINK_TEXT,
                                       "Demo: 4 current densities + CV (digital twin)"))
    _click(driver, _wait(driver, ec.element_to_be_clickable((By.LINK_TEXT, "Trends"))))
    _wait(driver, ec.url_contains(f"/trends/{run_id}"))
    _wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot .scatter")))
    _settle(driver)
    assert "j_lim" in driver.page_source
    driver.save_screenshot(str(screenshot_dir / "trends.png"))

    driver.get(f"{base}/review/{run_id}")
    _wait(driver, ec.presence_of_element_located((By.ID, "review-thread")))
    _type(driver, driver.find_element(By.CSS_SELECTOR, "textarea[placeholder='Write a comment']"),
          "Row 1 of 0.78 mA/cm² needs a second look before the group meeting.")
    _click(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Post']"))
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "review-thread"), "group meeting"))
    _wait(driver, ec.text_to_be_present_in_element((By.ID, "review-feed"), "group meeting"))
    reviewed = driver.find_element(By.ID, "review-spots")
    link = reviewed.find_element(By.CSS_SELECTOR, f"a[href='/spot/{spot_id}']")
    row = link.find_element(By.XPATH, "./ancestor::tr").text
    assert "off-centre landing" in row and "landed off-centre (e2e-operator)" in row, row
    driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    _settle(driver)
    driver.save_screenshot(str(screenshot_dir / "review.png"))

    driver.get(f"{base}/results/{run_id}")
    _wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "#results-heatmap .hm")))
    _settle(driver)
    marks = driver.execute_script(
        "return document.querySelector('#results-heatmap .js-plotly-plot').data"
        ".filter(t => t.name === 'excluded' || t.name === 'flagged')"
        ".map(t => [t.name, t.customdata.map(c => Array.isArray(c) ? c[0] : c)])")
    marked = {name: [str(spot) for spot in spots] for name, spots in marks}
    assert spot_id in marked["excluded"] and spot_id in marked["flagged"], marked
    driver.save_screenshot(str(screenshot_dir / "results.png"))

    errors = [(entry["timestamp"], entry["message"]) for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE"]
    assert errors == [], f"{len(errors)} browser errors, the first ones: {errors[:5]}"
