"""Loading a pluggable class (a transport, a shop adapter) from the dotted path in the settings."""

from __future__ import annotations

from typing import TypeVar

from django.utils.module_loading import import_string

from chatbot.exceptions import ChatbotConfigurationError

T = TypeVar("T")


def load_class(path: str, base: type[T], kind: str) -> type[T]:
    """The class at ``path``; ChatbotConfigurationError when it cannot be imported or is no ``base``."""
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ChatbotConfigurationError(f"Cannot load {kind} {path!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ChatbotConfigurationError(f"{path} is not a {base.__module__}.{base.__qualname__} subclass")
    return cls
