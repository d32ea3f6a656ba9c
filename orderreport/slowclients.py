"""A deadline for reading a request's body, which granian does not keep.

granian reads headers under its own timeout (`orderreport serve` passes
--http1-header-read-timeout), but a WSGI application reads the body from a worker thread, and
granian's `wsgi.input.read(n)` returns only when n bytes have arrived: a client sending one byte
every 2 s holds that thread for as long as it likes, and a few dozen such clients hold every
thread of the server (issue 12 item 15; granian has no option for it, by its maintainers'
choice). Python cannot interrupt that read.

So the read itself runs on a reader thread of its own and the request's thread waits for it
until the request's deadline (REQUEST_READ_TIMEOUT_SECONDS from the request's start). Past
it the request is answered (408 on the API) and its worker thread is free again; the reader is
left to finish when the client does or goes away, which costs a sleeping thread, not a worker.
orderreport/wsgi.py wraps every request that has a body.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

# As many as granian lets requests be in flight in a process (its default backpressure): each
# request that is reading its body may need one. They are created only when needed, and a
# reader blocked on a slow client waits in granian's code, without the GIL.
READERS = 1024
_readers = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="body-reader")


class RequestTimeout(OSError):
    """The body did not arrive by the request's deadline (an OSError, as a broken upload:
    Django reads it as UnreadablePostError)."""


class DeadlineInput:
    """`wsgi.input` whose reads give up at `deadline` (time.monotonic()) with RequestTimeout."""

    def __init__(self, stream: Any, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline
        self.expired = False

    def _call(self, read: Callable[..., bytes], *args: Any) -> bytes:
        if self.expired:
            raise RequestTimeout("request body not received in time")
        wait = self.deadline - time.monotonic()
        future = _readers.submit(read, *args)
        try:
            return future.result(timeout=max(wait, 0.0))
        except FutureTimeout:
            self.expired = True
            raise RequestTimeout("request body not received in time") from None

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._call(self.stream.read)
        return self._call(self.stream.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        # granian's readline takes no size and Django asks at most for what is left anyway.
        return self._call(self.stream.readline)

    def __iter__(self) -> DeadlineInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def with_read_deadline(environ: dict[str, Any], seconds: float) -> None:
    """Give this request's body `seconds` from now to arrive."""
    has_body = environ.get("CONTENT_LENGTH", "0") not in ("", "0") or (
        "HTTP_TRANSFER_ENCODING" in environ
    )
    if has_body and "wsgi.input" in environ:
        environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], time.monotonic() + seconds)
