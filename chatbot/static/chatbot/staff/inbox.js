/* Staff inbox: canned replies go into the reply box with a click; the open conversation's transcript,
   state and waiting count stay current without a reload. The page's staff-only JSON endpoint
   (data-chatbot-live on the transcript) is polled every few seconds while the tab is visible; the
   HTML it inserts is rendered and escaped by the server. */
(function () {
  "use strict";
  // A canned reply is inserted where the cursor is (replacing a selection), ready to edit and send.
  document.addEventListener("click", function (e) {
    var canned = e.target.closest && e.target.closest("[data-chatbot-canned]");
    if (!canned) return;
    var box = document.getElementById(canned.getAttribute("data-target"));
    if (!box) return;
    var text = canned.getAttribute("data-chatbot-canned");
    var start = box.selectionStart == null ? box.value.length : box.selectionStart;
    var end = box.selectionEnd == null ? start : box.selectionEnd;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + text.length;
  });

  var log = document.querySelector("[data-chatbot-live]");
  if (!log || !window.fetch) return;
  var url = log.getAttribute("data-chatbot-live");
  var after = log.getAttribute("data-after") || "0";
  var DELAY_MS = 3000;

  function show(data) {
    (data.messages || []).forEach(function (message) {
      var old = log.querySelector('[data-message="' + message.id + '"]');
      var empty = log.querySelector(".chatbot-empty");
      if (empty) empty.parentNode.removeChild(empty);
      if (old) old.outerHTML = message.html;
      else log.insertAdjacentHTML("beforeend", message.html);
    });
    after = String(data.after);
    Array.prototype.forEach.call(document.querySelectorAll(".chatbot-state"), function (node) {
      node.textContent = data.stateLabel;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-chatbot-waiting]"), function (node) {
      node.textContent = data.waiting;
    });
  }

  function poll() {
    if (document.hidden) return later();
    fetch(url + "?after=" + encodeURIComponent(after), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (res) {
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    }).then(show).catch(function () {}).then(later);
  }

  function later() {
    setTimeout(poll, DELAY_MS);
  }

  later();
})();
