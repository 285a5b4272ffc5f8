"""A reply's markdown as staff should see it: the same small subset the widget renders, safely.

Paragraphs, ``-``/``*``/``1.`` lists, ``**bold**``, `` `code` ``, ``[text](url)`` and bare
``http(s)://`` links, ``#`` headings as bold lines. Everything else is text: the message is escaped
first, so HTML written by a model or a visitor shows as written and never runs in the admin. A link is
kept only when it is ``http:``, ``https:`` or relative, as in the widget.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_INLINE = re.compile(
    r"\*\*([^*\n]+?)\*\*|__([^_\n]+?)__|\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?\s*\)|`([^`\n]+)`"
    r"|(https?://[^\s<>()]*[^\s<>().,;:!?'\"*])"
)
_ITEM = re.compile(r"^\s*([-*+•]|\d{1,3}[.)])\s+(.*)$")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


def _link(label: str, href: str) -> str:
    parts = urlsplit(href.strip())
    if parts.scheme not in ("http", "https", "") or (not parts.scheme and href.strip().startswith("//")):
        return escape(label)
    external = ' target="_blank" rel="noopener noreferrer nofollow"' if parts.scheme else ""
    return f'<a href="{escape(href.strip())}"{external}>{escape(label)}</a>'


def _inline(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[last : match.start()]))
        bold, underscored, label, href, code, bare = match.groups()
        if bold or underscored:
            out.append(f"<strong>{_inline(bold or underscored)}</strong>")
        elif label:
            out.append(_link(label, href))
        elif code:
            out.append(f"<code>{escape(code)}</code>")
        else:
            out.append(_link(bare, bare))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def render_markdown(text: str) -> SafeString:
    """``text`` as HTML: every character of it escaped, then the markdown subset turned into tags."""
    blocks: list[str] = []
    items: list[str] = []
    list_tag = ""
    paragraph: list[str] = []

    def close_list() -> None:
        nonlocal items, list_tag
        if items:
            blocks.append(f"<{list_tag}>{''.join(items)}</{list_tag}>")
        items, list_tag = [], ""

    def close_paragraph() -> None:
        nonlocal paragraph
        if paragraph:
            blocks.append(f"<p>{'<br>'.join(paragraph)}</p>")
        paragraph = []

    for line in str(text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        item = _ITEM.match(line)
        if item:
            close_paragraph()
            tag = "ol" if item.group(1)[0].isdigit() else "ul"
            if tag != list_tag:
                close_list()
                list_tag = tag
            items.append(f"<li>{_inline(item.group(2))}</li>")
            continue
        if not line.strip():
            close_list()
            close_paragraph()
            continue
        close_list()
        heading = _HEADING.match(line)
        if heading:
            close_paragraph()
            blocks.append(f"<p><strong>{_inline(heading.group(1))}</strong></p>")
            continue
        paragraph.append(_inline(line.strip()))
    close_list()
    close_paragraph()
    return mark_safe("".join(blocks))  # noqa: S308 - built only from escaped text and our own tags
