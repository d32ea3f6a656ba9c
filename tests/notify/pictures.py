"""Product pictures for the image proxy's tests: real PNGs, a shop's picture host on loopback,
and one that never answers."""

from __future__ import annotations

import secrets
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import Any

from tests.notify.servers import LocalHTTPServer, Request

Reply = tuple[int, dict[str, str], bytes]


def png(width: int = 64, height: int = 64, rgb: tuple[int, int, int] = (46, 125, 50)) -> bytes:
    """A valid PNG of one colour (what a browser can decode and draw)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class PictureHost(LocalHTTPServer):
    """A shop's picture host: path -> (status, content type, body); others 404."""

    def __init__(self) -> None:
        self.files: dict[str, Reply] = {}
        super().__init__(self._handle)

    def _handle(self, request: Request) -> Reply:
        return self.files.get(request.path, (404, {"Content-Type": "text/plain"}, b"no"))

    def put(
        self, path: str, body: bytes, content_type: str = "image/png", status: int = 200
    ) -> str:
        self.files[path] = (status, {"Content-Type": content_type}, body)
        return self.url + path


class HangingHost:
    """Accepts connections on loopback and never answers; counts them."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.connections:
            conn.close()


def fresh_picture_cache(settings: Any) -> None:
    """A cache namespace of product pictures for this test: loopback ports, part of the
    cached URLs, are reused by later tests."""
    images = {**settings.CACHES["images"]}
    images["KEY_PREFIX"] = f"{images.get('KEY_PREFIX', '')}-{secrets.token_hex(4)}"
    settings.CACHES = {**settings.CACHES, "images": images}


def serving(host: PictureHost | HangingHost, settings: Any) -> Iterator[Any]:
    """Run `host` for a test, on 127.0.0.1, which the operator allows for these tests."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    yield host
    host.close()
