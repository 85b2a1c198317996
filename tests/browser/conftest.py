"""The browser fixtures (a real Chromium, the test server and a third-party site) for every browser test file."""

from tests.browser.test_widget import axe_page, axe_source, browser, page, sites  # noqa: F401
