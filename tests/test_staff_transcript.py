"""What staff see of a conversation: the customer by name and email, replies as the visitor saw them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from chatbot.models import Conversation, Message

pytestmark = pytest.mark.django_db

REPLY = (
    "Here is what I found:\n\n"
    "- **Hiking Boots** at [their page](/catalogue/hiking-boots_10/)\n"
    "- the [size guide](https://example.com/sizes)\n"
    '- a [bad link](javascript:alert(1)) and <img src=x onerror="alert(2)">\n\n'
    "1. first\n"
    "2. second\n\n"
    "<script>alert(3)</script> Use code `BOOTS10`."
)


@pytest.fixture
def staff_client(db) -> Client:
    staff = get_user_model().objects.create_user("sam", "sam@shop.example", "pw", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="chatbot"))
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def conversation(db) -> Conversation:
    # Oscar signs customers in by email; their usernames are generated and mean nothing to staff.
    customer = get_user_model().objects.create_user(
        "u8f3a2c9d1", "alice@example.com", "pw", first_name="Alice", last_name="Smith"
    )
    conversation = Conversation.objects.create(user=customer, state=Conversation.State.WAITING)
    Message.objects.create(conversation=conversation, role=Message.Role.USER, text="**boots** <b>please</b>")
    Message.objects.create(conversation=conversation, role=Message.Role.ASSISTANT, text=REPLY)
    return conversation


@pytest.mark.demo
def test_customers_appear_by_name_and_email_not_by_username(staff_client, conversation):
    for url in (
        "/admin/chatbot/conversation/",
        f"/admin/chatbot/conversation/{conversation.pk}/change/",
        "/dashboard/chat/",
        f"/dashboard/chat/{conversation.pk}/",
    ):
        html = staff_client.get(url).content.decode()
        assert "Alice Smith &lt;alice@example.com&gt;" in html, url
        assert "u8f3a2c9d1" not in html, url


def test_a_customer_without_a_name_appears_by_email(staff_client, conversation):
    conversation.user.first_name = conversation.user.last_name = ""
    conversation.user.save()
    html = staff_client.get("/admin/chatbot/conversation/").content.decode()
    assert "alice@example.com" in html and "u8f3a2c9d1" not in html


@pytest.mark.demo
def test_the_transcript_renders_the_markdown_the_visitor_saw_and_no_html_from_messages(staff_client, conversation):
    for url in (f"/admin/chatbot/conversation/{conversation.pk}/change/", f"/dashboard/chat/{conversation.pk}/"):
        html = staff_client.get(url).content.decode()
        assert "<ul><li><strong>Hiking Boots</strong> at " in html, url
        assert '<a href="/catalogue/hiking-boots_10/">their page</a>' in html
        assert '<a href="https://example.com/sizes" target="_blank" rel="noopener noreferrer nofollow">' in html
        assert "<ol><li>first</li><li>second</li></ol>" in html
        assert "<code>BOOTS10</code>" in html
        # Markup from a message is text, never tags; a javascript: link is not a link.
        assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html and "<script>alert(3)" not in html
        assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
        assert "javascript:" not in html.split("bad link")[0][-200:]
        assert ">bad link<" not in html
        # The visitor's own words are shown as typed.
        assert "**boots** &lt;b&gt;please&lt;/b&gt;" in html
