"""One Server-Sent Events reader for every provider, working on bytes.

:class:`SSEParser` is fed the body as it arrives (``feed(data)`` returns the events those bytes
complete, ``end()`` those the end of the body completes), so the blocking reader
(:func:`iter_events`) and the asyncio one share every rule and quirk below.

Lines are split on CR, LF or CRLF *before* UTF-8 decoding: a multi-byte character split across two
network reads stays whole, and decoding a whole response with the ISO-8859-1 default that ``requests``
picks for ``text/*`` bodies (where byte 0x85 becomes a line break) cannot happen.

Upstream quirks handled here so no provider has to:

* ``field:value`` and ``field: value`` (one leading space is dropped), several ``data:`` lines joined
  with a newline, ``:`` comment lines (keep-alives such as ``: OPENROUTER PROCESSING``) skipped;
* ``[DONE]`` and Coze's JSON string ``"[DONE]"`` both mark the end (:attr:`SSEEvent.is_done`);
* llama.cpp's non-standard ``error:`` line becomes an ``error`` event instead of vanishing;
* a bare JSON body where a stream was expected (Coze answers ``{"code":4100,...}`` with status 200,
  sometimes labelled ``text/event-stream``) comes out as one event with :attr:`SSEEvent.body` set,
  at the end of the body.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_DONE_MARKERS = {"[DONE]", '"[DONE]"'}
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event. ``event`` is empty when the stream did not name it."""

    data: str
    event: str = ""
    id: str | None = None
    #: True when this is a whole non-SSE body (usually a JSON error) rather than an event.
    body: bool = False

    @property
    def is_done(self) -> bool:
        return not self.body and self.data.strip() in _DONE_MARKERS


class LineSplitter:
    """Splits bytes fed in pieces into lines on CR, LF or CRLF, without the terminator."""

    def __init__(self) -> None:
        #: The start of a line whose terminator has not arrived; never holds CR or LF.
        self.rest = b""
        # A CR at the very end of a read may be the first half of a CRLF split across two reads.
        self.pending_cr = False

    def feed(self, data: bytes) -> list[bytes]:
        if self.pending_cr:
            self.pending_cr = False
            if data.startswith(b"\n"):
                data = data[1:]
        if not data:
            return []
        text = self.rest + data if self.rest else data
        if b"\r" in data:
            self.pending_cr = text.endswith(b"\r")
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = text.split(b"\n")
        self.rest = lines.pop()
        return lines

    def end(self) -> list[bytes]:
        """The last line when the body ended without a terminator."""
        rest, self.rest = self.rest, b""
        return [rest] if rest else []


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a byte stream into lines on CR, LF or CRLF, without the terminator.

    A trailing line without a terminator is yielded at the end of the stream.
    """
    splitter = LineSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.end()


def _decode(line: bytes) -> str:
    # Invalid bytes must not kill the reply; the replacement character shows where they were.
    return line.decode("utf-8", errors="replace")


class SSEParser:
    """Parses a body fed in pieces into :class:`SSEEvent` objects (WHATWG rules plus the quirks above)."""

    def __init__(self) -> None:
        self.lines = LineSplitter()
        self.event = ""
        self.data: list[str] = []
        self.last_id: str | None = None
        self.seen_field = False
        self.first = True
        #: The lines of a body that is not a stream, kept until it ends.
        self.whole: list[bytes] | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """The events completed by ``data``, the next bytes of the body."""
        events: list[SSEEvent] = []
        for line in self.lines.feed(data):
            self._line(line, events)
        return events

    def end(self) -> list[SSEEvent]:
        """The events completed by the end of the body (a body that was not a stream)."""
        events: list[SSEEvent] = []
        for line in self.lines.end():
            self._line(line, events)
        if self.whole is not None:
            events.append(SSEEvent(data=_decode(b"\n".join(self.whole)).strip(), body=True))
            self.whole = None
        # An event still open at the end of the stream was cut off; the specification drops it.
        return events

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        if self.whole is not None:
            self.whole.append(raw)
            return
        if self.first:
            self.first = False
            raw = raw.removeprefix(_BOM)
        if not raw:
            if self.data:
                events.append(SSEEvent(data="\n".join(self.data), event=self.event, id=self.last_id))
            self.event, self.data = "", []
            return
        if not self.seen_field and raw.lstrip()[:1] in (b"{", b"["):
            # Not a stream at all: keep the whole body together as one payload.
            self.whole = [raw]
            return
        if raw.startswith(b":"):
            return
        self.seen_field = True
        name, sep, value = raw.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        text = _decode(value)
        if name == b"data":
            self.data.append(text)
        elif name == b"event":
            self.event = text
        elif name == b"id":
            if "\0" not in text:
                self.last_id = text
        elif name == b"error":
            self.event = "error"
            self.data.append(text)
        # "retry" and unknown fields are ignored, as the specification says.


def iter_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Parse a byte stream into :class:`SSEEvent` objects (WHATWG rules plus the quirks above)."""
    parser = SSEParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.end()
