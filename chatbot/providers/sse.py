"""One Server-Sent Events reader for every provider, working on bytes.

Lines are split on CR, LF or CRLF *before* UTF-8 decoding: a multi-byte character split across two
network reads stays whole, and decoding a whole response with the ISO-8859-1 default that ``requests``
picks for ``text/*`` bodies (where byte 0x85 becomes a line break) cannot happen.

Upstream quirks handled here so no provider has to:

* ``field:value`` and ``field: value`` (one leading space is dropped), several ``data:`` lines joined
  with a newline, ``:`` comment lines (keep-alives such as ``: OPENROUTER PROCESSING``) skipped;
* ``[DONE]`` and Coze's JSON string ``"[DONE]"`` both mark the end (:attr:`SSEEvent.is_done`);
* llama.cpp's non-standard ``error:`` line becomes an ``error`` event instead of vanishing;
* a bare JSON body where a stream was expected (Coze answers ``{"code":4100,...}`` with status 200,
  sometimes labelled ``text/event-stream``) comes out as one event with :attr:`SSEEvent.body` set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_DONE_MARKERS = {"[DONE]", '"[DONE]"'}


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


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a byte stream into lines on CR, LF or CRLF, without the terminator.

    A trailing line without a terminator is yielded at the end of the stream.
    """
    buffer = b""
    # A CR at the very end of a chunk may be the first half of a CRLF split across two reads.
    pending_cr = False
    for chunk in chunks:
        if not chunk:
            continue
        if pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        pending_cr = False
        buffer += chunk
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find(b"\r", start)
            lf = buffer.find(b"\n", start)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                yield buffer[start:lf]
                start = lf + 1
                continue
            yield buffer[start:cr]
            if cr + 1 < length:
                start = cr + 2 if buffer[cr + 1 : cr + 2] == b"\n" else cr + 1
            else:
                start = cr + 1
                pending_cr = True
        buffer = buffer[start:]
    if buffer:
        yield buffer


def _decode(line: bytes) -> str:
    # Invalid bytes must not kill the reply; the replacement character shows where they were.
    return line.decode("utf-8", errors="replace")


def iter_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Parse a byte stream into :class:`SSEEvent` objects (WHATWG rules plus the quirks above)."""
    lines = iter_lines(chunks)
    event = ""
    data: list[str] = []
    last_id: str | None = None
    seen_field = False
    first = True
    for raw in lines:
        if first:
            first = False
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if not raw:
            if data:
                yield SSEEvent(data="\n".join(data), event=event, id=last_id)
            event, data = "", []
            continue
        if not seen_field and raw.lstrip()[:1] in (b"{", b"["):
            # Not a stream at all: keep the whole body together as one payload.
            rest = b"\n".join([raw, *lines])
            yield SSEEvent(data=_decode(rest).strip(), body=True)
            return
        if raw.startswith(b":"):
            continue
        seen_field = True
        name, sep, value = raw.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        text = _decode(value)
        if name == b"data":
            data.append(text)
        elif name == b"event":
            event = text
        elif name == b"id":
            if "\0" not in text:
                last_id = text
        elif name == b"error":
            event = "error"
            data.append(text)
        # "retry" and unknown fields are ignored, as the specification says.
    # An event still open at the end of the stream was cut off; the specification drops it.
