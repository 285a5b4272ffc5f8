/* django-shop-chatbot launcher: the only script a page loads. It shows the chat button and fetches the
   chat UI (chat.js + chat.css) when the visitor clicks it, when the browser is idle for a visitor who
   already has a conversation (to show unread replies), or at once when the chat was open on the
   previous page of this tab (it reopens where the visitor left it). Everything lives under
   window.ShopChatbot. */
(function () {
  "use strict";
  if (window.ShopChatbot) return;
  var doc = document;
  var host = doc.getElementById("shop-chatbot");
  var configEl = doc.getElementById("shop-chatbot-config");
  if (!host || !configEl) return;
  var config;
  try {
    config = JSON.parse(configEl.textContent);
  } catch (e) {
    return;
  }
  var script = doc.currentScript;
  var root = host.shadowRoot;
  if (!root) {
    // Browsers without declarative shadow DOM, or markup inserted after parsing, keep the <template>.
    var tpl = host.querySelector("template");
    if (!tpl || !host.attachShadow) return;
    root = host.attachShadow({ mode: "open" });
    root.appendChild(tpl.content);
    host.removeChild(tpl);
  }
  var launcher = root.querySelector(".launcher");
  var badge = root.querySelector(".badge");
  var unreadText = root.querySelector("#scb-unread");
  var theme = config.theme || {};
  var strings = {};
  var PREFIX = "shop-chatbot:";
  var caption = null;
  if (theme.showLabel) {
    caption = doc.createElement("span");
    caption.className = "caption";
    launcher.insertBefore(caption, badge);
    launcher.classList.add("with-caption");
  }
  var loading = null;

  // CSSOM, not a style attribute: allowed under a strict Content-Security-Policy.
  if (theme.color) host.style.setProperty("--scb-accent", theme.color);
  if (theme.onColor) host.style.setProperty("--scb-on-accent", theme.onColor);

  function remember(key, value) {
    try {
      if (value == null) localStorage.removeItem(PREFIX + key);
      else localStorage.setItem(PREFIX + key, String(value));
    } catch (e) { /* storage disabled: the chat still works, without the idle preload */ }
  }

  function recall(key) {
    try {
      return localStorage.getItem(PREFIX + key);
    } catch (e) {
      return null;
    }
  }

  // This tab only (sessionStorage): whether the chat is open, its scroll position, the draft.
  function keep(key, value) {
    try {
      if (value == null) sessionStorage.removeItem(PREFIX + key);
      else sessionStorage.setItem(PREFIX + key, String(value));
    } catch (e) { /* storage disabled: each page starts with the chat closed */ }
  }

  function kept(key) {
    try {
      return sessionStorage.getItem(PREFIX + key);
    } catch (e) {
      return null;
    }
  }

  function addScript(src) {
    return new Promise(function (resolve, reject) {
      var s = doc.createElement("script");
      s.src = src;
      s.async = true;
      if (script && script.nonce) s.nonce = script.nonce;
      s.onload = resolve;
      s.onerror = reject;
      doc.head.appendChild(s);
    });
  }

  function addStyle(href) {
    return new Promise(function (resolve, reject) {
      var link = doc.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      // Under a style-src with nonces, the page's nonce lets the widget's own stylesheet in.
      if (script && script.nonce) link.nonce = script.nonce;
      link.onload = resolve;
      link.onerror = reject;
      root.appendChild(link);
    });
  }

  function setUnread(count) {
    badge.textContent = count > 9 ? "9+" : String(count);
    badge.hidden = !count;
    unreadText.textContent = count ? (strings.unread || "%(count)s").replace("%(count)s", count) : "";
  }

  function load() {
    if (!loading) {
      var defined = new Promise(function (resolve) {
        api._define = function (factory) {
          delete api._define;
          resolve(factory(api));
        };
      });
      launcher.setAttribute("aria-busy", "true");
      loading = Promise.all([
        defined,
        addScript(config.assets.js).then(function () { return defined; }),
        addStyle(config.assets.css)
      ]).then(function (done) {
        launcher.removeAttribute("aria-busy");
        return done[0];
      }, function (error) {
        launcher.removeAttribute("aria-busy");
        loading = null;
        throw error;
      });
    }
    return loading;
  }

  function call(method) {
    return load().then(function (ui) {
      return Promise.resolve(ui[method]()).then(function () { return ui; });
    });
  }

  var api = {
    version: 1,
    config: config,
    host: host,
    root: root,
    launcher: launcher,
    transports: {},
    remember: remember,
    recall: recall,
    keep: keep,
    kept: kept,
    setUnread: setUnread,
    loadScript: addScript,
    load: load,
    // The chat UI switched the widget's words to the language the visitor writes in.
    speak: function (words) {
      for (var key in words) strings[key] = words[key];
      launcher.setAttribute("aria-label", strings.label || "");
      if (caption) caption.textContent = strings.label || "";
    },
    open: function () { return call("open"); },
    close: function () { return call("close"); },
    toggle: function () { return call("toggle"); }
  };
  window.ShopChatbot = api;
  api.speak(config.strings || {});
  var visitorWords = (config.translations || {})[kept("lang")];
  if (visitorWords) api.speak(visitorWords);

  launcher.addEventListener("click", function () {
    api.toggle().catch(function () {
      unreadText.textContent = strings.errorLoad || "";
      launcher.setAttribute("title", strings.errorLoad || "");
    });
  });

  var connection = navigator.connection || {};
  // Data saver on, or a 2G connection: fetch the chat only when asked for.
  var saveData = !!connection.saveData || /2g/.test(connection.effectiveType || "");
  if (!saveData) {
    // The visitor is heading for the button: start fetching now, so the window opens at once.
    var warm = function () { load().catch(function () {}); };
    launcher.addEventListener("pointerenter", warm, { once: true });
    launcher.addEventListener("focus", warm, { once: true });
  }

  // While the chat is open the launcher shows a cross: it closes the chat (aria-expanded says which).
  var cross = launcher.querySelector(".icon").cloneNode(true);
  cross.setAttribute("class", "icon x");
  cross.firstChild.setAttribute("d", "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z");
  launcher.insertBefore(cross, badge);

  function show() {
    launcher.hidden = false;
  }

  function reveal() {
    if (kept("open")) {
      // The chat was open on the previous page: the button appears together with the reopened window.
      call("restore").then(show, show);
      return;
    }
    show();
    if (recall("active") && !saveData) {
      var idle = window.requestIdleCallback || function (fn) { return setTimeout(fn, 2000); };
      idle(function () { call("resume").catch(function () {}); }, { timeout: 8000 });
    }
  }

  // Show the button only once its stylesheet applies, so it never flashes unstyled.
  var sheet = root.querySelector("link");
  if (!sheet || sheet.sheet) reveal();
  else {
    sheet.addEventListener("load", reveal);
    sheet.addEventListener("error", reveal);
  }
})();
