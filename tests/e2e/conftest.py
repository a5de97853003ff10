"""Browser tests: the app in a subprocess on a demo data folder, driven by headless Chromium.

Locally a missing Chromium or chromedriver skips these tests; with ``CI`` set it fails them
(see ``service_missing`` in tests/conftest.py). Paths: ``MENISCUS_CHROMIUM`` (default
/usr/bin/chromium) and ``MENISCUS_CHROMEDRIVER`` (default /usr/bin/chromedriver). Screenshots
go to ``MENISCUS_SCREENSHOT_DIR`` when set (``docs/screenshots`` to refresh the docs), else to
a temporary folder.

Every page is behind the login: the session's Chromium logs in through the login form
whenever a page sends it there, with the account registered for that app's address: the
operator that ``demo_app`` adds with ``python -m core users add``, or else the first-run admin
of an app started on an empty database (read from its data folder by ``_wait_until_up``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MENISCUS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MENISCUS_CHROMEDRIVER", "/usr/bin/chromedriver")
WINDOW = (1366, 768)
#: the account the browser logs in with, per app address (scheme://host:port)
LOGINS: dict[str, tuple[str, str]] = {}
#: the operator added to the demo data folder
DEMO_USER = ("e2e-operator", "e2e-password-1")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory):
    """(base URL, run id) of the app serving a freshly seeded demo data folder."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    env = app_environment()
    # two repeats keep the test short; the documentation screenshots show the full demo
    repeats = "3" if os.environ.get("MENISCUS_SCREENSHOT_DIR") else "2"
    seeded = subprocess.run([sys.executable, "scripts/seed_demo.py", "--data-dir", str(data_dir),
                             "--repeats", repeats],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    run_id = int(seeded.stdout.strip().splitlines()[-1])
    added = subprocess.run([sys.executable, "-m", "core", "users", "add", DEMO_USER[0],
                            "--role", "operator"], cwd=ROOT, capture_output=True, text=True,
                           env={**env, "MENISCUS_DATA_DIR": str(data_dir),
                                "MENISCUS_PASSWORD": DEMO_USER[1]},
                           stdin=subprocess.DEVNULL, timeout=120)
    assert added.returncode == 0, added.stderr
    with served_app(data_dir, env, login=DEMO_USER) as base:
        yield base, run_id


def app_environment() -> dict[str, str]:
    """This process' environment for an app subprocess: embedded (no database or broker
    server named), importing this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "MENISCUS_DATABASE_URL",
                "MENISCUS_CELERY_BROKER_URL"):
        env.pop(key, None)
    return env


@contextmanager
def served_app(data_dir: Path, env: dict[str, str], *, login: tuple[str, str] | None = None,
               browser=None):
    """``python app.py`` on ``data_dir`` at a free port; yields its base URL.

    The browser logs in there as ``login`` (default: the first-run admin). Afterwards the
    app is stopped, and so are the embedded workers it started: they run in their own
    session to outlive a web restart, so nothing else would stop them. ``browser``, when
    given, is sent to a blank page first, so that no page of this app keeps polling it.
    """
    from core.settings import Settings
    from workers.embedded import stop_workers

    port = _free_port()
    log = (data_dir / "app.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "app.py", "--data-dir", str(data_dir), "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    if login is not None:
        LOGINS[base] = login
    try:
        _wait_until_up(base, server, data_dir / "app.log")
        yield base
    finally:
        if browser is not None:
            browser.get("about:blank")
            browser.get_log("browser")  # nor leave its errors to the next test
        server.terminate()
        server.wait(timeout=20)
        log.close()
        stop_workers(Settings(data_dir=data_dir), timeout_s=10)


def _wait_until_up(base: str, server: subprocess.Popen, log: Path, timeout_s: float = 60):
    """Wait for the login page of the app at ``base`` (its data folder holds ``log``); an app
    without a registered account gets its first-run admin's."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base + "/login", timeout=2) as response:
                if response.status == 200:
                    if base not in LOGINS:
                        LOGINS[base] = _first_run_admin(log.parent)
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the app did not answer within {timeout_s} s:\n{log.read_text()}")


def _first_run_admin(data_dir: Path) -> tuple[str, str]:
    """(name, password) from the app's first-run-admin.txt (``user: ...``/``password: ...``)."""
    fields = dict(line.split(": ", 1) for line in
                  (data_dir / "first-run-admin.txt").read_text().splitlines())
    return fields["user"], fields["password"]


def _log_in_when_asked(driver) -> None:
    """On the login page, fill in the account registered for this app and submit."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    parts = urlsplit(driver.current_url)
    if parts.path != "/login":
        return
    name, password = LOGINS[f"{parts.scheme}://{parts.netloc}"]
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 20).until(lambda d: urlsplit(d.current_url).path != "/login")


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Chromium through chromedriver, with a 1366 × 768 window."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        for path in (CHROMIUM, CHROMEDRIVER):
            if not Path(path).is_file():
                raise FileNotFoundError(path)
        options = Options()
        options.binary_location = CHROMIUM
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})

        class LoggingInChrome(webdriver.Chrome):
            """Chromium that logs in through the login form when a page asks for it."""

            def get(self, url: str) -> None:
                super().get(url)
                _log_in_when_asked(self)

        driver = LoggingInChrome(options=options, service=Service(CHROMEDRIVER))
    except Exception as error:  # no browser, no driver, or one that cannot start here
        service_missing(f"headless Chromium ({CHROMIUM}, {CHROMEDRIVER})", error)
    driver.set_window_size(*WINDOW)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    folder = os.environ.get("MENISCUS_SCREENSHOT_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test reports where the browser was: its URL, the start of the page's
    text and the browser's console log (otherwise only a bare TimeoutException is left)."""
    outcome = yield
    report = outcome.get_result()
    driver = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.when != "call" or not report.failed or driver is None:
        return
    try:
        page = driver.execute_script("return document.body ? document.body.innerText : ''")
        logs = driver.get_log("browser")
        report.sections.append(("browser", f"url: {driver.current_url}\n"
                                           f"page text:\n{page[:2000]}\n"
                                           f"console:\n" + "\n".join(
                                               f"{e['level']}: {e['message']}" for e in logs)))
    except Exception as error:  # the browser itself may be what failed
        report.sections.append(("browser", f"could not read the browser: {error!r}"))
