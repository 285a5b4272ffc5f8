"""Canned replies: saved answers edited in the admin (with its permissions) and offered in the reply
box of the admin's and the dashboard's conversation page to staff who may use them."""

from __future__ import annotations

import pytest

from chatbot.models import CannedReply, Conversation
from tests.test_staff_live_inbox import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation() -> Conversation:
    CannedReply.objects.create(title="Delivery times", text='Orders leave within 2 days. <b>"Thanks"</b>')
    return Conversation.objects.create(guest_id="g" * 32, state=Conversation.State.WAITING)


def pages(conversation: Conversation) -> list[str]:
    return [f"/admin/chatbot/conversation/{conversation.pk}/change/", f"/dashboard/chat/{conversation.pk}/"]


@pytest.mark.demo  # the dashboard or the demo's admin index
def test_staff_who_reply_and_may_use_canned_replies_get_them_in_the_reply_box(conversation):
    client = staff("sam", "change_conversation", "view_cannedreply")
    for path in pages(conversation):
        page = client.get(path).content.decode()
        assert 'aria-label="Canned replies"' in page, path
        # The text travels escaped in an attribute: inserted as text, never as markup.
        assert 'data-chatbot-canned="Orders leave within 2 days. &lt;b&gt;&quot;Thanks&quot;&lt;/b&gt;"' in page
        assert ">Delivery times</button>" in page


@pytest.mark.demo  # the dashboard or the demo's admin index
@pytest.mark.parametrize("codenames", [("change_conversation",), ("view_conversation", "view_cannedreply")])
def test_without_both_permissions_there_are_none(conversation, codenames):
    client = staff("pat", *codenames)
    for path in pages(conversation):
        response = client.get(path)
        assert response.status_code == 200
        assert "Delivery times" not in response.content.decode()


def test_canned_replies_are_edited_in_the_admin_with_its_permissions(conversation):
    editor = staff("eve", "view_cannedreply", "add_cannedreply", "change_cannedreply")
    response = editor.post("/admin/chatbot/cannedreply/add/", {"title": "Returns", "text": "30 days, free."})
    assert response.status_code == 302
    assert CannedReply.objects.get(title="Returns").text == "30 days, free."
    reader = staff("rita", "view_cannedreply", "change_conversation")
    canned = CannedReply.objects.get(title="Returns")
    response = reader.post(f"/admin/chatbot/cannedreply/{canned.pk}/change/", {"title": "Returns", "text": "never"})
    assert response.status_code == 403
    assert reader.post("/admin/chatbot/cannedreply/add/", {"title": "X", "text": "y"}).status_code == 403
    canned.refresh_from_db()
    assert canned.text == "30 days, free." and not CannedReply.objects.filter(title="X").exists()
    # A title is unique and the text is required: a bad form changes nothing.
    response = editor.post("/admin/chatbot/cannedreply/add/", {"title": "Returns", "text": ""})
    assert response.status_code == 200 and CannedReply.objects.count() == 2
