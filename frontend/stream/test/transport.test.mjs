// The stream transport's logic, in Node: a scripted stand-in for the Stream client (events are pushed
// by the test) and a scripted fetch for the shop's endpoints. Run with `node --test test/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createStreamTransport } from "../src/transport.js";

const CONFIG = {
  endpoints: {
    streamToken: "/api/chatbot/stream-chat-token",
    streamMessage: "/api/chatbot/stream-message",
    stop: "/api/chatbot/stop",
    messages: "/api/chatbot/messages"
  },
  csrfToken: "csrf-1",
  csrfHeader: "X-CSRFToken",
  csrfCookie: "csrftoken"
};

function scriptedFetch(answers) {
  const calls = [];
  const fetch = (url, init) => {
    calls.push({ url, init, body: JSON.parse(init.body) });
    const answer = answers[url];
    const next = typeof answer === "function" ? answer(calls.length) : answer;
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve({
      ok: next.status < 400,
      status: next.status,
      headers: { get: (name) => (next.headers || {})[name] || null },
      json: () => Promise.resolve(next.body)
    });
  };
  return { fetch, calls };
}

class FakeChannel {
  constructor(type, id) {
    this.type = type;
    this.id = id;
    this.listeners = [];
    this.watched = 0;
    this.unread = 0;
    this.stops = 0;
  }
  watch() { this.watched += 1; return Promise.resolve({}); }
  on(fn) {
    this.listeners.push(fn);
    return { unsubscribe: () => { this.listeners = this.listeners.filter((f) => f !== fn); } };
  }
  emit(event) { this.listeners.slice().forEach((fn) => fn(event)); }
  countUnread() { return this.unread; }
  markRead() { this.reads = (this.reads || 0) + 1; return Promise.resolve(); }
  stopAIResponse() { this.stops += 1; return Promise.resolve(); }
}

function fakeStreamChat() {
  const made = [];
  class FakeStreamChat {
    constructor(apiKey, options) {
      this.apiKey = apiKey;
      this.options = options;
      this.channels = {};
      this.disconnected = false;
      made.push(this);
    }
    connectUser(user, provider) {
      this.user = user;
      this.provider = provider;
      return provider().then((token) => { this.token = token; return {}; });
    }
    channel(type, id) {
      this.channels[id] = this.channels[id] || new FakeChannel(type, id);
      return this.channels[id];
    }
    disconnectUser() { this.disconnected = true; return Promise.resolve(); }
    get tokenManager() {
      return { loadToken: () => this.provider().then((token) => { this.token = token; return token; }) };
    }
  }
  return { FakeStreamChat, made };
}

const TOKEN = {
  status: 200,
  body: { token: "tok-1", userId: "shop-guest-abc", apiKey: "public-key", channelType: "messaging",
          channelId: "shop-support-guest-abc", expiresAt: "2030-01-01T00:00:00+00:00" }
};

function setup(extra = {}) {
  const { FakeStreamChat, made } = fakeStreamChat();
  const http = scriptedFetch({ [CONFIG.endpoints.streamToken]: TOKEN, ...extra });
  let expanded = "true";
  const api = {
    unread: [],
    setUnread(n) { this.unread.push(n); },
    launcher: { getAttribute: () => expanded }
  };
  const base = {
    stopped: 0,
    history: () => Promise.resolve({ messages: [] }),
    feedback: () => Promise.resolve(),
    stop() { this.stopped += 1; return Promise.resolve(); }
  };
  const timers = [];
  const transport = createStreamTransport(CONFIG, api, {
    StreamChat: FakeStreamChat,
    fetch: http.fetch,
    base,
    cookie: () => "csrftoken=cookie-token",
    setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimeout: () => {}
  });
  return { transport, made, http, api, base, timers, close: () => { expanded = "false"; } };
}

function recorder() {
  const seen = [];
  return {
    seen,
    handlers: {
      message: (m) => seen.push(["message", m]),
      delta: (d) => seen.push(["delta", d.text]),
      done: (m) => seen.push(["done", m]),
      error: (e) => seen.push(["error", e])
    }
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("connects with the session's token and watches the visitor's channel", async () => {
  const { transport, made, http } = setup();
  await transport.connect();
  const client = made[0];
  assert.equal(client.apiKey, "public-key");
  assert.deepEqual(client.user, { id: "shop-guest-abc" });
  assert.equal(client.token, "tok-1");
  assert.equal(client.channels["shop-support-guest-abc"].watched, 1);
  assert.equal(http.calls[0].init.headers["X-CSRFToken"], "cookie-token");
  assert.deepEqual(http.calls[0].body, {});
});

test("the token provider asks the shop again when Stream needs a new token", async () => {
  const { transport, made, http } = setup({
    [CONFIG.endpoints.streamToken]: (n) => ({ status: 200, body: { ...TOKEN.body, token: `tok-${n}` } })
  });
  await transport.connect();
  const again = await made[0].provider();
  assert.equal(again, "tok-2");
  assert.equal(http.calls.filter((c) => c.url === CONFIG.endpoints.streamToken).length, 2);
});

test("a reply grows from message.updated events and ends on ai_indicator.clear", async () => {
  const { transport, made } = setup({
    [CONFIG.endpoints.streamMessage]: { status: 202, body: { messageId: "q-1", replyId: "r-1" } }
  });
  const { seen, handlers } = recorder();
  const sending = transport.send("Hello", handlers);
  await transport.connect();
  const channel = made[0].channels["shop-support-guest-abc"];
  // The reply's first events may arrive before the POST answers: they are kept, then replayed.
  channel.emit({ type: "ai_indicator.update", ai_state: "AI_STATE_THINKING", message_id: "r-1" });
  channel.emit({ type: "message.new", message: { id: "r-1", text: "", generating: true, user: { id: "bot" } } });
  await tick();
  channel.emit({ type: "message.updated", message: { id: "r-1", text: "Hel", generating: true } });
  channel.emit({ type: "message.updated", message: { id: "other", text: "not ours" } });
  channel.emit({ type: "message.updated", message: { id: "r-1", text: "Hello there", generating: true } });
  channel.emit({ type: "message.updated", message: { id: "r-1", text: "Hello there!", generating: false } });
  channel.emit({ type: "ai_indicator.clear", message_id: "r-1" });
  await sending;
  assert.deepEqual(seen, [
    ["message", { ...seen[0][1], id: "q-1", role: "user", text: "Hello" }],
    ["delta", "Hel"],
    ["delta", "lo there"],
    ["delta", "!"],
    ["done", { id: "r-1", role: "assistant", text: "Hello there!", status: "done" }]
  ]);
});

test("AI_STATE_ERROR is reported with Stream's readable message", async () => {
  const { transport, made } = setup({
    [CONFIG.endpoints.streamMessage]: { status: 202, body: { messageId: "q-1", replyId: "r-1" } }
  });
  const { seen, handlers } = recorder();
  const sending = transport.send("Hi", handlers);
  await tick(); await tick(); await tick();
  const channel = made[0].channels["shop-support-guest-abc"];
  channel.emit({ type: "ai_indicator.update", ai_state: "AI_STATE_ERROR", message_id: "r-1",
                 ai_message: "The assistant could not answer just now." });
  await sending;
  assert.deepEqual(seen.at(-1), ["error", { code: "upstream_error", message: "The assistant could not answer just now." }]);
});

test("Stream down: the shop's 503 and its message reach the widget, with nothing marked sent", async () => {
  const { transport } = setup({
    [CONFIG.endpoints.streamMessage]: {
      status: 503,
      headers: { "Retry-After": "60" },
      body: { error: { code: "stream_rate_limited", message: "The live chat is very busy right now." } }
    }
  });
  const { seen, handlers } = recorder();
  await assert.rejects(transport.send("Hi", handlers), (e) => {
    assert.equal(e.status, 503);
    assert.equal(e.code, "stream_rate_limited");
    assert.equal(e.serverMessage, "The live chat is very busy right now.");
    assert.equal(e.retryAfter, "60");
    return true;
  });
  assert.deepEqual(seen, []);
});

test("token endpoint unavailable: connecting fails with the shop's reason", async () => {
  const { transport } = setup({
    [CONFIG.endpoints.streamToken]: { status: 503, body: { error: { code: "stream_unavailable", message: "Down." } } }
  });
  await assert.rejects(transport.connect(), (e) => e.code === "stream_unavailable" && e.serverMessage === "Down.");
});

test("stop asks the shop to stop the reply, and the reply ends as stopped", async () => {
  const { transport, made, base } = setup({
    [CONFIG.endpoints.streamMessage]: { status: 202, body: { messageId: "q-1", replyId: "r-1" } }
  });
  const { seen, handlers } = recorder();
  const sending = transport.send("Tell me a story", handlers);
  await tick(); await tick(); await tick();
  const channel = made[0].channels["shop-support-guest-abc"];
  channel.emit({ type: "message.updated", message: { id: "r-1", text: "Once", generating: true } });
  await transport.stop();
  assert.equal(base.stopped, 1);
  assert.equal(channel.stops, 1);
  channel.emit({ type: "message.updated", message: { id: "r-1", text: "Once", generating: false } });
  channel.emit({ type: "ai_indicator.clear", message_id: "r-1" });
  await sending;
  assert.deepEqual(seen.at(-1), ["done", { id: "r-1", role: "assistant", text: "Once", status: "stopped" }]);
});

test("a handoff notice arrives finished; a conversation with staff answers at once", async () => {
  const { transport, made, timers } = setup({
    [CONFIG.endpoints.streamMessage]: (n) => ({
      status: 202, body: n === 2 ? { messageId: "q-1", replyId: "n-1" } : { messageId: "q-2", replyId: null }
    })
  });
  const first = recorder();
  const sending = transport.send("talk to a human", first.handlers);
  await tick(); await tick(); await tick();
  const channel = made[0].channels["shop-support-guest-abc"];
  channel.emit({ type: "message.new", message: { id: "n-1", text: "A member of our team will reply.", generating: false } });
  timers.filter((t) => t.ms === 0).forEach((t) => t.fn());
  await sending;
  assert.equal(first.seen.at(-1)[1].text, "A member of our team will reply.");
  const second = recorder();
  await transport.send("are you there?", second.handlers);
  assert.deepEqual(second.seen.at(-1), ["done", { id: null, role: "assistant", text: "", status: "waiting" }]);
});

test("unread badge from Stream's count while the window is closed; disconnect after idling", async () => {
  const { transport, made, api, close } = setup();
  await transport.connect();
  const channel = made[0].channels["shop-support-guest-abc"];
  channel.unread = 2;
  close();
  channel.emit({ type: "message.new", message: { id: "s-1", text: "Staff here", user: { id: "shop-staff" } } });
  channel.emit({ type: "message.new", message: { id: "q-9", text: "mine", user: { id: "shop-guest-abc" } } });
  assert.deepEqual(api.unread, [2]);
  await transport.disconnect();
  assert.equal(made[0].disconnected, true);
  await transport.connect();
  assert.equal(made.length, 2); // reopening connects again
});

test("the token is renewed a minute before it expires", async () => {
  const expires = (n) => new Date(Date.now() + (n === 1 ? 600000 : 1200000)).toISOString();
  const { transport, made, timers } = setup({
    [CONFIG.endpoints.streamToken]: (n) => ({ status: 200, body: { ...TOKEN.body, token: `tok-${n}`, expiresAt: expires(n) } })
  });
  await transport.connect();
  const refresh = timers.at(-1);
  assert.ok(refresh.ms > 530000 && refresh.ms <= 540000, `refresh in ${refresh.ms} ms`);
  refresh.fn();
  await tick(); await tick();
  assert.equal(made[0].token, "tok-2");
  const next = timers.at(-1);
  assert.ok(next.ms > 1130000 && next.ms <= 1140000, `next refresh in ${next.ms} ms`);
});

test("opening the window watches the channel and marks it read; a closed window never connects", async () => {
  const { transport, made, close } = setup();
  await transport.history();
  await tick(); await tick(); await tick();
  assert.equal(made.length, 1);
  assert.equal(made[0].channels["shop-support-guest-abc"].reads, 1);
  const other = setup();
  other.close();
  await other.transport.history();
  await tick();
  assert.equal(other.made.length, 0);
  close();
});
