"""The widget under a Content-Security-Policy with nonces, in Chromium: the tag puts the page's nonce
on its script and stylesheet, the loader passes it on to what it loads, and the page sees no violation
from the first paint to a streamed answer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.urls import NONCE_PAGES, NONCE_POLICIES
from tests.browser.widget import Chat

VIOLATIONS = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.mark.parametrize("source", sorted(NONCE_PAGES))
@pytest.mark.parametrize("policy", sorted(NONCE_POLICIES))
def test_the_widget_runs_under_a_nonce_policy_without_a_violation(pages, settings, policy, source):
    settings.ROOT_URLCONF = "tests.browser.urls"
    context = pages.browser.new_context(base_url=pages.base_url)
    pages.contexts.append(context)
    page = context.new_page()
    pages.watch(page)
    page.add_init_script(VIOLATIONS)
    response = page.goto(f"/csp/{policy}/{source}/")
    header = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", header).group(1)
    html = response.text()
    assert f'nonce="{nonce}"' in html and "<style" not in html and " style=" not in html
    assert not re.search(r"<script(?![^>]*(?:src=|application/json))", html), "no inline script"
    chat = Chat(page).open()
    chat.ask("Do you have hiking boots?")
    chat.wait_until_idle()
    expect(chat.last_reply()).to_contain_text(re.compile("boot", re.I))
    # The dialog is styled by its own stylesheet (a blocked one would leave it unstyled).
    assert page.evaluate(
        "getComputedStyle(document.getElementById('shop-chatbot').shadowRoot.querySelector('[role=dialog]')).position"
    ) in ("fixed", "absolute")
    assert page.evaluate("window.__violations") == []
    assert pages.csp_violations == []
