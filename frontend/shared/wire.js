/* What the widget's transports share: the error every failed call becomes, the CSRF token, and the page
   the visitor asks from. Imported by the builtin transport (frontend/widget) and the Stream transport
   (frontend/stream); each bundle carries its own copy. */

// A failed call: the server's error code and message when it sent one, else "network" or "http_<status>".
export function wireError(code, status, message, retryAfter) {
  var e = new Error(message || code);
  e.code = code;
  e.status = status || 0;
  e.serverMessage = message || "";
  e.retryAfter = retryAfter || null;
  return e;
}

// The cookie's current value (another tab may have rotated it since the page was rendered), else the
// token the page was rendered with.
export function csrfToken(config, cookie) {
  var name = config.csrfCookie;
  if (name && cookie) {
    var parts = cookie.split(/;\s*/);
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].indexOf(name + "=") === 0) return decodeURIComponent(parts[i].slice(name.length + 1));
    }
  }
  return config.csrfToken;
}

// The storefront page the visitor asks from: the assistant reads "this one" as its product.
export function pagePath() {
  return typeof location !== "undefined" ? location.pathname + location.search : "";
}
