"""``manage.py chatbot_chat``: talk to the configured provider from a terminal.

Each reply is printed as it streams. The chat runs as a guest in a conversation of its own, deleted
at the end unless ``--keep`` is given; with ``--message`` it sends one message and exits (non-zero
when the provider failed), otherwise it reads messages from standard input until EOF or ``/quit``.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Generator
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError
from chatbot.identity import Visitor
from chatbot.language import answer_language
from chatbot.masking import mask_secrets
from chatbot.models import Conversation
from chatbot.providers import get_provider, provider_class
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, Suggestions
from chatbot.shop import get_shop

QUIT = {"/quit", "/exit", "/q"}


class Command(BaseCommand):
    help = "Chat with the configured AI provider from the terminal (replies stream as they come)."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-m", "--message", help="Send this one message, print the reply and exit.")
        parser.add_argument("--provider", help="Use this provider (a name or dotted path) instead of the setting.")
        parser.add_argument("--keep", action="store_true", help="Keep the conversation in the database.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options.get("provider")
        provider = provider_class(name)(chatbot_settings) if name else get_provider()
        visitor = Visitor(user=None, guest_id=f"cli-{uuid.uuid4().hex}")
        conversation = Conversation.objects.create(guest_id=visitor.guest_id, provider=provider.name)
        self.session = _Session(provider, visitor, conversation)
        try:
            if options.get("message") is not None:
                if not self.turn(options["message"]):
                    raise CommandError("The provider did not answer.")
            else:
                self.repl(options.get("stdin") or sys.stdin)
        finally:
            if options.get("keep"):
                conversation.provider_state = self.session.state
                conversation.save(update_fields=["provider_state", "updated"])
                self.stdout.write(f"Conversation kept: {conversation.public_id}")
            else:
                conversation.delete()

    def repl(self, stdin: TextIO) -> None:
        interactive = stdin.isatty()
        if interactive:
            self.stdout.write(f"Chatting with {self.session.provider.name}; /quit or Ctrl-D to leave.")
        while True:
            if interactive:
                self.stdout.write("you> ", ending="")
                self.stdout.flush()
            try:
                line = stdin.readline()
            except KeyboardInterrupt:
                # Ctrl-C at the prompt leaves quietly, like Ctrl-D.
                self.stdout.write("")
                break
            if not line:
                break
            text = line.strip()
            if text in QUIT:
                break
            if text:
                self.turn(text)

    def turn(self, text: str) -> bool:
        """Send one message and print the reply as it streams; False when the provider failed."""
        session = self.session
        text = mask_secrets(text)
        request = ChatRequest(
            text=text,
            visitor=session.visitor,
            conversation=session.conversation,
            shop=get_shop(),
            history=session.history[-2 * int(chatbot_settings.HISTORY_TURNS) :],
            language=answer_language(text),
            state=session.state,
        )
        parts: list[str] = []
        extras: list[str] = []
        events = cast(Generator[Any, None, None], session.provider.stream(request))
        try:
            for event in events:
                if isinstance(event, Delta):
                    parts.append(event.text)
                    self.stdout.write(event.text, ending="")
                    self.stdout.flush()
                elif isinstance(event, Suggestions):
                    extras.append("suggestions: " + " | ".join(event.items))
                elif isinstance(event, Products):
                    extras += [f"product: {p['title']}  {p['price']}  {p['url']}" for p in event.items]
                elif isinstance(event, Done):
                    if event.usage and self.verbosity > 1:
                        extras.append(f"usage: {event.usage}")
                    break
        except KeyboardInterrupt:
            self.stdout.write("\n[stopped]")
        except ChatbotError as exc:
            self.stdout.write("")
            self.stderr.write(f"[{exc.code}] {exc.message}" + (f" ({exc.detail})" if exc.detail else ""))
            return False
        finally:
            events.close()
        self.stdout.write("")
        for line in extras:
            self.stdout.write(self.style.HTTP_INFO(f"  {line}"))
        session.history += [("user", text), ("assistant", "".join(parts))]
        return True

    @property
    def verbosity(self) -> int:
        return getattr(self, "_verbosity", 1)

    def execute(self, *args: Any, **options: Any) -> Any:
        self._verbosity = int(options.get("verbosity", 1))
        return super().execute(*args, **options)


class _Session:
    def __init__(self, provider: Provider, visitor: Visitor, conversation: Conversation):
        self.provider = provider
        self.visitor = visitor
        self.conversation = conversation
        self.history: list[tuple[str, str]] = []
        self.state: dict[str, Any] = dict(conversation.provider_state)
