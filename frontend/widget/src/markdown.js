/* Replies turned into DOM nodes by a small, safe markdown reader: model text is never parsed as HTML.
   Paragraphs, lists, headings (shown bold), bold, code, and http/https/relative links. */
import { el, text } from "./dom.js";

// Only http(s) addresses, relative ones resolved against the page; anything else (javascript:, data:)
// is no link at all.
export function safeUrl(href) {
  if (!href) return null;
  try {
    var url = new URL(String(href).trim(), location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch (e) {
    return null;
  }
}

// strings.newWindow: the screen-reader hint on links that leave the shop (read when rendering).
export function createMarkdown(strings) {
  function link(parent, label, href) {
    var url = safeUrl(href);
    if (!url) {
      parent.appendChild(text(label));
      return;
    }
    var a = el("a", null, label);
    a.href = url.href;
    if (url.origin !== location.origin) {
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      if (strings.newWindow) a.appendChild(el("span", "vh", " " + strings.newWindow));
    }
    parent.appendChild(a);
  }

  function inline(parent, line) {
    var pattern = /\*\*([^*\n]+?)\*\*|__([^_\n]+?)__|\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?\s*\)|`([^`\n]+)`|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"*])/g;
    var last = 0;
    var m;
    while ((m = pattern.exec(line))) {
      if (m.index > last) parent.appendChild(text(line.slice(last, m.index)));
      if (m[1] || m[2]) {
        var strong = el("strong");
        inline(strong, m[1] || m[2]);
        parent.appendChild(strong);
      } else if (m[3]) link(parent, m[3], m[4]);
      else if (m[5]) parent.appendChild(el("code", null, m[5]));
      else link(parent, m[6], m[6]);
      last = pattern.lastIndex;
    }
    if (last < line.length) parent.appendChild(text(line.slice(last)));
  }

  // Text quoted from web pages often arrives hard-wrapped: a line break after a long line is taken
  // as a space (as markdown does), after a short one ("Refunds", an address line) it is kept.
  function lineBreak(parent, previous) {
    if (previous.length >= 60 && !/[\u2e80-\u9fff\uff00-\uffef]$/.test(previous)) {
      parent.appendChild(text(" "));
    } else parent.appendChild(el("br"));
  }

  return function render(box, source) {
    box.textContent = "";
    var list = null;
    var listType = "";
    var para = null;
    var previous = "";
    String(source || "").replace(/\r\n?/g, "\n").split("\n").forEach(function (line) {
      var before = previous;
      previous = line.trim();
      var item = /^\s*([-*+•]|\d{1,3}[.)])\s+(.*)$/.exec(line);
      if (item) {
        var type = /\d/.test(item[1]) ? "ol" : "ul";
        if (!list || listType !== type) {
          list = el(type);
          listType = type;
          if (type === "ol" && parseInt(item[1], 10) > 1) list.start = parseInt(item[1], 10);
          box.appendChild(list);
        }
        para = null;
        var li = el("li");
        inline(li, item[2]);
        list.appendChild(li);
        return;
      }
      if (!line.trim()) {
        list = null;
        para = null;
        return;
      }
      if (list && /^\s{2,}\S/.test(line)) {
        lineBreak(list.lastChild, before);
        inline(list.lastChild, line.trim());
        return;
      }
      list = null;
      var heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading) {
        para = null;
        var p = el("p");
        var strong = el("strong");
        inline(strong, heading[1]);
        p.appendChild(strong);
        box.appendChild(p);
        return;
      }
      if (para) lineBreak(para, before);
      else {
        para = el("p");
        box.appendChild(para);
      }
      inline(para, line);
    });
  };
}
