/* The conversation: sending a message and showing its reply, stopping it, reading the history, and
   looking for news while staff may answer. The transport is chosen once, on first use. */
import { wireError } from "../../../shared/wire.js";
import { noop } from "../dom.js";
import { errorText } from "./notice.js";

// Builtin transport has no push channel: while staff may answer, or a reply started on another page
// is still streaming, the window looks for news every few seconds (only while the tab is visible).
var POLL_MS = 4000;
var POLL_MAX_MS = 30000;

// parts: {messages, composer, chips, notice, waiting, handoff}.
export function createConversation(ctx, parts) {
  var config = ctx.config;
  var api = ctx.api;
  var S = ctx.S;
  var messages = parts.messages;
  var log = messages.node;
  var input = parts.composer.input;
  var busy = null;
  var synced = null;
  var syncing = null;
  var transport = null;
  var pollDelay = POLL_MS;
  var pollTimer = 0;
  var state = null;
  var unread = 0;

  function getTransport() {
    if (!transport) {
      var mode = config.mode;
      var src = (config.assets || {})[mode];
      var ready = !api.transports[mode] && src ? api.loadScript(src).catch(noop) : Promise.resolve();
      transport = ready.then(function () {
        return (api.transports[mode] || api.transports.builtin)(config, api);
      });
    }
    return transport;
  }

  function track(conversation) {
    if (conversation && conversation.state) state = conversation.state;
    parts.waiting.follow(state);
    clearTimeout(pollTimer);
    var waiting = state === "waiting" || state === "staff";
    // Already with (or waiting for) the team: the button would only repeat the request.
    if (waiting && ctx.root.activeElement === parts.handoff) input.focus();
    parts.handoff.hidden = waiting;
    for (var id in messages.unfinished) waiting = true;
    if (waiting) pollTimer = setTimeout(poll, pollDelay);
  }

  // Quick while something is happening, then slower and slower up to POLL_MAX_MS.
  function poll() {
    if (document.hidden || busy) {
      track(null);
      return;
    }
    sync().then(function (changed) {
      pollDelay = changed ? POLL_MS : Math.min(pollDelay * 1.5, POLL_MAX_MS);
      track(null);
    });
  }

  function failReply(view, e, text) {
    messages.settle(view);
    view.node.classList.add("failed");
    var box = messages.note(view, errorText(S, e), "err");
    var again = ctx.keyed("retry", null, null, "retry");
    again.addEventListener("click", function () {
      if (busy) return;
      box.parentNode.removeChild(box);
      send(text, false);
    });
    box.appendChild(again);
  }

  function arrived() {
    if (ctx.isOpen()) return;
    unread += 1;
    api.setUnread(unread);
  }

  function send(raw, fromInput) {
    var text = String(raw || "").trim();
    if (!text || busy) return;
    if (config.maxLength && text.length > config.maxLength) {
      parts.notice.show(S.errorTooLong);
      return;
    }
    if (fromInput) {
      input.value = "";
      parts.composer.autosize();
      api.keep("draft", null);
    }
    parts.notice.hide();
    ctx.followVisitor(text);
    // A chip that sent this goes away with the others: keep the keyboard in the window.
    if (parts.chips.node.contains(ctx.root.activeElement)) input.focus();
    parts.chips.show([]);
    pollDelay = POLL_MS;
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    busy = { ctrl: ctrl };
    parts.composer.setBusy(true);
    (syncing || Promise.resolve()).catch(noop).then(function () {
      return deliver(text, ctrl);
    }).then(function () {
      busy = null;
      parts.composer.setBusy(false);
    });
  }

  function deliver(text, ctrl) {
    var user = messages.bubble("user");
    messages.setText(user, text);
    user.node.classList.add("pending");
    var reply = messages.bubble("assistant");
    messages.thinking(reply);
    messages.toBottom();
    api.remember("active", "1");
    var stored = false;
    var ended = false;
    var received = "";
    return getTransport().then(function (t) {
      return t.send(text, {
        message: function (m) {
          stored = true;
          user.id = m.id;
          user.node.classList.remove("pending");
          messages.remember(m.id);
        },
        delta: function (d) {
          received += d.text || "";
          messages.grow(reply, received);
        },
        done: function (m) {
          ended = true;
          var stick = messages.nearBottom();
          messages.finish(reply, m);
          // The stream transport's answer does not know the conversation's state: the history does.
          if (m.conversation || t.name === "builtin") track(m.conversation);
          else sync();
          if (m.suggestions && m.suggestions.length) parts.chips.show(m.suggestions);
          if (stick) messages.toBottom();
          if (reply.node.parentNode) arrived();
        },
        error: function (e) {
          ended = true;
          failReply(reply, wireError(e.code, 0, e.message), text);
          arrived();
        }
      }, ctrl && ctrl.signal);
    }).then(function () {
      if (!ended) throw wireError("network");
    }).catch(function (e) {
      if (ctrl && ctrl.signal.aborted) {
        user.node.classList.remove("pending");
        messages.settle(reply);
        messages.setText(reply, received);
        ctx.mark(messages.note(reply, S.stopped), "stopped");
        return;
      }
      if (!stored && !received) {
        // Nothing reached the shop: take the bubbles back and return the text to the box.
        log.removeChild(user.node);
        log.removeChild(reply.node);
        if (!input.value.trim()) {
          input.value = text;
          parts.composer.autosize();
        }
        parts.notice.show(errorText(S, e) + " " + (S.notSent || ""), function () { send(input.value, true); });
        return;
      }
      user.node.classList.remove("pending");
      failReply(reply, e, text);
    });
  }

  function stop() {
    if (!busy) return;
    var ctrl = busy.ctrl;
    getTransport().then(function (t) { return t.stop(); }).catch(noop);
    if (ctrl) ctrl.abort();
    input.focus();
  }

  function countReplies(list) {
    return list.filter(function (m) { return m.role !== "user" && m.status !== "streaming"; }).length;
  }

  function sync() {
    if (syncing) return syncing;
    syncing = getTransport().then(function (t) {
      return t.history();
    }).then(function (data) {
      var stored = (data && data.messages) || [];
      var first = !synced;
      synced = true;
      track(data && data.conversation);
      api.remember("active", stored.length ? "1" : null);
      stored.forEach(function (m) {
        // The stream transport's answer did not say it was a notice; the stored message does.
        var shown = m.kind === "notice" && messages.views[m.id];
        if (shown && shown.fb) {
          shown.node.removeChild(shown.fb);
          shown.fb = null;
        }
      });
      var changed = stored.filter(function (m) {
        return !messages.known[m.id] || (messages.unfinished[m.id] && m.status !== "streaming");
      });
      var stick = messages.nearBottom();
      changed.forEach(messages.showStored);
      if (stick || first) messages.toBottom();
      var last = stored[stored.length - 1];
      if (first && !stored.length) parts.chips.show(config.suggestions);
      else if (last && last.role !== "user" && changed.indexOf(last) >= 0) parts.chips.show(last.suggestions);
      if (ctx.isOpen()) {
        api.remember("seen", messages.lastId());
      } else if (first) {
        var seen = api.recall("seen");
        var seenAt = -1;
        stored.forEach(function (m, i) {
          if (m.id === seen) seenAt = i;
        });
        if (seenAt >= 0) unread = countReplies(stored.slice(seenAt + 1));
        api.setUnread(unread);
      } else if (changed.length) {
        unread += countReplies(changed);
        api.setUnread(unread);
      }
      return changed.length > 0;
    }, function (e) {
      if (ctx.isOpen() && !synced) parts.notice.show(errorText(S, e), function () { parts.notice.hide(); sync(); });
      return false;
    }).then(function (changed) {
      syncing = null;
      return changed;
    });
    return syncing;
  }

  ctx.getTransport = getTransport;
  return {
    send: send,
    stop: stop,
    sync: sync,
    isBusy: function () { return !!busy; },
    isSynced: function () { return !!synced; },
    // The window opened: nothing unread, and news looked for quickly again.
    opened: function () {
      unread = 0;
      api.setUnread(0);
      pollDelay = POLL_MS;
    }
  };
}
