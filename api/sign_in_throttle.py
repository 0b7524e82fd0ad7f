"""Repeated failed sign-ins from one client address are slowed: after `max_failures` within
`window` seconds, every sign-in from that address is refused for `backoff` seconds, good
tokens included (otherwise the refusal would tell a guesser which guess was right).

Kept in memory, per API process: with several processes an address gets that many tries
per process, and a restart forgets. Counted by the address the API sees: behind a proxy,
run uvicorn with --proxy-headers and --forwarded-allow-ips or every caller shares one.
A small module rather than a rate-limiting library: those count calls, where this needs
to know, without counting, whether an address is held back and until when.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# An address space sprayed with failures must not grow this without bound: past this many
# addresses the least recently failing is forgotten.
MAX_TRACKED = 10_000


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    held_until: float = 0.0


class SignInThrottle:
    def __init__(self, max_failures: int, window: float, backoff: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.backoff = backoff
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None if it may now."""
        with self._lock:
            record = self._records.get(address)
            if record is None:
                return None
            wait = record.held_until - self._clock()
            return math.ceil(wait) if wait > 0 else None

    def failed(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            record = self._records.pop(address, None) or _Record()
            self._records[address] = record  # now the most recently failing
            while record.failures and record.failures[0] <= now - self.window:
                record.failures.popleft()
            record.failures.append(now)
            if len(record.failures) >= self.max_failures:
                record.held_until = now + self.backoff
                record.failures.clear()
                log.warning("sign-ins from %s held back for %d s after %d failures",
                            address, self.backoff, self.max_failures)
            while len(self._records) > MAX_TRACKED:
                self._records.popitem(last=False)
