"""Stream Chat partial updates per reply, against Stream's rate limits.

Visitors post through ``POST /api/chatbot/stream-message`` on the production server; the relay writes
each reply into a loopback Stream server (``tests/fakes/stream_server.py``) from the paced provider
(first token after 500 ms, 40 tokens 50 ms apart: a 2.5 s reply). Counted per reply: message updates
(Stream's "Update Message" allows 1,000 per minute per app) and events (``ai_indicator``; "Send
Event" allows 10,000 per minute). From them: how many replies per minute, and how many streaming at
once, the app's limits allow.

    python -m bench stream_updates
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import psycopg

from bench import report
from bench.load import Visitor
from bench.relay_overhead import INTERVAL, TOKENS, TTFT
from bench.servers import DATABASE_URL, ensure_database, gunicorn, pacer, server_log

REPLIES = int(os.environ.get("BENCH_REPLIES", "20"))
UPDATE_LIMIT_PER_MIN = 1000
EVENT_LIMIT_PER_MIN = 10000


async def _post_all(base: str, n: int) -> Counter:
    async def one(index: int) -> str:
        async with Visitor(base) as visitor:
            status, _ = await visitor.post_json("/api/chatbot/stream-message", {"text": f"boots? ({index})"})
            return str(status)

    return Counter(await asyncio.gather(*(one(i) for i in range(n))))


def _replies_since(first_id: int) -> list[tuple[str, str]]:
    with psycopg.connect(DATABASE_URL) as conn:
        return conn.execute(
            "SELECT public_id::text, status FROM chatbot_message WHERE id > %s AND role = 'assistant'", (first_id,)
        ).fetchall()


def run() -> dict:
    from tests.fakes.stream_server import API_KEY, API_SECRET, FakeStream

    ensure_database()
    with psycopg.connect(DATABASE_URL) as conn:
        first_id = conn.execute("SELECT coalesce(max(id), 0) FROM chatbot_message").fetchone()[0]
    with (
        FakeStream() as fake,
        pacer(ttft=TTFT, interval=INTERVAL, tokens=TOKENS) as provider_url,
        gunicorn(
            log=server_log("stream_updates"),
            PROVIDER="openai",
            OPENAI_BASE_URL=provider_url,
            OPENAI_MODEL="bench",
            OPENAI_API_KEY="",
            STREAM_CHAT_ENABLED=True,
            STREAM_CHAT_API_KEY=API_KEY,
            STREAM_CHAT_API_SECRET=API_SECRET,
            STREAM_CHAT_BASE_URL=fake.url,
        ) as base,
    ):
        posted = asyncio.run(_post_all(base, REPLIES))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            replies = _replies_since(first_id)
            if len(replies) >= REPLIES and all(status != "streaming" for _, status in replies):
                break
            time.sleep(0.2)
        replies = _replies_since(first_id)
        calls = list(fake.calls)
    ids = {public_id for public_id, _ in replies}
    updates: Counter = Counter()
    events: Counter = Counter()
    for call in calls:
        target = call.params.get("mid") or (call.body or {}).get("event", {}).get("message_id", "")
        owner = next((i for i in ids if i in str(target)), None)
        if owner is None:
            continue
        if call.op.startswith("update message"):
            updates[owner] += 1
        elif call.op == "send event":
            events[owner] += 1
    per_reply_updates = sum(updates.values()) / max(1, len(ids))
    per_reply_events = sum(events.values()) / max(1, len(ids))
    reply_seconds = TTFT + TOKENS * INTERVAL
    row = {
        "replies": len(ids),
        "posted": dict(posted),
        "done": sum(1 for _, status in replies if status == "done"),
        "updates_per_reply": round(per_reply_updates, 2),
        "events_per_reply": round(per_reply_events, 2),
        "reply_seconds": reply_seconds,
        "replies_per_min_at_update_limit": round(UPDATE_LIMIT_PER_MIN / per_reply_updates, 1),
        "streaming_at_once_at_update_limit": round(UPDATE_LIMIT_PER_MIN / 60 / per_reply_updates * reply_seconds, 1),
        "replies_per_min_at_event_limit": round(EVENT_LIMIT_PER_MIN / max(per_reply_events, 1), 1),
    }
    report.table("Stream partial updates per reply", [row])
    return row


if __name__ == "__main__":
    report.main("stream_updates", run)
