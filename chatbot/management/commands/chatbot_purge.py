"""``manage.py chatbot_purge``: delete a visitor's conversations, or old ones, and the change webhooks
that carry the same data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatbot.conf import chatbot_settings
from chatbot.staff.purge import delete_deliveries, find_user, old_deliveries, purge, select, user_deliveries


class Command(BaseCommand):
    help = (
        "Delete conversations and their messages (and Stream channels when Stream is on). --user also "
        "deletes the change webhooks that carry that user's data (their customer and order events); a "
        "purge by age alone deletes finished change webhooks of that age. Criteria combine: --user 42 "
        "--older-than 30 deletes that user's conversations idle for 30 days and webhooks older than that."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="a user id or email address")
        parser.add_argument("--guest", help="a guest id (from the visitor's session)")
        parser.add_argument("--older-than", type=int, metavar="DAYS", help="no activity for this many days")
        parser.add_argument(
            "--expired", action="store_true", help="apply the retention period (CHATBOT RETENTION_DAYS)"
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            try:
                user = find_user(options["user"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            if user is None:
                raise CommandError(f"No user {options['user']!r}")
        days = options["older_than"]
        if options["expired"]:
            if days is not None:
                raise CommandError("Give --expired or --older-than, not both")
            days = chatbot_settings.RETENTION_DAYS
            if not days:
                raise CommandError("RETENTION_DAYS is not set: conversations are kept until deleted")
        if days is not None and days < 0:
            raise CommandError("The number of days cannot be negative")
        try:
            conversations = select(user=user, guest_id=(options["guest"] or "").strip(), older_than_days=days)
        except ValueError as exc:
            raise CommandError(f"{exc} Use --user, --guest, --older-than or --expired.") from exc
        result = purge(conversations, dry_run=options["dry_run"])
        verb = "Would delete" if result.dry_run else "Deleted"
        line = f"{verb} {result.conversations} conversations and {result.messages} messages"
        if result.channels:
            line += f" ({result.channels} Stream channels)"
        if user is not None and not options["guest"]:
            count = delete_deliveries(user_deliveries(user, older_than_days=days), dry_run=result.dry_run)
            line += f", and {count} webhook deliveries with the user's data"
        elif days is not None and user is None and not options["guest"]:
            # A purge by age also ages out the change webhooks sent to chatbot-node (their payloads).
            count = delete_deliveries(old_deliveries(days), dry_run=result.dry_run)
            if count:
                line += f", and {count} finished webhook deliveries"
        self.stdout.write(self.style.SUCCESS(line + "."))
        if result.kept:
            raise CommandError(
                f"Kept {result.kept} conversations whose Stream channel could not be deleted; run the purge again."
            )
