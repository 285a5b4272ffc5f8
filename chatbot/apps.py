from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatbotConfig(AppConfig):
    name = "chatbot"
    verbose_name = _("Support chat")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers system checks and signal receivers; nothing here touches the network or the database.
        from chatbot import checks, identity  # noqa: F401
