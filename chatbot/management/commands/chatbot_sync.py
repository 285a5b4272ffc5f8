"""``manage.py chatbot_sync products|orders|customers``: send the shop's data to chatbot-node."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatbot.exceptions import ChatbotConfigurationError
from chatbot.models import SyncState
from chatbot.shop.base import SYNC_KINDS
from chatbot.sync.bulk import SyncInProgress, SyncReport, sync
from chatbot.sync.client import SyncError

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Send products, orders or customers to chatbot-node in batches. A run that fails resumes "
        "where it stopped next time; --full starts over. Without a kind, shows the last runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kinds", nargs="*", metavar="KIND", help=", ".join(SYNC_KINDS))
        parser.add_argument("--batch-size", type=int, default=100, help="records per request (default 100)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--full", action="store_true", help="start from the first record")
        mode.add_argument(
            "--resume", action="store_true", help="continue after a failed run (the default; kept for scripts)"
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be sent; send nothing")
        parser.add_argument("--force", action="store_true", help="run even though another run of the kind looks alive")

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = list(dict.fromkeys(options["kinds"]))
        if not kinds:
            self.show_status()
            return
        unknown = [kind for kind in kinds if kind not in SYNC_KINDS]
        if unknown:
            raise CommandError(f"Unknown kind {', '.join(unknown)}; choose from {', '.join(SYNC_KINDS)}")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        failed = []
        for kind in kinds:
            try:
                report = sync(
                    kind,
                    batch_size=options["batch_size"],
                    full=options["full"],
                    dry_run=options["dry_run"],
                    progress=self.progress_bar(kind),
                    force=options["force"],
                )
            except ChatbotConfigurationError as exc:
                raise CommandError(str(exc)) from exc
            except SyncInProgress as exc:
                self.stderr.write(f"{kind}: {exc}")
                failed.append(kind)
                continue
            except SyncError as exc:
                self.stdout.write("")
                state = SyncState.objects.get(kind=kind)
                self.stderr.write(
                    f"{kind}: failed after {state.records_sent} records ({exc.detail}). "
                    "Run the command again to resume, or with --full to start over."
                )
                failed.append(kind)
                continue
            self.stdout.write("")
            self.summary(report)
        if failed:
            raise CommandError(f"Sync failed for {', '.join(failed)}")

    def progress_bar(self, kind: str) -> Any:
        def show(done: int, total: int | None) -> None:
            if total:
                filled = min(BAR_WIDTH, BAR_WIDTH * done // total)
                bar = "#" * filled + "." * (BAR_WIDTH - filled)
                self.stdout.write(f"\r{kind:<9} [{bar}] {done}/{total}", ending="")
            else:
                self.stdout.write(f"\r{kind:<9} {done} sent", ending="")
            self.stdout.flush()

        return show

    def summary(self, report: SyncReport) -> None:
        verb = "would send" if report.dry_run else "sent"
        resumed = f", resumed after id {report.resumed_from}" if report.resumed_from else ""
        self.stdout.write(
            self.style.SUCCESS(f"{report.kind}: {verb} {report.records} records in {report.batches} batches{resumed}")
        )

    def show_status(self) -> None:
        states = {state.kind: state for state in SyncState.objects.all()}
        for kind in SYNC_KINDS:
            state = states.get(kind)
            if state is None:
                self.stdout.write(f"{kind:<9} never synced")
                continue
            when = state.finished_at.isoformat() if state.finished_at else "-"
            line = f"{kind:<9} {state.result:<8} {state.records_sent} records, last run {when}"
            if state.last_error:
                line += f" ({state.last_error[:100]})"
            self.stdout.write(line)
