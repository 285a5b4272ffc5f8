/* django-shop-chatbot chat window. Loaded by loader.js on demand; registers itself on window.ShopChatbot.
   Model text is never parsed as HTML: replies are turned into DOM nodes by a small, safe markdown reader
   (paragraphs, lists, bold, code, http/https/relative links). */
(function () {
  "use strict";
  var SC = window.ShopChatbot;
  if (!SC || !SC._define) return;
  var doc = document;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z",
    send: "M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z",
    stop: "M7 7h10v10H7z",
    up: "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6c-.4.3-.6.8-.6 1.4v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z",
    down: "M22 3h-4v12h4V3zM2 14a2 2 0 0 0 2 2h6.3l-1 4.6v.3c0 .4.2.8.4 1.1l1.1 1 6.6-6.6c.4-.3.6-.8.6-1.4V5a2 2 0 0 0-2-2H7c-.8 0-1.5.5-1.8 1.2l-3 7.1c-.1.2-.2.5-.2.7v2z",
    person: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-2.7 0-8 1.3-8 4v2h16v-2c0-2.7-5.3-4-8-4z"
  };

  function noop() {}

  function el(tag, className, text) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  // The storefront page the visitor asks from: the assistant reads "this one" as its product.
  function pagePath() {
    return location.pathname + location.search;
  }

  function capitalised(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
  }

  function icon(name) {
    var svg = doc.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = doc.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function button(className, label, iconName, text) {
    var b = el("button", className, text);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    if (label && !text) b.title = label;
    if (iconName) b.insertBefore(icon(iconName), b.firstChild);
    return b;
  }

  /* ---------- wire: fetch + server-sent events ---------- */

  function wireError(code, status, message, retryAfter) {
    var e = new Error(message || code);
    e.code = code;
    e.status = status || 0;
    e.serverMessage = message || "";
    e.retryAfter = retryAfter || null;
    return e;
  }

  // Reads "event:/data:" blocks separated by blank lines. The decoder keeps multi-byte characters that
  // straddle network chunks intact ({stream: true}).
  function readEvents(body, emit) {
    var reader = body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";

    function dispatch(block) {
      var event = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.charAt(0) === " ") value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      });
      if (!data.length) return;
      var payload;
      try {
        payload = JSON.parse(data.join("\n"));
      } catch (e) {
        return;
      }
      emit(event, payload);
    }

    function drain(final) {
      // A lone "\r" at the very end may be the first half of "\r\n": leave it for the next chunk.
      buffer = buffer.replace(/\r\n|\r(?!$)/g, "\n");
      var cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
      if (final && buffer.trim()) dispatch(buffer.replace(/\r/g, ""));
    }

    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          buffer += decoder.decode();
          drain(true);
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        drain(false);
        return pump();
      });
    }
    return pump();
  }

  // The cookie's current value: another tab may have rotated it since the page was rendered.
  function csrfToken(config) {
    var name = config.csrfCookie;
    if (name) {
      var parts = doc.cookie ? doc.cookie.split(/;\s*/) : [];
      for (var i = 0; i < parts.length; i++) {
        if (parts[i].indexOf(name + "=") === 0) return decodeURIComponent(parts[i].slice(name.length + 1));
      }
    }
    return config.csrfToken;
  }

  // One JSON (or event-stream) call to the shop's chat API with the session and CSRF; a failed answer
  // becomes an error carrying the server's code and message.
  function call(config, method, url, body, signal) {
    var headers = { Accept: method === "GET" ? "application/json" : "text/event-stream, application/json" };
    var init = { method: method, credentials: "same-origin", headers: headers, signal: signal };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers[config.csrfHeader || "X-CSRFToken"] = csrfToken(config);
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

  // The default transport: messages live in the shop's database, replies stream as SSE over fetch.
  function builtinTransport(config) {
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

  SC.transports.builtin = builtinTransport;

  /* ---------- safe markdown ---------- */

  function safeUrl(href) {
    if (!href) return null;
    try {
      var url = new URL(String(href).trim(), location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch (e) {
      return null;
    }
  }

  function createMarkdown(strings) {
    function link(parent, label, href) {
      var url = safeUrl(href);
      if (!url) {
        parent.appendChild(doc.createTextNode(label));
        return;
      }
      var a = el("a", null, label);
      a.href = url.href;
      if (url.origin !== location.origin) {
        a.target = "_blank";
        a.rel = "noopener noreferrer nofollow";
        if (strings.newWindow) a.appendChild(el("span", "vh", " " + strings.newWindow));
      }
      parent.appendChild(a);
    }

    function inline(parent, text) {
      var pattern = /\*\*([^*\n]+?)\*\*|__([^_\n]+?)__|\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?\s*\)|`([^`\n]+)`|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"*])/g;
      var last = 0;
      var m;
      while ((m = pattern.exec(text))) {
        if (m.index > last) parent.appendChild(doc.createTextNode(text.slice(last, m.index)));
        if (m[1] || m[2]) {
          var strong = el("strong");
          inline(strong, m[1] || m[2]);
          parent.appendChild(strong);
        } else if (m[3]) link(parent, m[3], m[4]);
        else if (m[5]) parent.appendChild(el("code", null, m[5]));
        else link(parent, m[6], m[6]);
        last = pattern.lastIndex;
      }
      if (last < text.length) parent.appendChild(doc.createTextNode(text.slice(last)));
    }

    // Text quoted from web pages often arrives hard-wrapped: a line break after a long line is taken
    // as a space (as markdown does), after a short one ("Refunds", an address line) it is kept.
    function lineBreak(parent, previous) {
      if (previous.length >= 60 && !/[\u2e80-\u9fff\uff00-\uffef]$/.test(previous)) {
        parent.appendChild(doc.createTextNode(" "));
      } else parent.appendChild(el("br"));
    }

    return function render(box, text) {
      box.textContent = "";
      var list = null;
      var listType = "";
      var para = null;
      var previous = "";
      String(text || "").replace(/\r\n?/g, "\n").split("\n").forEach(function (line) {
        var before = previous;
        previous = line.trim();
        var item = /^\s*([-*+•]|\d{1,3}[.)])\s+(.*)$/.exec(line);
        if (item) {
          var type = /\d/.test(item[1]) ? "ol" : "ul";
          if (!list || listType !== type) {
            list = el(type);
            listType = type;
            if (type === "ol" && parseInt(item[1], 10) > 1) list.start = parseInt(item[1], 10);
            box.appendChild(list);
          }
          para = null;
          var li = el("li");
          inline(li, item[2]);
          list.appendChild(li);
          return;
        }
        if (!line.trim()) {
          list = null;
          para = null;
          return;
        }
        if (list && /^\s{2,}\S/.test(line)) {
          lineBreak(list.lastChild, before);
          inline(list.lastChild, line.trim());
          return;
        }
        list = null;
        var heading = /^#{1,6}\s+(.*)$/.exec(line);
        if (heading) {
          para = null;
          var p = el("p");
          var strong = el("strong");
          inline(strong, heading[1]);
          p.appendChild(strong);
          box.appendChild(p);
          return;
        }
        if (para) lineBreak(para, before);
        else {
          para = el("p");
          box.appendChild(para);
        }
        inline(para, line);
      });
    };
  }

  /* ---------- the chat window ---------- */

  // The language the assistant answers in (chatbot.relay.answer_language): Chinese when the visitor
  // writes Chinese, else the page's.
  var CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

  function createUI(api) {
    var config = api.config;
    var pageStrings = config.strings || {};
    var S = {};
    var language = null;
    var root = api.root;
    var launcher = api.launcher;
    var renderMarkdown = createMarkdown(S);

    /* language: the widget's own words follow the language the visitor writes in */

    function setLanguage(lang) {
      var words = lang === config.language ? pageStrings : (config.translations || {})[lang];
      if (!words || lang === language) return;
      for (var key in pageStrings) S[key] = key in words ? words[key] : pageStrings[key];
      language = lang;
      api.keep("lang", lang === config.language ? null : lang);
    }

    // Elements carry the key of their words: data-t for the text, data-tl for the accessible name.
    function mark(node, textKey, labelKey) {
      if (textKey) node.setAttribute("data-t", textKey);
      if (labelKey) {
        node.setAttribute("data-tl", labelKey);
        node.setAttribute("aria-label", S[labelKey] || "");
      }
      return node;
    }

    function relabel() {
      var each = function (selector, fn) { Array.prototype.forEach.call(root.querySelectorAll(selector), fn); };
      each("[data-t]", function (node) {
        var words = S[node.getAttribute("data-t")] || "";
        var last = node.lastChild;
        if (last && last.nodeType === 3) last.nodeValue = words;
        else node.textContent = words;
      });
      each("[data-tl]", function (node) {
        var words = S[node.getAttribute("data-tl")] || "";
        node.setAttribute("aria-label", words);
        if (node.title) node.title = words;
      });
      input.placeholder = S.placeholder || "";
      api.speak(S);
      if (shownState) loadWaiting();
    }

    function followVisitor(text) {
      var before = language;
      setLanguage(CJK.test(text) ? "zh-hans" : config.language);
      if (language !== before) relabel();
    }

    var keptLanguage = api.kept("lang");
    setLanguage(config.language);
    if (keptLanguage) setLanguage(keptLanguage);
    // This page's launcher was rendered in the page's language.
    if (language !== config.language) api.speak(S);

    function keyed(className, labelKey, iconName, textKey) {
      var b = button(className, S[labelKey], iconName, S[textKey]);
      return mark(b, textKey, labelKey);
    }

    var known = {};
    var views = {};
    var lastId = null;
    var unread = 0;
    var busy = null;
    var synced = null;
    var syncing = null;
    var transport = null;
    // Builtin transport has no push channel: while staff may answer, or a reply started on another page
    // is still streaming, the window looks for news every few seconds (only while the tab is visible).
    var POLL_MS = 4000;
    var POLL_MAX_MS = 30000;
    var pollDelay = POLL_MS;
    var state = null;
    var unfinished = {};
    var pollTimer = 0;

    function getTransport() {
      if (!transport) {
        var mode = config.mode;
        var src = (config.assets || {})[mode];
        var ready = !api.transports[mode] && src ? api.loadScript(src).catch(noop) : Promise.resolve();
        transport = ready.then(function () {
          return (api.transports[mode] || api.transports.builtin)(config, api);
        });
      }
      return transport;
    }

    // Window skeleton.
    var win = el("div", "win");
    win.id = "scb-window";
    win.hidden = true;
    win.setAttribute("role", "dialog");
    win.setAttribute("aria-modal", "true");
    win.setAttribute("aria-labelledby", "scb-title");
    var header = el("div", "head");
    var heading = el("div", "heading");
    var title = mark(el("h2", "title", S.title), "title");
    title.id = "scb-title";
    // While a person is wanted: who answers and how soon (the server's words, in the visitor's language).
    var status = el("p", "status");
    status.setAttribute("role", "status");
    status.hidden = true;
    heading.appendChild(title);
    heading.appendChild(status);
    var handoff = keyed("handoff", null, "person", "handoff");
    var closeBtn = keyed("close", "close", "close");
    header.appendChild(heading);
    header.appendChild(handoff);
    header.appendChild(closeBtn);

    var log = el("div", "log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-labelledby", "scb-title");
    log.tabIndex = 0;

    var suggestions = el("div", "chips");
    suggestions.setAttribute("role", "group");
    mark(suggestions, null, "suggestions");
    suggestions.hidden = true;

    var notice = el("div", "notice");
    notice.setAttribute("role", "alert");
    notice.hidden = true;

    // A guest waiting for a person leaves an email for the reply.
    var contact = el("div", "contact");
    contact.hidden = true;
    var contactForm = el("form");
    contactForm.noValidate = true;
    var contactLabel = el("label");
    contactLabel.htmlFor = "scb-email";
    var contactInput = el("input", "input");
    contactInput.id = "scb-email";
    contactInput.type = "email";
    contactInput.autocomplete = "email";
    contactInput.setAttribute("aria-describedby", "scb-contact-note");
    var contactSave = button("contact-save");
    contactSave.type = "submit";
    var contactNote = el("p", "contact-note");
    contactNote.id = "scb-contact-note";
    contactNote.setAttribute("aria-live", "polite");
    contactForm.appendChild(contactLabel);
    contactForm.appendChild(contactInput);
    contactForm.appendChild(contactSave);
    contact.appendChild(contactForm);
    contact.appendChild(contactNote);

    var form = el("form", "composer");
    form.noValidate = true;
    var label = mark(el("label", "vh", S.input), "input");
    label.htmlFor = "scb-input";
    var input = el("textarea", "input");
    input.id = "scb-input";
    input.rows = 1;
    input.placeholder = S.placeholder || "";
    if (config.maxLength) input.maxLength = config.maxLength;
    input.value = api.kept("draft") || "";
    var sendBtn = keyed("send", "send", "send");
    sendBtn.type = "submit";
    var stopBtn = keyed("stop", "stopLabel", "stop", "stop");
    stopBtn.hidden = true;
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(sendBtn);
    form.appendChild(stopBtn);

    win.appendChild(header);
    win.appendChild(log);
    win.appendChild(suggestions);
    win.appendChild(notice);
    win.appendChild(contact);
    win.appendChild(form);
    if (S.disclaimer) win.appendChild(mark(el("p", "foot", S.disclaimer), "disclaimer"));
    root.querySelector(".scb").appendChild(win);
    launcher.setAttribute("aria-controls", win.id);

    if (S.greeting) {
      var greeting = bubble("assistant");
      greeting.node.classList.add("greeting");
      renderMarkdown(greeting.body, S.greeting);
    }

    /* messages */

    // A staff message shows its author's first name and initial; without a name, "Support team".
    function bubble(role, author) {
      var node = el("div", "msg " + role);
      var name = author && author.name;
      if (role === "staff") {
        var who = el("span", "who");
        who.appendChild(el("span", "avatar", (name || S.staff || "?").charAt(0).toUpperCase()))
          .setAttribute("aria-hidden", "true");
        who.appendChild(doc.createTextNode(name || S.staff));
        if (!name) mark(who, "staff");
        node.appendChild(who);
      } else {
        var label = role === "user" ? S.you : S.assistant;
        if (label) node.appendChild(el("span", "vh", label + ": "));
      }
      var body = el("div", "body");
      node.appendChild(body);
      log.appendChild(node);
      return { node: node, body: body, role: role, text: "" };
    }

    function setText(view, text) {
      view.text = text || "";
      if (view.role === "user") view.body.textContent = view.text;
      else renderMarkdown(view.body, view.text);
    }

    function remember(id) {
      if (!id) return;
      known[id] = true;
      lastId = id;
      if (isOpen()) api.remember("seen", id);
    }

    function nearBottom() {
      return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
    }

    function toBottom() {
      log.scrollTop = log.scrollHeight;
    }

    function thinking(view) {
      view.node.setAttribute("aria-busy", "true");
      var dots = el("span", "typing");
      dots.appendChild(el("span", "vh", S.thinking));
      for (var i = 0; i < 3; i++) dots.appendChild(el("i"));
      view.typing = dots;
      view.body.appendChild(dots);
    }

    function settle(view) {
      if (view.frame) cancelAnimationFrame(view.frame);
      view.frame = 0;
      view.typing = null;
      view.node.removeAttribute("aria-busy");
    }

    // Deltas arrive faster than the screen refreshes: render at most once a frame.
    function grow(view, text) {
      view.pending = text;
      if (view.frame) return;
      view.frame = requestAnimationFrame(function () {
        view.frame = 0;
        var stick = nearBottom();
        view.typing = null;
        setText(view, view.pending);
        if (stick) toBottom();
      });
    }

    function note(view, text, className) {
      var n = el("p", "note" + (className ? " " + className : ""), text);
      view.node.appendChild(n);
      return n;
    }

    function finish(view, message) {
      settle(view);
      var text = message.text || view.pending || "";
      if (!message.id && !text) {
        // Nothing to show: e.g. a message acknowledged while the conversation waits for staff.
        if (view.node.parentNode) view.node.parentNode.removeChild(view.node);
        return;
      }
      if (message.role && message.role !== view.role && message.role !== "user") {
        view.node.classList.remove(view.role);
        view.role = message.role;
        view.node.classList.add(view.role);
      }
      view.id = message.id;
      if (message.id) views[message.id] = view;
      setText(view, text);
      remember(message.id);
      products(view, message.products);
      if (message.status === "stopped") mark(note(view, S.stopped), "stopped");
      else if (message.status === "error") note(view, S.errorUpstream, "err");
      else if (message.status !== "streaming" && view.role === "assistant" && message.id && message.kind !== "notice") {
        feedback(view, message.rating);
      }
    }

    // A visible action word, completed for screen readers by the product's title ("View Boots").
    function action(node, word, title) {
      node.appendChild(doc.createTextNode(word));
      node.appendChild(el("span", "vh", " " + title));
      return node;
    }

    // Oscar's own add-to-basket form, posted as the product page would: the page reloads with the
    // shop's confirmation and its basket total, and the chat reopens where it was.
    function basketForm(p) {
      var add = (config.basket || {}).add;
      if (!add || !p.in_stock || !/^\d+$/.test(String(p.id))) return null;
      var form = el("form", "card-add");
      form.method = "post";
      form.action = add.replace("{id}", p.id);
      [["csrfmiddlewaretoken", ""], ["quantity", "1"]].forEach(function (field) {
        var hidden = el("input");
        hidden.type = "hidden";
        hidden.name = field[0];
        hidden.value = field[1];
        form.appendChild(hidden);
      });
      var submit = action(el("button", "card-btn primary"), S.addToBasket, p.title || "");
      submit.type = "submit";
      form.appendChild(submit);
      form.addEventListener("submit", function () {
        form.firstChild.value = csrfToken(config);
      });
      return form;
    }

    function products(view, items) {
      if (!items || !items.length) return;
      var list = el("ul", "cards" + (items.length > 1 ? " many" : ""));
      mark(list, null, "products");
      items.forEach(function (p) {
        var href = safeUrl(p.url);
        var item = el("li", "card");
        var image = p.image && safeUrl(p.image);
        if (image) {
          var img = el("img", "card-img");
          img.src = image.href;
          img.alt = "";
          img.loading = "lazy";
          img.decoding = "async";
          img.width = 64;
          img.height = 64;
          item.appendChild(img);
        } else {
          item.appendChild(el("span", "card-img", (p.title || "?").charAt(0))).setAttribute("aria-hidden", "true");
        }
        var info = el("div", "card-info");
        info.appendChild(el("span", "card-title", p.title || ""));
        var meta = el("span", "card-meta");
        if (p.price) meta.appendChild(el("span", "price", p.price));
        meta.appendChild(el("span", p.in_stock ? "stock in" : "stock out", capitalised(p.availability) || (p.in_stock ? S.inStock : S.outOfStock)));
        info.appendChild(meta);
        var actions = el("div", "card-actions");
        if (href) {
          var link = action(el("a", "card-btn"), S.view, p.title || "");
          link.href = href.href;
          actions.appendChild(link);
        }
        var form = basketForm(p);
        if (form) actions.appendChild(form);
        if (actions.firstChild) info.appendChild(actions);
        item.appendChild(info);
        list.appendChild(item);
      });
      view.node.appendChild(list);
    }

    function feedback(view, rating) {
      var box = el("div", "fb");
      var status = el("span", "fb-note");
      var buttons = [["up", "helpful"], ["down", "notHelpful"]].map(function (choice) {
        var b = keyed("fb-btn", choice[1], choice[0]);
        b.setAttribute("aria-pressed", rating === choice[0] ? "true" : "false");
        b.addEventListener("click", function () {
          getTransport().then(function (t) {
            return t.feedback(view.id, choice[0]);
          }).then(function () {
            buttons.forEach(function (other) {
              other.setAttribute("aria-pressed", other === b ? "true" : "false");
            });
            status.textContent = S.thanks;
          }, function (e) {
            status.textContent = errorText(e);
          });
        });
        box.appendChild(b);
        return b;
      });
      box.appendChild(status);
      view.node.appendChild(box);
      view.fb = box;
    }

    function showSuggestions(items) {
      suggestions.textContent = "";
      (items || []).slice(0, 6).forEach(function (text) {
        var chip = button("chip", null, null, text);
        chip.addEventListener("click", function () { send(text, false); });
        suggestions.appendChild(chip);
      });
      suggestions.hidden = !suggestions.firstChild;
    }

    function showStored(message) {
      if (!message) return;
      var pending = message.id && unfinished[message.id];
      if (pending && message.status !== "streaming") {
        delete unfinished[message.id];
        var done = bubble(pending.role, message.author);
        log.replaceChild(done.node, pending.node);
        finish(done, message);
        return;
      }
      if (message.id && known[message.id]) return;
      var role = { user: "user", staff: "staff", system: "system" }[message.role] || "assistant";
      var view = bubble(role, message.author);
      if (role === "user") {
        setText(view, message.text);
        remember(message.id);
      } else {
        finish(view, message);
        if (message.status === "streaming") {
          unfinished[message.id] = view;
          thinking(view);
        }
      }
    }

    /* waiting for a person: the header says so, a guest is asked for an email */

    var shownState = null;

    function waitingCall(method, body) {
      var url = config.endpoints.handoff;
      return call(config, method, url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(language), body)
        .then(function (res) { return res.json(); });
    }

    function showWaiting(data) {
      data = data || {};
      status.textContent = "";
      status.hidden = !data.title;
      if (data.title) {
        status.appendChild(el("strong", null, data.title));
        status.appendChild(doc.createTextNode(" " + (data.wait || "")));
      }
      var email = data.title && data.email;
      contact.hidden = !email;
      if (!email) return;
      contactForm.hidden = !!email.value;
      contactLabel.textContent = email.label;
      contactSave.textContent = email.save;
      contactNote.className = "contact-note";
      contactNote.textContent = email.saved || "";
      contactInput.removeAttribute("aria-invalid");
    }

    function loadWaiting() {
      if (!config.endpoints.handoff) return;
      if (state !== "waiting" && state !== "staff") return showWaiting(null);
      waitingCall("GET").then(showWaiting, noop);
    }

    contactForm.addEventListener("submit", function (e) {
      e.preventDefault();
      waitingCall("POST", { email: contactInput.value.trim() }).then(showWaiting, function (err) {
        contactNote.className = "contact-note err";
        contactNote.textContent = errorText(err);
        contactInput.setAttribute("aria-invalid", "true");
        contactInput.focus();
      });
    });

    function track(conversation) {
      if (conversation && conversation.state) state = conversation.state;
      if (state !== shownState) {
        shownState = state;
        loadWaiting();
      }
      clearTimeout(pollTimer);
      var waiting = state === "waiting" || state === "staff";
      // Already with (or waiting for) the team: the button would only repeat the request.
      if (waiting && root.activeElement === handoff) input.focus();
      handoff.hidden = waiting;
      for (var id in unfinished) waiting = true;
      if (waiting) pollTimer = setTimeout(poll, pollDelay);
    }

    // Quick while something is happening, then slower and slower up to POLL_MAX_MS.
    function poll() {
      if (doc.hidden || busy) {
        track(null);
        return;
      }
      sync().then(function (changed) {
        pollDelay = changed ? POLL_MS : Math.min(pollDelay * 1.5, POLL_MAX_MS);
        track(null);
      });
    }

    /* errors: always plain words, and the visitor's text is never lost */

    function errorText(e) {
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

    function showNotice(text, retry) {
      notice.textContent = "";
      notice.appendChild(el("span", null, text));
      if (retry) {
        var again = keyed("retry", null, null, "retry");
        again.addEventListener("click", retry);
        notice.appendChild(again);
      }
      notice.hidden = false;
    }

    function hideNotice() {
      notice.hidden = true;
      notice.textContent = "";
    }

    function failReply(view, e, text) {
      settle(view);
      view.node.classList.add("failed");
      var box = note(view, errorText(e), "err");
      var again = keyed("retry", null, null, "retry");
      again.addEventListener("click", function () {
        if (busy) return;
        box.parentNode.removeChild(box);
        send(text, false);
      });
      box.appendChild(again);
    }

    /* sending */

    function setBusy(on) {
      var hadFocus = root.activeElement === sendBtn || root.activeElement === stopBtn;
      sendBtn.hidden = on;
      stopBtn.hidden = !on;
      win.classList.toggle("busy", on);
      if (hadFocus) (on ? stopBtn : input).focus();
    }

    function arrived() {
      if (isOpen()) return;
      unread += 1;
      api.setUnread(unread);
    }

    function autosize() {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight, 140) + "px";
    }

    function send(raw, fromInput) {
      var text = String(raw || "").trim();
      if (!text || busy) return;
      if (config.maxLength && text.length > config.maxLength) {
        showNotice(S.errorTooLong);
        return;
      }
      if (fromInput) {
        input.value = "";
        autosize();
        api.keep("draft", null);
      }
      hideNotice();
      followVisitor(text);
      // A chip that sent this goes away with the others: keep the keyboard in the window.
      if (suggestions.contains(root.activeElement)) input.focus();
      showSuggestions([]);
      pollDelay = POLL_MS;
      var ctrl = typeof AbortController === "function" ? new AbortController() : null;
      busy = { ctrl: ctrl };
      setBusy(true);
      (syncing || Promise.resolve()).catch(noop).then(function () {
        return deliver(text, ctrl);
      }).then(function () {
        busy = null;
        setBusy(false);
      });
    }

    function deliver(text, ctrl) {
      var user = bubble("user");
      setText(user, text);
      user.node.classList.add("pending");
      var reply = bubble("assistant");
      thinking(reply);
      toBottom();
      api.remember("active", "1");
      var stored = false;
      var ended = false;
      var received = "";
      return getTransport().then(function (t) {
        return t.send(text, {
          message: function (m) {
            stored = true;
            user.id = m.id;
            user.node.classList.remove("pending");
            remember(m.id);
          },
          delta: function (d) {
            received += d.text || "";
            grow(reply, received);
          },
          done: function (m) {
            ended = true;
            var stick = nearBottom();
            finish(reply, m);
            // The stream transport's answer does not know the conversation's state: the history does.
            if (m.conversation || t.name === "builtin") track(m.conversation);
            else sync();
            if (m.suggestions && m.suggestions.length) showSuggestions(m.suggestions);
            if (stick) toBottom();
            if (reply.node.parentNode) arrived();
          },
          error: function (e) {
            ended = true;
            failReply(reply, wireError(e.code, 0, e.message), text);
            arrived();
          }
        }, ctrl && ctrl.signal);
      }).then(function () {
        if (!ended) throw wireError("network");
      }).catch(function (e) {
        if (ctrl && ctrl.signal.aborted) {
          user.node.classList.remove("pending");
          settle(reply);
          setText(reply, received);
          mark(note(reply, S.stopped), "stopped");
          return;
        }
        if (!stored && !received) {
          // Nothing reached the shop: take the bubbles back and return the text to the box.
          log.removeChild(user.node);
          log.removeChild(reply.node);
          if (!input.value.trim()) {
            input.value = text;
            autosize();
          }
          showNotice(errorText(e) + " " + (S.notSent || ""), function () { send(input.value, true); });
          return;
        }
        user.node.classList.remove("pending");
        failReply(reply, e, text);
      });
    }

    function stop() {
      if (!busy) return;
      var ctrl = busy.ctrl;
      getTransport().then(function (t) { return t.stop(); }).catch(noop);
      if (ctrl) ctrl.abort();
      input.focus();
    }

    /* history */

    function sync() {
      if (syncing) return syncing;
      syncing = getTransport().then(function (t) {
        return t.history();
      }).then(function (data) {
        var messages = (data && data.messages) || [];
        var first = !synced;
        synced = true;
        track(data && data.conversation);
        api.remember("active", messages.length ? "1" : null);
        messages.forEach(function (m) {
          // The stream transport's answer did not say it was a notice; the stored message does.
          var shown = m.kind === "notice" && views[m.id];
          if (shown && shown.fb) {
            shown.node.removeChild(shown.fb);
            shown.fb = null;
          }
        });
        var changed = messages.filter(function (m) {
          return !known[m.id] || (unfinished[m.id] && m.status !== "streaming");
        });
        var stick = nearBottom();
        changed.forEach(showStored);
        if (stick || first) toBottom();
        var last = messages[messages.length - 1];
        if (first && !messages.length) showSuggestions(config.suggestions);
        else if (last && last.role !== "user" && changed.indexOf(last) >= 0) showSuggestions(last.suggestions);
        if (isOpen()) {
          api.remember("seen", lastId);
        } else if (first) {
          var seen = api.recall("seen");
          var seenAt = -1;
          messages.forEach(function (m, i) {
            if (m.id === seen) seenAt = i;
          });
          if (seenAt >= 0) unread = countReplies(messages.slice(seenAt + 1));
          api.setUnread(unread);
        } else if (changed.length) {
          unread += countReplies(changed);
          api.setUnread(unread);
        }
        return changed.length > 0;
      }, function (e) {
        if (isOpen() && !synced) showNotice(errorText(e), function () { hideNotice(); sync(); });
        return false;
      }).then(function (changed) {
        syncing = null;
        return changed;
      });
      return syncing;
    }

    function countReplies(messages) {
      return messages.filter(function (m) { return m.role !== "user" && m.status !== "streaming"; }).length;
    }

    /* opening, closing, keyboard */

    var opened = false;

    function isOpen() {
      return opened;
    }

    // What this tab remembers for its next page: open or not, where the log was scrolled, the draft.
    function keepScroll() {
      api.keep("scroll", opened && !nearBottom() ? Math.round(log.scrollTop) : null);
    }

    function keepState() {
      api.keep("open", opened ? "1" : null);
      api.keep("draft", input.value || null);
      keepScroll();
    }

    // The CSS decides whether there is an animation (none under prefers-reduced-motion).
    function animate(name, then) {
      win.classList.remove("in", "out");
      win.classList.add(name);
      var timer = 0;
      function end() {
        win.removeEventListener("animationend", end);
        clearTimeout(timer);
        win.classList.remove(name);
        if (then) then();
      }
      if (getComputedStyle(win).animationName === "none") return end();
      win.addEventListener("animationend", end);
      // A hidden tab may never run the animation.
      timer = setTimeout(end, 500);
    }

    /* Full screen on a phone: the page behind must not scroll under the visitor's finger. */
    var FULL_SCREEN = "(max-width: 600px), (max-height: 500px)";
    var pageOverflow = null;

    function lockPage(lock) {
      var html = document.documentElement;
      if (lock && pageOverflow === null && window.matchMedia && window.matchMedia(FULL_SCREEN).matches) {
        pageOverflow = html.style.overflow;
        html.style.overflow = "hidden";
      } else if (!lock && pageOverflow !== null) {
        html.style.overflow = pageOverflow;
        pageOverflow = null;
      }
    }

    function open(restoring) {
      if (opened) return;
      opened = true;
      win.hidden = false;
      if (!restoring) animate("in");
      launcher.setAttribute("aria-expanded", "true");
      root.querySelector(".scb").classList.add("open");
      lockPage(true);
      unread = 0;
      api.setUnread(0);
      if (lastId) api.remember("seen", lastId);
      autosize();
      toBottom();
      pollDelay = POLL_MS;
      if (!restoring) {
        input.focus();
        if (!busy) sync();
      }
      keepState();
    }

    // Reopened on the next page of the tab: shown once the history is in, at the same scroll
    // position, with no animation, so the window looks as if it had never gone away.
    function restore() {
      var scroll = api.kept("scroll");
      return sync().then(function () {
        open(true);
        if (scroll !== null) log.scrollTop = +scroll;
        // A phone's keyboard would cover the restored conversation: focus the log there instead.
        var phone = window.matchMedia && window.matchMedia(FULL_SCREEN).matches;
        (phone ? log : input).focus({ preventScroll: true });
      });
    }

    function close() {
      if (!opened) return;
      opened = false;
      launcher.setAttribute("aria-expanded", "false");
      root.querySelector(".scb").classList.remove("open");
      lockPage(false);
      launcher.focus();
      keepState();
      animate("out", function () {
        if (!opened) win.hidden = true;
      });
    }

    function focusable() {
      return Array.prototype.filter.call(
        win.querySelectorAll("button, textarea, a[href], [tabindex]:not([tabindex='-1'])"),
        function (node) { return !node.disabled && node.getClientRects().length > 0; }
      );
    }

    win.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !e.isComposing) {
        e.preventDefault();
        e.stopPropagation();
        close();
      } else if (e.key === "Tab") {
        var items = focusable();
        if (!items.length) return;
        var first = items[0];
        var last = items[items.length - 1];
        var active = root.activeElement;
        if (e.shiftKey && (active === first || items.indexOf(active) < 0)) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && (active === last || items.indexOf(active) < 0)) {
          e.preventDefault();
          first.focus();
        }
      }
    });

    input.addEventListener("keydown", function (e) {
      // isComposing: Enter that confirms a Chinese/Japanese IME candidate must not send.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        send(input.value, true);
      }
    });
    input.addEventListener("input", function () {
      autosize();
      api.keep("draft", input.value || null);
    });
    log.addEventListener("scroll", keepScroll, { passive: true });
    window.addEventListener("pagehide", keepState);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send(input.value, true);
    });
    stopBtn.addEventListener("click", stop);
    closeBtn.addEventListener("click", close);
    handoff.addEventListener("click", function () { send(S.handoffText, false); });

    return {
      open: open,
      close: close,
      toggle: function () {
        if (isOpen()) close();
        else open();
      },
      resume: function () {
        if (!synced) sync();
      },
      restore: restore,
      send: function (text) {
        open();
        send(text, false);
      },
      stop: stop
    };
  }

  SC._define(createUI);
})();
