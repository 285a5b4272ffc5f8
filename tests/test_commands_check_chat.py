"""``chatbot_check`` and ``chatbot_chat`` run as an operator would run them, against local fakes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from chatbot.models import Conversation
from tests.fakes.chatbot_node import FakeChatbotNode
from tests.fakes.openai import FakeOpenAI, openai_settings, text_answer

pytestmark = pytest.mark.django_db

NODE_SECRET = "node-secret-0123456789abcdef0123456789abcdef"


class Recording(io.StringIO):
    """A stdout that remembers each write, to see that a reply is printed piece by piece."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def run(name: str, *args: str, **options) -> tuple[str, str, Exception | None]:
    out, err = Recording(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err, no_color=True, **options)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


@pytest.fixture
def llm():
    with FakeOpenAI(api_key="sk-test-secret-key") as fake:
        yield fake


@pytest.fixture
def use_openai(llm, settings):
    settings.CHATBOT = openai_settings(llm, READ_TIMEOUT=5)
    return llm


def test_check_passes_with_the_local_provider(settings):
    settings.CHATBOT = {
        **settings.CHATBOT,
        "PROVIDER": "local",
        "NODE_URL": "",
        "OPENAI_BASE_URL": "",
        "COZE_BOT_ID": "",
    }
    out, _, error = run("chatbot_check")
    assert error is None, out
    assert "Provider local (in use)" in out
    assert "Provider coze\n  not configured" in out
    assert "database: ok" in out and "provider: ok" in out


def test_check_reports_the_active_remote_provider_without_secrets(use_openai):
    out, _, error = run("chatbot_check")
    assert error is None, out
    assert "Provider openai (in use)" in out
    assert "OPENAI_API_KEY: set" in out
    assert "sk-test-secret-key" not in out
    assert "provider: ok (openai: ok)" in out
    assert use_openai.paths() == ["/v1/models"]


def test_check_fails_when_the_provider_does_not_answer(settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "openai", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    out, _, error = run("chatbot_check")
    assert error is not None and "problem" in str(error)
    assert "provider: FAILED" in out and "upstream_unavailable" in out


def test_check_names_configuration_errors_with_ids_and_hints(settings, tmp_path):
    settings.CHATBOT = {
        **settings.CHATBOT,
        "PROVIDER": "coze",
        "COZE_BOT_ID": "",
        "COZE_CLIENT_ID": "1170000000001",
        "COZE_PUBLIC_KEY_ID": "kid",
        "COZE_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem"),
        "COZE_API_TOKEN": "pat_must_not_be_printed",
    }
    out, _, error = run("chatbot_check")
    assert error is not None
    assert "chatbot.E020" in out and "chatbot.E024" in out and "hint:" in out
    assert "COZE_API_TOKEN: set" in out and "pat_must_not_be_printed" not in out
    # Reported once, under the provider, not again under the general settings.
    assert out.count("chatbot.E020") == 1


def test_check_reports_a_missing_chatbot_node_bot_id(settings):
    with FakeChatbotNode(NODE_SECRET, "shop-1") as node:
        settings.CHATBOT = {
            **settings.CHATBOT,
            "PROVIDER": "chatbot_node",
            "NODE_URL": node.url,
            "SHOP_ID": "shop-1",
            "SSO_SECRET": NODE_SECRET,
            "NODE_BOT_ID": "",
            "COZE_BOT_ID": "",
        }
        out, _, error = run("chatbot_check")
    assert error is not None
    assert "CHATBOT_NODE_BOT_ID: missing" in out
    assert "chatbot.E014" in out and "hint: Set CHATBOT_NODE_BOT_ID (or COZE_BOT_ID)" in out


def test_check_reports_bad_idle_times_and_path_templates(settings):
    settings.CHATBOT = {
        **settings.CHATBOT,
        "PROVIDER": "local",
        "STREAM_IDLE_TIMEOUT": -1,
        "SYNC_PATH": "/api/coze/bot/updateDataset/{typ}",
        "WEBHOOK_PATH": "api/webhooks/evershop/{type}",
    }
    out, _, error = run("chatbot_check")
    assert error is not None
    assert "chatbot.E006: CHATBOT['STREAM_IDLE_TIMEOUT'] is -1" in out
    assert "chatbot.E007: CHATBOT['SYNC_PATH'] '/api/coze/bot/updateDataset/{typ}' has a placeholder" in out
    assert "chatbot.E007: CHATBOT['WEBHOOK_PATH'] 'api/webhooks/evershop/{type}' does not start with /" in out


def test_check_also_tries_a_configured_provider_that_is_not_in_use(use_openai, settings):
    with FakeChatbotNode(NODE_SECRET, "shop-1") as node:
        node.scenario = "health_down"
        settings.CHATBOT = {**settings.CHATBOT, "NODE_URL": node.url, "SHOP_ID": "shop-1", "SSO_SECRET": NODE_SECRET}
        out, _, error = run("chatbot_check")
    assert error is not None
    assert "Provider chatbot_node\n" in out and "CHATBOT_SSO_SECRET: set" in out
    assert "answers: FAILED" in out
    assert NODE_SECRET not in out


def test_chat_one_message_streams_to_stdout(use_openai):
    use_openai.script = [text_answer("Hello", " from", " the shop.")]
    out, _, error = run("chatbot_chat", "--message", "Hi there")
    assert error is None
    assert "Hello from the shop." in out
    out_writes = [w for w in out.splitlines() if w]
    assert out_writes
    body = use_openai.completions[0]
    assert body["messages"][-1] == {"role": "user", "content": "Hi there"}
    assert Conversation.objects.count() == 0  # the throwaway conversation is gone


def test_chat_prints_each_delta_as_it_comes(use_openai):
    use_openai.script = [text_answer("One", " two", " three")]
    out, err = Recording(), io.StringIO()
    call_command("chatbot_chat", message="Count", stdout=out, stderr=err, no_color=True)
    assert [w for w in out.writes if w in ("One", " two", " three")] == ["One", " two", " three"]


def test_chat_repl_keeps_history_and_provider_state(settings):
    with FakeChatbotNode(NODE_SECRET, "shop-1") as node:
        settings.CHATBOT = {
            **settings.CHATBOT,
            "PROVIDER": "chatbot_node",
            "NODE_URL": node.url,
            "SHOP_ID": "shop-1",
            "SSO_SECRET": NODE_SECRET,
            "NODE_BOT_ID": "7480000000000000017",
            "READ_TIMEOUT": 5,
        }
        out, _, error = run("chatbot_chat", "--keep", stdin=io.StringIO("Hello\n\nShipping?\n/quit\nnever sent\n"))
    assert error is None
    assert out.count("Hello, we ship within 2 days.") == 2
    chats = [r.json for r in node.requests if r.path.startswith("/api/coze/chat")]
    assert [c["message"] for c in chats] == ["Hello", "Shipping?"]
    conversation_id = node.conversation_of(chats[0]["userId"])
    assert "conversationId" not in chats[0] and chats[1]["conversationId"] == conversation_id
    kept = Conversation.objects.get()
    assert kept.provider_state == {"conversationId": conversation_id, "userId": chats[0]["userId"]}
    assert kept.guest_id.startswith("cli-")


def test_chat_masks_card_numbers_before_sending(use_openai):
    run("chatbot_chat", "--message", "My card is 4111 1111 1111 1111")
    assert "4111 1111 1111 1111" not in use_openai.completions[0]["messages"][-1]["content"]


def test_chat_failure_is_reported_and_exits_non_zero(use_openai):
    use_openai.status = (503, {"error": {"message": "overloaded"}}, {})
    out, err, error = run("chatbot_chat", "--message", "Hi")
    assert error is not None
    assert "[upstream_unavailable]" in err and "overloaded" in err
    assert Conversation.objects.count() == 0


def test_chat_with_the_local_provider(settings, catalogue):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "local"}
    out, _, error = run("chatbot_chat", "-m", "Do you have a ceramic teapot?")
    assert error is None and "Ceramic Teapot" in out


def test_check_with_a_provider_that_cannot_be_loaded(settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "myshop.nowhere.Provider"}
    out, _, error = run("chatbot_check")
    assert error is not None
    assert "Provider myshop.nowhere.Provider (in use)\n  cannot be loaded" in out
    assert "chatbot.E002" not in out.split("Settings")[1]


def test_a_dotted_path_that_is_not_a_provider_is_a_settings_error(settings):
    from chatbot.checks import check_settings

    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "chatbot.models.Conversation"}
    assert "chatbot.E002" in [m.id for m in check_settings()]
    out, _, error = run("chatbot_check")
    assert error is not None and "is not a chatbot.providers.base.Provider subclass" in out


def test_check_reports_the_local_provider_when_another_is_in_use(use_openai):
    out, _, error = run("chatbot_check")
    assert error is None, out
    assert "Provider local\n  no settings needed\n  answers: ok (no remote service)" in out
