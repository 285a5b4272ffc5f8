"""Who sees the chat inbox in Oscar's dashboard navigation. Imported by settings: no models here."""

from typing import Any

from django.utils.functional import lazy


def staff_only(user: Any, url_name: str | None, url_args: Any = None, url_kwargs: Any = None) -> bool:
    # Oscar's default check only knows its own dashboard apps' permissions; the inbox is for staff who
    # may read conversations (shop_site.dashboard.views enforces the same).
    return bool(user.is_active and user.is_staff and user.has_perm("chatbot.view_conversation"))


def _support_chat_label() -> str:
    # Read when the menu is drawn (models are not ready while settings import this module).
    from chatbot.staff.live import waiting_count

    waiting = waiting_count()
    return f"Support chat ({waiting} waiting)" if waiting else "Support chat"


#: The menu entry's label, with the number of conversations waiting for a person.
support_chat_label = lazy(_support_chat_label, str)()
