"""``manage.py chatbot_check``: what is configured for each provider, and whether it answers.

Secrets are never printed, only "set" or "missing". The reachability part is the same code as the
health endpoint (:func:`chatbot.health.run_checks`). Exits non-zero when anything failed.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import ERROR, CheckMessage
from django.core.management.base import BaseCommand, CommandError

from chatbot.checks import check_settings, check_task_worker
from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotConfigurationError
from chatbot.health import run_checks
from chatbot.providers import BUILTIN_PROVIDERS, get_provider, provider_class
from chatbot.providers.base import Provider
from chatbot.tasks import runs_in_request, task_backends, worker_command


class Command(BaseCommand):
    help = "Check the chat assistant's settings and whether its providers and services answer."
    # The command reports configuration errors itself instead of refusing to start because of them.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        self.failures = 0
        shown_ids: set[str] = set()
        active = chatbot_settings.PROVIDER
        names = list(BUILTIN_PROVIDERS)
        if active not in names:
            names.append(active)
        for name in names:
            shown_ids |= self.report_provider(name, active=name == active)

        others = [m for m in check_settings() if m.id not in shown_ids]
        self.stdout.write(self.style.MIGRATE_HEADING("Settings"))
        if not others:
            self.stdout.write("  ok")
        for message in others:
            self.write_message(message)

        self.report_tasks()

        self.stdout.write(self.style.MIGRATE_HEADING("Health (as GET /api/chatbot/health reports it)"))
        health = run_checks(notes=True)
        for check, result in health["checks"].items():
            self.write_outcome(check, result["ok"], result["detail"])

        if self.failures:
            raise CommandError(f"chatbot_check found {self.failures} problem(s).")
        self.stdout.write(self.style.SUCCESS("Everything is configured and answering."))

    def report_tasks(self) -> None:
        backend = task_backends["default"]
        self.stdout.write(self.style.MIGRATE_HEADING("Background tasks"))
        self.stdout.write(f"  backend: {type(backend).__module__}.{type(backend).__name__}")
        if runs_in_request():
            self.stdout.write("  worker: none (tasks run inside the requests that queue them)")
            return
        self.stdout.write(f"  worker: {worker_command()}")
        # Queued work that no worker takes is lost to the visitor: a failure here, not only a warning.
        for message in check_task_worker(databases=["default"]):
            self.write_message(message)
            self.failures += 1

    def report_provider(self, name: str, *, active: bool) -> set[str]:
        label = f"Provider {name}" + (" (in use)" if active else "")
        self.stdout.write(self.style.MIGRATE_HEADING(label))
        try:
            cls = provider_class(name)
        except ChatbotConfigurationError as exc:
            self.stdout.write(self.style.ERROR(f"  cannot be loaded: {exc}"))
            self.failures += 1
            # The same problem as the settings check chatbot.E002; count it once.
            return {"chatbot.E002"}
        if not active and not cls.is_configured(chatbot_settings):
            self.stdout.write("  not configured")
            return set()
        provider: Provider = get_provider() if active else cls(chatbot_settings)
        try:
            return self.report_configured(provider, active=active)
        finally:
            if not active:
                provider.close()

    def report_configured(self, provider: Provider, *, active: bool) -> set[str]:
        described = {k: v for k, v in provider.describe().items() if k != "provider"}
        for key, value in described.items():
            self.stdout.write(f"  {key}: {value}")
        if not described:
            self.stdout.write("  no settings needed")
        messages = provider.system_checks(chatbot_settings)
        for message in messages:
            self.write_message(message)
        if not active:
            # The active provider is checked with the health checks below, like the endpoint does.
            result = provider.health()
            self.write_outcome("answers", result.ok, result.detail)
        return {m.id for m in messages if m.id}

    def write_message(self, message: CheckMessage) -> None:
        is_error = message.level >= ERROR
        if is_error:
            self.failures += 1
        style = self.style.ERROR if is_error else self.style.WARNING
        self.stdout.write(style(f"  {message.id}: {message.msg}"))
        if message.hint:
            self.stdout.write(f"    hint: {message.hint}")

    def write_outcome(self, label: str, ok: bool, detail: str) -> None:
        if not ok:
            self.failures += 1
        status = self.style.SUCCESS("ok") if ok else self.style.ERROR("FAILED")
        note = f" ({detail})" if detail and detail != "ok" else ""
        self.stdout.write(f"  {label}: {status}{note}")
