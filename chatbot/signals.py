"""Signals other code can hook into (notifications, analytics, other channels)."""

from django.dispatch import Signal

#: A visitor asked for a human. Provides: conversation.
handoff_requested = Signal()

#: A visitor's message was stored. Provides: message, conversation.
message_received = Signal()

#: An assistant reply ended, whatever its status, and is stored. Provides: message, conversation, and
#: question (the visitor's message it answers). For notifying: a receiver never changes the reply (the
#: turn's own steps do, before it is stored; see ``chatbot.relay``).
reply_finished = Signal()
