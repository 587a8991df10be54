"""The web console in headless Chromium (Debian's package) against one local cloud.

Missing prerequisites fail the tests, saying what to do: `make test` builds the console
and installs chromium first, so nothing here is ever skipped silently.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.e2e.harness import LocalCloudProcess, start_local_cloud

REPOSITORY = Path(__file__).resolve().parents[2]
CONSOLE_BUILD = REPOSITORY / "console" / "dist" / "index.html"
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots (gitignored)
# Chromium reaches out to Google at start (variations, component updates) unless told not to.
# Two shared cores and a whole local cloud: a fill can take a few seconds under load.
expect.set_options(timeout=20_000)
CHROMIUM_ARGS = ["--disable-background-networking", "--no-sandbox"]


def chromium_path() -> str:
    path = os.environ.get("REDFIRE_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("chromium is missing: `apt-get install -y chromium` (make test does it)")
    return path


# Package-scoped, not session-scoped: Playwright's sync API runs an event loop in this
# thread until it stops, and the tests after this package call Mangum, which needs none
# running; ending the browser and its local cloud with the package also frees them early.
@pytest.fixture(scope="package")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloudProcess]:
    if not CONSOLE_BUILD.is_file():
        pytest.fail(f"the console is not built ({CONSOLE_BUILD}): run `make console`")
    cloud = start_local_cloud(tmp_path_factory.mktemp("local-cloud"))
    yield cloud
    assert cloud.stop() == 0, cloud.log()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test; its last screen is kept as an artifact."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


def console_url(cloud: LocalCloudProcess) -> str:
    return cloud.settings["REDFIRE_CONSOLE_URL"]


@pytest.fixture
def api(local_cloud: LocalCloudProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_cloud.api_url, timeout=10) as client:
        yield client
