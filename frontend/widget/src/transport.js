/* The builtin transport: messages live in the shop's database, replies stream as SSE over fetch. */
import { csrfToken, pagePath, wireError } from "../../shared/wire.js";
import { readEvents } from "./sse.js";

// One JSON (or event-stream) call to the shop's chat API with the session and CSRF; a failed answer
// becomes an error carrying the server's code and message.
export function call(config, method, url, body, signal) {
  var headers = { Accept: method === "GET" ? "application/json" : "text/event-stream, application/json" };
  var init = { method: method, credentials: "same-origin", headers: headers, signal: signal };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers[config.csrfHeader || "X-CSRFToken"] = csrfToken(config, document.cookie);
    init.body = JSON.stringify(body || {});
  }
  return fetch(url, init).then(function (res) {
    if (res.ok) return res;
    return res.json().catch(function () { return {}; }).then(function (data) {
      var err = (data && data.error) || {};
      throw wireError(err.code || "http_" + res.status, res.status, err.message, res.headers.get("Retry-After"));
    });
  }, function (e) {
    if (e && e.name === "AbortError") throw e;
    throw wireError("network");
  });
}

export function builtinTransport(config) {
  var endpoints = config.endpoints || {};

  function request(method, url, body, signal) {
    return call(config, method, url, body, signal);
  }

  return {
    name: "builtin",
    history: function () {
      return request("GET", endpoints.messages).then(function (res) { return res.json(); });
    },
    send: function (text, handlers, signal) {
      return request("POST", endpoints.messages, { text: text, page: pagePath() }, signal).then(function (res) {
        if ((res.headers.get("Content-Type") || "").indexOf("text/event-stream") < 0 || !res.body) {
          throw wireError("bad_response", res.status);
        }
        return readEvents(res.body, function (event, data) {
          if (handlers[event]) handlers[event](data);
        }).catch(function (e) {
          if (e && e.name === "AbortError") throw e;
          throw wireError("network");
        });
      });
    },
    stop: function () {
      return request("POST", endpoints.stop, {});
    },
    feedback: function (id, rating) {
      var url = endpoints.feedback.replace("{id}", encodeURIComponent(id));
      return request("POST", url, { rating: rating });
    }
  };
}
