"""Signals other code can hook into (notifications, analytics, other channels)."""

from django.dispatch import Signal

#: A visitor asked for a human. Provides: conversation.
handoff_requested = Signal()

#: A visitor's message was stored. Provides: message, conversation.
message_received = Signal()

#: An assistant reply ended, whatever its status. Provides: message, conversation, and question (the
#: visitor's message it answers).
reply_finished = Signal()
