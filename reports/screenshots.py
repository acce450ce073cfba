"""Screenshots of the staff and partner pages, taken from the current database (the demo's).

`manage.py screenshots` (reports.management.commands.screenshots) serves the project from a
thread of its own process (a WSGI server on a free port of 127.0.0.1, the static files through
Django's static handler, as a live test server does: no `runserver` to start, no port to pick),
opens the pages in Debian's headless Chromium through ChromeDriver (the browser tests' flags) and
saves one PNG per page. The browser gets a session of an existing user set as a cookie, not a
typed password: the command works for any staff and partner user and never meets the login
throttle. The sessions it made are deleted at the end.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The browser tests' flags (tests/functional/browser/conftest.py): headless, no sandbox (root
# in a container), and no background requests (the machine's network may be closed).
# Headless Chromium as this project runs it (the screenshots and the browser tests): the
# machine's network is closed, without the background flags Chromium stalls on requests.
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--lang=en-US",
)
WIDTH = 1400
# A long page (a statement of many lines, 200 breaks) is cut here: the top is what shows.
MAX_HEIGHT = 2000
MIN_HEIGHT = 700
WAIT_SECONDS = 20


class ScreenshotError(Exception):
    """The browser is missing, or a page did not render as expected."""


@dataclass(frozen=True)
class Shot:
    name: str  # the PNG's file name without .png
    path: str  # the page, from the site's root
    ready_css: str  # an element that shows the page rendered with its content
    as_partner: bool = False


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextmanager
def served() -> Iterator[str]:
    """The project served on a free port of 127.0.0.1 from a thread; yields its base URL."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(WSGIHandler()))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="screenshots-server",
                              daemon=True)
    request_log = logging.getLogger("django.request")
    level = request_log.level
    request_log.setLevel(logging.ERROR)  # Chromium's /favicon.ico is a 404 warning each time
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        request_log.setLevel(level)
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        connections.close_all()


@contextmanager
def chromium() -> Iterator:
    """Headless Chromium through ChromeDriver (system packages, not pip packages)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        raise ScreenshotError(f"{', '.join(missing)} missing: "
                              "apt-get install chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:  # a production install without the tooling
        raise ScreenshotError("selenium is not installed (pip install -r requirements.txt)"
                              ) from exc
    profile = tempfile.mkdtemp(prefix="chromium-screenshots-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument("--hide-scrollbars")
    options.add_argument(f"--window-size={WIDTH},{MIN_HEIGHT}")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def session_for(user) -> str:
    """A new server-side session logged in as `user`; returns its key (the cookie's value)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # the backend that loads the user of a session (django-axes's comes first, for logins)
    model_backend = "django.contrib.auth.backends.ModelBackend"
    backends = settings.AUTHENTICATION_BACKENDS
    store[BACKEND_SESSION_KEY] = model_backend if model_backend in backends else backends[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def session_delete(key: str) -> None:
    import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).delete()


def take(driver, base_url: str, shots: list[Shot], sessions: dict[bool, str],
         out_dir: Path) -> list[Path]:
    """Open each page as its user and save the PNG; a page without its content is an error."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    current: bool | None = None
    for shot in shots:
        if shot.as_partner is not current:  # the cookie is set on the site's own origin
            driver.get(base_url + "/static/admin/css/base.css")
            driver.delete_all_cookies()
            driver.add_cookie({"name": settings.SESSION_COOKIE_NAME,
                               "value": sessions[shot.as_partner], "path": "/"})
            current = shot.as_partner
        driver.get(base_url + shot.path)
        try:
            WebDriverWait(driver, WAIT_SECONDS).until(
                ec.visibility_of_element_located((By.CSS_SELECTOR, shot.ready_css)))
        except TimeoutException as exc:
            raise ScreenshotError(f"{shot.name}: no {shot.ready_css!r} on {shot.path} "
                                  f"(title {driver.title!r})") from exc
        # the page's whole height (up to MAX_HEIGHT) as the viewport: one shot of the content
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        height = int(metrics["cssContentSize"]["height"]) + 1
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": max(MIN_HEIGHT, min(height, MAX_HEIGHT)),
            "deviceScaleFactor": 1, "mobile": False})
        driver.execute_script("window.scrollTo(0, 0)")
        path = out_dir / f"{shot.name}.png"
        saved = driver.save_screenshot(str(path))
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        if not saved:
            raise ScreenshotError(f"{shot.name}: Chromium saved no screenshot")
        written.append(path)
    return written
