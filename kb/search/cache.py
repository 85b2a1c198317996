"""Small thread-safe caches for the query path: bounded, expiring, in process memory only.

Keys are SHA-256 digests of the normalised question (plus language, audience and index generation), so not even
the cache holds a question's text; entries expire after ``ttl`` seconds and the oldest go first when full.
"""

from __future__ import annotations

import hashlib
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


def question_key(question: str, *parts: Hashable) -> tuple[Hashable, ...]:
    """Make a cache key: the digest of the normalised question (NFKC, case-folded, spaces collapsed) and ``parts``."""
    normal = " ".join(unicodedata.normalize("NFKC", question).casefold().split())
    return (hashlib.sha256(normal.encode("utf-8")).hexdigest(), *parts)


class TTLCache(Generic[V]):
    """A bounded LRU cache whose entries expire."""

    def __init__(self, maxsize: int, ttl: float) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        """Return the value, or None when absent or expired."""
        now = time.monotonic()
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < now:
                if item is not None:
                    del self._items[key]
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[1]

    def put(self, key: Hashable, value: V) -> None:
        """Store a value; the least recently used entry goes when full."""
        if self.maxsize <= 0:
            return
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Drop everything (on reindex)."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
