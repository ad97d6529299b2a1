"""Slow down guessing: count failures per key in a sliding window.

Kept in process memory, so each worker process counts on its own; with N
processes an attacker gets at most N times the limit. That bounds online
password guessing without a shared store; a deployment behind a proxy should
also rate-limit there.
"""

import time
from collections import OrderedDict, deque

from app.errors import DomainError, ErrorCode


class TooManyAttempts(DomainError):
    status_code = 429
    code = ErrorCode.TOO_MANY_ATTEMPTS
    message = "Too many attempts; wait a little and try again"

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, round(retry_after))
        super().__init__(f"Too many attempts; try again in {seconds} seconds")
        self.headers = {"Retry-After": str(seconds)}


class Throttle:
    def __init__(
        self, limit: int, window_seconds: float, max_keys: int = 100_000
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, key: str) -> None:
        """Raise `TooManyAttempts` when the key used up its window."""
        events = self._recent(key)
        if self._limit and len(events) >= self._limit:
            raise TooManyAttempts(events[0] + self._window - time.monotonic())

    def record(self, key: str) -> None:
        self._recent(key).append(time.monotonic())
        self._events.move_to_end(key)
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)

    def clear(self, key: str) -> None:
        self._events.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        events = self._events.setdefault(key, deque())
        horizon = time.monotonic() - self._window
        while events and events[0] <= horizon:
            events.popleft()
        return events
