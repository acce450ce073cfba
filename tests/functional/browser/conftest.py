"""A real browser (Debian's headless Chromium through ChromeDriver) on pytest-django's live server.

Chromium and ChromeDriver are system packages, not pip packages: without them the browser tests
skip locally and fail where REQUIRE_BROWSER is set (CI)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from reports.screenshots import CHROMEDRIVER, CHROMIUM
from reports.screenshots import CHROMIUM_FLAGS as SHARED_FLAGS
from tests.support.ledger import ledger_purge

CHROMIUM_FLAGS = (*SHARED_FLAGS, "--window-size=1400,1000")
WAIT_SECONDS = 10


@pytest.fixture(scope="session")
def _chromium():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {', '.join(missing)} is missing: "
                        "apt-get install chromium chromium-driver")
        pytest.skip("Chromium/ChromeDriver are system packages outside the project: "
                    "apt-get install chromium chromium-driver")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Browser:
    """What a person does on the staff pages: open a page, type, click, read; waits explicit."""

    def __init__(self, driver, base_url: str):
        self.driver, self.base_url = driver, base_url

    def visit(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def wait(self, condition, message: str = ""):
        return WebDriverWait(self.driver, WAIT_SECONDS).until(condition, message)

    def find(self, css: str):
        """The element once it is visible."""
        return self.wait(ec.visibility_of_element_located((By.CSS_SELECTOR, css)),
                         f"no visible {css!r} on {self.driver.current_url}")

    def find_all(self, css: str) -> list:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for_text(self, css: str, text: str):
        """The element once its visible text contains `text`."""
        self.wait(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text),
                  f"{text!r} never appeared in {css!r} on {self.driver.current_url}")
        return self.find(css)

    def click_link(self, text: str) -> None:
        self.wait(ec.element_to_be_clickable((By.LINK_TEXT, text)),
                  f"no link {text!r} on {self.driver.current_url}").click()

    def submit_and_wait(self, element) -> None:
        """Click a submit button and wait for the next page to replace this one.

        While the old page is being torn down, asking about its button can fail with another
        error than "stale" (Chromium 156: "Node with given id does not belong to the
        document"): that is the page going away too, so the wait asks again."""
        element.click()
        WebDriverWait(self.driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
            ec.staleness_of(element), "the form was not submitted")

    def log_in(self, username: str, password: str) -> None:
        """Through the admin login form, as a person: type the name and password, submit."""
        self.driver.delete_all_cookies()
        self.visit("/admin/login/")
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(password)
        self.submit_and_wait(self.find("#login-form [type=submit]"))
        self.wait(lambda d: username.lower() in self.find("#user-tools").text.lower(),
                  f"{username} is not logged in")

    def log_out(self) -> None:
        self.submit_and_wait(self.find("#logout-form button"))
        self.driver.delete_all_cookies()


@pytest.fixture
def browser(_chromium, live_server, transactional_db, settings):
    """One Chromium for the session; each test starts without cookies."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins
    _chromium.delete_all_cookies()
    yield Browser(_chromium, live_server.url)
    _chromium.delete_all_cookies()
    ledger_purge()  # the ledger refuses the flush's TRUNCATE while it holds rows
