"""Request bodies for chatbot-node: compact UTF-8 JSON that ``JSON.stringify(JSON.parse(body))`` gives
back byte for byte.

chatbot-node checks a webhook's signature against ``JSON.stringify`` of the body it parsed, not against
the bytes it received, so a body must already be what JavaScript prints:

* no floats: JavaScript prints ``10.0`` as ``10`` and ``1e-07`` as ``1e-7``; a float is sent as a
  decimal string, as prices (Decimals) are;
* integers within JavaScript's exact range (``2**53 - 1``); larger ones are sent as strings;
* keys that read as array indexes ("0", "42") first, in ascending order, where JavaScript puts them;
* no spaces, and characters as they are rather than ``\\u`` escapes.

Decimals, dates, UUIDs and other values JSON has no type for are sent as their ``str()``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: The largest integer a JavaScript number holds exactly (``Number.MAX_SAFE_INTEGER``).
MAX_SAFE_INTEGER = 2**53 - 1
#: The largest array index; keys that spell one are ordered before every other key.
_MAX_INDEX = 2**32 - 2
_INDEX = re.compile(r"0|[1-9][0-9]*")


def encode(data: Any) -> bytes:
    """``data`` as the JSON bytes chatbot-node receives; ValueError for NaN or infinity."""
    return json.dumps(_js_safe(data), separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def _js_safe(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be sent: JSON has no such number")
        return repr(value)
    if isinstance(value, dict):
        items = [(_key(key), _js_safe(item)) for key, item in value.items()]
        indexes = sorted((pair for pair in items if _is_index(pair[0])), key=lambda pair: int(pair[0]))
        return dict(indexes + [pair for pair in items if not _is_index(pair[0])])
    if isinstance(value, (list, tuple)):
        return [_js_safe(item) for item in value]
    return value


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise TypeError(f"object keys must be strings or integers, not {type(key).__name__}")


def _is_index(key: str) -> bool:
    return _INDEX.fullmatch(key) is not None and int(key) <= _MAX_INDEX
