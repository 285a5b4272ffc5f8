/* The chat window: its parts put together, opening and closing (with the state a tab keeps for its
   next page), the focus kept inside while open, and what the loader may call. */
import { el } from "../dom.js";
import { createMarkdown } from "../markdown.js";
import { createChips } from "./chips.js";
import { createComposer } from "./composer.js";
import { createConversation } from "./conversation.js";
import { createHeader } from "./header.js";
import { createMessages } from "./messages.js";
import { createNotice } from "./notice.js";
import { createWaiting } from "./waiting.js";
import { createWords } from "./words.js";

/* Full screen on a phone: the page behind must not scroll under the visitor's finger. */
var FULL_SCREEN = "(max-width: 600px), (max-height: 500px)";

function fullScreen() {
  return !!(window.matchMedia && window.matchMedia(FULL_SCREEN).matches);
}

export function createUI(api) {
  var opened = false;
  var pageOverflow = null;
  var ctx = {
    api: api,
    config: api.config,
    root: api.root,
    isOpen: function () { return opened; }
  };
  var root = api.root;
  var launcher = api.launcher;
  createWords(ctx);
  var S = ctx.S;
  ctx.renderMarkdown = createMarkdown(S);

  var win = (ctx.win = el("div", "win"));
  win.id = "scb-window";
  win.hidden = true;
  win.setAttribute("role", "dialog");
  win.setAttribute("aria-modal", "true");
  win.setAttribute("aria-labelledby", "scb-title");
  var header = createHeader(ctx);
  var messages = createMessages(ctx);
  var log = messages.node;
  var chips = createChips(ctx, function (text) { conversation.send(text, false); });
  var notice = createNotice(ctx);
  var waiting = createWaiting(ctx, header.status);
  var composer = createComposer(ctx);
  var input = composer.input;
  var conversation = createConversation(ctx, {
    messages: messages,
    composer: composer,
    chips: chips,
    notice: notice,
    waiting: waiting,
    handoff: header.handoff
  });
  ctx.relabelled = function () {
    input.placeholder = S.placeholder || "";
    api.speak(S);
    waiting.refresh();
  };

  win.appendChild(header.node);
  win.appendChild(log);
  win.appendChild(chips.node);
  win.appendChild(notice.node);
  win.appendChild(waiting.node);
  win.appendChild(composer.node);
  if (S.disclaimer) win.appendChild(ctx.mark(el("p", "foot", S.disclaimer), "disclaimer"));
  root.querySelector(".scb").appendChild(win);
  launcher.setAttribute("aria-controls", win.id);

  if (S.greeting) {
    var greeting = messages.bubble("assistant");
    greeting.node.classList.add("greeting");
    ctx.renderMarkdown(greeting.body, S.greeting);
  }

  // What this tab remembers for its next page: open or not, where the log was scrolled, the draft.
  function keepScroll() {
    api.keep("scroll", opened && !messages.nearBottom() ? Math.round(log.scrollTop) : null);
  }

  function keepState() {
    api.keep("open", opened ? "1" : null);
    api.keep("draft", input.value || null);
    keepScroll();
  }

  // The CSS decides whether there is an animation (none under prefers-reduced-motion).
  function animate(name, then) {
    win.classList.remove("in", "out");
    win.classList.add(name);
    var timer = 0;
    function end() {
      win.removeEventListener("animationend", end);
      clearTimeout(timer);
      win.classList.remove(name);
      if (then) then();
    }
    if (getComputedStyle(win).animationName === "none") return end();
    win.addEventListener("animationend", end);
    // A hidden tab may never run the animation.
    timer = setTimeout(end, 500);
  }

  function lockPage(lock) {
    var html = document.documentElement;
    if (lock && pageOverflow === null && fullScreen()) {
      pageOverflow = html.style.overflow;
      html.style.overflow = "hidden";
    } else if (!lock && pageOverflow !== null) {
      html.style.overflow = pageOverflow;
      pageOverflow = null;
    }
  }

  function open(restoring) {
    if (opened) return;
    opened = true;
    win.hidden = false;
    if (!restoring) animate("in");
    launcher.setAttribute("aria-expanded", "true");
    root.querySelector(".scb").classList.add("open");
    lockPage(true);
    conversation.opened();
    if (messages.lastId()) api.remember("seen", messages.lastId());
    composer.autosize();
    messages.toBottom();
    if (!restoring) {
      input.focus();
      if (!conversation.isBusy()) conversation.sync();
    }
    keepState();
  }

  // Reopened on the next page of the tab: shown once the history is in, at the same scroll
  // position, with no animation, so the window looks as if it had never gone away.
  function restore() {
    var scroll = api.kept("scroll");
    return conversation.sync().then(function () {
      open(true);
      if (scroll !== null) log.scrollTop = +scroll;
      // A phone's keyboard would cover the restored conversation: focus the log there instead.
      (fullScreen() ? log : input).focus({ preventScroll: true });
    });
  }

  function close() {
    if (!opened) return;
    opened = false;
    launcher.setAttribute("aria-expanded", "false");
    root.querySelector(".scb").classList.remove("open");
    lockPage(false);
    launcher.focus();
    keepState();
    animate("out", function () {
      if (!opened) win.hidden = true;
    });
  }

  function focusable() {
    return Array.prototype.filter.call(
      win.querySelectorAll("button, textarea, a[href], [tabindex]:not([tabindex='-1'])"),
      function (node) { return !node.disabled && node.getClientRects().length > 0; }
    );
  }

  win.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !e.isComposing) {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === "Tab") {
      var items = focusable();
      if (!items.length) return;
      var first = items[0];
      var last = items[items.length - 1];
      var active = root.activeElement;
      if (e.shiftKey && (active === first || items.indexOf(active) < 0)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (active === last || items.indexOf(active) < 0)) {
        e.preventDefault();
        first.focus();
      }
    }
  });

  composer.onSend(function (text) { conversation.send(text, true); });
  log.addEventListener("scroll", keepScroll, { passive: true });
  window.addEventListener("pagehide", keepState);
  composer.stop.addEventListener("click", conversation.stop);
  header.close.addEventListener("click", close);
  header.handoff.addEventListener("click", function () { conversation.send(S.handoffText, false); });

  return {
    open: open,
    close: close,
    toggle: function () {
      if (opened) close();
      else open();
    },
    resume: function () {
      if (!conversation.isSynced()) conversation.sync();
    },
    restore: restore,
    send: function (text) {
      open();
      conversation.send(text, false);
    },
    stop: conversation.stop
  };
}
