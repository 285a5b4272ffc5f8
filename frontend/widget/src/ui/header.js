/* The window's header: its title, the waiting-for-a-person status line, "talk to a person", close. */
import { el } from "../dom.js";

export function createHeader(ctx) {
  var S = ctx.S;
  var header = el("div", "head");
  var heading = el("div", "heading");
  var title = ctx.mark(el("h2", "title", S.title), "title");
  title.id = "scb-title";
  // While a person is wanted: who answers and how soon (the server's words, in the visitor's language).
  var status = el("p", "status");
  status.setAttribute("role", "status");
  status.hidden = true;
  heading.appendChild(title);
  heading.appendChild(status);
  var handoff = ctx.keyed("handoff", null, "person", "handoff");
  var closeBtn = ctx.keyed("close", "close", "close");
  header.appendChild(heading);
  header.appendChild(handoff);
  header.appendChild(closeBtn);
  return { node: header, status: status, handoff: handoff, close: closeBtn };
}
