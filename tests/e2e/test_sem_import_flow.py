"""SEM import in a real browser: drop two images → spots found → Analyse → results → spot."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from core.io.image_writers import write_sem_tiff
from core.simulate.sem import simulate_sem
from tests.e2e.test_review_flow import _click, _settle, _wait

pytestmark = pytest.mark.slow
#: the demo grid's footprint (its pipette), µm
DEMO_FOOTPRINT_UM = 6.0


def test_import_two_sem_images_and_see_them_on_their_spots(browser, demo_app, screenshot_dir,
                                                           tmp_path):
    base, run_id = demo_app
    driver = browser
    files = []
    for seed, name in ((1, "demo_r0c0_5kV.tif"), (2, "row1_col0.tif")):
        sem = simulate_sem(current_density_mA_cm2=0.78, duration_s=5.0, seed=seed,
                           footprint_diameter_um=DEMO_FOOTPRINT_UM, shape=(768, 768))
        files.append(str(write_sem_tiff(tmp_path / name, sem.image,
                                        pixel_size_nm=sem.pixel_size_nm)))

    driver.get(f"{base}/import/{run_id}")
    drop = _wait(driver, ec.presence_of_element_located(
        (By.CSS_SELECTOR, "#sem-upload input[type=file]")))
    drop.send_keys("\n".join(files))
    _wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "#sem-import-files tr td")))
    _settle(driver)
    rows = driver.find_elements(By.CSS_SELECTOR, "#sem-import-files tbody tr")
    # rows in the order the browser hands the files over, which it chooses
    assert sorted(row.find_element(By.TAG_NAME, "td").text for row in rows) == [
        "demo_r0c0_5kV.tif", "row1_col0.tif"]
    assert all("r" in row.text and "c0" in row.text for row in rows)  # spots found by name
    driver.save_screenshot(str(screenshot_dir / "sem_import.png"))

    _click(driver, driver.find_element(By.ID, "sem-import-analyse"))
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#sem-import-results tbody tr")
          and "queued" not in d.find_element(By.ID, "sem-import-results").text, timeout_s=120)
    results = driver.find_element(By.ID, "sem-import-results").text
    assert results.count("done") == 2, results
    driver.execute_script("arguments[0].scrollIntoView({block: 'end', behavior: 'instant'})",
                          driver.find_element(By.ID, "sem-import-results"))
    _settle(driver)
    driver.save_screenshot(str(screenshot_dir / "sem_import_done.png"))

    _click(driver, driver.find_element(By.CSS_SELECTOR, "#sem-import-results a"))
    _wait(driver, ec.presence_of_element_located(
        (By.CSS_SELECTOR, "#spot-sem-body .js-plotly-plot")))
    _settle(driver)
    image = driver.find_element(By.CSS_SELECTOR, "#spot-sem-body image")
    assert "/sem/" in image.get_attribute("href")
    section = driver.find_element(By.ID, "spot-sem-body").find_element(By.XPATH, "..")
    assert "SEM image" in section.text  # the section's title and image picker come with it
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'start', behavior: 'instant'})", section)
    _settle(driver)
    section.screenshot(str(screenshot_dir / "spot_sem.png"))
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
