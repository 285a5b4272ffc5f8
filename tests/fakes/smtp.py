"""A loopback SMTP server that speaks just enough of RFC 5321 for Django's SMTP backend, and can hold
its greeting until the test releases it: a mail server that is slow to answer."""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes
from email.message import Message


class FakeSMTP:
    def __init__(self, *, hold: bool = False) -> None:
        self.connected = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.delivered = threading.Event()
        self.messages: list[Message] = []
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                fake.connected.set()
                fake.release.wait(30)
                self.reply("220 fake.smtp ESMTP")
                while line := self.rfile.readline():
                    verb = line.split(b" ", 1)[0].strip().upper()
                    if verb in (b"EHLO", b"HELO"):
                        self.reply("250 fake.smtp")
                    elif verb == b"DATA":
                        self.reply("354 end with .")
                        fake.receive(self.rfile)
                        self.reply("250 queued")
                    elif verb == b"QUIT":
                        self.reply("221 bye")
                        return
                    else:  # MAIL FROM, RCPT TO, RSET, NOOP
                        self.reply("250 ok")

            def reply(self, text: str) -> None:
                self.wfile.write(text.encode() + b"\r\n")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]

    def receive(self, rfile) -> None:
        lines = []
        while (line := rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        self.messages.append(message_from_bytes(b"".join(lines)))
        self.delivered.set()

    def __enter__(self) -> FakeSMTP:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
