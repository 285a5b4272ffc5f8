"""JSON bodies with a bounded depth: what the chat API and the Stream webhook accept.

Python's JSON decoder recurses once per level, so a body nested a few thousand levels deep raised
RecursionError (an HTML 500) instead of a parse error, and one nested just below that limit could
still overflow the stack later in whatever walked it (a field turning it into text, a log line). No
body the app accepts is more than a few levels deep, so anything deeper is refused as malformed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

#: Deepest nesting of arrays and objects a body may have (the Stream webhook's events use about 5).
MAX_DEPTH = 20


class TooDeep(ValueError):
    """The JSON document nests arrays and objects deeper than :data:`MAX_DEPTH`."""


def _check_depth(value: Any) -> None:
    # Iterative: the point is not to recurse on attacker-controlled structure.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_DEPTH:
                    raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
                stack.append((child, depth + 1))


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's decoder accepts them unless told otherwise.
    raise ValueError(f"{name} is not valid JSON")


def loads_bounded(data: str | bytes) -> Any:
    """``json.loads`` that raises ValueError (never RecursionError) for a document nested too deeply."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise TooDeep("nested deeper than the decoder allows") from None
    _check_depth(value)
    return value


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with malformed and too-deeply nested bodies alike answered as a ParseError."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads_bounded(stream.read().decode(encoding))
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors too
            raise ParseError(f"JSON parse error - {type(exc).__name__}") from None
