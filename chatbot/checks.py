"""System checks: a bad combination of settings is an error with an id and a hint, not a crash."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from chatbot.conf import DEFAULTS, chatbot_settings
from chatbot.exceptions import ChatbotConfigurationError


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    from chatbot.providers import provider_class
    from chatbot.shop import adapter_path
    from chatbot.transports import system_checks as transport_checks

    conf = chatbot_settings
    errors: list = transport_checks(conf)
    provider = conf.PROVIDER
    try:
        cls = provider_class(provider)
    except ChatbotConfigurationError:
        errors.append(
            Error(
                f"CHATBOT_PROVIDER {provider!r} cannot be loaded.",
                hint="Use local, chatbot_node, coze, openai or the dotted path of a Provider class.",
                id="chatbot.E002",
            )
        )
    else:
        errors.extend(cls.system_checks(conf))
    try:
        import_string(adapter_path())
    except ImportError:
        errors.append(
            Error(
                f"The shop adapter {conf.SHOP_ADAPTER!r} cannot be loaded.",
                hint="Use oscar, none or the dotted path of a ShopAdapter class.",
                id="chatbot.E003",
            )
        )
    if "django.contrib.sessions" not in settings.INSTALLED_APPS:
        errors.append(
            Error(
                "The chat needs django.contrib.sessions to know who is chatting.",
                hint="Add django.contrib.sessions to INSTALLED_APPS and SessionMiddleware to MIDDLEWARE.",
                id="chatbot.E004",
            )
        )
    if not isinstance(conf.MAX_MESSAGE_LENGTH, int) or conf.MAX_MESSAGE_LENGTH < 1:
        errors.append(
            Error(
                "CHATBOT['MAX_MESSAGE_LENGTH'] must be a positive integer.",
                id="chatbot.E005",
            )
        )
    idle = conf.STREAM_IDLE_TIMEOUT
    if isinstance(idle, bool) or not isinstance(idle, (int, float)) or idle < 0:
        errors.append(
            Error(
                f"CHATBOT['STREAM_IDLE_TIMEOUT'] is {idle!r}; it must be a number of seconds, 0 or more.",
                hint="20 ends a reply whose stream started and then went silent after 20 s; 0 turns that off.",
                id="chatbot.E006",
            )
        )
    errors.extend(_check_sync_paths(conf))
    errors.extend(check_task_backend())
    if conf.PROVIDER != "local" and conf.READ_TIMEOUT and conf.READ_TIMEOUT > 300:
        errors.append(
            Warning(
                "CHATBOT['READ_TIMEOUT'] is over five minutes; a stalled provider holds a worker that long.",
                id="chatbot.W001",
            )
        )
    return errors


#: The placeholders each chatbot-node path template may use, with a value to try it with.
_PATH_PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "SYNC_PATH": {"type": 1, "kind": "products"},
    "WEBHOOK_PATH": {"type": "product"},
}


def _check_sync_paths(conf: Any) -> list:
    errors = []
    for key, values in _PATH_PLACEHOLDERS.items():
        template = getattr(conf, key)
        try:
            path = str(template).format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            path, problem = "", f"has a placeholder it cannot fill ({type(exc).__name__}: {exc})"
        else:
            problem = "" if path.startswith("/") else "does not start with /"
        if problem:
            errors.append(
                Error(
                    f"CHATBOT['{key}'] {template!r} {problem}.",
                    hint=f"Use a path such as {DEFAULTS[key]!r}; "
                    + ", ".join(f"{{{name}}}" for name in values)
                    + " may appear in it.",
                    id="chatbot.E007",
                )
            )
    return errors


def check_task_backend() -> list:
    """The immediate backend runs the app's background work inside the request that queues it."""
    from chatbot.tasks import runs_in_request

    if not runs_in_request():
        return []
    return [
        Warning(
            "Tasks run inside the requests that queue them (django-tasks' ImmediateBackend): Stream replies, "
            "staff emails and webhook deliveries hold up the visitor's request, and webhook retries never run.",
            hint="Fine for tests and development. In production configure a task backend with a worker, e.g. "
            "TASKS = {'default': {'BACKEND': 'django_tasks_db.DatabaseBackend'}} with 'django_tasks_db' in "
            "INSTALLED_APPS and `python manage.py db_worker` running (docs/deploying.md).",
            id="chatbot.W040",
        )
    ]


@register(Tags.database)
def check_task_worker(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Tasks of the app that wait, due, in the database queue for too long: no worker takes them."""
    from django.db import DatabaseError

    from chatbot.tasks import stalled_tasks, worker_command

    if not databases:
        return []
    after = float(chatbot_settings.WORKER_MISSING_AFTER)
    try:
        waiting = stalled_tasks(after)
    except DatabaseError:  # not migrated yet, or unreachable: the database checks say so themselves
        return []
    if not waiting:
        return []
    return [
        Warning(
            f"{waiting} task(s) of the support chat have waited over {after:g} s in the database task queue: "
            "no task worker is running, so Stream replies, staff emails and webhook deliveries are not sent.",
            hint=f"Start a worker beside the web server: `{worker_command()}`.",
            id="chatbot.W041",
        )
    ]
