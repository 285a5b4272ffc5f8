/* The composer: the text box (kept as a draft across pages), Send, and Stop while a reply streams. */
import { el } from "../dom.js";

export function createComposer(ctx) {
  var S = ctx.S;
  var config = ctx.config;
  var form = el("form", "composer");
  form.noValidate = true;
  var label = ctx.mark(el("label", "vh", S.input), "input");
  label.htmlFor = "scb-input";
  var input = el("textarea", "input");
  input.id = "scb-input";
  input.rows = 1;
  input.placeholder = S.placeholder || "";
  if (config.maxLength) input.maxLength = config.maxLength;
  input.value = ctx.api.kept("draft") || "";
  var sendBtn = ctx.keyed("send", "send", "send");
  sendBtn.type = "submit";
  var stopBtn = ctx.keyed("stop", "stopLabel", "stop", "stop");
  stopBtn.hidden = true;
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendBtn);
  form.appendChild(stopBtn);

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }

  return {
    node: form,
    input: input,
    stop: stopBtn,
    autosize: autosize,
    setBusy: function (on) {
      var hadFocus = ctx.root.activeElement === sendBtn || ctx.root.activeElement === stopBtn;
      sendBtn.hidden = on;
      stopBtn.hidden = !on;
      ctx.win.classList.toggle("busy", on);
      if (hadFocus) (on ? stopBtn : input).focus();
    },
    // Wires Enter (not while an IME composes), Send and the draft; send(text) is the conversation's.
    onSend: function (send) {
      input.addEventListener("keydown", function (e) {
        // isComposing: Enter that confirms a Chinese/Japanese IME candidate must not send.
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
          e.preventDefault();
          send(input.value);
        }
      });
      input.addEventListener("input", function () {
        autosize();
        ctx.api.keep("draft", input.value || null);
      });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        send(input.value);
      });
    }
  };
}
