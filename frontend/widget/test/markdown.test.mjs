// The safe markdown renderer under Node's own test runner, on a minimal DOM.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createMarkdown, safeUrl } from "../src/markdown.js";

// Just enough of the DOM for the markdown renderer, with an HTML-like dump to compare against: text is
// escaped when dumped, so markup in the model's text shows up as text, never as elements.
class Node {
  constructor(tag) {
    this.tagName = tag;
    this.childNodes = [];
    this.attributes = {};
    this.className = "";
  }
  appendChild(child) {
    this.childNodes.push(child);
    return child;
  }
  get lastChild() {
    return this.childNodes[this.childNodes.length - 1] || null;
  }
  set textContent(value) {
    this.childNodes = value === "" ? [] : [new Text(String(value))];
  }
  get textContent() {
    return this.childNodes.map((c) => c.textContent).join("");
  }
}

class Text {
  constructor(value) {
    this.nodeType = 3;
    this.nodeValue = value;
  }
  get textContent() {
    return this.nodeValue;
  }
}

function escape(value) {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function html(node) {
  if (node instanceof Text) return escape(node.nodeValue);
  const attrs = [];
  if (node.className) attrs.push(`class="${escape(node.className)}"`);
  for (const name of ["href", "target", "rel", "start"]) {
    if (node[name] !== undefined) attrs.push(`${name}="${escape(node[name])}"`);
  }
  const open = [node.tagName, ...attrs].join(" ");
  return `<${open}>${node.childNodes.map(html).join("")}</${node.tagName}>`;
}

function installDom(href) {
  const url = new URL(href);
  globalThis.document = {
    createElement: (tag) => new Node(tag),
    createTextNode: (value) => new Text(value)
  };
  globalThis.location = { href: url.href, origin: url.origin, pathname: url.pathname, search: url.search };
  return () => new Node("div");
}

const box = installDom("https://shop.example/catalogue/boots_1/?x=1");
const render = createMarkdown({ newWindow: "(opens in a new tab)" });

function md(text) {
  const root = box();
  render(root, text);
  return root.childNodes.map(html).join("");
}

test("paragraphs and bold", () => {
  assert.equal(md("Hello **there**\n\nand __you__"), "<p>Hello <strong>there</strong></p><p>and <strong>you</strong></p>");
});

test("a short line keeps its break, a long hard-wrapped one becomes a space", () => {
  assert.equal(md("Refunds\nWithin 30 days"), "<p>Refunds<br></br>Within 30 days</p>");
  const long = "x".repeat(60);
  assert.equal(md(long + "\nmore"), `<p>${long} more</p>`);
});

test("bulleted and numbered lists; a numbered list keeps its start", () => {
  assert.equal(md("- one\n* two\n+ **three**"), "<ul><li>one</li><li>two</li><li><strong>three</strong></li></ul>");
  assert.equal(md("3. c\n4) d"), '<ol start="3"><li>c</li><li>d</li></ol>');
  assert.equal(md("- a\n1. b"), "<ul><li>a</li></ul><ol><li>b</li></ol>");
  assert.equal(md("- item\n  continued"), "<ul><li>item<br></br>continued</li></ul>");
});

test("a heading is shown as a bold paragraph", () => {
  assert.equal(md("## Sizes\ntext"), "<p><strong>Sizes</strong></p><p>text</p>");
});

test("inline code is text, never markup", () => {
  assert.equal(md("use `<b>x</b>` here"), "<p>use <code>&lt;b&gt;x&lt;/b&gt;</code> here</p>");
});

test("HTML in the model's text stays text", () => {
  const out = md('<img src=x onerror="alert(1)"><script>alert(2)</script>');
  assert.equal(out, "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;</p>");
});

test("relative and same-shop links open in place", () => {
  assert.equal(md("[Boots](/catalogue/boots_2/)"), '<p><a href="https://shop.example/catalogue/boots_2/">Boots</a></p>');
});

test("links to other sites open in a new tab, said to screen readers", () => {
  assert.equal(
    md("See https://example.org/size-guide."),
    '<p>See <a href="https://example.org/size-guide" target="_blank" rel="noopener noreferrer nofollow">' +
      'https://example.org/size-guide<span class="vh"> (opens in a new tab)</span></a>.</p>'
  );
});

test("only http(s) links: javascript:, data: and others are plain text", () => {
  assert.equal(md("[click](javascript:alert(1))"), "<p>click)</p>");
  assert.equal(md("[click](javascript:alert)"), "<p>click</p>");
  assert.equal(md("[x](data:text/html,hi)"), "<p>x</p>");
  assert.equal(md("[x](vbscript:msgbox)"), "<p>x</p>");
  assert.equal(safeUrl(" JAVASCRIPT:alert(1)"), null);
  assert.equal(safeUrl("ftp://example.org/"), null);
  assert.equal(safeUrl("http://example.org/").href, "http://example.org/");
});

test("rendering again replaces what was there", () => {
  const root = box();
  render(root, "first");
  render(root, "second");
  assert.equal(root.childNodes.map(html).join(""), "<p>second</p>");
});
