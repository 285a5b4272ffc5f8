/* Helpful / not helpful under a finished reply. */
import { el } from "../dom.js";
import { errorText } from "./notice.js";

export function renderFeedback(ctx, view, rating) {
  var box = el("div", "fb");
  var status = el("span", "fb-note");
  var buttons = [["up", "helpful"], ["down", "notHelpful"]].map(function (choice) {
    var b = ctx.keyed("fb-btn", choice[1], choice[0]);
    b.setAttribute("aria-pressed", rating === choice[0] ? "true" : "false");
    b.addEventListener("click", function () {
      ctx.getTransport().then(function (t) {
        return t.feedback(view.id, choice[0]);
      }).then(function () {
        buttons.forEach(function (other) {
          other.setAttribute("aria-pressed", other === b ? "true" : "false");
        });
        status.textContent = ctx.S.thanks;
      }, function (e) {
        status.textContent = errorText(ctx.S, e);
      });
    });
    box.appendChild(b);
    return b;
  });
  box.appendChild(status);
  view.node.appendChild(box);
  view.fb = box;
}
