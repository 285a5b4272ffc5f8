"""Replies streamed on the production server's event loop (gunicorn with uvicorn workers, as ``make demo``
runs it), seen from outside: a visitor who goes away ends the upstream request, a visitor who reads
slowly holds up nobody else, an upstream that breaks mid-reply ends it with an error and keeps what was
said, and a stop asked on one server process ends a reply streaming on another.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatbot.models import Message
from tests.conftest import parse_sse
from tests.fakes.openai import MODEL, FakeOpenAI, chunk, text_answer
from tests.test_reliability import WAIT, HttpVisitor, production_server

pytestmark = [pytest.mark.demo, pytest.mark.django_db(transaction=True)]

KEY = "sk-test-async"


@contextlib.contextmanager
def served(tmp_path: Path, *script: list, **env: str) -> Iterator[tuple[FakeOpenAI, str]]:
    """A fake OpenAI-compatible service answering ``script``, and the production server using it."""
    with FakeOpenAI(api_key=KEY) as fake:
        fake.script = list(script)
        env = {
            "OPENAI_BASE_URL": f"{fake.url}/v1",
            "OPENAI_API_KEY": KEY,
            "CHATBOT_OPENAI_MODEL": MODEL,
            **env,
        }
        with production_server("openai", tmp_path, env=env) as base:
            yield fake, base


def reply_row(wanted: set[str]) -> Message:
    """The assistant's reply once its status is one of ``wanted`` (the server stores it after the
    visitor's side of the stream has ended)."""
    deadline = time.monotonic() + WAIT
    while True:
        reply = Message.objects.filter(role="assistant").order_by("-id").first()
        if reply is not None and reply.status in wanted:
            return reply
        assert time.monotonic() < deadline, f"the reply stayed {reply and reply.status}"
        time.sleep(0.05)


def until(condition: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.02)


def first_delta(lines: Iterator[bytes]) -> None:
    assert any(line.startswith(b"event: delta") for line in lines)


def test_a_visitor_who_goes_away_ends_the_upstream_request_at_once(tmp_path: Path) -> None:
    # "long": the upstream sends "Hello" and then nothing, holding the response open until the client
    # hangs up. Only a relay that cancels the upstream read ends it before the read timeout (60 s).
    script = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"}), "long"]
    with served(tmp_path, script, CHATBOT_STREAM_IDLE_TIMEOUT="0") as (fake, base):
        response = HttpVisitor(base).start("hi")
        first_delta(response.iter_lines())
        response.close()
        assert fake.client_gone.wait(WAIT), "the server kept reading the upstream after the visitor left"
        reply = reply_row({"stopped"})
    assert reply.text == "Hello"


def test_an_upstream_cut_mid_reply_ends_it_with_an_error_and_keeps_what_was_said(tmp_path: Path) -> None:
    cut = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Half an"}), "cut"]
    with served(tmp_path, cut, text_answer("Whole", " answer")) as (_, base):
        visitor = HttpVisitor(base)
        events = visitor.ask("first")
        assert [name for name, _ in events][-1] == "error"
        assert events[-1][1]["code"] == "upstream_unavailable"
        assert "".join(data["text"] for name, data in events if name == "delta") == "Half an"
        reply = Message.objects.filter(role="assistant").get()
        assert (reply.status, reply.text) == ("error", "Half an")
        # The conversation goes on.
        again = visitor.ask("second")
        assert again[-1][0] == "done" and again[-1][1]["text"] == "Whole answer"


def _raw_post(base: str, visitor: HttpVisitor, text: str) -> socket.socket:
    """``POST messages`` on a socket the test reads when it chooses: a visitor on a slow connection."""
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps({"text": text}).encode()
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    # A small receive buffer, so the server's writes back up instead of landing in the kernel.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    cookies = "; ".join(f"{k}={v}" for k, v in visitor.http.cookies.items())
    head = (
        f"POST /api/chatbot/messages HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"X-CSRFToken: {visitor.csrf}\r\nCookie: {cookies}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    data = bytearray()
    while chunk_ := sock.recv(65536):
        data += chunk_
    return bytes(data)


def _dechunk(raw: bytes) -> bytes:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    out = bytearray()
    while body:
        size, _, rest = body.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            break
        out += rest[:length]
        body = rest[length + 2 :]
    return bytes(out)


def test_a_visitor_who_reads_slowly_holds_up_nobody_else(tmp_path: Path) -> None:
    # About 2 MB of reply: far more than the socket buffers between the server and a visitor who does
    # not read, so the server's writes to that visitor wait.
    parts = [f"{n:05d}" + "x" * 2000 for n in range(1000)]
    with served(tmp_path, text_answer(*parts), text_answer("Quick", " one")) as (fake, base):
        slow = HttpVisitor(base)
        slow.http.get(f"{base}/api/chatbot/messages", timeout=WAIT)  # its session
        sock = _raw_post(base, slow, "tell me everything")
        try:
            # The fake answers in the order it is asked: the long answer goes to the slow visitor.
            until(lambda: len(fake.completions) == 1, "the slow visitor's reply was never asked for")
            # While it does not read, another visitor is answered and the health check answers.
            other = HttpVisitor(base)
            assert other.ask("hello")[-1][1]["text"] == "Quick one"
            assert other.http.get(f"{base}/api/chatbot/health", timeout=WAIT).status_code == 200
            events = parse_sse(_dechunk(_read_all(sock)))
        finally:
            sock.close()
    assert events[-1][0] == "done"
    assert "".join(data["text"] for name, data in events if name == "delta") == "".join(parts)
    assert Message.objects.filter(role="assistant", status="done").count() == 2


def test_a_stop_asked_on_one_server_process_ends_a_reply_streaming_on_another(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ticker = "tests.test_database_faults.TickerProvider"
    with production_server(ticker, tmp_path / "a") as first, production_server(ticker, tmp_path / "b") as second:
        visitor = HttpVisitor(first)
        response = visitor.start("tick")
        lines = response.iter_lines()
        first_delta(lines)
        # The same visitor (its session cookie) asks the other server to stop.
        stop = visitor.http.post(
            f"{second}/api/chatbot/stop",
            headers={"X-CSRFToken": visitor.csrf, "Content-Type": "application/json"},
            data="{}",
            timeout=WAIT,
        )
        assert stop.status_code == 204, stop.text
        events = parse_sse(b"\n".join(lines))
    assert events[-1][0] == "done" and events[-1][1]["status"] == "stopped"
    assert Message.objects.get(role="assistant").status == "stopped"
