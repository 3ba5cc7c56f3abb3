"""Real local receivers for alert tests: an HTTP server recording the JSON posts Apprise's ``json://`` sends (or
answering an error, a channel that fails), and an SMTP server (aiosmtpd) keeping the e-mails ``mailto://`` sends."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


class PostSink:
    """``with PostSink() as sink``: every POST's JSON body in ``sink.posts``; ``status`` answers them all."""

    def __init__(self, status: int = 200) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = status
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.posts.append(json.loads(body or b"{}"))
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]

    def __enter__(self) -> PostSink:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Keep:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's naming)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


class SmtpSink:
    """``with SmtpSink() as smtp``: a real SMTP server on 127.0.0.1; received e-mails in ``smtp.messages``."""

    def __init__(self) -> None:
        self._handler = _Keep()
        with socket.socket() as probe:  # aiosmtpd connects to its own port once started: it needs a number, not 0
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        return self._handler.messages

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
