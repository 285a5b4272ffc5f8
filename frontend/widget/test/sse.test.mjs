// The SSE reader under Node's own test runner: `node --test frontend/widget/test/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createEventParser, readEvents } from "../src/sse.js";

function parse(chunks) {
  const events = [];
  const parser = createEventParser((event, data) => events.push([event, data]));
  chunks.forEach((chunk) => parser.push(chunk));
  parser.end();
  return events;
}

function body(chunks) {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      chunks.forEach((chunk) => controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk));
      controller.close();
    }
  });
}

test("frames separated by blank lines, each with its event name", () => {
  const events = parse(['event: message\ndata: {"id":"1"}\n\nevent: delta\ndata: {"text":"Hi"}\n\n']);
  assert.deepEqual(events, [["message", { id: "1" }], ["delta", { text: "Hi" }]]);
});

test("a frame without an event line is a message", () => {
  assert.deepEqual(parse(['data: {"a":1}\n\n']), [["message", { a: 1 }]]);
});

test("several data lines are joined with a newline", () => {
  const events = parse(['event: done\ndata: {"text":\ndata: "two\\nlines"}\n\n']);
  assert.deepEqual(events, [["done", { text: "two\nlines" }]]);
});

test("comments, unknown fields and frames without data are skipped", () => {
  const events = parse([": keep-alive\n\nid: 7\nretry: 100\n\nevent: delta\n: a note\ndata: {\"text\":\"x\"}\n\n"]);
  assert.deepEqual(events, [["delta", { text: "x" }]]);
});

test("data that is not JSON is dropped, the next frame still read", () => {
  assert.deepEqual(parse(["data: <html>\n\ndata: {\"ok\":true}\n\n"]), [["message", { ok: true }]]);
});

test("CRLF and lone CR line endings", () => {
  const events = parse(['event: delta\r\ndata: {"text":"a"}\r\n\r\nevent: done\rdata: {"text":"b"}\r\r']);
  assert.deepEqual(events, [["delta", { text: "a" }], ["done", { text: "b" }]]);
});

test("a CRLF cut between its CR and LF is one line end", () => {
  const events = parse(['data: {"n":1}\r', "\n\r", '\ndata: {"n":2}\r\n\r\n']);
  assert.deepEqual(events, [["message", { n: 1 }], ["message", { n: 2 }]]);
});

test("a frame cut across chunks anywhere is read once, whole", () => {
  const stream = 'event: delta\ndata: {"text":"hello"}\n\nevent: done\ndata: {"id":"9"}\n\n';
  for (let cut = 1; cut < stream.length; cut++) {
    const events = parse([stream.slice(0, cut), stream.slice(cut)]);
    assert.deepEqual(events, [["delta", { text: "hello" }], ["done", { id: "9" }]], "cut at " + cut);
  }
});

test("nothing is emitted before its blank line arrives", () => {
  const events = [];
  const parser = createEventParser((event, data) => events.push([event, data]));
  parser.push('event: delta\ndata: {"text":"a"}\n');
  assert.deepEqual(events, []);
  parser.push("\n");
  assert.deepEqual(events, [["delta", { text: "a" }]]);
});

test("a final frame without its trailing blank line is read at the end", () => {
  assert.deepEqual(parse(['data: {"a":1}\n\nevent: done\ndata: {"id":"2"}']), [
    ["message", { a: 1 }],
    ["done", { id: "2" }]
  ]);
  assert.deepEqual(parse(['event: done\ndata: {"id":"3"}\r\n']), [["done", { id: "3" }]]);
});

test("readEvents reads a fetch body, multi-byte characters split across chunks", async () => {
  const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"你好"}\n\nevent: done\ndata: {"id":"1"}');
  const split = bytes.indexOf(0xe4) + 1; // inside the first character
  const events = [];
  await readEvents(body([bytes.slice(0, split), bytes.slice(split)]), (event, data) => events.push([event, data]));
  assert.deepEqual(events, [["delta", { text: "你好" }], ["done", { id: "1" }]]);
});
