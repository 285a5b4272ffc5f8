"""The example provider in docs/adding-a-provider.md, exactly as printed there, through the chat API.

The class is read from the page and imported under the dotted path the page selects it by, so the
page cannot show a provider that does not work (or one that opens a new upstream connection for every
reply) without this test failing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from chatbot.models import Conversation
from chatbot.providers import get_provider
from tests.conftest import reply_text
from tests.fakes.acme import FakeAcme

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parent.parent / "docs" / "adding-a-provider.md"
MODULE = "myshop/chat_provider.py"


def documented_provider_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    sources = [block for block in blocks if block.startswith(f"# {MODULE}\n")]
    assert len(sources) == 1, f"the page shows {MODULE} once"
    return sources[0]


@pytest.fixture
def acme():
    with FakeAcme(key="acme-key") as fake:
        yield fake


@pytest.fixture
def documented_provider(acme, settings, tmp_path, monkeypatch):
    package = tmp_path / "myshop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (tmp_path / MODULE).write_text(documented_provider_source())
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.CHATBOT = {
        **settings.CHATBOT,
        "PROVIDER": "myshop.chat_provider.AcmeProvider",
        "ACME_URL": acme.url,
        "ACME_KEY": "acme-key",
    }
    yield get_provider()
    for name in [n for n in sys.modules if n == "myshop" or n.startswith("myshop.")]:
        del sys.modules[name]


def test_the_documented_provider_streams_replies_over_one_kept_alive_connection(acme, documented_provider, chat):
    assert type(documented_provider).__module__ == "myshop.chat_provider"
    first = chat.ask("Hello?")
    second = chat.ask("And again?")
    for events in (first, second):
        assert reply_text(events) == "Hello from Acme 你好"
        assert events[-1][0] == "done" and events[-1][1]["status"] == "done"
    assert [r.path for r in acme.requests] == ["/v1/chat", "/v1/chat"]
    assert acme.connections == 1, "the second reply reused the first reply's connection"
    assert acme.problems == []


def test_the_documented_provider_keeps_its_thread_in_the_conversation(acme, documented_provider, chat):
    chat.ask("Hello?")
    chat.ask("And again?")
    first, second = (r.json for r in acme.requests)
    assert first["thread"] is None and second["thread"] == "thread-1"
    assert Conversation.objects.get().provider_state == {"thread": "thread-1"}
    assert first["user"] == second["user"] and first["text"] == "Hello?"


def test_the_documented_provider_reports_health_and_settings(acme, documented_provider, settings):
    assert documented_provider.health().ok
    assert documented_provider.describe() == {"provider": "acme", "ACME_URL": acme.url, "ACME_KEY": "set"}
    settings.CHATBOT = {**settings.CHATBOT, "ACME_KEY": ""}
    assert [m.id for m in type(documented_provider).system_checks(get_provider().options)] == ["myshop.E001"]
