"""The chat widget as a visitor (and a screen reader) finds it: by role and accessible name."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

HOST_JS = "document.getElementById('shop-chatbot')"
#: The widget's names once a visitor writes Chinese (or on a Chinese page).
CHINESE = {"label": "在线客服", "title": "购物助手", "box": "您的消息", "send": "发送"}


class Chat:
    def __init__(
        self,
        page: Page,
        *,
        label: str = "Chat with us",
        title: str = "Shop assistant",
        box: str = "Your message",
        send: str = "Send",
    ):
        self.page = page
        self.launcher = page.get_by_role("button", name=label, exact=True)
        self.dialog = page.get_by_role("dialog", name=title)
        self.box = self.dialog.get_by_role("textbox", name=box)
        self.send = self.dialog.get_by_role("button", name=send, exact=True)
        self.log = self.dialog.get_by_role("log")
        self.badge = page.locator("#shop-chatbot .badge")

    def open(self) -> Chat:
        # A chat that was open on the previous page of the tab is open again: the launcher shows
        # once it is.
        expect(self.launcher).to_be_visible()
        if self.launcher.get_attribute("aria-expanded") != "true":
            self.launcher.click()
        expect(self.dialog).to_be_visible()
        self.settle()
        return self

    def settle(self) -> None:
        """The opening animation (if any) is over: the window is where it stays."""
        self.dialog.evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")

    def ask(self, text: str) -> None:
        self.box.fill(text)
        self.box.press("Enter")

    @property
    def replies(self) -> Locator:
        return self.log.locator(".msg.assistant:not(.greeting), .msg.staff")

    @property
    def questions(self) -> Locator:
        return self.log.locator(".msg.user")

    def last_reply(self) -> Locator:
        return self.replies.last

    def wait_until_idle(self) -> None:
        """The reply is over: the send button is back."""
        expect(self.send).to_be_visible()

    def focused(self) -> str:
        """What has focus, seen through the shadow root: an id, a class or 'launcher'."""
        return self.page.evaluate(
            f"""() => {{
                const host = {HOST_JS};
                if (document.activeElement !== host) return 'outside';
                const el = host.shadowRoot.activeElement;
                return el ? (el.id || el.className) : 'host';
            }}"""
        )
