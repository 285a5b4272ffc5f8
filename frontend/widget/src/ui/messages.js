/* The message log: bubbles for the visitor, the assistant, staff and the system; a reply that grows
   while it streams; the messages already shown (by id) and those still streaming elsewhere. */
import { el, text } from "../dom.js";
import { renderFeedback } from "./feedback.js";
import { renderProducts } from "./products.js";

export function createMessages(ctx) {
  var S = ctx.S;
  var api = ctx.api;
  var known = {};
  var views = {};
  // Replies that were still streaming when the history was read: replaced once they have ended.
  var unfinished = {};
  var lastId = null;

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-labelledby", "scb-title");
  log.tabIndex = 0;

  // A staff message shows its author's first name and initial; without a name, "Support team".
  function bubble(role, author) {
    var node = el("div", "msg " + role);
    var name = author && author.name;
    if (role === "staff") {
      var who = el("span", "who");
      who.appendChild(el("span", "avatar", (name || S.staff || "?").charAt(0).toUpperCase()))
        .setAttribute("aria-hidden", "true");
      who.appendChild(text(name || S.staff));
      if (!name) ctx.mark(who, "staff");
      node.appendChild(who);
    } else {
      var label = role === "user" ? S.you : S.assistant;
      if (label) node.appendChild(el("span", "vh", label + ": "));
    }
    var body = el("div", "body");
    node.appendChild(body);
    log.appendChild(node);
    return { node: node, body: body, role: role, text: "" };
  }

  function setText(view, words) {
    view.text = words || "";
    if (view.role === "user") view.body.textContent = view.text;
    else ctx.renderMarkdown(view.body, view.text);
  }

  function remember(id) {
    if (!id) return;
    known[id] = true;
    lastId = id;
    if (ctx.isOpen()) api.remember("seen", id);
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  }

  function toBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function thinking(view) {
    view.node.setAttribute("aria-busy", "true");
    var dots = el("span", "typing");
    dots.appendChild(el("span", "vh", S.thinking));
    for (var i = 0; i < 3; i++) dots.appendChild(el("i"));
    view.typing = dots;
    view.body.appendChild(dots);
  }

  function settle(view) {
    if (view.frame) cancelAnimationFrame(view.frame);
    view.frame = 0;
    view.typing = null;
    view.node.removeAttribute("aria-busy");
  }

  // Deltas arrive faster than the screen refreshes: render at most once a frame.
  function grow(view, words) {
    view.pending = words;
    if (view.frame) return;
    view.frame = requestAnimationFrame(function () {
      view.frame = 0;
      var stick = nearBottom();
      view.typing = null;
      setText(view, view.pending);
      if (stick) toBottom();
    });
  }

  function note(view, words, className) {
    var n = el("p", "note" + (className ? " " + className : ""), words);
    view.node.appendChild(n);
    return n;
  }

  function finish(view, message) {
    settle(view);
    var words = message.text || view.pending || "";
    if (!message.id && !words) {
      // Nothing to show: e.g. a message acknowledged while the conversation waits for staff.
      if (view.node.parentNode) view.node.parentNode.removeChild(view.node);
      return;
    }
    if (message.role && message.role !== view.role && message.role !== "user") {
      view.node.classList.remove(view.role);
      view.role = message.role;
      view.node.classList.add(view.role);
    }
    view.id = message.id;
    if (message.id) views[message.id] = view;
    setText(view, words);
    remember(message.id);
    renderProducts(ctx, view, message.products);
    if (message.status === "stopped") ctx.mark(note(view, S.stopped), "stopped");
    else if (message.status === "error") note(view, S.errorUpstream, "err");
    else if (message.status !== "streaming" && view.role === "assistant" && message.id && message.kind !== "notice") {
      renderFeedback(ctx, view, message.rating);
    }
  }

  // A message from the history: new ones are added, a reply that was streaming is replaced once ended.
  function showStored(message) {
    if (!message) return;
    var pending = message.id && unfinished[message.id];
    if (pending && message.status !== "streaming") {
      delete unfinished[message.id];
      var done = bubble(pending.role, message.author);
      log.replaceChild(done.node, pending.node);
      finish(done, message);
      return;
    }
    if (message.id && known[message.id]) return;
    var role = { user: "user", staff: "staff", system: "system" }[message.role] || "assistant";
    var view = bubble(role, message.author);
    if (role === "user") {
      setText(view, message.text);
      remember(message.id);
    } else {
      finish(view, message);
      if (message.status === "streaming") {
        unfinished[message.id] = view;
        thinking(view);
      }
    }
  }

  return {
    node: log,
    views: views,
    unfinished: unfinished,
    known: known,
    // The newest message shown: what the visitor has seen once the window is open.
    lastId: function () { return lastId; },
    bubble: bubble,
    setText: setText,
    remember: remember,
    nearBottom: nearBottom,
    toBottom: toBottom,
    thinking: thinking,
    settle: settle,
    grow: grow,
    note: note,
    finish: finish,
    showStored: showStored
  };
}
