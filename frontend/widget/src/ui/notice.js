/* Errors: always plain words, and the visitor's text is never lost. */
import { el } from "../dom.js";

export function errorText(S, e) {
  e = e || {};
  if (e.serverMessage) return e.serverMessage;
  var status = e.status;
  var code = String(e.code || "");
  if (code === "network" || code === "bad_response") return S.errorNetwork;
  if (status === 429 || code === "rate_limited") return S.errorRate;
  if (status === 413 || code === "too_long") return S.errorTooLong;
  if (status === 403) return S.errorSession;
  if (status >= 502 || code.indexOf("upstream") === 0) return S.errorUpstream;
  return S.errorGeneric;
}

// The alert above the composer, with a Retry button when there is something to retry.
export function createNotice(ctx) {
  var notice = el("div", "notice");
  notice.setAttribute("role", "alert");
  notice.hidden = true;

  return {
    node: notice,
    show: function (text, retry) {
      notice.textContent = "";
      notice.appendChild(el("span", null, text));
      if (retry) {
        var again = ctx.keyed("retry", null, null, "retry");
        again.addEventListener("click", retry);
        notice.appendChild(again);
      }
      notice.hidden = false;
    },
    hide: function () {
      notice.hidden = true;
      notice.textContent = "";
    }
  };
}
