/* Suggested questions under the log; a chip sends its text. */
import { button, el } from "../dom.js";

export function createChips(ctx, pick) {
  var chips = el("div", "chips");
  chips.setAttribute("role", "group");
  ctx.mark(chips, null, "suggestions");
  chips.hidden = true;

  return {
    node: chips,
    show: function (items) {
      chips.textContent = "";
      (items || []).slice(0, 6).forEach(function (text) {
        var chip = button("chip", null, null, text);
        chip.addEventListener("click", function () { pick(text); });
        chips.appendChild(chip);
      });
      chips.hidden = !chips.firstChild;
    }
  };
}
