"""The Simplified Chinese catalogue is complete, compiled, and followed by the API, the widget and the admin.

The catalogue is read with a small .po reader and the committed .mo through Python's gettext, so these
tests need no gettext tools. After changing strings: ``cd chatbot && django-admin makemessages -l
zh_Hans``, translate, then ``msgfmt -c -o locale/zh_Hans/LC_MESSAGES/django.mo
locale/zh_Hans/LC_MESSAGES/django.po`` and commit both files.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation

APP = Path(__file__).resolve().parent.parent / "chatbot"
MESSAGES = APP / "locale" / "zh_Hans" / "LC_MESSAGES"
CJK = re.compile(r"[\u3400-\u9fff]")
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def _unquote(text: str) -> str:
    return ast.literal_eval(text)


def read_po(path: Path) -> list[Entry]:
    entries: list[Entry] = []
    entry, target = Entry(), None

    def finish() -> None:
        nonlocal entry, target
        if entry.msgid or entry.msgstr:
            entries.append(entry)
        entry, target = Entry(), None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith('"'):
            value = _unquote(line)
        else:
            value = _unquote(rest)
            target = keyword
        if target == "msgid":
            entry.msgid += value
        elif target == "msgid_plural":
            entry.msgid_plural += value
        elif target == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + value
        elif target == "msgstr":
            entry.msgstr[0] = entry.msgstr.get(0, "") + value
        elif target and target.startswith("msgstr["):
            index = int(target[7:-1])
            entry.msgstr[index] = entry.msgstr.get(index, "") + value
    finish()
    return [e for e in entries if e.msgid and not e.obsolete]


CATALOGUE = read_po(MESSAGES / "django.po")


def test_no_entry_is_fuzzy_or_untranslated():
    fuzzy = [e.msgid for e in CATALOGUE if "fuzzy" in e.flags]
    empty = [e.msgid for e in CATALOGUE if not e.msgstr or not all(e.msgstr.values())]
    assert not fuzzy, f"fuzzy: {fuzzy}"
    assert not empty, f"untranslated: {empty}"


def test_the_committed_mo_is_compiled_from_the_po():
    with (MESSAGES / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # msgid, (msgid, n) or "ctxt\x04msgid" -> text
    stale = []
    for entry in CATALOGUE:
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural:
            got = {index: compiled.get((key, index)) for index in entry.msgstr}
        else:
            got = {0: compiled.get(key)}
        if got != entry.msgstr:
            stale.append(entry.msgid)
    assert not stale, f"django.mo is older than django.po for: {stale[:10]} (run msgfmt)"


def _source_strings() -> set[str]:
    """Literal strings marked for translation in the app's Python code and templates."""
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in GETTEXT_NAMES:
                continue
            position = 1 if name.startswith("pgettext") else 0
            if len(node.args) > position and isinstance(node.args[position], ast.Constant):
                value = node.args[position].value
                if isinstance(value, str) and value:
                    found.add(value)
    tag = re.compile(r"""\{%\s*(?:trans|translate)\s+(["'])(.+?)\1""")
    for path in (APP / "templates").rglob("*.html"):
        found |= {match.group(2) for match in tag.finditer(path.read_text(encoding="utf-8"))}
    return found


def test_every_marked_string_of_the_app_is_in_the_catalogue():
    known = {e.msgid for e in CATALOGUE} | {e.msgid_plural for e in CATALOGUE}
    missing = sorted(_source_strings() - known)
    assert not missing, f"not in django.po (run makemessages): {missing}"


def test_model_names_and_error_messages_are_translated():
    from chatbot import exceptions
    from chatbot.api import errors
    from chatbot.models import Conversation, Message

    with translation.override("zh-hans"):
        texts = [
            str(Conversation._meta.verbose_name),
            str(Conversation._meta.verbose_name_plural),
            str(Message._meta.verbose_name),
            *(
                str(cls.default_message)
                for cls in vars(exceptions).values()
                if isinstance(cls, type) and issubclass(cls, exceptions.ChatbotError)
            ),
            *(str(message) for _, message in errors._MESSAGES.values()),
            str(errors.MessageTooLong.default_detail),
            str(errors.BadInput.default_detail),
        ]
    untranslated = [text for text in texts if not CJK.search(text)]
    assert not untranslated, untranslated


# ---- the active language over HTTP -------------------------------------------------------------------


def _translated(text: str) -> str:
    with translation.override("zh-hans"):
        result = translation.gettext(text)
    assert CJK.search(result), f"no Chinese for {text!r}"
    return result


@pytest.mark.django_db
def test_an_api_error_follows_accept_language(chat):
    response = chat.post("/api/chatbot/messages", "{not json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_json"
    assert error["message"] == _translated("The request body is not valid JSON.")


@pytest.mark.django_db
def test_an_api_error_follows_the_language_cookie(chat, settings):
    chat.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = chat.post("/api/chatbot/messages", {"text": "x" * 5000})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "message_too_long"
    assert CJK.search(error["message"]), error


@pytest.mark.django_db
def test_english_stays_english(chat):
    response = chat.post("/api/chatbot/messages", "{not json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["error"]["message"] == "The request body is not valid JSON."


@pytest.mark.django_db
def test_disabled_api_answers_404_in_chinese(client, settings):
    settings.CHATBOT = {**settings.CHATBOT, "ENABLED": False}
    response = client.get("/api/chatbot/messages", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == _translated("Not found.")


def test_every_widget_string_is_translated(rf):
    from chatbot.templatetags.chatbot import widget_config

    with translation.override("zh-hans"):
        config = widget_config(rf.get("/"))
    assert config["language"] == "zh-hans"
    untranslated = {key: text for key, text in config["strings"].items() if not CJK.search(text)}
    assert not untranslated, untranslated
    assert all(CJK.search(text) for text in config["suggestions"])


@pytest.mark.django_db
def test_the_admin_speaks_chinese(admin_client):
    response = admin_client.get("/admin/chatbot/conversation/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    page = response.content.decode()
    with translation.override("zh-hans"):
        from chatbot.apps import ChatbotConfig
        from chatbot.models import Conversation

        assert str(ChatbotConfig.verbose_name) in page
        assert str(Conversation._meta.verbose_name_plural) in page
