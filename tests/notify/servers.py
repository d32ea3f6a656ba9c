"""Real servers on loopback standing in for Telegram's Bot API, webhook receivers and SMTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[[Request], Reply]


def json_reply(status: int, body: Any, **headers: str) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up early (the size-cap test) is expected here


class LocalHTTPServer:
    """A threaded HTTP server on 127.0.0.1 (or `host`) that records every request it gets."""

    def __init__(self, handler: Handler, port: int = 0, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                status, headers, body = server.handler(request)
                with server._lock:
                    server.requests.append(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _QuietServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeTelegram(LocalHTTPServer):
    """Enough of the Bot API: sendMessage, answering with whatever `answers` holds per chat."""

    def __init__(self) -> None:
        # chat id -> list of (status, body) to answer in turn; the last one repeats.
        self.answers: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        super().__init__(self._handle)

    def _handle(self, request: Request) -> Reply:
        if not request.path.endswith("/sendMessage"):
            return json_reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        chat_id = str(request.json()["chat_id"])
        queue = self.answers.get(chat_id)
        if not queue:
            return json_reply(200, {"ok": True, "result": {"message_id": len(self.requests)}})
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        return json_reply(status, body)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.requests]


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        content = envelope.original_content or b""
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 Message accepted"

    def wait(self, count: int, timeout: float = 5) -> None:
        end = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < end:
            time.sleep(0.01)


def free_port() -> int:
    """A port nothing listens on (for "the receiver is down" and for aiosmtpd)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_smtp() -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, mailbox


def parts_of(message: Message) -> dict[str, str]:
    """content type -> decoded text of each part."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_type()] = part.get_content()  # type: ignore[attr-defined]
    return found
