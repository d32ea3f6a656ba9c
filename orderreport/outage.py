"""Log an outage once, not once per request, and say when it is over.

A dependency that is down (the database, the cache) fails every request that needs it; logging
each failure would bury the one line an operator needs under thousands of copies. The first
failure is logged with its traceback, the rest are counted, and the first success after them
logs how long it lasted and how many requests it cost.
"""

from __future__ import annotations

import logging
import threading
import time


class Outage:
    """The state of one dependency as this process sees it."""

    def __init__(self, name: str, logger: logging.Logger) -> None:
        self.name = name
        self.log = logger
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, what: str, exc: BaseException | None = None) -> None:
        """Note a failure; only the first of an outage is logged."""
        with self._lock:
            self._failures += 1
            first = self._since is None
            if first:
                self._since = time.monotonic()
        if first:
            self.log.error(
                "%s unavailable (%s): %s; further failures are counted until it recovers",
                self.name,
                what,
                exc,
                exc_info=exc,
            )

    def succeeded(self) -> None:
        """Note a success; logs the end of an outage once."""
        if self._since is None:  # the common case costs one attribute read
            return
        with self._lock:
            since, failures = self._since, self._failures
            self._since, self._failures = None, 0
        if since is not None:
            self.log.warning(
                "%s recovered after %.1f s and %d failed requests",
                self.name,
                time.monotonic() - since,
                failures,
            )


# The shared cache (Redis): the key lookup, admission and rate limits all report to this one,
# so a Redis outage is one log line, not three per request.
cache_outage = Outage("cache (Redis)", logging.getLogger("orderreport.cache"))
