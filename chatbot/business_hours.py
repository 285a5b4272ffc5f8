"""When staff answer: ``CHATBOT["BUSINESS_HOURS"]``, read in the shop's own time zone.

The setting looks like::

    {"timezone": "Europe/London",
     "days": {"mon": ["09:00", "17:30"], "tue": ["09:00", "17:30"], "sat": [["10:00", "13:00"]]}}

A day maps to one ``[open, close]`` pair or a list of them; a day that is missing is closed. With no
setting at all staff are treated as always available, so a shop that never configured hours keeps the
plain "someone will reply" behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.checks import CheckMessage, Error, register
from django.utils import timezone

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotConfigurationError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Opening:
    start: time
    end: time


def _parse_time(value: Any) -> time:
    try:
        hours, minutes = str(value).split(":")
        if hours == "24" and minutes == "00":
            return time.max
        return time(int(hours), int(minutes))
    except (TypeError, ValueError):
        raise ChatbotConfigurationError(f"BUSINESS_HOURS: {value!r} is not an HH:MM time") from None


def _parse_ranges(value: Any) -> list[Opening]:
    if not value:
        return []
    pairs = [value] if isinstance(value[0], str) else value
    openings = []
    for pair in pairs:
        if len(pair) != 2:
            raise ChatbotConfigurationError(f"BUSINESS_HOURS: {pair!r} is not an [open, close] pair")
        start, end = _parse_time(pair[0]), _parse_time(pair[1])
        if end <= start:
            raise ChatbotConfigurationError(f"BUSINESS_HOURS: {pair!r} closes before it opens")
        openings.append(Opening(start, end))
    return sorted(openings, key=lambda o: o.start)


class BusinessHours:
    """Opening hours per weekday in one time zone."""

    def __init__(self, config: dict[str, Any]):
        try:
            self.zone = ZoneInfo(config.get("timezone") or "UTC")
        except ZoneInfoNotFoundError:
            raise ChatbotConfigurationError(f"BUSINESS_HOURS: unknown time zone {config.get('timezone')!r}") from None
        days = config.get("days") or {}
        unknown = set(days) - set(DAY_NAMES)
        if unknown:
            raise ChatbotConfigurationError(f"BUSINESS_HOURS: unknown days {sorted(unknown)}; use {DAY_NAMES}")
        self.days = {index: _parse_ranges(days.get(name)) for index, name in enumerate(DAY_NAMES)}

    def is_open(self, when: datetime | None = None) -> bool:
        local = (when or timezone.now()).astimezone(self.zone)
        now = local.time()
        return any(o.start <= now < o.end for o in self.days[local.weekday()])

    def next_opening(self, when: datetime | None = None) -> datetime | None:
        """The next time staff start answering (``when`` itself when open); None if never open."""
        local = (when or timezone.now()).astimezone(self.zone)
        if self.is_open(local):
            return local
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            for opening in self.days[day.weekday()]:
                # Built from wall-clock time so a DST change between now and then is respected.
                start = datetime.combine(day, opening.start, tzinfo=self.zone)
                if start > local:
                    return start
        return None


def configured_hours() -> BusinessHours | None:
    config = chatbot_settings.BUSINESS_HOURS
    return BusinessHours(config) if config else None


def staff_available(when: datetime | None = None) -> bool:
    """Whether a human is expected to answer now; always true when no hours are configured."""
    hours = configured_hours()
    return True if hours is None else hours.is_open(when)


def next_staff_time(when: datetime | None = None) -> datetime | None:
    hours = configured_hours()
    return None if hours is None else hours.next_opening(when)


@register()
def check_business_hours(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A malformed ``BUSINESS_HOURS`` or ``STAFF_REPLY_MINUTES`` is reported at start-up, not on a
    visitor's handoff."""
    errors: list[CheckMessage] = []
    try:
        configured_hours()
    except ChatbotConfigurationError as exc:
        errors.append(
            Error(
                str(exc),
                hint='e.g. {"timezone": "Europe/London", "days": {"mon": ["09:00", "17:30"]}}',
                id="chatbot.E060",
            )
        )
    minutes = chatbot_settings.STAFF_REPLY_MINUTES
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        errors.append(
            Error(
                f"STAFF_REPLY_MINUTES must be a whole number of minutes, at least 1; got {minutes!r}.",
                hint='e.g. 60 for "We usually reply within 1 hour."',
                id="chatbot.E061",
            )
        )
    return errors
