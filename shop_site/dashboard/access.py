"""Who sees the chat inbox in Oscar's dashboard navigation. Imported by settings: no models here."""

from typing import Any


def staff_only(user: Any, url_name: str | None, url_args: Any = None, url_kwargs: Any = None) -> bool:
    # Oscar's default check only knows its own dashboard apps' permissions; the inbox is for staff who
    # may read conversations (shop_site.dashboard.views enforces the same).
    return bool(user.is_active and user.is_staff and user.has_perm("chatbot.view_conversation"))
