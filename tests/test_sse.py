"""The shared SSE reader, fed bytes the way the network delivers them."""

from __future__ import annotations

import json

import pytest

from chatbot.providers.sse import SSEEvent, iter_events, iter_lines


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def events(*chunks: bytes) -> list[SSEEvent]:
    return list(iter_events(chunks))


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_endings(newline):
    stream = newline.join([b"event: a", b"data: 1", b"", b"data: 2", b"", b""])
    assert [(e.event, e.data) for e in events(stream)] == [("a", "1"), ("", "2")]


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_crlf_split_across_reads(size):
    stream = b"data: one\r\n\r\ndata: two\r\n\r\n"
    assert [e.data for e in iter_events(pieces(stream, size))] == ["one", "two"]


def test_lines_keep_a_lone_cr_at_the_end_of_a_read_from_making_an_empty_line():
    assert list(iter_lines([b"a\r", b"\nb\r", b"c\n"])) == [b"a", b"b", b"c"]


@pytest.mark.parametrize("size", [1, 2, 4, 7])
def test_chinese_split_inside_characters(size):
    text = "您好，星期三发货。进入商店"
    stream = ("data: " + json.dumps({"content": text}, ensure_ascii=False) + "\n\n").encode()
    got = list(iter_events(pieces(stream, size)))
    assert json.loads(got[0].data)["content"] == text


def test_byte_0x85_is_not_a_line_break():
    # "入" is E5 85 A5; decoding before splitting would turn 0x85 into NEL, a line break for str.splitlines.
    stream = 'data: {"content":"进入"}\n\n'.encode()
    assert [json.loads(e.data)["content"] for e in iter_events(pieces(stream, 1))] == ["进入"]


def test_multi_line_data_is_joined_with_newlines():
    assert events(b"data: first\ndata: second\ndata:third\n\n")[0].data == "first\nsecond\nthird"


def test_one_leading_space_is_removed_and_no_more():
    assert events(b"data:  two spaces\n\n")[0].data == " two spaces"
    assert events(b"event:conversation.message.delta\ndata:{}\n\n")[0].event == "conversation.message.delta"


def test_comments_and_keep_alives_are_skipped():
    stream = b": OPENROUTER PROCESSING\n\n:keepalive\ndata: x\n\n: ping\n\n"
    assert [e.data for e in events(stream)] == ["x"]


def test_id_and_retry_and_unknown_fields():
    got = events(b"id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n")
    assert got == [SSEEvent(data="x", event="", id="7")]


@pytest.mark.parametrize("marker", [b"data: [DONE]", b'data:"[DONE]"', b'event:done\ndata:"[DONE]"'])
def test_done_with_or_without_quotes(marker):
    got = events(b"data: {}\n\n" + marker + b"\n\n")
    assert [e.is_done for e in got] == [False, True]


def test_event_without_data_is_not_dispatched():
    assert events(b"event: ping\n\ndata: x\n\n") == [SSEEvent(data="x")]


def test_an_event_cut_off_at_the_end_is_dropped():
    assert [e.data for e in events(b'data: whole\n\ndata: {"half')] == ["whole"]


def test_bare_json_error_body_instead_of_a_stream():
    body = b'{"code":4100,"msg":"authentication is invalid"}'
    got = events(*pieces(body, 5))
    assert len(got) == 1 and got[0].body
    assert json.loads(got[0].data) == {"code": 4100, "msg": "authentication is invalid"}
    assert not got[0].is_done


def test_pretty_printed_json_body_is_kept_whole():
    body = b'{\n  "error": {\n    "message": "model not found"\n  }\n}\n'
    got = events(body)
    assert got[0].body and json.loads(got[0].data)["error"]["message"] == "model not found"


def test_llama_cpp_error_line_becomes_an_error_event():
    stream = b'error: {"code":400,"message":"context too long"}\n\ndata: [DONE]\n\n'
    got = events(stream)
    assert got[0].event == "error" and json.loads(got[0].data)["code"] == 400
    assert got[1].is_done


def test_utf8_bom_at_the_start_is_ignored():
    assert events(b"\xef\xbb\xbfdata: x\n\n")[0].data == "x"


def test_invalid_utf8_does_not_stop_the_stream():
    got = events(b"data: a\xffb\n\ndata: next\n\n")
    assert [e.data for e in got] == ["a\ufffdb", "next"]
