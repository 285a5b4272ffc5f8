"""A server process streaming one reply, as far as stopping it goes: it watches the reply with
``chatbot.astops.async_stop_watcher``, prints the watcher's log, and ``stopped <pk>`` when the stop
comes (``tests/test_stop_notify.py`` runs it beside the test process, on the same database).

    python -m tests.stop_watching <pk>    watch reply <pk>
    python -m tests.stop_watching new     create a streaming reply, print ``reply <pk>``, and watch it

It gives up, and exits 1, if no stop comes within ``WAIT`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

WAIT = 60.0


def main(target: str) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from chatbot.astops import async_stop_watcher
    from chatbot.models import Conversation, Message

    said = logging.StreamHandler(sys.stdout)
    said.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("chatbot.astops")
    log.addHandler(said)
    log.setLevel(logging.DEBUG)

    if target == "new":
        conversation = Conversation.objects.create(guest_id="stop-watching")
        pk = Message.objects.create(conversation=conversation, role="assistant", status="streaming").pk
        print(f"reply {pk}", flush=True)
    else:
        pk = int(target)

    async def watch() -> bool:
        stopped = asyncio.Event()
        async with async_stop_watcher.watch(pk, stopped.set):
            print(f"watching {pk}", flush=True)
            try:
                await asyncio.wait_for(stopped.wait(), WAIT)
            except TimeoutError:
                return False
        return True

    if not asyncio.run(watch()):
        print(f"no stop for {pk} within {WAIT} s", flush=True)
        return 1
    print(f"stopped {pk}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
