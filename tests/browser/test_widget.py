"""The chat widget in real Chromium against the demo storefront and the real chat API."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from chatbot.models import Conversation, Message
from tests.browser.conftest import screenshot
from tests.browser.providers import FIRST_TEXT, WHOLE_TEXT
from tests.browser.widget import CHINESE, HOST_JS, Chat

pytestmark = pytest.mark.browser

BOOTS = "do you have hiking boots?"


def latest_reply() -> Message:
    return Message.objects.filter(role=Message.Role.ASSISTANT).latest("created", "id")


def test_visitor_asks_about_hiking_boots_and_gets_an_answer_with_products(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    expect(chat.box).to_be_focused()
    # First open: a greeting and suggested questions.
    suggestions = chat.dialog.get_by_role("group", name="Suggested questions").get_by_role("button")
    expect(suggestions).not_to_have_count(0)
    chat.ask(BOOTS)
    expect(chat.questions.last).to_contain_text(BOOTS)
    expect(chat.box).to_have_value("")
    reply = chat.last_reply()
    expect(reply).to_contain_text(re.compile("boot", re.I))
    chat.wait_until_idle()
    card = reply.get_by_role("link", name=re.compile("Hiking Boots", re.I)).first
    expect(card).to_be_visible()
    expect(card).to_have_attribute("href", re.compile(r"^(/|http)"))
    expect(reply.get_by_role("button", name="Helpful", exact=True)).to_be_visible()
    screenshot(page, "widget-light")


def test_the_reply_streams_into_the_log(pages, gate):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask(BOOTS)
    body = chat.last_reply().locator(".body")
    # The provider is holding the rest back: what is on screen is the first half only.
    expect(body).to_have_text(FIRST_TEXT.strip())
    assert gate.waiting.is_set()
    expect(chat.last_reply()).to_have_attribute("aria-busy", "true")
    expect(chat.dialog.get_by_role("button", name="Stop the reply")).to_be_visible()
    expect(chat.last_reply().get_by_role("button", name="Helpful", exact=True)).to_have_count(0)
    expect(body.locator("strong")).to_have_text("Leather Hiking Boots")
    gate.release.set()
    expect(body).to_have_text(WHOLE_TEXT.strip())
    chat.wait_until_idle()
    expect(chat.last_reply().get_by_role("link", name=re.compile("Leather Hiking Boots"))).to_be_visible()
    expect(chat.dialog.get_by_role("button", name="What sizes do they come in?")).to_be_visible()
    expect(chat.last_reply()).not_to_have_attribute("aria-busy", "true")


def test_stop_ends_the_reply_in_the_browser_and_on_the_server(pages, gate):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask(BOOTS)
    reply = chat.last_reply()
    expect(reply.locator(".body")).to_have_text(FIRST_TEXT.strip())
    chat.dialog.get_by_role("button", name="Stop the reply").click()
    expect(reply.get_by_text("Reply stopped.")).to_be_visible()
    chat.wait_until_idle()
    expect(chat.box).to_be_focused()
    gate.release.set()
    assert gate.stored.wait(timeout=15)
    stopped = latest_reply()
    assert stopped.status == Message.Status.STOPPED
    assert "ankle support" not in stopped.text
    # The visitor can carry on.
    chat.ask("thanks")
    expect(chat.replies).to_have_count(2)
    expect(chat.last_reply().locator(".body")).to_have_text(WHOLE_TEXT.strip())
    chat.wait_until_idle()


def test_feedback_is_stored(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask(BOOTS)
    chat.wait_until_idle()
    reply = chat.last_reply()
    helpful = reply.get_by_role("button", name="Helpful", exact=True)
    helpful.click()
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(reply).to_contain_text("Thanks for your feedback.")
    assert latest_reply().rating == "up"
    not_helpful = reply.get_by_role("button", name="Not helpful", exact=True)
    not_helpful.click()
    expect(not_helpful).to_have_attribute("aria-pressed", "true")
    expect(helpful).to_have_attribute("aria-pressed", "false")
    assert latest_reply().rating == "down"


def test_history_survives_a_page_load(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask(BOOTS)
    chat.wait_until_idle()
    answer = chat.last_reply().locator(".body").text_content()
    page.goto("/returns/")
    # The chat was open: it is open on the next page too.
    chat = Chat(page)
    expect(chat.dialog).to_be_visible()
    expect(chat.questions).to_have_count(1)
    expect(chat.questions.first).to_contain_text(BOOTS)
    expect(chat.replies).to_have_count(1)
    expect(chat.last_reply().locator(".body")).to_have_text(answer)
    # Feedback works on a reply loaded from history.
    chat.last_reply().get_by_role("button", name="Helpful", exact=True).click()
    expect(chat.last_reply()).to_contain_text("Thanks for your feedback.")


def test_unread_badge_when_a_reply_arrives_while_closed(pages, gate):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask(BOOTS)
    expect(chat.last_reply().locator(".body")).to_have_text(FIRST_TEXT.strip())
    chat.box.press("Escape")
    expect(chat.dialog).to_be_hidden()
    expect(chat.badge).to_be_hidden()
    gate.release.set()
    expect(chat.badge).to_have_text("1")
    expect(chat.launcher).to_have_accessible_description("Unread messages: 1")
    # On the next page the loader fetches the chat when idle, because a conversation exists.
    page.reload()
    expect(chat.badge).to_have_text("1")
    chat.open()
    expect(chat.badge).to_be_hidden()
    expect(chat.last_reply().locator(".body")).to_have_text(WHOLE_TEXT.strip())
    page.reload()
    page.wait_for_function(f"() => !!{HOST_JS}.shadowRoot.querySelector('.win')")
    expect(chat.badge).to_be_hidden()


def test_dark_mode_follows_the_system_and_the_setting(pages, chatbot_conf):
    page = pages.open("/", color_scheme="dark")
    chat = Chat(page).open()
    chat.ask("What is your returns policy?")
    chat.wait_until_idle()
    assert is_dark(chat.dialog)
    screenshot(page, "widget-dark")

    light = Chat(pages.open("/", color_scheme="light")).open()
    assert not is_dark(light.dialog)

    chatbot_conf(WIDGET={"color_scheme": "dark"})
    forced = Chat(pages.open("/", color_scheme="light")).open()
    assert is_dark(forced.dialog)


def is_dark(dialog) -> bool:
    rgb = dialog.evaluate("el => getComputedStyle(el).backgroundColor")
    red, green, blue = (int(part) for part in re.findall(r"\d+", rgb)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) < 80


def test_phone_viewport_fills_the_screen(pages):
    page = pages.open("/", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    chat = Chat(page)
    chat.launcher.tap()
    expect(chat.dialog).to_be_visible()
    chat.settle()
    assert chat.dialog.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
    expect(chat.launcher).to_be_hidden()
    page_overflow = "() => getComputedStyle(document.documentElement).overflow"
    assert page.evaluate(page_overflow) == "hidden", "the page behind the chat must not scroll"
    chat.ask(BOOTS)
    chat.wait_until_idle()
    screenshot(page, "widget-phone")
    chat.dialog.get_by_role("button", name="Close chat").tap()
    expect(chat.dialog).to_be_hidden()
    expect(chat.launcher).to_be_visible()
    assert page.evaluate(page_overflow) == "visible", "the page scrolls again once the chat is closed"


def test_a_desktop_window_leaves_the_page_scrolling(pages):
    page = pages.open("/")
    Chat(page).open()
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflow") == "visible"


def test_keyboard_only(pages):
    page = pages.open("/")
    chat = Chat(page)
    expect(chat.launcher).to_be_visible()
    for _ in range(300):
        page.keyboard.press("Tab")
        if chat.focused() == "launcher":
            break
    else:
        pytest.fail("Tab never reached the chat launcher")
    page.keyboard.press("Enter")
    expect(chat.dialog).to_be_visible()
    expect(chat.launcher).to_have_attribute("aria-expanded", "true")
    assert chat.focused() == "scb-input"
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    expect(chat.box).to_have_value("line one\nline two")
    expect(chat.questions).to_have_count(0)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(BOOTS)
    page.keyboard.press("Enter")
    expect(chat.questions).to_have_count(1)
    chat.wait_until_idle()
    # Focus stays inside the window however far the visitor tabs, both ways.
    for key in ["Tab"] * 25 + ["Shift+Tab"] * 25:
        page.keyboard.press(key)
        assert chat.focused() not in ("outside", "launcher", "host")
    page.keyboard.press("Escape")
    expect(chat.dialog).to_be_hidden()
    assert chat.focused() == "launcher"
    expect(chat.launcher).to_have_attribute("aria-expanded", "false")


def test_no_launcher_when_the_app_is_disabled(pages, chatbot_conf):
    chatbot_conf(ENABLED=False)
    page = pages.open("/")
    expect(page.get_by_role("heading").first).to_be_visible()
    expect(page.locator("#shop-chatbot")).to_have_count(0)
    expect(page.get_by_role("button", name="Chat with us")).to_have_count(0)
    assert page.evaluate("typeof window.ShopChatbot") == "undefined"


def test_storefront_pages_have_no_script_errors_and_load_the_ui_only_on_demand(pages):
    requested: list[str] = []
    page = pages.open("/")
    page.on("request", lambda request: requested.append(request.url))
    for path in ["/", "/returns/", "/basket/", "/catalogue/"]:
        page.goto(path)
        expect(Chat(page).launcher).to_be_visible()
    product = page.locator("article.product_pod a").first
    product.click()
    chat = Chat(page)
    expect(chat.launcher).to_be_visible()
    assert not [url for url in requested if url.endswith(("chat.js", "chat.css"))]
    chat.open()
    assert [url for url in requested if url.endswith("chat.js")]
    chat.ask("what is your returns policy?")
    expect(chat.last_reply()).to_contain_text(re.compile("return", re.I))


def test_save_data_skips_the_idle_preload(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("hello")
    chat.wait_until_idle()
    assert page.evaluate("localStorage.getItem('shop-chatbot:active')") == "1"

    def loaded_after_idle(save_data: bool) -> bool:
        context = page.context
        preview = context.new_page()
        pages.watch(preview)
        if save_data:
            preview.add_init_script(
                "Object.defineProperty(navigator, 'connection', {value: {saveData: true}, configurable: true})"
            )
        preview.goto("/")
        expect(Chat(preview).launcher).to_be_visible()
        # The loader queued its idle callback first; once ours has run, its has too.
        preview.evaluate("() => new Promise(done => requestIdleCallback(done, {timeout: 10000}))")
        if not save_data:
            preview.wait_for_function(f"() => !!{HOST_JS}.shadowRoot.querySelector('.win')")
        return preview.evaluate(f"() => !!{HOST_JS}.shadowRoot.querySelector('.win')")

    assert loaded_after_idle(save_data=False)
    assert not loaded_after_idle(save_data=True)


def test_errors_are_plain_words_and_the_text_is_kept(pages, chatbot_conf):
    page = pages.open("/")
    chat = Chat(page).open()
    # The AI backend is down: the question stays, the reply says so and offers a retry.
    chatbot_conf(PROVIDER="tests.browser.providers.DownProvider")
    chat.ask(BOOTS)
    reply = chat.last_reply()
    expect(reply).to_contain_text("unavailable")
    retry = reply.get_by_role("button", name="Try again")
    expect(retry).to_be_visible()
    chatbot_conf(PROVIDER="local")
    retry.click()
    expect(chat.last_reply()).to_contain_text(re.compile("boot", re.I))
    chat.wait_until_idle()

    # The request never reaches the chat (the session's CSRF cookie is gone): the text goes back.
    page.context.clear_cookies()
    chat.ask("is the teapot in stock?")
    alert = chat.dialog.get_by_role("alert")
    expect(alert).to_contain_text(re.compile("expired", re.I))
    expect(chat.box).to_have_value("is the teapot in stock?")
    expect(alert.get_by_role("button", name="Try again")).to_be_visible()


def test_model_text_is_never_html(pages, chatbot_conf):
    chatbot_conf(PROVIDER="tests.browser.providers.MarkdownProvider")
    page = pages.open("/")
    chat = Chat(page).open()
    chat.ask("show me something")
    chat.wait_until_idle()
    body = chat.last_reply().locator(".body")
    expect(body.locator("strong")).to_have_text("Bold item")
    expect(body.locator("ul > li")).to_have_count(3)
    expect(body.locator("ol > li")).to_have_count(2)
    expect(body.get_by_role("link", name="a product")).to_have_attribute("href", re.compile(r"/catalogue/$"))
    external = body.get_by_role("link", name=re.compile("external page"))
    expect(external).to_have_attribute("target", "_blank")
    expect(external).to_have_attribute("rel", re.compile("noopener"))
    expect(body.get_by_role("link", name="bad link")).to_have_count(0)
    expect(body.locator("img, script")).to_have_count(0)
    expect(body).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(body).to_contain_text("<script>window.__pwned=2</script>")
    assert page.evaluate("window.__pwned") is None
    # A hard-wrapped long line joins the next one; short lines keep their breaks.
    wrapped = body.locator("p").last
    expect(wrapped).to_contain_text("line ends are soft breaks.")
    assert wrapped.inner_text().split("\n")[1:] == ["Short line", "Next line"]


def test_works_under_a_strict_content_security_policy(pages, settings):
    settings.ROOT_URLCONF = "tests.browser.urls"
    context = pages.browser.new_context(base_url=pages.base_url)
    pages.contexts.append(context)
    page = context.new_page()
    pages.watch(page)
    page.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    response = page.goto("/strict-csp/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    chat = Chat(page).open()
    chat.ask(BOOTS)
    chat.wait_until_idle()
    expect(chat.last_reply()).to_contain_text(re.compile("boot", re.I))
    assert page.evaluate("window.__violations") == []
    assert pages.csp_violations == []


def test_chinese_visitor_gets_chinese_labels(pages):
    page = pages.open("/", locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    chat = Chat(page, label="在线客服", title="购物助手")
    chat.launcher.click()
    expect(chat.dialog).to_be_visible()
    box = chat.dialog.get_by_role("textbox", name="您的消息")
    box.fill("有登山靴吗？")
    box.press("Enter")
    expect(chat.last_reply()).to_contain_text(re.compile("靴"))
    expect(chat.dialog.get_by_role("button", name="发送", exact=True)).to_be_visible()


def test_talk_to_a_human_then_staff_replies_reach_the_window(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    chat.dialog.get_by_role("button", name="Talk to a human").click()
    expect(chat.questions.last).to_have_text(re.compile("talk to a human"))
    expect(chat.last_reply()).to_contain_text(re.compile("team", re.I))
    conversation = Conversation.objects.get()
    assert conversation.state == Conversation.State.WAITING
    expect(chat.dialog.get_by_role("button", name="Talk to a human")).to_be_hidden()
    expect(chat.box).to_be_focused()
    # Staff answer from the admin; the open window picks it up without a reload.
    Message.objects.create(conversation=conversation, role=Message.Role.STAFF, text="Hi, Sam from the shop here.")
    expect(chat.log.locator(".msg.staff")).to_contain_text("Sam from the shop")
    # And while the window is closed, the next one shows as unread.
    page.keyboard.press("Escape")
    Message.objects.create(conversation=conversation, role=Message.Role.STAFF, text="Your parcel left today.")
    expect(chat.badge).to_have_text("1")
    chat.open()
    expect(chat.log.locator(".msg.staff").last).to_contain_text("parcel left today")


def test_theme_colour_and_left_position(pages, chatbot_conf):
    chatbot_conf(WIDGET={"theme_color": "#0f766e", "position": "left"})
    page = pages.open("/")
    chat = Chat(page)
    expect(chat.launcher).to_be_visible()
    assert chat.launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(15, 118, 110)"
    assert chat.launcher.bounding_box()["x"] < 100
    chat.open()
    assert chat.dialog.bounding_box()["x"] < 100


def test_works_without_declarative_shadow_dom(pages, browser, shop):
    """Older browsers leave the <template> in place; the loader attaches the shadow root itself."""
    context = browser.new_context(base_url=shop)
    pages.contexts.append(context)
    page = context.new_page()
    pages.watch(page)

    served: list[str] = []

    def without_declarative_shadow_dom(route):
        response = route.fetch()
        html = response.text().replace('<template shadowrootmode="open">', "<template>")
        served.append(html)
        route.fulfill(response=response, body=html)

    page.route(re.compile(r".*/$"), without_declarative_shadow_dom)
    page.goto("/")
    assert served and "shadowrootmode" not in served[-1] and 'id="shop-chatbot"' in served[-1]
    # The loader moved the template's content into a shadow root it attached itself.
    assert page.evaluate("document.querySelector('#shop-chatbot > template') === null")
    assert page.evaluate("document.getElementById('shop-chatbot').shadowRoot.mode") == "open"
    chat = Chat(page).open()
    chat.ask("hello")
    expect(chat.replies).to_have_count(1)
    chat.wait_until_idle()


SPLIT_STREAM_JS = """() => {
  // The page's own fetch answers one POST with an event stream delivered one byte at a time, so
  // multi-byte characters and CRLF line ends are split across reads.
  const realFetch = window.fetch;
  window.fetch = (url, init) => {
    if (!(init && init.method === "POST" && String(url).endsWith("/messages"))) return realFetch(url, init);
    const text =
      'event: message\\r\\ndata: {"id":"q1","role":"user","text":"有登山靴吗？","created":"2026-01-01"}\\r\\n\\r\\n' +
      ": keep-alive\\n\\n" +
      'event: delta\\ndata: {"text":"有的，"}\\n\\n' +
      'event: delta\\ndata: {"text":"**登山靴**有货 👍"}\\n\\n' +
      'event: done\\ndata: {"id":"a1","role":"assistant","text":"有的，**登山靴**有货 👍","status":"done"}\\n\\n';
    const bytes = new TextEncoder().encode(text);
    let at = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (at < bytes.length) controller.enqueue(bytes.slice(at, ++at));
        else controller.close();
      },
    });
    return Promise.resolve(new Response(body, {
      status: 200, headers: {"Content-Type": "text/event-stream; charset=utf-8"},
    }));
  };
}"""


def test_event_stream_split_inside_characters_and_line_ends(pages):
    page = pages.open("/")
    page.evaluate(SPLIT_STREAM_JS)
    Chat(page).open().ask("有登山靴吗？")
    # Written in Chinese: the widget's own words are Chinese from now on.
    chat = Chat(page, **CHINESE)
    body = chat.last_reply().locator(".body")
    expect(body).to_have_text("有的，登山靴有货 👍")
    expect(body.locator("strong")).to_have_text("登山靴")
    expect(chat.questions.last).not_to_have_class(re.compile("pending"))
    chat.wait_until_idle()


def test_this_one_on_a_product_page_means_that_product_and_the_card_says_what_the_text_says(pages):
    from oscar.core.loading import get_model

    boots = get_model("catalogue", "Product").objects.get(title="Leather Chelsea Boots")
    page = pages.open(boots.get_absolute_url())
    chat = Chat(page).open()
    chat.ask("is this one in stock?")
    reply = chat.last_reply()
    expect(reply.locator(".body")).to_contain_text("Leather Chelsea Boots")
    expect(reply.locator(".body")).to_contain_text("only 1 left")
    chat.wait_until_idle()
    card = reply.get_by_role("listitem").filter(has_text="Leather Chelsea Boots")
    expect(card).to_contain_text("£120.00")
    expect(card).to_contain_text("Only 1 left")


def test_the_launcher_shows_its_label_beside_the_icon_when_asked(pages, chatbot_conf):
    page = pages.open("/")
    expect(Chat(page).launcher).to_be_visible()
    expect(Chat(page).launcher.get_by_text("Chat with us")).to_have_count(0)

    chatbot_conf(WIDGET={"show_label": True})
    page = pages.open("/")
    chat = Chat(page)
    caption = chat.launcher.get_by_text("Chat with us", exact=True)
    expect(caption).to_be_visible()
    assert chat.launcher.bounding_box()["width"] > 120
    # Open, it is the round close button again.
    chat.open()
    expect(caption).to_be_hidden()
    assert chat.launcher.bounding_box()["width"] == 56
    chat.launcher.click()
    expect(chat.dialog).to_be_hidden()
    expect(caption).to_be_visible()
