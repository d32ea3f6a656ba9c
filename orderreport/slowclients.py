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

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest

# At most this many readers per process: as many requests as granian lets be in flight in one
# (its default backpressure). Past it a read runs on the request's own thread, as without them.
READERS = 1024


class _Read:
    __slots__ = ("args", "call", "done", "error", "result")

    def __init__(self, call: Callable[..., bytes], args: tuple[Any, ...]) -> None:
        self.call, self.args = call, args
        self.done = threading.Lock()
        self.done.acquire()  # released by the reader when the read is over
        self.result = b""
        self.error: BaseException | None = None


# A queue and a count of idle readers rather than concurrent.futures: this costs an order about
# 15 us, half of what a ThreadPoolExecutor does. Every read queued has an idle reader set aside
# for it (or a new one), so a read never waits behind a reader a slow client holds.
_reads: queue.SimpleQueue[_Read] = queue.SimpleQueue()
_lock = threading.Lock()
_idle = 0
_readers = 0


def _reader() -> None:
    global _idle
    while True:
        read = _reads.get()
        try:
            read.result = read.call(*read.args)
        except BaseException as exc:  # handed to the request's thread
            read.error = exc
        read.done.release()
        # Kept until the next read, it would keep granian's body stream, hence its connection,
        # open: a graceful shutdown would wait for it forever.
        del read
        with _lock:
            _idle += 1


def _start(read: _Read) -> bool:
    """Hand `read` to a reader; False if there are READERS already, all busy."""
    global _idle, _readers
    with _lock:
        if _idle:
            _idle -= 1
        elif _readers < READERS:
            _readers += 1
            threading.Thread(target=_reader, name="body-reader", daemon=True).start()
        else:
            return False
    _reads.put(read)
    return True


class RequestTimeout(BadRequest):
    """The body did not arrive by the request's deadline.

    Not an OSError, which Django would turn into a 500 logged with its traceback: Django answers
    BadRequest with a 400 and logs it as a warning, which settings.LOGGING leaves out.
    """


class DeadlineInput:
    """`wsgi.input` whose reads give up at `deadline` (time.monotonic()) with RequestTimeout."""

    def __init__(self, stream: Any, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline
        self.expired = False

    def _call(self, call: Callable[..., bytes], *args: Any) -> bytes:
        if self.expired:
            raise RequestTimeout("request body not received in time")
        read = _Read(call, args)
        if not _start(read):
            return call(*args)
        if not read.done.acquire(timeout=max(self.deadline - time.monotonic(), 0.0)):
            self.expired = True  # the reader finishes when the client does or goes away
            raise RequestTimeout("request body not received in time")
        if read.error is not None:
            raise read.error
        return read.result

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
    """Give this request's body `seconds` from now to arrive (0: no deadline)."""
    if not seconds:
        return
    has_body = environ.get("CONTENT_LENGTH", "0") not in ("", "0") or (
        "HTTP_TRANSFER_ENCODING" in environ
    )
    if has_body and "wsgi.input" in environ:
        environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], time.monotonic() + seconds)
