"""Per-client token buckets: ``rate`` requests a second on average, bursts up to ``burst``."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import OrderedDict

# The shared bucket of clients that arrive while the table is full of clients still limited.
OVERFLOW = "(overflow)"
# How many of the least recently seen clients are looked at for one whose bucket has refilled.
EVICTION_SCAN = 8


class TokenBucketLimiter:
    """One bucket per client key, at most ``max_clients`` of them, and no client pushed out while it matters.

    A bucket that has refilled to ``burst`` is the same as no bucket, so forgetting it loses nothing: a new client
    takes the place of such a one among the least recently seen. When there is none (the table is full of clients
    still being limited, e.g. someone rotating through many addresses), new clients share one overflow bucket
    until a place frees up; the clients already in the table keep theirs.
    """

    def __init__(self, rate: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token; returns 0 when allowed, else the seconds until a token is available."""
        now = time.monotonic()
        with self._lock:
            key = self._place(client, now)
            tokens = self._tokens(key, now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate if self.rate > 0 else math.inf

    def wait(self, client: str) -> float:
        """Return the seconds until ``client`` may take a token (0: it may now), taking none."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        return 0.0 if tokens >= 1.0 else ((1.0 - tokens) / self.rate if self.rate > 0 else math.inf)

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, stamp = self._buckets.pop(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - stamp) * self.rate)

    def _place(self, client: str, now: float) -> str:
        """Return the key whose bucket ``client`` uses: its own, a freed place, or the overflow bucket."""
        if client in self._buckets or len(self._buckets) < self.max_clients:
            return client
        for key in list(itertools.islice(self._buckets, EVICTION_SCAN)):
            tokens, stamp = self._buckets[key]
            if key != OVERFLOW and tokens + (now - stamp) * self.rate >= self.burst:
                del self._buckets[key]
                return client
        return OVERFLOW
