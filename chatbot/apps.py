from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.signals import request_started, setting_changed
from django.db.models.signals import post_migrate, pre_delete
from django.utils.translation import gettext_lazy as _


def _stream_bootstrap(**kwargs: Any) -> None:
    # Imported here: the Stream SDK is loaded by the first request a server handles, never by
    # management commands such as migrate.
    from chatbot.transports.stream.bootstrap import on_first_request

    on_first_request(**kwargs)


def _sweep_interrupted(**kwargs: Any) -> None:
    from chatbot.sweep import on_first_request

    on_first_request(**kwargs)


def _stream_rearm(**kwargs: Any) -> None:
    if kwargs.get("setting") == "CHATBOT":
        from chatbot.transports.stream.bootstrap import rearm

        rearm(**kwargs)


class ChatbotConfig(AppConfig):
    name = "chatbot"
    verbose_name = _("Support chat")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers system checks and signal receivers; nothing here touches the network or the database.
        from chatbot import checks, handoff, identity, notifications  # noqa: F401
        from chatbot.sync import receivers

        receivers.connect()

        from chatbot.staff.purge import forget_deleted_user

        # A deleted user's Stream channels go too (their conversations cascade in the database).
        pre_delete.connect(forget_deleted_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="chatbot.forget_user")

        # Stream's assistant user is set up lazily, in the background, once the site serves requests.
        request_started.connect(_stream_bootstrap, dispatch_uid="chatbot.stream_bootstrap")
        # Replies a dead process left "streaming" are marked failed when a new process starts serving.
        request_started.connect(_sweep_interrupted, dispatch_uid="chatbot.sweep")
        setting_changed.connect(_stream_rearm, dispatch_uid="chatbot.stream_rearm")
        if apps.is_installed("oscar"):
            from chatbot.shop.indexes import ensure_product_search_indexes

            # The catalogue search's indexes live on Oscar's table: made after every migrate.
            post_migrate.connect(ensure_product_search_indexes, sender=self, dispatch_uid="chatbot.search_indexes")
