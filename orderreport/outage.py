"""Log an outage once, not once per request, and say when it is over.

A dependency that is down (the database, the cache) fails every request that needs it; logging
each failure would bury the one line an operator needs under thousands of copies. The first
failure is logged with its traceback, the rest are counted and summed up once a minute for as
long as the outage lasts, and the first success after them logs how long it lasted and how many
requests it cost.

A dependency that may be skipped (the cache: the database answers instead) is also asked
through `available()`: while it is out, one request a second tries it again and the others go on
without it at once. A hung Redis then costs one timeout a second, not one per request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time


class Outage:
    """The state of one dependency as this process sees it."""

    REPORT_SECONDS = 60.0  # how often an ongoing outage is summed up in the log
    RETRY_SECONDS = 1.0  # how often available() lets a request try during an outage

    def __init__(self, name: str, logger: logging.Logger, cost: str = "failed requests") -> None:
        self.name = name
        self.log = logger
        self.cost = cost  # what a counted request went through, for the log
        self._lock = threading.Lock()
        self._since: float | None = None
        self._since_wall = ""
        self._failures = 0
        self._reported_at = 0.0
        self._reported_failures = 0
        self._retry_at = 0.0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, what: str, exc: BaseException | None = None) -> None:
        """Note a failure; only the first of an outage is logged, the rest once a minute."""
        with self._lock:
            self._failures += 1
            now = time.monotonic()
            first = self._since is None
            if first:
                self._since = self._reported_at = now
                self._since_wall = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                self._reported_failures = 0
                self._retry_at = now + self.RETRY_SECONDS
            report = not first and now - self._reported_at >= self.REPORT_SECONDS
            if report:
                window, self._reported_at = now - self._reported_at, now
                count = self._failures - self._reported_failures
                self._reported_failures = self._failures
        if first:
            self.log.error(
                "%s unavailable (%s): %s; further failures are counted until it recovers",
                self.name,
                what,
                exc,
                exc_info=exc,
            )
        elif report:
            self.log.warning(
                "%s unavailable since %s; %d %s in the last %.0f s",
                self.name,
                self._since_wall,
                count,
                self.cost,
                window,
            )

    def available(self) -> bool:
        """False while an outage is on, except once a second: that caller tries it again.

        A request told False goes on without the dependency; its entry point counts it
        (skipped()), once however many of its steps asked.
        """
        if self._since is None:  # the common case costs one attribute read
            return True
        with self._lock:
            now = time.monotonic()
            if self._since is not None and now < self._retry_at:
                skip = True
            else:
                self._retry_at = now + self.RETRY_SECONDS
                skip = False
        return not skip

    def skipped(self) -> None:
        """Count a request that went on without the dependency because it is out."""
        self.failed("skipped during the outage")

    def forget(self) -> None:
        """Drop the state without logging (the dependency was replaced: tests, settings)."""
        with self._lock:
            self._since, self._failures = None, 0

    def succeeded(self) -> None:
        """Note a success; logs the end of an outage once."""
        if self._since is None:  # the common case costs one attribute read
            return
        with self._lock:
            since, failures = self._since, self._failures
            self._since, self._failures = None, 0
        if since is not None:
            self.log.warning(
                "%s recovered after %.1f s and %d %s",
                self.name,
                time.monotonic() - since,
                failures,
                self.cost,
            )


# The shared cache (Redis): the key lookup, admission and rate limits all report to this one,
# so a Redis outage is one log line (and one a minute while it lasts), not three per request.
cache_outage = Outage(
    "cache (Redis)", logging.getLogger("orderreport.cache"), "requests served without it"
)
