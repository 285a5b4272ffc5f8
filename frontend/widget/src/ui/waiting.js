/* Waiting for a person: the header says who answers and how soon, and a guest is asked for an email
   for the reply. The words come from GET handoff, in the visitor's language. */
import { button, el, noop, text } from "../dom.js";
import { call } from "../transport.js";
import { errorText } from "./notice.js";

export function createWaiting(ctx, status) {
  var config = ctx.config;
  var shownState = null;

  var contact = el("div", "contact");
  contact.hidden = true;
  var form = el("form");
  form.noValidate = true;
  var label = el("label");
  label.htmlFor = "scb-email";
  var input = el("input", "input");
  input.id = "scb-email";
  input.type = "email";
  input.autocomplete = "email";
  input.setAttribute("aria-describedby", "scb-contact-note");
  var save = button("contact-save");
  save.type = "submit";
  var note = el("p", "contact-note");
  note.id = "scb-contact-note";
  note.setAttribute("aria-live", "polite");
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(save);
  contact.appendChild(form);
  contact.appendChild(note);

  function waitingCall(method, body) {
    var url = config.endpoints.handoff;
    return call(config, method, url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(ctx.language), body)
      .then(function (res) { return res.json(); });
  }

  function show(data) {
    data = data || {};
    status.textContent = "";
    status.hidden = !data.title;
    if (data.title) {
      status.appendChild(el("strong", null, data.title));
      status.appendChild(text(" " + (data.wait || "")));
    }
    var email = data.title && data.email;
    contact.hidden = !email;
    if (!email) return;
    form.hidden = !!email.value;
    label.textContent = email.label;
    save.textContent = email.save;
    note.className = "contact-note";
    note.textContent = email.saved || "";
    input.removeAttribute("aria-invalid");
  }

  function load() {
    if (!config.endpoints.handoff) return;
    if (shownState !== "waiting" && shownState !== "staff") return show(null);
    waitingCall("GET").then(show, noop);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    waitingCall("POST", { email: input.value.trim() }).then(show, function (err) {
      note.className = "contact-note err";
      note.textContent = errorText(ctx.S, err);
      input.setAttribute("aria-invalid", "true");
      input.focus();
    });
  });

  return {
    node: contact,
    // The conversation's state as last read; the header changes only when it does.
    follow: function (state) {
      if (state === shownState) return;
      shownState = state;
      load();
    },
    // The visitor's language changed: the same words again, in it.
    refresh: function () {
      if (shownState) load();
    }
  };
}
