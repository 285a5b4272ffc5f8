/* The widget's stream transport: the same interface as chat.js's builtin transport (history, send, stop,
   feedback), with the reply arriving over Stream Chat's websocket instead of a server-sent event stream.

   Who the visitor is comes from the shop's session: the token endpoint answers for the session's visitor
   only, and the token provider asks it again whenever the Stream client needs a fresh token. The API
   secret never reaches the browser; the API key in the token answer is public.

   History, feedback and stop go to the shop's own endpoints (the database is the record of the
   conversation, with the same message ids as the channel). Sending goes through POST stream-message,
   which posts the text as the visitor and queues the reply; the reply then grows in the channel through
   message.updated events, and ends with ai_indicator.clear (or AI_STATE_ERROR). */

import { csrfToken, pagePath, wireError } from "../../shared/wire.js";

var ERROR_STATE = "AI_STATE_ERROR";
// A reply with no news for this long is reported as failed; the worker's own limit is shorter.
var REPLY_SILENCE_MS = 120000;
// After the final update (generating: false) the clear event normally follows at once.
var SETTLE_MS = 3000;
// Tokens are renewed this long before they expire (never sooner than REFRESH_MIN_MS from now).
var REFRESH_EARLY_MS = 60000;
var REFRESH_MIN_MS = 5000;
// Connecting (token, websocket, channel) gives up after this long.
var CONNECT_TIMEOUT_MS = 15000;
// The websocket is closed when the window has stayed closed this long; reopening reconnects.
var IDLE_DISCONNECT_MS = 5 * 60 * 1000;

function abortError() {
  var e = new Error("aborted");
  e.name = "AbortError";
  return e;
}

export function createStreamTransport(config, api, deps) {
  var StreamChat = deps.StreamChat;
  var fetchImpl = deps.fetch || (typeof fetch === "function" ? fetch.bind(globalThis) : null);
  var setTimer = deps.setTimeout || setTimeout;
  var clearTimer = deps.clearTimeout || clearTimeout;
  var endpoints = config.endpoints || {};
  var base = deps.base || null; // the builtin transport: history, feedback, stop
  var session = null; // {client, channel, userId, ...}
  var connecting = null;
  var active = null; // the reply being waited for
  var idleTimer = 0;
  var refreshTimer = 0;
  var expiresAt = 0;
  var stats = { tokens: 0, connects: 0, disconnects: 0 };

  // The cookie's current value: another tab may have rotated it since the page was rendered.
  function cookie() {
    return deps.cookie ? deps.cookie() : (typeof document !== "undefined" ? document.cookie : "");
  }

  function post(url, body) {
    var headers = { Accept: "application/json", "Content-Type": "application/json" };
    headers[config.csrfHeader || "X-CSRFToken"] = csrfToken(config, cookie());
    return fetchImpl(url, {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (res.ok) return data;
        var err = (data && data.error) || {};
        var retry = res.headers && res.headers.get ? res.headers.get("Retry-After") : null;
        throw wireError(err.code || "http_" + res.status, res.status, err.message, retry);
      });
    }, function () {
      throw wireError("network");
    });
  }

  function fetchToken() {
    stats.tokens += 1;
    return post(endpoints.streamToken, {}).then(function (data) {
      expiresAt = Date.parse(data.expiresAt) || 0;
      return data;
    });
  }

  // A new token shortly before the current one expires, so neither REST calls nor a reconnecting
  // websocket ever meet an expired token (Stream's client also asks the provider on expiry errors).
  function scheduleRefresh() {
    clearTimer(refreshTimer);
    if (!session || !expiresAt) return;
    var wait = Math.max(REFRESH_MIN_MS, expiresAt - Date.now() - REFRESH_EARLY_MS);
    refreshTimer = setTimer(function () {
      var s = session;
      if (!s || !s.client.tokenManager) return;
      Promise.resolve(s.client.tokenManager.loadToken()).then(scheduleRefresh, function () {
        expiresAt = Date.now() + REFRESH_EARLY_MS + REFRESH_MIN_MS * 6; // try again in half a minute
        scheduleRefresh();
      });
    }, wait);
  }

  // Stream calls this whenever it needs a token (first connect, expiry, reconnect). The first answer
  // also carries the ids, so it is used once before asking again.
  function tokenProvider(first) {
    var pending = first;
    return function () {
      if (pending) {
        var token = pending.token;
        pending = null;
        return Promise.resolve(token);
      }
      return fetchToken().then(function (data) { return data.token; });
    };
  }

  function isOpen() {
    return !!api.launcher && api.launcher.getAttribute("aria-expanded") === "true";
  }

  function onEvent(event) {
    var message = event.message || {};
    if (active) active.handle(event);
    var mine = message.user && session && message.user.id === session.userId;
    if (event.type !== "message.new" || mine || !session) return;
    if (isOpen()) {
      // Seen as it arrives: Stream's count for this visitor stays at zero.
      if (session.channel.markRead) Promise.resolve(session.channel.markRead()).catch(function () {});
    } else {
      // Unread badge from Stream's own count (messages from the assistant or staff).
      api.setUnread(session.channel.countUnread ? session.channel.countUnread() : 1);
    }
  }

  function connect() {
    if (session) return Promise.resolve(session);
    if (connecting) return connecting;
    connecting = fetchToken().then(function (data) {
      var options = { timeout: 6000 };
      if (data.baseUrl) options.baseURL = data.baseUrl;
      var client = new StreamChat(data.apiKey, options);
      stats.connects += 1;
      var gaveUp = false;
      var opened = client.connectUser({ id: data.userId }, tokenProvider(data)).then(function () {
        var channel = client.channel(data.channelType, data.channelId);
        return channel.watch().then(function () {
          if (gaveUp) throw wireError("network");
          var sub = channel.on(onEvent);
          session = { client: client, channel: channel, userId: data.userId, sub: sub };
          return session;
        });
      });
      // Stream's client keeps retrying an unreachable websocket; the visitor should hear about it.
      var timer = 0;
      var late = new Promise(function (resolve, reject) {
        timer = setTimer(function () {
          gaveUp = true;
          reject(wireError("network"));
        }, CONNECT_TIMEOUT_MS);
      });
      return Promise.race([opened, late]).then(function (s) {
        clearTimer(timer);
        return s;
      }, function (e) {
        clearTimer(timer);
        session = null;
        try { client.disconnectUser(); } catch (ignored) { /* nothing to close */ }
        throw e;
      });
    }).then(function (s) {
      connecting = null;
      scheduleRefresh();
      return s;
    }, function (e) {
      connecting = null;
      throw e && e.code ? e : wireError("network");
    });
    return connecting;
  }

  function disconnect() {
    var s = session;
    session = null;
    clearTimer(refreshTimer);
    if (!s) return Promise.resolve();
    stats.disconnects += 1;
    if (s.sub && s.sub.unsubscribe) s.sub.unsubscribe();
    return Promise.resolve(s.client.disconnectUser()).catch(function () {});
  }

  // The chat window tells us nothing when it closes; the launcher's aria-expanded does.
  function watchWindow() {
    var launcher = api.launcher;
    if (!launcher || typeof MutationObserver !== "function") return;
    new MutationObserver(function () {
      clearTimer(idleTimer);
      if (launcher.getAttribute("aria-expanded") === "false" && !active) {
        idleTimer = setTimer(disconnect, IDLE_DISCONNECT_MS);
      }
    }).observe(launcher, { attributes: true, attributeFilter: ["aria-expanded"] });
  }

  // Follows one reply through the channel's events and reports it to the widget's handlers.
  function follow(handlers, signal) {
    var reply = { id: null, text: "", buffered: [], finished: false };
    var silence = 0;
    var settle = 0;
    var resolve;
    var reject;
    var promise = new Promise(function (ok, fail) {
      resolve = ok;
      reject = fail;
    });

    function end(error) {
      if (reply.finished) return;
      reply.finished = true;
      clearTimer(silence);
      clearTimer(settle);
      if (active === reply) active = null;
      if (error) reject(error);
      else resolve();
    }

    function quiet() {
      clearTimer(silence);
      silence = setTimer(function () { end(wireError("upstream_timeout", 504)); }, REPLY_SILENCE_MS);
    }

    function grow(text) {
      if (typeof text !== "string" || text === reply.text) return;
      if (text.indexOf(reply.text) === 0) {
        handlers.delta({ text: text.slice(reply.text.length) });
      } else {
        // Not an extension of what was shown (a correction): the widget can only append, so it is
        // given the final text at the end.
      }
      reply.text = text;
    }

    function done(status) {
      handlers.done({ id: reply.id, role: "assistant", text: reply.text, status: status || "done" });
      end();
    }

    reply.handle = function (event) {
      if (reply.finished) return;
      if (!reply.id) {
        reply.buffered.push(event);
        return;
      }
      var message = event.message || {};
      var about = message.id || event.message_id;
      if (about !== reply.id) return;
      quiet();
      if (event.type === "message.new" || event.type === "message.updated") {
        grow(message.text || "");
        if (message.generating === false) {
          // A notice is posted finished; a reply's clear event follows its final update.
          clearTimer(settle);
          settle = setTimer(function () { done("done"); }, event.type === "message.new" ? 0 : SETTLE_MS);
        }
      } else if (event.type === "ai_indicator.update" && event.ai_state === ERROR_STATE) {
        handlers.error({ code: "upstream_error", message: event.ai_message || "" });
        end();
      } else if (event.type === "ai_indicator.clear") {
        done(reply.stopped ? "stopped" : "done");
      }
    };

    reply.start = function (id) {
      reply.id = id;
      quiet();
      var early = reply.buffered;
      reply.buffered = [];
      early.forEach(reply.handle);
    };

    if (signal) {
      signal.addEventListener("abort", function () { end(abortError()); });
    }
    reply.promise = promise;
    reply.end = end;
    return reply;
  }

  function send(text, handlers, signal) {
    clearTimer(idleTimer);
    return connect().then(function () {
      if (signal && signal.aborted) throw abortError();
      // Listen before posting: the reply's first events can arrive before the POST answers.
      var reply = follow(handlers, signal);
      active = reply;
      return post(endpoints.streamMessage, { text: text, page: pagePath() }).then(function (data) {
        handlers.message({ id: data.messageId, role: "user", text: text, created: new Date().toISOString() });
        if (!data.replyId) {
          // With staff: nothing answers now; staff replies arrive with the history.
          handlers.done({ id: null, role: "assistant", text: "", status: "waiting" });
          reply.end();
          return reply.promise;
        }
        reply.start(data.replyId);
        return reply.promise;
      }, function (e) {
        reply.end();
        reply.promise.catch(function () {});
        throw e;
      });
    });
  }

  function stop() {
    if (active) active.stopped = true;
    var asks = [base ? base.stop() : post(endpoints.stop, {})];
    if (session && session.channel.stopAIResponse) {
      // Stream's own stop event, for servers that also watch the channel; the POST above is what counts.
      asks.push(Promise.resolve(session.channel.stopAIResponse()).catch(function () {}));
    }
    return Promise.all(asks);
  }

  watchWindow();

  return {
    name: "stream",
    history: function () {
      if (isOpen()) {
        // The window is open: watch the channel now (staff replies, unread counts), and tell Stream
        // the visitor has seen it. A closed window (the idle preload) never opens a websocket.
        clearTimer(idleTimer);
        connect().then(function (s) {
          if (s.channel.markRead) return s.channel.markRead();
        }).catch(function () {});
      }
      return base.history.apply(base, arguments);
    },
    feedback: function (id, rating) {
      return base.feedback(id, rating);
    },
    send: send,
    stop: stop,
    connect: connect,
    disconnect: disconnect,
    stats: stats
  };
}
