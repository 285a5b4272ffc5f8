"""The reference in docs/configuration.md is generated from chatbot/conf.py and must stay in step with it.

Regenerate the tables after changing a setting::

    python -m tests.test_docs
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chatbot.conf import DEFAULTS, ENV_NAMES

REPO = Path(__file__).resolve().parent.parent
CONFIGURATION = REPO / "docs" / "configuration.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"

#: What each setting means; a key added to DEFAULTS needs a line here (the test says so).
MEANINGS: dict[str, str] = {
    "ENABLED": "Master switch. Off: the tag renders nothing and every chat endpoint answers 404.",
    "PROVIDER": "Who writes the replies: `local`, `chatbot_node`, `coze`, `openai`, or a dotted path to a "
    "`chatbot.providers.base.Provider` subclass.",
    "SHOP_ADAPTER": "What the assistant reads from the shop: `oscar`, `none`, or a dotted path to a "
    "`chatbot.shop.base.ShopAdapter` subclass. Unset: `oscar` when Oscar is installed, otherwise `none`.",
    "SHOP_NAME": "The shop's name in replies and staff emails.",
    "ASSISTANT_NAME": "The assistant's display name (prompts, Stream user).",
    "NODE_URL": "Base URL of the chatbot-node service (`chatbot_node` provider and data sync).",
    "SHOP_ID": "This shop's id at chatbot-node.",
    "SSO_SECRET": "Shared secret that signs the JWTs sent to chatbot-node (its `JWT_SECRET` must be the same).",
    "NODE_BOT_ID": "The Coze bot chatbot-node calls (`botId`, required by the `chatbot_node` provider). "
    "Empty: `COZE_BOT_ID`.",
    "WEBHOOK_SECRET": "Signs outbound data-sync webhooks (HMAC-SHA256).",
    "SYNC_PATH": "chatbot-node path for bulk data sync; `{type}` is the dataset number chatbot-node reads "
    "(1 products, 2 orders, 3 customers), `{kind}` the word.",
    "WEBHOOK_PATH": "chatbot-node path that receives change webhooks; `{type}` is `product`, `order` or `customer`.",
    "WEBHOOK_RETRY_DELAYS": "Seconds before each retry of a failed webhook delivery (one more attempt than delays).",
    "WORKER_MISSING_AFTER": "Seconds a task of the app may wait, due, in the database task queue before "
    "`chatbot_check` and `check --database default` (warning `chatbot.W041`) say that no worker is running.",
    "COZE_API_BASE": "Coze API base: `https://api.coze.cn` or `https://api.coze.com`.",
    "COZE_BOT_ID": "The Coze bot that answers (required by the `coze` provider).",
    "COZE_CLIENT_ID": "Coze OAuth JWT app: client id.",
    "COZE_PUBLIC_KEY_ID": "Coze OAuth JWT app: id of the public key registered with Coze.",
    "COZE_PRIVATE_KEY_FILE": "Coze OAuth JWT app: path of the PEM private key (RS256).",
    "COZE_API_TOKEN": "Coze personal access token, instead of the JWT app.",
    "OPENAI_BASE_URL": "Base URL of an OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp), e.g. "
    "`https://api.openai.com/v1`.",
    "OPENAI_API_KEY": "API key for that server (empty for local servers that need none).",
    "OPENAI_MODEL": "Model name sent with each request.",
    "OPENAI_MAX_TOOL_ROUNDS": "Most tool-call rounds (catalogue, orders) before the model must answer.",
    "TRANSPORT": "How replies reach the widget: `builtin`, `stream`, or a dotted path to a "
    "`chatbot.transports.base.Transport` subclass. Unset: `stream` when `STREAM_CHAT_ENABLED` is on and both "
    "keys are set, otherwise `builtin`.",
    "STREAM_CHAT_ENABLED": "Use Stream Chat as the transport (needs both keys).",
    "STREAM_CHAT_API_KEY": "Stream app key (public; sent to the widget).",
    "STREAM_CHAT_API_SECRET": "Stream app secret (server only; signs tokens, verifies webhooks).",
    "STREAM_CHAT_BASE_URL": "Stream API base (a regional edge, or a test server). Empty: the SDK's default.",
    "STREAM_CHAT_ID_PREFIX": "Prefix of every Stream user and channel id, so several shops can share one Stream app.",
    "ASSISTANT_IMAGE": "Avatar URL of the assistant's Stream user.",
    "STREAM_CHAT_TOKEN_TTL": "Seconds a visitor's Stream token lives; the widget renews it before then.",
    "STREAM_CHAT_TIMEOUT": "Seconds before a Stream API call times out.",
    "STREAM_CHAT_UPDATE_INTERVAL": "Seconds between partial updates of a streaming reply in Stream "
    "(Stream allows about 1000 updates a minute per app).",
    "STREAM_CHAT_UPDATE_LIMIT": 'Stream\'s "Update Message" limit per minute for your app. Partial updates, '
    "counted across every reply and process in Django's cache, stop at 80 % of it so final updates "
    "always fit; 0 turns the budget off.",
    "CONNECT_TIMEOUT": "Seconds to connect to a provider.",
    "READ_TIMEOUT": "Seconds a provider may stay silent while answering.",
    "STREAM_IDLE_TIMEOUT": "Seconds a reply may wait for its next event once the provider's stream has "
    "started (keep-alive comments do not count); 0: only `READ_TIMEOUT` applies.",
    "MAX_MESSAGE_LENGTH": "Longest visitor message in characters; longer ones get 413.",
    "MAX_MESSAGES_PER_CONVERSATION": "Messages a conversation may hold before the visitor must start a new one.",
    "HISTORY_TURNS": "Earlier question-and-answer pairs sent to the provider with each question.",
    "RATE_LIMITS": "Per-visitor and per-IP limits on chat POSTs, e.g. `visitor=20/m,ip=120/m` (`s`, `m`, "
    "`h`, `d`); `off` disables them. Counters live in Django's default cache.",
    "ORDER_LOOKUP_LIMIT": "Failed guest order look-ups (number + email) allowed per email and per order number, "
    "whoever asks, within `ORDER_LOOKUP_WINDOW`; then look-ups with that email or number are refused. Counted "
    "in Django's default cache; `0` turns it off.",
    "MAX_STREAMS_PER_VISITOR": "Replies one visitor may have streaming at once (`POST messages`); one more is a "
    '429 `too_many_streams` with `Retry-After`. `0` turns the cap off; so does `RATE_LIMITS = "off"`.',
    "MAX_STREAMS_PER_ADDRESS": "Replies one address (as the per-IP limit reads it) may have streaming at once, "
    "whatever the sessions; one more is a 429 with `Retry-After`. Counted in Django's default cache.",
    "ORDER_LOOKUP_WINDOW": "Seconds the failed order look-ups are counted for, from the first failure.",
    "STOP_POLL_INTERVAL": "Seconds between a process's looks for stop requests that reached another server.",
    "LOCAL_STREAM_DELAY": "Seconds between the local assistant's chunks, so it reads like typing (0 in tests).",
    "LOCAL_LEXICON": "Path of a file of the shop's own product words for the local assistant, in the format of "
    "`chatbot/providers/local/lexicon.txt` (synonyms, Chinese names); its lines win over the built-in ones.",
    "WIDGET": "The widget's look and wording; keys below.",
    "STAFF_EMAILS": "Who is emailed when a visitor asks for a human (comma-separated in the environment).",
    "BUSINESS_HOURS": 'When staff answer, e.g. `{"timezone": "Europe/London", "days": {"mon": ["09:00", '
    '"17:30"]}}`; a missing day is closed. Unset: always available.',
    "STAFF_REPLY_MINUTES": "Minutes within which staff usually answer in business hours; the widget's header "
    'tells a visitor waiting for a person "We usually reply within ...".',
    "RETENTION_DAYS": "Days without activity after which `chatbot_purge --expired` deletes a conversation; "
    "empty or 0: kept until deleted.",
    "SITE_URL": "Absolute base URL for links in staff emails; empty: the current Site's domain.",
}

WIDGET_MEANINGS: dict[str, str] = {
    "label": 'Launcher button\'s accessible name. Empty: "Chat with us", translated.',
    "show_label": "`True`: the launcher shows the label beside its icon; `False`: icon only.",
    "title": 'Chat window title. Empty: "Shop assistant", translated.',
    "greeting": "First message shown in an empty conversation. Empty: a translated default.",
    "suggestions": "Suggested first questions (up to 6); `[]`: translated defaults; `None` or `False`: none.",
    "theme_color": "Accent colour, `#rgb` or `#rrggbb`; text on it is black or white, whichever reads better.",
    "position": "`right` or `left` corner.",
    "color_scheme": "`auto` (follows `prefers-color-scheme`), `light` or `dark`.",
}


def _default(value: Any) -> str:
    if value is None:
        return "`None`"
    if isinstance(value, bool):
        return f"`{value}`"
    if value == "":
        return '`""`'
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def render() -> str:
    env_for = {key: name for name, (key, _) in ENV_NAMES.items()}
    rows = [
        "| `CHATBOT` key | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for key, value in DEFAULTS.items():
        env = f"`{env_for[key]}`" if key in env_for else "-"
        default = "see below" if key == "WIDGET" else _default(value)
        rows.append(f"| `{key}` | {env} | {default} | {MEANINGS[key]} |")
    rows += [
        "",
        '`CHATBOT["WIDGET"]` keys (merged over these defaults, so set only what you change):',
        "",
        "| key | default | meaning |",
        "|---|---|---|",
    ]
    for key, value in DEFAULTS["WIDGET"].items():
        rows.append(f"| `{key}` | {_default(value)} | {WIDGET_MEANINGS[key]} |")
    return "\n".join(rows)


def _section(text: str) -> str:
    match = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.S)
    assert match, f"{CONFIGURATION} has lost its {START} ... {END} markers"
    return match.group(1)


def test_every_setting_has_a_meaning():
    assert set(DEFAULTS) == set(MEANINGS), "add the new setting's meaning to tests/test_docs.py"
    assert set(DEFAULTS["WIDGET"]) == set(WIDGET_MEANINGS)
    assert {key for key, _ in ENV_NAMES.values()} <= set(DEFAULTS)


def test_every_setting_is_documented():
    text = CONFIGURATION.read_text()
    for key in DEFAULTS:
        assert f"`{key}`" in text, key
    for name in ENV_NAMES:
        assert f"`{name}`" in text, name


def test_the_reference_is_the_generated_one():
    assert _section(CONFIGURATION.read_text()) == render() + "\n", "run: python -m tests.test_docs"


def test_docs_link_to_files_that_exist():
    pages = ["configuration", "deploying", "upgrading-from-node", "adding-a-shop-adapter"]
    for page in [*(REPO / "docs" / f"{name}.md" for name in pages), REPO / "CHANGELOG.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}"


if __name__ == "__main__":
    text = CONFIGURATION.read_text()
    _section(text)
    block = f"{START}\n{render()}\n{END}"
    CONFIGURATION.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))
    print(f"updated {CONFIGURATION.relative_to(REPO)}")
