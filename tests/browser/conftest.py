"""Real Chromium (Debian's) against pytest-django's live server with the demo shop loaded.

Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from a thread
with a running loop unless told it is safe, which it is here (the loop only drives the browser). Both
the switch and the browser live only as long as a test module that uses them, so the rest of the suite
runs without a loop in its thread and with Django's async-safety checks on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect, sync_playwright

from chatbot.signals import reply_finished
from tests.browser.providers import GATE, Gate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module", autouse=True)
def _orm_calls_beside_playwright() -> Iterator[None]:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, also where a test module outside this package imports it: Playwright's loop must
    # not outlive the module that uses it, or later tests would find a running loop in their thread.
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian's chromium is not installed (make browser)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shop(transactional_db, live_server) -> str:
    """The demo storefront, served for real; returns its base URL."""
    call_command("load_demo_shop", quiet=True)
    return live_server.url


@pytest.fixture
def chatbot_conf(settings):
    """Change ``settings.CHATBOT`` keys for one test (provider, widget options, switches)."""

    def apply(**changes):
        settings.CHATBOT = {**settings.CHATBOT, **changes}

    return apply


@pytest.fixture
def gate(chatbot_conf) -> Iterator[Gate]:
    """Select the gated provider; the test decides when the second half of the reply is sent."""
    GATE.reset()
    chatbot_conf(PROVIDER="tests.browser.providers.GatedProvider")
    reply_finished.connect(GATE.on_reply_finished)
    yield GATE
    GATE.release.set()  # never leave the server thread waiting
    reply_finished.disconnect(GATE.on_reply_finished)


class Pages:
    """Opens pages in fresh browser contexts and records every uncaught script error."""

    def __init__(self, browser: Browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.contexts: list = []
        self.errors: list[str] = []
        self.csp_violations: list[str] = []

    def open(self, path: str = "/", **context_options) -> Page:
        context = self.browser.new_context(base_url=self.base_url, **context_options)
        self.contexts.append(context)
        page = context.new_page()
        self.watch(page)
        page.goto(path)
        return page

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda msg: (
                self.csp_violations.append(msg.text)
                if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
                else None
            ),
        )

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, shop) -> Iterator[Pages]:
    opened = Pages(browser, shop)
    yield opened
    opened.close()
    assert opened.errors == [], "JavaScript errors on the page"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
