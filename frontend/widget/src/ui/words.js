/* The widget's own words follow the language the visitor writes in. Elements carry the key of their
   words (data-t for the text, data-tl for the accessible name), so a switch relabels them in place. */
import { button } from "../dom.js";

// The language the assistant answers in (chatbot.relay.answer_language): Chinese when the visitor
// writes Chinese, else the page's.
var CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

// Sets ctx.S (the words in use), ctx.language, ctx.mark, ctx.keyed and ctx.followVisitor(text);
// ctx.relabelled() runs after a switch.
export function createWords(ctx) {
  var config = ctx.config;
  var api = ctx.api;
  var pageStrings = config.strings || {};
  var S = (ctx.S = {});
  ctx.language = null;

  function setLanguage(lang) {
    var words = lang === config.language ? pageStrings : (config.translations || {})[lang];
    if (!words || lang === ctx.language) return;
    for (var key in pageStrings) S[key] = key in words ? words[key] : pageStrings[key];
    ctx.language = lang;
    api.keep("lang", lang === config.language ? null : lang);
  }

  function mark(node, textKey, labelKey) {
    if (textKey) node.setAttribute("data-t", textKey);
    if (labelKey) {
      node.setAttribute("data-tl", labelKey);
      node.setAttribute("aria-label", S[labelKey] || "");
    }
    return node;
  }

  function relabel() {
    var each = function (selector, fn) { Array.prototype.forEach.call(ctx.root.querySelectorAll(selector), fn); };
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
    ctx.relabelled();
  }

  ctx.mark = mark;
  ctx.keyed = function (className, labelKey, iconName, textKey) {
    return mark(button(className, S[labelKey], iconName, S[textKey]), textKey, labelKey);
  };
  ctx.followVisitor = function (text) {
    var before = ctx.language;
    setLanguage(CJK.test(text) ? "zh-hans" : config.language);
    if (ctx.language !== before) relabel();
  };

  var keptLanguage = api.kept("lang");
  setLanguage(config.language);
  if (keptLanguage) setLanguage(keptLanguage);
  // This page's launcher was rendered in the page's language.
  if (ctx.language !== config.language) api.speak(S);
}
