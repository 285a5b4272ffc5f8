"""``manage.py chatbot_bootstrap``: set up Stream Chat in the foreground.

Upserts the assistant user (idempotent), and with ``--webhook-url`` registers the app's webhook for
``message.new`` only, merged with the hooks the Stream app has already.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator

from chatbot.exceptions import ChatbotError
from chatbot.transports.stream import stream_enabled
from chatbot.transports.stream.bootstrap import DISABLED_MESSAGE, WEBHOOK_EVENTS, register_webhook
from chatbot.transports.stream.channels import ensure_assistant
from chatbot.transports.stream.ids import assistant_id


class Command(BaseCommand):
    help = "Create or update the assistant's Stream Chat user and optionally register the webhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--webhook-url",
            help="Public https URL of /api/chatbot/webhooks/stream to register for message.new events.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not stream_enabled():
            self.stdout.write(f"{DISABLED_MESSAGE}; nothing to do.")
            return
        url = options.get("webhook_url")
        if url:
            try:
                URLValidator(schemes=["https", "http"])(url)
            except ValidationError:
                raise CommandError(f"Not a valid URL: {url}") from None
        try:
            ensure_assistant(force=True)
            self.stdout.write(self.style.SUCCESS(f"Assistant user {assistant_id()} is up to date."))
            if url:
                changed, hooks = register_webhook(url)
                state = "registered" if changed else "already registered"
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Webhook {state}: {url} ({', '.join(WEBHOOK_EVENTS)}); {len(hooks)} hook(s) in the app."
                    )
                )
        except ChatbotError as exc:
            raise CommandError(f"Stream Chat bootstrap failed: {exc.message} ({exc.code})") from exc
